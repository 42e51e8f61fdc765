//! Personal data: closed orders lose their free text, contact and exact
//! place after the retention period; residents delete their accounts and
//! coordinators their volunteers, keeping history and points without the
//! identity; roster, team, account and points changes are audited.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reqwest::Method;
use serde_json::json;
use zhongdui_api::clock::Clock;
use zhongdui_tests::{TestApp, both_backends};

const LAT: f64 = 27.5612;
const LON: f64 = 120.5634;

async fn place(app: &TestApp, token: &str, address: &str) -> String {
    app.place_order(
        token,
        json!({"category": "patrol", "lat": LAT, "lon": LON, "address": address,
               "description": "王阿姨家门口有可疑人员", "contact_phone": "13600000009"}),
    )
    .await
}

async fn cancel(app: &TestApp, token: &str, id: &str) {
    app.send(
        Method::POST,
        &format!("/api/v1/orders/{id}/cancel"),
        Some(token),
        Some(json!({})),
        None,
    )
    .await
    .expect(200);
}

async fn retention_and_deletion(app: &TestApp) {
    let admin = app.admin_token().await;
    let resident = app.resident_token("13500000801").await;

    // Retention: an order closed 181 days ago is erased, a recent one is not.
    let old = place(app, &resident, "龙港市新城大道 8 号 3 单元").await;
    let thread = format!("/api/v1/orders/{old}/messages");
    app.post(
        &thread,
        Some(&resident),
        json!({"text": "我家在 3 单元 501"}),
    )
    .await
    .expect(201);
    cancel(app, &resident, &old).await;
    app.advance_secs(181 * 24 * 3600);
    let recent = place(app, &resident, "龙港市世纪大道 1 号").await;
    cancel(app, &resident, &recent).await;
    let n = zhongdui_api::services::privacy::erase_expired(&app.state.db, 180, app.clock.now())
        .await
        .unwrap();
    assert_eq!(n, 1);
    let o = app
        .get(&format!("/api/v1/orders/{old}"), Some(&admin))
        .await
        .expect(200)
        .json;
    assert_eq!(o["description"], "");
    assert!(!o["address"].as_str().unwrap().contains("新城大道"), "{o}");
    assert!(o["contact_phone"].is_null(), "{o}");
    assert_eq!(o["lat"], 27.56);
    assert_eq!(o["lon"], 120.56);
    assert_eq!(o["status"], "cancelled", "the statistics keep the outcome");
    let kinds: Vec<&str> = o["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"personal_data_erased"), "{kinds:?}");
    // The thread goes with the rest, and takes no new messages.
    let messages = app.get(&thread, Some(&admin)).await.expect(200).json;
    assert_eq!(messages["total"], 0, "{messages}");
    app.post(&thread, Some(&admin), json!({"text": "补充"}))
        .await
        .expect_problem(409, None);
    assert!(
        kinds.contains(&"cancelled") || kinds.len() >= 2,
        "who did what stays: {kinds:?}"
    );
    let r = app
        .get(&format!("/api/v1/orders/{recent}"), Some(&admin))
        .await
        .expect(200)
        .json;
    assert_eq!(r["address"], "龙港市世纪大道 1 号");
    // Running it again changes nothing.
    assert_eq!(
        zhongdui_api::services::privacy::erase_expired(&app.state.db, 180, app.clock.now())
            .await
            .unwrap(),
        0
    );

    // A resident deletes their account: not while a request runs.
    let running = place(app, &resident, "龙港市新城大道 9 号").await;
    app.send(Method::DELETE, "/api/v1/me", Some(&resident), None, None)
        .await
        .expect_problem(409, None);
    cancel(app, &resident, &running).await;
    app.send(Method::DELETE, "/api/v1/me", Some(&resident), None, None)
        .await
        .expect(204);
    app.post(
        "/api/v1/auth/login",
        None,
        json!({"phone": "13500000801", "password": "resident-pw"}),
    )
    .await
    .expect_problem(401, None);
    let o = app
        .get(&format!("/api/v1/orders/{running}"), Some(&admin))
        .await
        .expect(200)
        .json;
    assert!(o["contact_phone"].is_null(), "{o}");
    assert!(o["events"].as_array().unwrap().len() >= 2, "history kept");
    // The phone is free again.
    app.resident_token("13500000801").await;
}

both_backends!(retention, retention_and_deletion);

async fn volunteers_deleted_and_changes_audited(app: &TestApp) {
    let admin = app.admin_token().await;
    let team_a = app.create_team(&admin, "甲队").await;
    let team_b = app.create_team(&admin, "乙队").await;
    let coord_b = app.coordinator_token(&admin, "13911110008", &team_b).await;
    let vs = app
        .volunteers_at(&admin, &team_a, &["patrol"], &[(LAT, LON)])
        .await;
    let (vid, vtoken) = (&vs[0].0, &vs[0].1);
    app.patch(
        &format!("/api/v1/volunteers/{vid}"),
        Some(&admin),
        json!({"capacity": 2, "password": "another-password"}),
    )
    .await
    .expect(200);
    app.post(
        "/api/v1/points/adjustments",
        Some(&admin),
        json!({"volunteer_id": vid, "amount": 15, "reason": "防汛值守"}),
    )
    .await
    .expect(201);

    // Only their team's coordinator (or an admin) may delete them.
    let path = format!("/api/v1/volunteers/{vid}");
    app.send(Method::DELETE, &path, Some(&coord_b), None, None)
        .await
        .expect_problem(403, None);
    app.send(Method::DELETE, &path, Some(&admin), None, None)
        .await
        .expect(204);
    app.get("/api/v1/me", Some(vtoken))
        .await
        .expect_problem(401, None);
    let list = app
        .get(
            &format!("/api/v1/volunteers?team_id={team_a}"),
            Some(&admin),
        )
        .await
        .expect(200)
        .json;
    assert_eq!(list["total"], 0, "off the roster: {list}");
    // The points stay summed under the anonymous id.
    let points = app
        .get(&format!("{path}/points"), Some(&admin))
        .await
        .expect(200)
        .json;
    assert_eq!(points["balance"], 15);
    let board = app
        .get("/api/v1/leaderboard?scope=teams&period=all", Some(&admin))
        .await
        .expect(200)
        .json;
    assert!(board.to_string().contains("15"), "{board}");
    app.send(Method::DELETE, &path, Some(&admin), None, None)
        .await
        .expect_problem(404, None);

    // The audit: who did what, without the password.
    let audit = app
        .get("/api/v1/audit?per_page=100", Some(&admin))
        .await
        .expect(200)
        .json;
    let entries = audit["items"].as_array().unwrap();
    let has = |entity: &str, action: &str| {
        entries
            .iter()
            .any(|e| e["entity"] == entity && e["action"] == action && e["actor_role"] == "admin")
    };
    for (entity, action) in [
        ("team", "created"),
        ("volunteer", "created"),
        ("volunteer", "updated"),
        ("points", "adjustment"),
        ("volunteer", "deleted"),
        ("coordinator", "appointed"),
    ] {
        assert!(has(entity, action), "{entity} {action} missing: {audit}");
    }
    assert!(!audit.to_string().contains("another-password"));
    let updated = entries
        .iter()
        .find(|e| e["entity"] == "volunteer" && e["action"] == "updated")
        .unwrap();
    assert_eq!(updated["data"]["password_reset"], true);
    assert_eq!(updated["data"]["fields"], json!(["capacity"]));
    app.get("/api/v1/audit", Some(&coord_b))
        .await
        .expect_problem(403, None);
}

both_backends!(volunteer_deletion, volunteers_deleted_and_changes_audited);
