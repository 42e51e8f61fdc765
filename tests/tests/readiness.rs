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

    // The next 24 hours from the rota, against a brute-force count: v0 on a
    // shift in hours 2–5, v2 in hours 4–9, v1 on one for hours 1–19 that
    // they leave (so not counted).
    let team_path = format!("/api/v1/teams/{}", scene.team);
    app.patch(&team_path, Some(admin), json!({"area": "白沙片区"}))
        .await
        .expect(200);
    let now = app.state.clock.now();
    let slot0 = now
        - chrono::Duration::seconds(now.timestamp().rem_euclid(3600))
        - chrono::Duration::nanoseconds(i64::from(chrono::Timelike::nanosecond(&now)));
    let h = |k: i64| slot0 + chrono::Duration::hours(k);
    let plan = [(0usize, 2, 6), (2, 4, 10), (1, 1, 20)];
    let shifts = format!("/api/v1/teams/{}/shifts", scene.team);
    let mut leave = None;
    for (v, a, b) in plan {
        let made = app
            .post(
                &shifts,
                Some(admin),
                json!({"starts_at": h(a).to_rfc3339(), "ends_at": h(b).to_rfc3339(),
                       "volunteer_ids": [scene.vs[v].0]}),
            )
            .await
            .expect(201)
            .json;
        if v == 1 {
            leave = Some(made["shifts"][0]["id"].as_str().unwrap().to_owned());
        }
    }
    app.post(
        &format!("/api/v1/shifts/{}/leave", leave.unwrap()),
        Some(&scene.vs[1].1),
        json!({"reason": "临时出差"}),
    )
    .await
    .expect(200);
    let r = app
        .get(
            "/api/v1/coverage?skill=first_aid&radius_m=2000",
            Some(admin),
        )
        .await
        .expect(200)
        .json;
    let on = |k: i64| -> Vec<(f64, f64)> {
        plan.iter()
            .filter(|(v, a, b)| *v != 1 && *a <= k && k < *b)
            .map(|(v, _, _)| positions[*v])
            .collect()
    };
    let ahead = r["ahead"].as_array().unwrap();
    assert_eq!(ahead.len(), 24);
    for (k, hour) in ahead.iter().enumerate() {
        let k = k as i64;
        let starts: chrono::DateTime<chrono::Utc> =
            hour["starts_at"].as_str().unwrap().parse().unwrap();
        assert_eq!(starts, h(k));
        assert_eq!(
            hour["on_shift"].as_u64().unwrap() as usize,
            on(k).len(),
            "hour {k}"
        );
    }
    for cell in r["cells"].as_array().unwrap() {
        let centre = (cell["lat"].as_f64().unwrap(), cell["lon"].as_f64().unwrap());
        let fewest = (0..24)
            .map(|k| {
                on(k)
                    .iter()
                    .filter(|p| zhongdui_tests::distance_m(**p, centre) <= 2000.0)
                    .count()
            })
            .min()
            .unwrap();
        assert_eq!(
            cell["fewest_ahead"].as_u64().unwrap() as usize,
            fewest,
            "{cell}"
        );
    }
    // 白沙片区 sits at the centre of its team's five volunteers: within
    // 2 km only v0 (1.8 km) on the rota, so it is uncovered outside hours 2–5.
    let centre = (
        positions.iter().map(|p| p.0).sum::<f64>() / 5.0,
        positions.iter().map(|p| p.1).sum::<f64>() / 5.0,
    );
    let mut want = Vec::new();
    let mut open: Option<(i64, i64)> = None;
    for k in 0..24 {
        let none = !on(k)
            .iter()
            .any(|p| zhongdui_tests::distance_m(*p, centre) <= 2000.0);
        match (none, open) {
            (true, None) => open = Some((k, k + 1)),
            (true, Some((a, _))) => open = Some((a, k + 1)),
            (false, Some(span)) => {
                want.push(span);
                open = None;
            }
            (false, None) => {}
        }
    }
    want.extend(open);
    assert_eq!(want, vec![(0, 2), (6, 24)]);
    let got: Vec<(i64, i64)> = r["gaps_ahead"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["place"] == "白沙片区")
        .map(|g| {
            let from: chrono::DateTime<chrono::Utc> = g["from"].as_str().unwrap().parse().unwrap();
            let to: chrono::DateTime<chrono::Utc> = g["to"].as_str().unwrap().parse().unwrap();
            ((from - slot0).num_hours(), (to - slot0).num_hours())
        })
        .collect();
    assert_eq!(got, want);
    let _ = (LAT, LON);
}

both_backends!(
    coverage_counts_available_qualified_volunteers_per_cell,
    coverage
);
