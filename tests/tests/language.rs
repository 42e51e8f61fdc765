//! The server speaks the reader's language: every problem+json carries a
//! stable `code` (and each field error its own, with parameters), and the
//! words for people (`detail`, field messages, WebSocket error replies,
//! points history reasons) follow `Accept-Language`, zh-CN by default.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use zhongdui_tests::{LAT, LON, TestApp, both_backends, ws_connect_query};

/// Sends `body` to `path` as `token` asking for `lang`: status, the
/// `Content-Language` answered and the JSON body.
async fn ask(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    lang: Option<&str>,
    body: Option<Value>,
) -> (u16, String, Value) {
    let mut req = app.client.request(method, format!("{}{path}", app.base));
    if !token.is_empty() {
        req = req.bearer_auth(token);
    }
    if let Some(l) = lang {
        req = req.header("Accept-Language", l);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let lang = res
        .headers()
        .get("content-language")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (status, lang, res.json().await.unwrap_or(Value::Null))
}

fn has_chinese(s: &str) -> bool {
    s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

async fn messages_follow_the_language(app: &TestApp) {
    let admin = app.admin_token().await;
    let resident = app.resident_token("13500000001").await;
    let post = reqwest::Method::POST;
    let bad_order = json!({
        "category": "first_aid", "description": "老人摔倒", "address": "新城路1号",
        "lat": 91.0, "lon": LON,
    });

    // Without Accept-Language: Chinese, and the codes and parameters that
    // programs read.
    let (status, lang, zh) = ask(
        app,
        post.clone(),
        "/api/v1/orders",
        &resident,
        None,
        Some(bad_order.clone()),
    )
    .await;
    assert_eq!(status, 422, "{zh}");
    assert_eq!(lang, "zh-CN");
    assert_eq!(zh["code"], "validation", "{zh}");
    let lat = zh["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["field"] == "lat")
        .expect("lat named");
    assert_eq!(lat["code"], "range", "{zh}");
    assert_eq!(lat["params"], json!({"min": -90, "max": 90}), "{zh}");
    assert_eq!(lat["message"], "须在 -90 到 90 之间", "{zh}");
    assert!(has_chinese(zh["detail"].as_str().unwrap()), "{zh}");

    // English when asked, by weight among the languages named; the codes
    // are the same.
    for header in ["en", "en-GB,en;q=0.9", "fr, en;q=0.8, zh;q=0.5"] {
        let (status, lang, en) = ask(
            app,
            post.clone(),
            "/api/v1/orders",
            &resident,
            Some(header),
            Some(bad_order.clone()),
        )
        .await;
        assert_eq!(status, 422);
        assert_eq!(lang, "en", "{header}");
        let lat = en["errors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["field"] == "lat")
            .unwrap();
        assert_eq!(lat["code"], "range");
        assert_eq!(
            lat["message"], "must be between -90 and 90",
            "{header}: {en}"
        );
        assert!(!has_chinese(en["detail"].as_str().unwrap()), "{en}");
    }
    let (_, lang, zh_tw) = ask(
        app,
        post.clone(),
        "/api/v1/orders",
        &resident,
        Some("zh-TW, en;q=0.1"),
        Some(bad_order.clone()),
    )
    .await;
    assert_eq!(lang, "zh-CN");
    assert!(has_chinese(zh_tw["detail"].as_str().unwrap()));

    // A phone in the wrong form names its rule by code.
    let (status, _, phone) = ask(
        app,
        post.clone(),
        "/api/v1/auth/register",
        "",
        Some("en"),
        Some(json!({"phone": "12345", "password": "long-enough-pw", "display_name": "王"})),
    )
    .await;
    assert_eq!(status, 422, "{phone}");
    let e = phone["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["field"] == "phone")
        .unwrap();
    assert_eq!(e["code"], "phone.format", "{phone}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("mainland mobile number"),
        "{phone}"
    );

    // Not found: the noun is a word of the phrasebook too.
    let missing = "/api/v1/orders/01938a2b-0000-7000-8000-000000000000";
    let (status, _, zh) = ask(app, reqwest::Method::GET, missing, &admin, None, None).await;
    assert_eq!(status, 404);
    assert_eq!(zh["code"], "not_found");
    assert_eq!(zh["params"], json!({"what": "noun.order"}));
    assert_eq!(zh["detail"], "找不到该订单");
    let (_, _, en) = ask(app, reqwest::Method::GET, missing, &admin, Some("en"), None).await;
    assert_eq!(en["detail"], "order not found");

    // A conflict names the order's state in the reader's language.
    let id = app
        .place_order(
            &resident,
            json!({
                "category": "first_aid", "description": "老人摔倒", "address": "新城路1号",
                "lat": LAT, "lon": LON,
            }),
        )
        .await;
    app.cancel(&resident, &id, Some("已自行解决"))
        .await
        .expect(200);
    let cancel = format!("/api/v1/orders/{id}/cancel");
    let (status, _, zh) = ask(
        app,
        post.clone(),
        &cancel,
        &resident,
        None,
        Some(json!({"reason": "再次取消"})),
    )
    .await;
    assert_eq!(status, 409, "{zh}");
    assert_eq!(zh["code"], "order.cannot", "{zh}");
    assert_eq!(zh["params"]["status"], "status.cancelled", "{zh}");
    assert!(zh["detail"].as_str().unwrap().contains("已取消"), "{zh}");
    let (_, _, en) = ask(
        app,
        post.clone(),
        &cancel,
        &resident,
        Some("en"),
        Some(json!({"reason": "again"})),
    )
    .await;
    assert!(
        en["detail"].as_str().unwrap().contains("is cancelled"),
        "{en}"
    );

    // The WebSocket's error replies follow the page's `lang`.
    for (query, want) in [("lang=en", "unknown message type"), ("", "未知的消息类型")] {
        let mut ws = ws_connect_query(&app.base, &resident, query).await;
        ws.send(json!({"type": "nonsense"})).await;
        let reply = ws
            .next_of("error", std::time::Duration::from_secs(5))
            .await
            .expect("error reply");
        assert_eq!(reply["code"], "ws.unknown_type");
        assert_eq!(reply["detail"], want, "{query}");
        ws.close().await;
    }
}

both_backends!(language, messages_follow_the_language);
