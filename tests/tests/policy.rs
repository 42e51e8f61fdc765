//! The access policy decisions of README § "Access policy", role by route:
//! what a coordinator may change outside their teams, which exports they
//! get, and which open orders a volunteer may read.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reqwest::Method;
use serde_json::{Value, json};
use zhongdui_tests::{TestApp, both_backends};

const LAT: f64 = 27.56;
const LON: f64 = 120.56;

fn north(m: f64) -> (f64, f64) {
    (LAT + m / 111_195.0, LON)
}

async fn place(app: &TestApp, token: &str, pos: (f64, f64)) -> String {
    app.place_order(
        token,
        json!({"category": "patrol", "lat": pos.0, "lon": pos.1, "address": "新城大道",
               "description": "需要帮助", "urgency": "low"}),
    )
    .await
}

async fn status(app: &TestApp, id: &str, admin: &str) -> String {
    app.get(&format!("/api/v1/orders/{id}"), Some(admin))
        .await
        .expect(200)
        .json["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn matrix(app: &TestApp) {
    let admin = app.admin_token().await;
    let team_a = app.create_team(&admin, "甲队").await;
    let team_b = app.create_team(&admin, "乙队").await;
    let coord_a = app.coordinator_token(&admin, "13911110001", &team_a).await;
    let coord_b = app.coordinator_token(&admin, "13911110002", &team_b).await;
    let a = app
        .volunteers_at(
            &admin,
            &team_a,
            &["patrol"],
            &[north(100.0), north(30_000.0)],
        )
        .await;
    let b = app
        .volunteers_at(&admin, &team_b, &["patrol"], &[north(60_000.0)])
        .await;
    let (near, far) = (&a[0], &a[1]);
    let resident = app.resident_token("13500000401").await;

    // An open order nearby: a volunteer within the grab radius may read it
    // (masked), one 30 km away may not know it exists.
    let open = place(app, &resident, (LAT, LON)).await;
    let path = format!("/api/v1/orders/{open}");
    let seen = app.get(&path, Some(&near.1)).await.expect(200);
    assert!(
        seen.json["contact_phone"]
            .as_str()
            .unwrap()
            .contains("****"),
        "{}",
        seen.text
    );
    app.get(&path, Some(&far.1)).await.expect_problem(404, None);
    app.get(&path, Some(&b[0].1))
        .await
        .expect_problem(404, None);

    // The near volunteer (team A) takes it: team A's coordinator may cancel
    // it, team B's may not (but reads it, as staff do city-wide).
    app.advance_secs(2);
    app.tick().await;
    let offers = app
        .get("/api/v1/me/offers", Some(&near.1))
        .await
        .expect(200);
    let offer = offers.json[0]["id"].as_str().unwrap().to_owned();
    app.send(
        Method::POST,
        &format!("/api/v1/offers/{offer}/accept"),
        Some(&near.1),
        None,
        None,
    )
    .await
    .expect(200);
    app.get(&path, Some(&coord_b)).await.expect(200);
    app.post(
        &format!("{path}/cancel"),
        Some(&coord_b),
        json!({"reason": "不是我的队"}),
    )
    .await
    .expect_problem(403, None);
    assert_eq!(status(app, &open, &admin).await, "assigned");
    app.post(
        &format!("{path}/cancel"),
        Some(&coord_a),
        json!({"reason": "居民电话取消"}),
    )
    .await
    .expect(200);

    // An escalated order is the city's shared queue: any coordinator may
    // send it out again or cancel it.
    let lonely = place(app, &resident, north(200_000.0)).await;
    for _ in 0..6 {
        app.advance_secs(31);
        app.tick().await;
    }
    assert_eq!(status(app, &lonely, &admin).await, "escalated");
    app.post(
        &format!("/api/v1/orders/{lonely}/redispatch"),
        Some(&coord_b),
        json!({}),
    )
    .await
    .expect(200);
    // Once it is open again (not escalated, not theirs) it is not theirs to cancel.
    app.post(
        &format!("/api/v1/orders/{lonely}/cancel"),
        Some(&coord_b),
        json!({"reason": "x"}),
    )
    .await
    .expect_problem(403, None);

    // Exports hold full phone numbers: a coordinator gets their own teams.
    let near_phone = app
        .get(&format!("/api/v1/volunteers/{}", near.0), Some(&admin))
        .await
        .expect(200)
        .json["phone"]
        .as_str()
        .unwrap()
        .to_owned();
    let mine = app
        .get("/api/v1/roster/export", Some(&coord_b))
        .await
        .expect(200)
        .text;
    assert!(!mine.contains(&near_phone), "{mine}");
    app.get(
        &format!("/api/v1/roster/export?team_id={team_a}"),
        Some(&coord_b),
    )
    .await
    .expect_problem(403, None);
    let all = app
        .get("/api/v1/roster/export", Some(&admin))
        .await
        .expect(200)
        .text;
    assert!(all.contains(&near_phone));
    app.post(
        "/api/v1/points/adjustments",
        Some(&admin),
        json!({"volunteer_id": near.0, "amount": 5, "reason": "表彰"}),
    )
    .await
    .expect(201);
    let points_b = app
        .get("/api/v1/points/export", Some(&coord_b))
        .await
        .expect(200)
        .text;
    assert!(!points_b.contains(&near_phone), "{points_b}");
    let points_a = app
        .get("/api/v1/points/export", Some(&coord_a))
        .await
        .expect(200)
        .text;
    assert!(points_a.contains(&near_phone), "{points_a}");

    // Residents and volunteers: no roster, no exports, no staff actions.
    for token in [&resident, &near.1] {
        for p in [
            "/api/v1/volunteers",
            "/api/v1/roster/export",
            "/api/v1/points/export",
            "/api/v1/escalations",
        ] {
            let r = app.get(p, Some(token)).await;
            assert_eq!(r.status.as_u16(), 403, "{p}: {}", r.text);
        }
        let r: Value = app
            .post(
                &format!("/api/v1/orders/{lonely}/redispatch"),
                Some(token),
                json!({}),
            )
            .await
            .json;
        assert_eq!(r["status"], 403, "{r}");
    }
}

both_backends!(access_policy, matrix);
