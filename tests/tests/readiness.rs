//! Readiness: certificates running out (the staff list, scoped to a
//! coordinator's teams; alerts 30 and 7 days before, once each, to the
//! volunteer and the coordinators' feed) and coverage (each cell's count
//! of available qualified volunteers, against a brute-force count).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::{Value, json};
use zhongdui_tests::{LAT, LON, TestApp, at, both_backends};

async fn set_expiry(app: &TestApp, admin: &str, id: &str, day: chrono::NaiveDate) {
    app.patch(
        &format!("/api/v1/volunteers/{id}"),
        Some(admin),
        json!({"skills": ["first_aid"], "certificates": {"first_aid": day.to_string()}}),
    )
    .await
    .expect(200);
}

async fn alerts(app: &TestApp, today: chrono::NaiveDate) -> usize {
    zhongdui_api::services::certificates::alert_due(
        &app.state.db,
        app.state.channels(),
        today,
        app.state.clock.now(),
    )
    .await
    .unwrap()
}

async fn expiry(app: &TestApp) {
    let scene = app
        .scene(
            "白沙急救队",
            &["first_aid"],
            &[at(100.0, 0.0), at(200.0, 0.0), at(300.0, 0.0)],
        )
        .await;
    let admin = &scene.admin;
    let other_team = app.create_team(admin, "新城巡防队").await;
    let coord = app
        .coordinator_token(admin, "13911110601", &scene.team)
        .await;
    let outsider = app
        .coordinator_token(admin, "13911110602", &other_team)
        .await;
    let today = app.china_today();
    let (v0, v1, v2) = (&scene.vs[0], &scene.vs[1], &scene.vs[2]);
    set_expiry(app, admin, &v0.0, today + chrono::Duration::days(20)).await;
    set_expiry(app, admin, &v1.0, today + chrono::Duration::days(5)).await;
    set_expiry(app, admin, &v2.0, today + chrono::Duration::days(40)).await;

    // The list: soonest first, the coordinator's teams only, staff only.
    let list = app
        .get("/api/v1/certificates/expiring?within_days=30", Some(&coord))
        .await
        .expect(200)
        .json;
    let items = list["items"].as_array().unwrap();
    let who: Vec<&str> = items
        .iter()
        .map(|i| i["volunteer_id"].as_str().unwrap())
        .collect();
    assert_eq!(who, [v1.0.as_str(), v0.0.as_str()]);
    assert_eq!(items[0]["days_left"], 5);
    assert_eq!(items[0]["skill"], "first_aid");
    assert_eq!(items[0]["team_name"], "白沙急救队");
    let none = app
        .get("/api/v1/certificates/expiring", Some(&outsider))
        .await
        .expect(200)
        .json;
    assert_eq!(none["items"], json!([]));
    app.get("/api/v1/certificates/expiring", Some(&v0.1))
        .await
        .expect_problem(403, None);
    app.get("/api/v1/certificates/expiring?within_days=0", Some(&coord))
        .await
        .expect_problem(422, Some("within_days"));
    let all = app
        .get("/api/v1/certificates/expiring?within_days=60", Some(admin))
        .await
        .expect(200)
        .json;
    assert_eq!(all["items"].as_array().unwrap().len(), 3);

    // Alerts: v0 at 30 days, v1 at 7; once each.
    let mut feed = app.ws(&coord, None).await;
    let mut mine = app.ws(&v1.1, None).await;
    assert_eq!(alerts(app, today).await, 2);
    assert_eq!(alerts(app, today).await, 0, "once each");
    let told = mine
        .next_of("certificate_expiring", Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(told["days_left"], 5);
    assert_eq!(told["skill"], "first_aid");
    let mut seen: Vec<Value> = Vec::new();
    while let Some(m) = feed
        .next_of("certificate_expiring", Duration::from_secs(2))
        .await
    {
        seen.push(m);
    }
    assert_eq!(seen.len(), 2, "{seen:?}");

    // An edit that keeps the expiry sends nothing again; 13 days on, v0's
    // second alert (7 days left) and v2's first (27 left); a renewed expiry
    // starts afresh.
    app.patch(
        &format!("/api/v1/volunteers/{}", v0.0),
        Some(admin),
        json!({"capacity": 2}),
    )
    .await
    .expect(200);
    assert_eq!(alerts(app, today).await, 0);
    assert_eq!(alerts(app, today + chrono::Duration::days(13)).await, 2);
    assert_eq!(alerts(app, today + chrono::Duration::days(13)).await, 0);
    set_expiry(app, admin, &v0.0, today + chrono::Duration::days(25)).await;
    assert_eq!(
        alerts(app, today).await,
        1,
        "a new expiry, a new 30-day alert"
    );
    feed.close().await;
    mine.close().await;
}

both_backends!(certificates_running_out_are_listed_and_alerted_once, expiry);

async fn coverage(app: &TestApp) {
    let positions = [
        at(0.0, 0.0),
        at(300.0, 200.0),
        at(2500.0, -1500.0),
        at(-4000.0, 3000.0),
        at(6000.0, 6000.0),
    ];
    let scene = app.scene("白沙急救队", &["first_aid"], &positions).await;
    let admin = &scene.admin;
    // Not available: off duty; busy on an order; without the skill.
    app.set_duty(&scene.vs[4].1, false).await.expect(200);
    let patrol_team = app.create_team(admin, "巡防队").await;
    app.volunteers_at(admin, &patrol_team, &["patrol"], &[at(100.0, 100.0)])
        .await;
    let resident = app.resident_token("13500000601").await;
    let order = app
        .place_order(
            &resident,
            json!({"category": "first_aid", "urgency": "critical", "lat": positions[3].0,
                   "lon": positions[3].1, "address": "白沙路 9 号", "description": "晕倒"}),
        )
        .await;
    app.advance_secs(1);
    app.tick().await;
    let offer = app.offers_of(&scene.vs[3].1).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.accept_offer(&scene.vs[3].1, &offer).await.expect(200);
    let _ = order;
    let available: Vec<(f64, f64)> = positions[..3].to_vec();

    let c = app
        .get(
            "/api/v1/coverage?skill=first_aid&radius_m=1000",
            Some(admin),
        )
        .await
        .expect(200)
        .json;
    assert_eq!(c["available"], 3);
    let cells = c["cells"].as_array().unwrap();
    assert_eq!(
        cells.len(),
        c["rows"].as_u64().unwrap() as usize * c["cols"].as_u64().unwrap() as usize
    );
    assert!(cells.len() > 50, "a grid over the city: {}", cells.len());
    let mut gaps = 0;
    for cell in cells {
        let centre = (cell["lat"].as_f64().unwrap(), cell["lon"].as_f64().unwrap());
        let want = available
            .iter()
            .filter(|p| zhongdui_tests::distance_m(**p, centre) <= 1000.0)
            .count();
        assert_eq!(cell["available"].as_u64().unwrap() as usize, want, "{cell}");
        gaps += usize::from(want == 0);
    }
    assert_eq!(c["gaps"].as_u64().unwrap() as usize, gaps);
    assert!(gaps > 0 && gaps < cells.len());
    // Patrol is another skill: only the patrol volunteer counts.
    let p = app
        .get("/api/v1/coverage?skill=patrol&radius_m=2000", Some(admin))
        .await
        .expect(200)
        .json;
    assert_eq!(p["available"], 1);
    app.get("/api/v1/coverage?skill=flying", Some(admin))
        .await
        .expect_problem(422, Some("skill"));
    app.get("/api/v1/coverage?skill=first_aid&radius_m=5", Some(admin))
        .await
        .expect_problem(422, Some("radius_m"));
    app.get("/api/v1/coverage?skill=first_aid", Some(&resident))
        .await
        .expect_problem(403, None);
    let _ = (LAT, LON);
}

both_backends!(
    coverage_counts_available_qualified_volunteers_per_cell,
    coverage
);
