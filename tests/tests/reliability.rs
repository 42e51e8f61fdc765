//! Reliability as a tie-breaker: two volunteers within the fairness ε of
//! each other; the nearer (and longer idle) one is asked first until they
//! decline, after which the other is asked first — and with the setting
//! off, the nearer one still is. Coordinators and the volunteer see the
//! record; others do not.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;
use zhongdui_tests::{LAT, LON, TestApp, at, both_backends_with};

async fn place(app: &TestApp, resident: &str, address: &str) -> String {
    let id = app
        .place_order(
            resident,
            json!({"category": "patrol", "urgency": "low", "lat": LAT, "lon": LON,
                   "address": address, "description": "有人在小区门口争吵"}),
        )
        .await;
    app.advance_secs(1);
    app.tick().await;
    id
}

async fn offered_to(app: &TestApp, tokens: &[(String, String)]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, (_, t)) in tokens.iter().enumerate() {
        for o in app.offers_of(t).await {
            out.push((i, o["id"].as_str().unwrap().to_owned()));
        }
    }
    out
}

async fn scenario(app: &TestApp, counts: bool) {
    let scene = app
        .scene("新城调解队", &["patrol"], &[at(100.0, 0.0), at(130.0, 0.0)])
        .await;
    let resident = app.resident_token("13500000501").await;
    let first = place(app, &resident, "新城大道 1 号").await;
    let offers = offered_to(app, &scene.vs).await;
    assert_eq!(offers.len(), 1, "{offers:?}");
    assert_eq!(offers[0].0, 0, "the nearer, longer idle one is asked first");
    app.decline_offer(&scene.vs[0].1, &offers[0].1)
        .await
        .expect(204);
    app.cancel(&resident, &first, Some("已解决"))
        .await
        .expect(200);

    place(app, &resident, "新城大道 3 号").await;
    let offers = offered_to(app, &scene.vs).await;
    assert_eq!(offers.len(), 1, "{offers:?}");
    let expected = if counts { 1 } else { 0 };
    assert_eq!(offers[0].0, expected, "reliability counts: {counts}");

    // The record: coordinators and the volunteer see it, others not.
    let coord = app
        .coordinator_token(&scene.admin, "13911110501", &scene.team)
        .await;
    let path = format!("/api/v1/volunteers/{}/reliability", scene.vs[0].0);
    let r = app.get(&path, Some(&coord)).await.expect(200).json;
    assert_eq!(r["declined"], 1);
    assert_eq!(r["accepted"], 0);
    assert_eq!(r["score"], 33);
    let mine = app
        .get("/api/v1/me/reliability", Some(&scene.vs[0].1))
        .await
        .expect(200)
        .json;
    assert_eq!(mine, r);
    app.get(&path, Some(&resident))
        .await
        .expect_problem(403, None);
    app.get(&path, Some(&scene.vs[1].1))
        .await
        .expect_problem(403, None);
    let other = app
        .get("/api/v1/me/reliability", Some(&scene.vs[1].1))
        .await
        .expect(200)
        .json;
    assert_eq!(other["score"], 50, "a newcomer");
}

async fn counted(app: &TestApp) {
    scenario(app, true).await;
}

async fn ignored(app: &TestApp) {
    scenario(app, false).await;
}

both_backends_with!(
    a_decline_makes_a_near_equal_volunteer_asked_first,
    counted,
    |s| {
        s.dispatch.fairness_epsilon_m = 50.0;
    }
);

both_backends_with!(
    with_reliability_off_the_nearer_one_is_still_asked,
    ignored,
    |s| {
        s.dispatch.fairness_epsilon_m = 50.0;
        s.dispatch.reliability_days = 0;
    }
);
