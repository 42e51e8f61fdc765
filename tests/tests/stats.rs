//! Per-team statistics: every figure checked on a scripted day of offers,
//! declines, timeouts, a reassignment, completions and cancellations; who may
//! see which teams; bad input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Duration;
use reqwest::Method;
use serde_json::{Value, json};
use zhongdui_tests::{LAT, LON, TestApp, at, both_backends};

/// A point `m` metres north of the base.
fn north(m: f64) -> (f64, f64) {
    at(m, 0.0)
}

async fn place(app: &TestApp, token: &str) -> String {
    app.place_order(
        token,
        json!({"category": "patrol", "lat": LAT, "lon": LON, "address": "龙港市新城大道 1 号",
               "description": "需要帮助", "headcount": 1, "urgency": "low"}),
    )
    .await
}

/// The one open offer `token` holds, for `order`.
async fn offer_for(app: &TestApp, token: &str, order: &str) -> String {
    let offers = app.get("/api/v1/me/offers", Some(token)).await.expect(200);
    let list = offers.json.as_array().unwrap();
    assert_eq!(list.len(), 1, "{}", offers.text);
    assert_eq!(list[0]["order_id"], order);
    list[0]["id"].as_str().unwrap().to_owned()
}

async fn answer(app: &TestApp, token: &str, offer: &str, verb: &str, status: u16) {
    app.send(
        Method::POST,
        &format!("/api/v1/offers/{offer}/{verb}"),
        Some(token),
        None,
        None,
    )
    .await
    .expect(status);
}

async fn arrive_and_complete(app: &TestApp, token: &str, order: &str, on_scene_secs: i64) {
    app.post(
        &format!("/api/v1/orders/{order}/arrive"),
        Some(token),
        json!({"lat": LAT, "lon": LON}),
    )
    .await
    .expect(200);
    app.advance_secs(on_scene_secs);
    app.post(
        &format!("/api/v1/orders/{order}/complete"),
        Some(token),
        json!({"note": "处理完毕"}),
    )
    .await
    .expect(200);
}

async fn stats(app: &TestApp, token: &str, query: &str) -> Value {
    app.get(&format!("/api/v1/stats/teams{query}"), Some(token))
        .await
        .expect(200)
        .json
}

fn row<'a>(page: &'a Value, team: &str) -> &'a Value {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["team_id"] == team)
        .unwrap_or_else(|| panic!("team {team} missing from {page}"))
}

fn assert_close(v: &Value, want: f64) {
    let got = v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"));
    assert!((got - want).abs() < 1e-6, "{got} != {want}");
}

async fn figures_per_team(app: &TestApp) {
    // Arrange: team A (a1 at 500 m, a2 at 5 km), team B (b1 at 2 km), team C
    // (nobody); a coordinator of A; a resident.
    let admin = app.admin_token().await;
    let team_a = app.create_team(&admin, "甲队").await;
    let team_b = app.create_team(&admin, "乙队").await;
    let team_c = app.create_team(&admin, "丙队").await;
    let a = app
        .volunteers_at(&admin, &team_a, &["patrol"], &[north(500.0), north(5000.0)])
        .await;
    let b = app
        .volunteers_at(&admin, &team_b, &["patrol"], &[north(2000.0)])
        .await;
    let (a1, a2, b1) = (&a[0], &a[1], &b[0]);
    let coord = app.coordinator_token(&admin, "13911110001", &team_a).await;
    let resident = app.resident_token("13500000001").await;
    let start_day = app.china_today();

    // Order 1: a1 declines (wave 1), b1 accepts 5 s after placement (wave 2),
    // arrives and completes 180 s after accepting.
    let o1 = place(app, &resident).await;
    app.advance_secs(1);
    assert_eq!(app.tick().await.offers, 1);
    let offer = offer_for(app, &a1.1, &o1).await;
    answer(app, &a1.1, &offer, "decline", 204).await;
    assert_eq!(app.tick().await.offers, 1);
    let offer = offer_for(app, &b1.1, &o1).await;
    app.advance_secs(4);
    answer(app, &b1.1, &offer, "accept", 200).await;
    app.advance_secs(60);
    arrive_and_complete(app, &b1.1, &o1, 120).await;
    // The check-in recorded b1 at the order; b1 goes back to their post.
    let post = north(2000.0);
    app.put(
        "/api/v1/me/location",
        Some(&b1.1),
        json!({"lat": post.0, "lon": post.1}),
    )
    .await
    .expect(204);

    // Order 2: a1 accepts 10 s after placement; 20 s later a coordinator puts
    // a2 on it instead (a1: removed, a no-show); a2 completes 600 s after
    // being assigned.
    let o2 = place(app, &resident).await;
    app.advance_secs(1);
    assert_eq!(app.tick().await.offers, 1);
    let offer = offer_for(app, &a1.1, &o2).await;
    app.advance_secs(9);
    answer(app, &a1.1, &offer, "accept", 200).await;
    app.advance_secs(20);
    app.post(
        &format!("/api/v1/orders/{o2}/assign"),
        Some(&admin),
        json!({"volunteer_id": a2.0, "replace_volunteer_id": a1.0}),
    )
    .await
    .expect(200);
    app.advance_secs(300);
    arrive_and_complete(app, &a2.1, &o2, 300).await;
    let post = north(5000.0);
    app.put(
        "/api/v1/me/location",
        Some(&a2.1),
        json!({"lat": post.0, "lon": post.1}),
    )
    .await
    .expect(204);

    // Order 3: a1 lets the offer expire; b1 accepts 39 s after placement;
    // then the resident cancels (not a no-show).
    let o3 = place(app, &resident).await;
    app.advance_secs(1);
    assert_eq!(app.tick().await.offers, 1);
    offer_for(app, &a1.1, &o3).await;
    app.advance_secs(31);
    let r = app.tick().await;
    assert_eq!((r.expired, r.offers), (1, 1), "{r:?}");
    let offer = offer_for(app, &b1.1, &o3).await;
    app.advance_secs(7);
    answer(app, &b1.1, &offer, "accept", 200).await;
    app.post(
        &format!("/api/v1/orders/{o3}/cancel"),
        Some(&resident),
        json!({}),
    )
    .await
    .expect(200);

    // Order 4 (a coordinator's): b1 grabs it 4 s after placement, then a
    // coordinator cancels it before b1 arrives (a no-show).
    let o4 = place(app, &admin).await;
    app.advance_secs(4);
    app.post(&format!("/api/v1/orders/{o4}/grab"), Some(&b1.1), json!({}))
        .await
        .expect(200);
    app.post(
        &format!("/api/v1/orders/{o4}/cancel"),
        Some(&admin),
        json!({"reason": "志愿者未到场"}),
    )
    .await
    .expect(200);

    // Assert: the admin sees every team, by name, zero rows included.
    let from = start_day - Duration::days(1);
    let to = app.china_today() + Duration::days(1);
    let page = stats(app, &admin, &format!("?from={from}&to={to}")).await;
    assert_eq!(page["from"], from.to_string());
    assert_eq!(page["to"], to.to_string());
    let names: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["team_name"].as_str().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted, "ordered by name");
    assert_eq!(names.len(), 3);

    let ra = row(&page, &team_a);
    assert_eq!(ra["team_name"], "甲队");
    assert_eq!(ra["offers"], 3, "{ra}");
    assert_eq!(ra["accepted"], 1, "{ra}");
    assert_eq!(ra["declined"], 1, "{ra}");
    assert_eq!(ra["expired"], 1, "{ra}");
    assert_close(&ra["acceptance_rate"], 1.0 / 3.0);
    assert_eq!(ra["orders_served"], 1, "{ra}");
    assert_close(&ra["avg_first_accept_secs"], 10.0);
    assert_eq!(ra["completed"], 1, "{ra}");
    assert_close(&ra["avg_completion_secs"], 600.0);
    assert_eq!(ra["no_shows"], 1, "{ra}");

    let rb = row(&page, &team_b);
    assert_eq!(rb["offers"], 2, "{rb}");
    assert_eq!(rb["accepted"], 2, "{rb}");
    assert_eq!(rb["declined"], 0, "{rb}");
    assert_eq!(rb["expired"], 0, "{rb}");
    assert_close(&rb["acceptance_rate"], 1.0);
    assert_eq!(rb["orders_served"], 3, "{rb}");
    assert_close(&rb["avg_first_accept_secs"], (5.0 + 39.0 + 4.0) / 3.0);
    assert_eq!(rb["completed"], 1, "{rb}");
    assert_close(&rb["avg_completion_secs"], 180.0);
    assert_eq!(rb["no_shows"], 1, "{rb}");

    let rc = row(&page, &team_c);
    for k in [
        "offers",
        "accepted",
        "declined",
        "expired",
        "orders_served",
        "completed",
        "no_shows",
    ] {
        assert_eq!(rc[k], 0, "{k}: {rc}");
    }
    for k in [
        "acceptance_rate",
        "avg_first_accept_secs",
        "avg_completion_secs",
    ] {
        assert!(rc[k].is_null(), "{k}: {rc}");
    }

    // The default period (the last 30 days) holds the same figures.
    let default = stats(app, &admin, "").await;
    assert_eq!(default["to"], app.china_today().to_string());
    assert_eq!(
        default["from"],
        (app.china_today() - Duration::days(29)).to_string()
    );
    assert_eq!(default["items"], page["items"]);

    // A period before any of it: every team, all zero.
    let before = start_day - Duration::days(1);
    let empty = stats(app, &admin, &format!("?from=2000-01-01&to={before}")).await;
    assert_eq!(empty["items"].as_array().unwrap().len(), 3);
    for r in empty["items"].as_array().unwrap() {
        assert_eq!(r["offers"], 0, "{r}");
        assert_eq!(r["orders_served"], 0, "{r}");
        assert_eq!(r["completed"], 0, "{r}");
        assert!(r["acceptance_rate"].is_null(), "{r}");
    }

    // One team, for the admin.
    let only_b = stats(app, &admin, &format!("?team_id={team_b}")).await;
    assert_eq!(only_b["items"].as_array().unwrap().len(), 1);
    assert_eq!(only_b["items"][0], *rb);

    // A coordinator sees the teams they coordinate, and only those.
    let mine = stats(app, &coord, "").await;
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    assert_eq!(mine["items"][0], *ra);
    let mine = stats(app, &coord, &format!("?team_id={team_a}")).await;
    assert_eq!(mine["items"][0], *ra);
    app.get(
        &format!("/api/v1/stats/teams?team_id={team_b}"),
        Some(&coord),
    )
    .await
    .expect_problem(403, None);
    let unknown = uuid::Uuid::new_v4();
    app.get(
        &format!("/api/v1/stats/teams?team_id={unknown}"),
        Some(&coord),
    )
    .await
    .expect_problem(404, None);
    app.get(
        &format!("/api/v1/stats/teams?team_id={unknown}"),
        Some(&admin),
    )
    .await
    .expect_problem(404, None);

    // Residents and volunteers: 403; nobody: 401.
    app.get("/api/v1/stats/teams", Some(&resident))
        .await
        .expect_problem(403, None);
    app.get("/api/v1/stats/teams", Some(&a1.1))
        .await
        .expect_problem(403, None);
    app.get("/api/v1/stats/teams", None)
        .await
        .expect_problem(401, None);
}

both_backends!(team_figures, figures_per_team);

async fn bad_stats_queries(app: &TestApp) {
    let admin = app.admin_token().await;
    app.create_team(&admin, "甲队").await;
    for (query, field) in [
        ("from=2026-13-01", "from"),
        ("from=yesterday", "from"),
        ("to=2026-02-30", "to"),
        ("to=20260301", "to"),
        ("from=2026-03-02&to=2026-03-01", "from"),
        ("team_id=not-a-uuid", "team_id"),
    ] {
        app.get(&format!("/api/v1/stats/teams?{query}"), Some(&admin))
            .await
            .expect_problem(422, Some(field));
    }
    // A one-day period is fine; so is a period that is all in the future.
    let page = stats(app, &admin, "?from=2026-03-01&to=2026-03-01").await;
    assert_eq!(page["from"], "2026-03-01");
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    stats(app, &admin, "?from=2099-01-01&to=2099-01-31").await;
    // And it is documented.
    let doc = app.get("/api/openapi.json", None).await.expect(200);
    let op = &doc.json["paths"]["/api/v1/stats/teams"]["get"];
    assert!(
        op.is_object(),
        "stats route missing from the OpenAPI document"
    );
    let params: Vec<&str> = op["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(params, ["from", "to", "team_id"]);
}

both_backends!(stats_bad_input, bad_stats_queries);
