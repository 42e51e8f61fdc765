//! Replay-safe actions: every route that honours `Idempotency-Key` gives
//! the first answer again to the same request with the same key — also
//! from another process — and acts once; the key with another request is
//! 422; identical requests racing in two processes act once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};
use zhongdui_tests::{LAT, LON, TestApp, at, both_backends};

/// The answer to a request sent with `key`: status, JSON body, replayed?
async fn keyed(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    key: &str,
    body: Option<Value>,
) -> (u16, Value, bool) {
    let mut req = app
        .client
        .request(method, format!("{}{path}", app.base))
        .bearer_auth(token)
        .header("Idempotency-Key", key);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let replayed = r.headers().get("idempotent-replayed").is_some();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        replayed,
    )
}

/// Sends the request twice, the second time to `other`: the same answer,
/// the second replayed.
async fn twice(
    app: &TestApp,
    other: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    key: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let first = keyed(app, method.clone(), path, token, key, body.clone()).await;
    let again = keyed(other, method, path, token, key, body).await;
    assert!(!first.2, "{path}: the first answer is not a replay");
    assert!(again.2, "{path}: the second is the first again: {again:?}");
    assert_eq!((first.0, &first.1), (again.0, &again.1), "{path}");
    (first.0, first.1)
}

async fn events(app: &TestApp, token: &str, order: &str, kind: &str) -> usize {
    let o = app.order_detail(token, order).await.expect(200).json;
    o["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .count()
}

fn order_body(address: &str) -> Value {
    json!({"category": "patrol", "lat": LAT, "lon": LON, "address": address,
           "description": "楼道有异响", "urgency": "low"})
}

async fn every_route_acts_once(app: &TestApp) {
    let scene = app
        .scene("甲队", &["patrol"], &[at(200.0, 0.0), at(300.0, 0.0)])
        .await;
    let (admin, v0, v1) = (&scene.admin, &scene.vs[0].1, &scene.vs[1].1);
    let second = app.second_process().await;
    let resident = app.resident_token("13500000071").await;
    let id = app
        .place_order(&resident, order_body("新城大道 1 号"))
        .await;
    app.advance_secs(1);
    app.tick().await;
    let offer = app.offers_of(v0).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Accept: the replay (to the other process) is the first 200, not a 409.
    let path = format!("/api/v1/offers/{offer}/accept");
    let (status, _) = twice(app, &second, Method::POST, &path, v0, "k-accept", None).await;
    assert_eq!(status, 200);
    assert_eq!(events(app, admin, &id, "offer_accepted").await, 1);
    // The same key for another request: 422 naming the header, nothing done.
    let other = format!("/api/v1/offers/{offer}/decline");
    let (status, body, _) = keyed(app, Method::POST, &other, v0, "k-accept", None).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["errors"][0]["field"], "Idempotency-Key", "{body}");

    // Position, check-in, a thread message, completion.
    app.advance_secs(60);
    let here = json!({"lat": LAT, "lon": LON});
    let (status, _) = twice(
        app,
        &second,
        Method::PUT,
        "/api/v1/me/location",
        v0,
        "k-pos",
        Some(here.clone()),
    )
    .await;
    assert_eq!(status, 204);
    let moved = json!({"lat": LAT + 0.001, "lon": LON});
    let (status, _, _) = keyed(
        app,
        Method::PUT,
        "/api/v1/me/location",
        v0,
        "k-pos",
        Some(moved),
    )
    .await;
    assert_eq!(status, 422, "the key with another body");
    // Keys are per user: the same key is another volunteer's own.
    let (status, _, replayed) = keyed(
        app,
        Method::PUT,
        "/api/v1/me/location",
        v1,
        "k-pos",
        Some(here.clone()),
    )
    .await;
    assert_eq!((status, replayed), (204, false));
    let arrive = format!("/api/v1/orders/{id}/arrive");
    let (status, _) = twice(
        app,
        &second,
        Method::POST,
        &arrive,
        v0,
        "k-arrive",
        Some(here),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(events(app, admin, &id, "arrived").await, 1);
    let thread = format!("/api/v1/orders/{id}/messages");
    let note = json!({"text": "已到现场"});
    let (status, m) = twice(app, &second, Method::POST, &thread, v0, "k-msg", Some(note)).await;
    assert_eq!(status, 201, "{m}");
    assert_eq!(app.count("order_messages").await, 1);
    let complete = format!("/api/v1/orders/{id}/complete");
    let done = json!({"note": "已处理"});
    let (status, o) = twice(
        app,
        &second,
        Method::POST,
        &complete,
        v0,
        "k-done",
        Some(done),
    )
    .await;
    assert_eq!(status, 200, "{o}");
    assert_eq!(events(app, admin, &id, "completed").await, 1);

    // Decline and grab on a second order.
    let id2 = app
        .place_order(&resident, order_body("新城大道 2 号"))
        .await;
    app.advance_secs(1);
    app.tick().await;
    let (asked, free) = if app.offers_of(v0).await.is_empty() {
        (v1, v0)
    } else {
        (v0, v1)
    };
    let offer2 = app.offers_of(asked).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let decline = format!("/api/v1/offers/{offer2}/decline");
    let (status, _) = twice(app, &second, Method::POST, &decline, asked, "k-no", None).await;
    assert_eq!(status, 204);
    assert_eq!(events(app, admin, &id2, "offer_declined").await, 1);
    let grab = format!("/api/v1/orders/{id2}/grab");
    let (status, o) = twice(app, &second, Method::POST, &grab, free, "k-grab", None).await;
    assert_eq!(status, 200, "{o}");
    assert_eq!(o["filled"], 1);

    // A refusal is an answer too: the same 409 again, not a second try.
    let (status, _) = twice(app, &second, Method::POST, &grab, asked, "k-late", None).await;
    assert_eq!(status, 409);
    // A bad key is named.
    let (status, body, _) = keyed(app, Method::POST, &grab, asked, &"k".repeat(256), None).await;
    assert_eq!(
        (status, body["errors"][0]["field"].as_str()),
        (422, Some("Idempotency-Key"))
    );
}

both_backends!(every_route, every_route_acts_once);

async fn a_race_acts_once(app: &TestApp) {
    let scene = app.scene("甲队", &["patrol"], &[at(200.0, 0.0)]).await;
    let v = &scene.vs[0].1;
    let second = app.second_process().await;
    let id = app
        .place_order(&scene.admin, order_body("新城大道 3 号"))
        .await;
    app.advance_secs(1);
    app.tick().await;
    let offer = app.offers_of(v).await[0]["id"].as_str().unwrap().to_owned();
    app.accept_offer(v, &offer).await.expect(200);
    let path = format!("/api/v1/orders/{id}/messages");
    let body = json!({"text": "马上到"});
    let answers = join_all((0..6).map(|i| {
        let by = if i % 2 == 0 { app } else { &second };
        keyed(by, Method::POST, &path, v, "k-race", Some(body.clone()))
    }))
    .await;
    let statuses: Vec<u16> = answers.iter().map(|a| a.0).collect();
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 409),
        "{statuses:?}"
    );
    assert!(statuses.contains(&201), "{statuses:?}");
    assert_eq!(app.count("order_messages").await, 1, "{statuses:?}");
    let (status, _, replayed) = keyed(&second, Method::POST, &path, v, "k-race", Some(body)).await;
    assert_eq!((status, replayed), (201, true));
}

both_backends!(race, a_race_acts_once);
