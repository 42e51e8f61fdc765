//! Rotation by recent offers (issue 19 part 3) through the API: each offer a
//! volunteer had in the last hour ranks them `offer_penalty_m` farther, up to
//! `offer_penalty_max_m`, so the next order's offer goes to someone nearly
//! as near; an hour later the offers no longer count.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;
use zhongdui_tests::{LAT, LON, TestApp, at, both_backends_with};

/// Places a normal patrol order at the origin and returns who was offered it.
async fn offered(app: &TestApp, resident: &str, vs: &[(String, String)]) -> Vec<usize> {
    app.place_order(
        resident,
        json!({"category": "patrol", "lat": LAT, "lon": LON, "address": "龙港市新城大道 1 号",
               "description": "需要帮助", "urgency": "normal"}),
    )
    .await;
    let mut who = Vec::new();
    for (i, (_, token)) in vs.iter().enumerate() {
        let offers = app.offers_of(token).await;
        for o in &offers {
            // Decline at once: the volunteer is free again, the offer counted.
            app.decline_offer(token, o["id"].as_str().unwrap())
                .await
                .expect(204);
            who.push(i);
        }
    }
    who
}

async fn offers_rotate(app: &TestApp) {
    // 0 m, 40 m and 500 m from the orders.
    let spots = [at(0.0, 0.0), at(40.0, 0.0), at(500.0, 0.0)];
    let s = app.scene("新城巡防一队", &["patrol"], &spots).await;
    let resident = app.resident_token("13500000001").await;
    // Ranking distances (first, second; the third stays at 500 m): 0 < 40,
    // then 60 > 40, 60 < 100, 120 > 100, …: the two take turns.
    let mut who = Vec::new();
    for _ in 0..9 {
        who.extend(offered(app, &resident, &s.vs).await);
    }
    assert_eq!(who, vec![0, 1, 0, 1, 0, 1, 0, 1, 0], "turns: {who:?}");
    // Five offers would put the first at 300 m, behind the second's
    // 40 + 240 = 280 m, but the extra stops at 250 m: the first keeps the
    // next orders, and the volunteer 500 m away is never paged.
    who.clear();
    for _ in 0..3 {
        who.extend(offered(app, &resident, &s.vs).await);
    }
    assert_eq!(who, vec![0, 0, 0], "the maximum holds: {who:?}");
    // An hour on, nothing counts any more and the position is refreshed.
    app.advance_secs(3601);
    for ((_, token), pos) in s.vs.iter().zip(spots) {
        app.report_position(token, pos).await.expect(204);
    }
    assert_eq!(offered(app, &resident, &s.vs).await, vec![0]);
    assert_eq!(offered(app, &resident, &s.vs).await, vec![1]);
}

both_backends_with!(rotation, offers_rotate, |s| {
    s.dispatch.offer_penalty_m = 60.0;
    s.dispatch.offer_penalty_max_m = 250.0;
    s.dispatch.fairness_epsilon_m = 0.0;
    s.dispatch.max_offers_per_hour = 0;
    s.dispatch.batch_window_ms = 0;
    s.dispatch.wave_factor.normal = 1;
});
