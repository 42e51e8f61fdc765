//! The liaison thread of an order and team broadcasts: who may read and
//! write a thread (its resident, the volunteers on it, staff — writing only
//! where their teams allow — and the station that sent it; everyone else
//! 404), live pushes of each message, text rules, limits, retention; and a
//! coordinator's broadcasts to their team, pushed live and kept for
//! `GET /me/broadcasts`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::{Value, json};
use zhongdui_tests::{LAT, LON, TestApp, at, both_backends, both_backends_with};

const WAIT: Duration = Duration::from_secs(5);

fn order_body() -> Value {
    json!({"category": "patrol", "lat": LAT, "lon": LON, "address": "龙港市新城大道 1 号",
           "description": "楼道里有陌生人徘徊", "urgency": "normal"})
}

/// A client token for a station client registered by `admin`.
async fn station_token(app: &TestApp, admin: &str) -> String {
    let c = app
        .post(
            "/api/v1/clients",
            Some(admin),
            json!({"name": "白沙警务系统", "station": "白沙联勤警务站", "scopes": ["slips"]}),
        )
        .await
        .expect(201)
        .json;
    app.post(
        "/api/v1/oauth/token",
        None,
        json!({"grant_type": "client_credentials", "client_id": c["client_id"],
               "client_secret": c["client_secret"]}),
    )
    .await
    .expect(200)
    .json["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn thread_access(app: &TestApp) {
    let scene = app
        .scene("甲队", &["patrol"], &[at(200.0, 0.0), at(300.0, 0.0)])
        .await;
    let admin = &scene.admin;
    let (on_it, asked) = (&scene.vs[0].1, &scene.vs[1].1);
    let team_b = app.create_team(admin, "乙队").await;
    let far = app
        .volunteers_at(admin, &team_b, &["patrol"], &[at(0.0, 50_000.0)])
        .await
        .remove(0);
    let coord_a = app
        .coordinator_token(admin, "13911110031", &scene.team)
        .await;
    let coord_b = app.coordinator_token(admin, "13911110032", &team_b).await;
    let resident = app.resident_token("13500000031").await;
    let stranger = app.resident_token("13500000032").await;
    let station = station_token(app, admin).await;

    let id = app.place_order(&resident, order_body()).await;
    app.advance_secs(1);
    app.tick().await;
    let offer = app.offers_of(on_it).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.accept_offer(on_it, &offer).await.expect(200);
    let path = format!("/api/v1/orders/{id}/messages");

    let mut ws_resident = app.ws(&resident, None).await;
    let mut ws_volunteer = app.ws(on_it, None).await;
    let mut ws_staff = app.ws(admin, None).await;
    let mut ws_asked = app.ws(asked, None).await;

    // Those on the thread write to it.
    let first = app
        .post(
            &path,
            Some(&resident),
            json!({"text": "  门口有狗，请小心  "}),
        )
        .await
        .expect(201)
        .json;
    assert_eq!(first["text"], "门口有狗，请小心", "trimmed");
    assert_eq!(first["author_role"], "resident");
    for (token, text) in [
        (on_it.as_str(), "五分钟到"),
        (coord_a.as_str(), "已通知社区民警"),
        (admin.as_str(), "市级已关注"),
    ] {
        app.post(&path, Some(token), json!({"text": text}))
            .await
            .expect(201);
    }
    // Each message is pushed to the resident, the volunteer on it and staff.
    for ws in [&mut ws_resident, &mut ws_volunteer, &mut ws_staff] {
        let m = ws.next_of("order_message", WAIT).await.expect("pushed");
        assert_eq!(m["order_id"], id.as_str());
        assert_eq!(m["text"], "门口有狗，请小心");
        assert_eq!(m["author_role"], "resident");
    }
    assert!(
        ws_asked
            .next_of("order_message", Duration::from_millis(500))
            .await
            .is_none(),
        "a volunteer only offered the order hears nothing"
    );

    // A coordinator of another team reads it but may not write.
    let read = app.get(&path, Some(&coord_b)).await.expect(200).json;
    assert_eq!(read["total"], 4);
    app.post(&path, Some(&coord_b), json!({"text": "乙队可支援"}))
        .await
        .expect_problem(403, None);
    // Everyone else is told there is no such order.
    for token in [&stranger, asked, &far.1, &station] {
        app.get(&path, Some(token)).await.expect_problem(404, None);
        app.post(&path, Some(token), json!({"text": "hi"}))
            .await
            .expect_problem(404, None);
    }
    app.get(&path, None).await.expect_problem(401, None);

    // The thread, oldest first, with names and roles.
    let thread = app.get(&path, Some(on_it)).await.expect(200).json;
    let items = thread["items"].as_array().unwrap();
    let roles: Vec<&str> = items
        .iter()
        .map(|m| m["author_role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["resident", "volunteer", "coordinator", "admin"]);
    assert!(
        items
            .windows(2)
            .all(|w| w[0]["id"].as_i64() < w[1]["id"].as_i64())
    );
    assert_eq!(items[2]["author_name"], "协调员");

    // Bad text changes nothing.
    let before = app.count("order_messages").await;
    for (bad, why) in [
        (json!({"text": ""}), "empty"),
        (json!({"text": " \u{200b} "}), "blank"),
        (json!({"text": "长".repeat(1001)}), "too long"),
        (json!({"text": "ok\u{202e}evil"}), "direction override"),
        (json!({"text": 5}), "not a string"),
        (json!({}), "missing"),
    ] {
        let r = app.post(&path, Some(&resident), bad).await;
        assert!(
            r.status == 422 || r.status == 400,
            "{why}: {} {}",
            r.status,
            r.text
        );
        if r.status == 422 {
            r.expect_problem(422, Some("text"));
        }
    }
    assert_eq!(app.count("order_messages").await, before);
    app.post(
        "/api/v1/orders/00000000-0000-0000-0000-000000000000/messages",
        Some(admin),
        json!({"text": "x"}),
    )
    .await
    .expect_problem(404, None);
    app.get("/api/v1/orders/nope/messages", Some(admin))
        .await
        .expect_problem(422, Some("id"));
}

both_backends!(thread, thread_access);

async fn limits(app: &TestApp) {
    let admin = app.admin_token().await;
    let team = app.create_team(&admin, "甲队").await;
    let coord = app.coordinator_token(&admin, "13911110041", &team).await;
    let resident = app.resident_token("13500000041").await;
    let id = app.place_order(&resident, order_body()).await;
    let path = format!("/api/v1/orders/{id}/messages");
    for _ in 0..2 {
        app.post(&path, Some(&resident), json!({"text": "在吗"}))
            .await
            .expect(201);
    }
    let limited = app
        .post(&path, Some(&resident), json!({"text": "在吗"}))
        .await
        .expect_problem(429, None);
    assert!(limited.json["detail"].as_str().is_some());
    assert_eq!(app.count("order_messages").await, 2);
    // Another author has their own allowance.
    app.post(&path, Some(&admin), json!({"text": "马上安排"}))
        .await
        .expect(201);
    let sends = format!("/api/v1/teams/{team}/broadcasts");
    app.post(&sends, Some(&coord), json!({"text": "集合"}))
        .await
        .expect(201);
    app.post(&sends, Some(&coord), json!({"text": "集合"}))
        .await
        .expect_problem(429, None);
    assert_eq!(app.count("broadcasts").await, 1);
}

both_backends_with!(limits_429, limits, |s| {
    s.limits.messages_burst = 2;
    s.limits.messages_per_hour = 1;
    s.limits.broadcasts_burst = 1;
    s.limits.broadcasts_per_hour = 1;
});

async fn broadcasts(app: &TestApp) {
    let scene = app
        .scene("甲队", &["patrol"], &[at(200.0, 0.0), at(300.0, 0.0)])
        .await;
    let admin = &scene.admin;
    let team_b = app.create_team(admin, "乙队").await;
    let b1 = app
        .volunteers_at(admin, &team_b, &["patrol"], &[at(900.0, 0.0)])
        .await
        .remove(0);
    let coord_a = app
        .coordinator_token(admin, "13911110051", &scene.team)
        .await;
    let coord_b = app.coordinator_token(admin, "13911110052", &team_b).await;
    let resident = app.resident_token("13500000051").await;
    let (a1, a2) = (&scene.vs[0].1, &scene.vs[1].1);
    let mut ws_a1 = app.ws(a1, None).await;
    let mut ws_b1 = app.ws(&b1.1, None).await;

    let sends = format!("/api/v1/teams/{}/broadcasts", scene.team);
    let sent = app
        .post(
            &sends,
            Some(&coord_a),
            json!({"text": "今晚 8 点新城广场集合，带好反光背心"}),
        )
        .await
        .expect(201)
        .json;
    assert_eq!(sent["recipients"], 2);
    assert_eq!(sent["team_name"], "甲队");
    let live = ws_a1.next_of("broadcast", WAIT).await.expect("pushed live");
    assert_eq!(live["text"], "今晚 8 点新城广场集合，带好反光背心");
    assert_eq!(live["team_id"], scene.team.as_str());
    assert_eq!(live["author_name"], "协调员");
    assert!(
        ws_b1
            .next_of("broadcast", Duration::from_millis(500))
            .await
            .is_none(),
        "another team hears nothing"
    );
    // Kept for those who were offline; only their own team's.
    let mine = app
        .get("/api/v1/me/broadcasts", Some(a2))
        .await
        .expect(200)
        .json;
    assert_eq!(mine["total"], 1);
    assert_eq!(mine["items"][0]["id"], sent["id"]);
    let theirs = app
        .get("/api/v1/me/broadcasts", Some(&b1.1))
        .await
        .expect(200)
        .json;
    assert_eq!(theirs["total"], 0);

    // Who may send and read: the team's coordinators and admins.
    for token in [&coord_b, a1, &resident] {
        app.post(&sends, Some(token), json!({"text": "x"}))
            .await
            .expect_problem(403, None);
    }
    app.get(&sends, Some(&coord_b))
        .await
        .expect_problem(403, None);
    assert_eq!(
        app.get(&sends, Some(&coord_a)).await.expect(200).json["total"],
        1
    );
    app.get("/api/v1/me/broadcasts", Some(&resident))
        .await
        .expect_problem(403, None);
    app.post(
        &format!("/api/v1/teams/{team_b}/broadcasts"),
        Some(admin),
        json!({"text": "乙队明早集合"}),
    )
    .await
    .expect(201);
    let theirs = app
        .get("/api/v1/me/broadcasts", Some(&b1.1))
        .await
        .expect(200)
        .json;
    assert_eq!(theirs["items"][0]["text"], "乙队明早集合");
    // Bad input changes nothing.
    let before = app.count("broadcasts").await;
    app.post(&sends, Some(&coord_a), json!({"text": ""}))
        .await
        .expect_problem(422, Some("text"));
    app.post(
        "/api/v1/teams/00000000-0000-0000-0000-000000000000/broadcasts",
        Some(admin),
        json!({"text": "x"}),
    )
    .await
    .expect_problem(404, None);
    assert_eq!(app.count("broadcasts").await, before);
}

both_backends!(team_broadcasts, broadcasts);
