//! The adaptive batch window, with the manual clock: urgent and critical
//! orders, and orders nothing in dispatch could compete with, get their
//! first wave in the placing request; an order near another order in
//! dispatch waits out the window and is assigned with the batch.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use zhongdui_tests::{LAT, LON, TestApp, at, both_backends_with};

async fn place(app: &TestApp, resident: &str, urgency: &str, pos: (f64, f64)) -> String {
    let o = app
        .new_order(
            resident,
            json!({"category": "patrol", "lat": pos.0, "lon": pos.1, "address": "龙港市新城大道 1 号",
                   "description": "需要帮助", "urgency": urgency}),
        )
        .await;
    o["id"].as_str().unwrap().to_owned()
}

async fn offers_on(app: &TestApp, admin: &str, id: &str) -> usize {
    let o: Value = app.order_detail(admin, id).await.expect(200).json;
    o["assignments"].as_array().map_or(0, Vec::len)
}

async fn the_window_adapts(app: &TestApp) {
    // Enough volunteers around the origin for every wave (one open offer
    // each), and a second neighbourhood 10 km east.
    let mut positions: Vec<(f64, f64)> = (0..16).map(|i| at(f64::from(i) * 40.0, 0.0)).collect();
    positions.extend([at(0.0, 10_000.0), at(50.0, 10_000.0)]);
    let s = app.scene("新城巡防一队", &["patrol"], &positions).await;
    let resident = app.resident_token("13500000001").await;

    // Alone in dispatch: the first wave leaves with the order itself.
    let a = place(app, &resident, "normal", (LAT, LON)).await;
    assert!(
        offers_on(app, &s.admin, &a).await > 0,
        "an order nothing competes with waits for nothing"
    );

    // Near an order still in dispatch: it waits out the window.
    let b = place(app, &resident, "normal", at(200.0, 0.0)).await;
    assert_eq!(
        offers_on(app, &s.admin, &b).await,
        0,
        "a competing order waits"
    );
    let r = app.tick().await;
    assert_eq!(r.batched, 0, "{r:?}");
    assert_eq!(
        offers_on(app, &s.admin, &b).await,
        0,
        "still within the window"
    );
    let b2 = place(app, &resident, "normal", at(260.0, 0.0)).await;
    assert_eq!(
        offers_on(app, &s.admin, &b2).await,
        0,
        "a second competing order waits too"
    );

    // Urgent and critical orders never wait, even beside it.
    let c = place(app, &resident, "urgent", at(100.0, 0.0)).await;
    assert!(
        offers_on(app, &s.admin, &c).await > 0,
        "urgent leaves at once"
    );
    let d = place(app, &resident, "critical", at(50.0, 0.0)).await;
    assert!(
        offers_on(app, &s.admin, &d).await > 0,
        "critical leaves at once"
    );

    // Far from every order in dispatch (beyond twice the first radius): at once.
    let e = place(app, &resident, "normal", at(0.0, 10_000.0)).await;
    assert!(
        offers_on(app, &s.admin, &e).await > 0,
        "another neighbourhood competes with nothing"
    );

    // The window runs out: the two waiting orders are assigned jointly.
    app.advance_secs(1);
    let r = app.tick().await;
    assert_eq!(r.batched, 2, "{r:?}");
    assert!(
        offers_on(app, &s.admin, &b).await > 0,
        "offered once the window ran out"
    );
    assert!(
        offers_on(app, &s.admin, &b2).await > 0,
        "offered once the window ran out"
    );
}

both_backends_with!(adaptive, the_window_adapts, |s| s
    .dispatch
    .adaptive_window = true);
