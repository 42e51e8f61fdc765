//! No-shows (hand-driven clock): a volunteer who took an order and is not
//! on scene by the expected time (slack plus distance at a speed) is
//! flagged once, the coordinators' feed and the volunteer are told, and a
//! replacement is offered while the first keeps the place; the replacement
//! accepting swaps them (the order's count never moves), and a late
//! check-in before that withdraws the replacement offers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::{Value, json};
use zhongdui_tests::{LAT, LON, TestApp, at, both_backends_with};

fn kinds(detail: &Value) -> Vec<String> {
    detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}

fn state_of(detail: &Value, volunteer: &str) -> String {
    detail["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["volunteer_id"] == volunteer)
        .map(|a| a["state"].as_str().unwrap().to_owned())
        .unwrap_or_default()
}

async fn only_offer(app: &TestApp, token: &str) -> String {
    let offers = app.offers_of(token).await;
    assert_eq!(offers.len(), 1, "{offers:?}");
    offers[0]["id"].as_str().unwrap().to_owned()
}

async fn chasing(app: &TestApp) {
    let scene = app
        .scene(
            "新城巡防队",
            &["patrol"],
            &[at(200.0, 0.0), at(400.0, 0.0), at(800.0, 0.0)],
        )
        .await;
    let admin = &scene.admin;
    let (v0, v1, v2) = (&scene.vs[0], &scene.vs[1], &scene.vs[2]);
    let resident = app.resident_token("13500000301").await;
    let mut feed = app.ws(admin, None).await;
    let mut late_ws = app.ws(&v0.1, None).await;
    let order = |address: &str| {
        json!({"category": "patrol", "urgency": "low", "lat": LAT, "lon": LON,
               "address": address, "description": "楼道里有陌生人徘徊"})
    };

    // v0 takes the first order, 200 m away: expected within 60 s + 200 m at 4 m/s = 110 s.
    let first = app.place_order(&resident, order("新城大道 1 号")).await;
    app.advance_secs(1);
    app.tick().await;
    let offer = only_offer(app, &v0.1).await;
    app.accept_offer(&v0.1, &offer).await.expect(200);
    app.advance_secs(100);
    assert_eq!(app.tick().await.overdue, 0, "not late yet");
    assert!(app.offers_of(&v1.1).await.is_empty());

    // At 115 s they are late: flagged once, everyone told, a replacement asked.
    app.advance_secs(15);
    let report = app.tick().await;
    assert_eq!(report.overdue, 1);
    assert_eq!(app.tick().await.overdue, 0, "flagged once");
    let told = feed
        .next_of("volunteer_overdue", Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(told["volunteer_id"], v0.0.as_str());
    assert_eq!(told["order_id"], first.as_str());
    assert!(
        late_ws
            .next_of("volunteer_overdue", Duration::from_secs(5))
            .await
            .is_some()
    );
    let detail = app.order_detail(admin, &first).await.expect(200).json;
    assert!(kinds(&detail).contains(&"volunteer_overdue".to_owned()));
    assert!(kinds(&detail).contains(&"replacement_offered".to_owned()));
    assert_eq!(
        state_of(&detail, &v0.0),
        "accepted",
        "the late one keeps the place"
    );
    assert_eq!(detail["status"], "assigned");
    let replacement = only_offer(app, &v1.1).await;

    // The replacement accepts: swapped in one go, the count unchanged.
    app.accept_offer(&v1.1, &replacement).await.expect(200);
    let detail = app.order_detail(admin, &first).await.expect(200).json;
    assert_eq!(state_of(&detail, &v0.0), "removed");
    assert_eq!(state_of(&detail, &v1.0), "accepted");
    assert_eq!(detail["filled"], 1);
    assert_eq!(detail["status"], "assigned");
    let swap = detail["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "volunteer_replaced")
        .unwrap();
    assert_eq!(swap["data"]["volunteer_id"], v0.0.as_str());
    assert_eq!(swap["data"]["by"], v1.0.as_str());
    assert_eq!(swap["data"]["reason"], "no_show");
    assert!(
        late_ws
            .next_of("assignment_removed", Duration::from_secs(5))
            .await
            .is_some()
    );
    // The late one cannot check in on it any more.
    app.report_position(&v0.1, (LAT, LON)).await.expect(204);
    app.arrive(&v0.1, &first, (LAT, LON)).await.expect(409);

    // Second order: v0 (free again, on the spot: expected within 60 s)
    // takes it and is late; the replacement goes to v2 (v1 is busy), and
    // v0 checks in before v2 answers: the replacement offer is withdrawn.
    let second = app.place_order(&resident, order("新城大道 9 号")).await;
    app.advance_secs(1);
    app.tick().await;
    let offer = only_offer(app, &v0.1).await;
    app.accept_offer(&v0.1, &offer).await.expect(200);
    app.advance_secs(61);
    assert_eq!(app.tick().await.overdue, 1);
    let replacement = only_offer(app, &v2.1).await;
    app.arrive(&v0.1, &second, (LAT, LON)).await.expect(200);
    assert!(
        app.offers_of(&v2.1).await.is_empty(),
        "the replacement offer is withdrawn"
    );
    app.accept_offer(&v2.1, &replacement).await.expect(409);
    let detail = app.order_detail(admin, &second).await.expect(200).json;
    assert_eq!(state_of(&detail, &v0.0), "arrived");
    assert_eq!(detail["filled"], 1);
    assert_eq!(detail["status"], "in_progress");
    feed.close().await;
    late_ws.close().await;
}

both_backends_with!(a_late_volunteer_is_chased_and_replaced, chasing, |s| {
    s.dispatch.arrival_slack_secs = 60;
    s.dispatch.arrival_speed_mps = 4.0;
    s.dispatch.offer_timeout_secs = 30;
});
