//! Places on the coordinator's map: police stations placed by admins and
//! listed for staff, teams' bases set, moved and cleared; who may do which;
//! bad positions named by field and changing nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;
use zhongdui_tests::{LAT, LON, TestApp, both_backends};

async fn stations_and_bases(app: &TestApp) {
    let admin = app.admin_token().await;
    let team = app.create_team(&admin, "新城应急救援一队").await;
    let coordinator = app.coordinator_token(&admin, "13900000001", &team).await;
    let resident = app.resident_token("13500000001").await;

    // Admins place a station; placing it again by name moves it.
    let placed = app
        .put(
            "/api/v1/stations",
            Some(&admin),
            json!({"name": "新城联勤警务站", "lat": LAT, "lon": LON}),
        )
        .await
        .expect(200);
    assert_eq!(placed.json["name"], "新城联勤警务站");
    let moved = app
        .put(
            "/api/v1/stations",
            Some(&admin),
            json!({"name": " 新城联勤警务站 ", "lat": LAT + 0.01, "lon": LON}),
        )
        .await
        .expect(200);
    assert_eq!(
        moved.json["id"], placed.json["id"],
        "the same station, moved"
    );
    // Staff see them; a resident does not; only admins place.
    let list = app
        .get("/api/v1/stations", Some(&coordinator))
        .await
        .expect(200);
    let items = list.json["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert!((items[0]["lat"].as_f64().unwrap() - (LAT + 0.01)).abs() < 1e-9);
    app.get("/api/v1/stations", Some(&resident))
        .await
        .expect_problem(403, None);
    app.get("/api/v1/stations", None)
        .await
        .expect_problem(401, None);
    app.put(
        "/api/v1/stations",
        Some(&coordinator),
        json!({"name": "白沙联勤警务站", "lat": LAT, "lon": LON}),
    )
    .await
    .expect_problem(403, None);
    // A bad position or name is named and changes nothing.
    app.put(
        "/api/v1/stations",
        Some(&admin),
        json!({"name": "新城联勤警务站", "lat": 91.0, "lon": LON}),
    )
    .await
    .expect_problem(422, Some("lat"));
    app.put(
        "/api/v1/stations",
        Some(&admin),
        json!({"name": "", "lat": LAT, "lon": LON}),
    )
    .await
    .expect_problem(422, Some("name"));
    let list = app.get("/api/v1/stations", Some(&admin)).await.expect(200);
    assert!((list.json["items"][0]["lat"].as_f64().unwrap() - (LAT + 0.01)).abs() < 1e-9);

    // A team has no base until one is set; its coordinator sets and moves it.
    let t = app
        .get(&format!("/api/v1/teams/{team}"), Some(&admin))
        .await
        .expect(200);
    assert!(t.json["base"].is_null(), "{}", t.text);
    let set = app
        .patch(
            &format!("/api/v1/teams/{team}"),
            Some(&coordinator),
            json!({"base": {"lat": LAT, "lon": LON}}),
        )
        .await
        .expect(200);
    assert_eq!(set.json["base"], json!({"lat": LAT, "lon": LON}));
    // Other changes leave it where it is.
    let renamed = app
        .patch(
            &format!("/api/v1/teams/{team}"),
            Some(&coordinator),
            json!({"area": "新城片区"}),
        )
        .await
        .expect(200);
    assert_eq!(renamed.json["base"], json!({"lat": LAT, "lon": LON}));
    app.patch(
        &format!("/api/v1/teams/{team}"),
        Some(&coordinator),
        json!({"base": {"lat": LAT, "lon": 181.0}}),
    )
    .await
    .expect_problem(422, Some("base.lon"));
    let cleared = app
        .patch(
            &format!("/api/v1/teams/{team}"),
            Some(&coordinator),
            json!({"base": null}),
        )
        .await
        .expect(200);
    assert!(cleared.json["base"].is_null(), "{}", cleared.text);
    // A new team can start with one.
    let made = app
        .post(
            "/api/v1/teams",
            Some(&admin),
            json!({"name": "白沙平安巡防一队", "kind": "community_patrol", "base": {"lat": LAT, "lon": LON}}),
        )
        .await
        .expect(201);
    assert_eq!(made.json["base"], json!({"lat": LAT, "lon": LON}));
}

both_backends!(places, stations_and_bases);
