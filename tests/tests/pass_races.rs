//! Dispatcher passes of two processes running at the same moment on one
//! PostgreSQL: one order's conflict skips that order, never the pass, and
//! every order is escalated (or waved) once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;
use zhongdui_api::dispatch::index::Dispatcher;
use zhongdui_tests::{Backend, TestApp};

const LAT: f64 = 27.56;
const LON: f64 = 120.56;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_passes_do_not_abort() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let admin = app.admin_token().await;
    // Nobody anywhere near: every order runs through its waves to escalation.
    for i in 0..40 {
        app.post(
            "/api/v1/orders",
            Some(&admin),
            json!({"category": "patrol", "lat": LAT + 0.001 * f64::from(i), "lon": LON,
                   "address": format!("新城大道 {i} 号"), "description": "需要帮助", "urgency": "low"}),
        )
        .await
        .expect(201);
    }
    // A second process's engine on the same database.
    let other = Dispatcher::new(&app.state.settings.dispatch);
    other
        .reload(&app.state.db, &app.state.settings.dispatch, {
            use zhongdui_api::clock::Clock;
            app.clock.now()
        })
        .await
        .unwrap();
    let mut escalated = 0;
    for _ in 0..8 {
        app.advance_secs(31);
        let (a, b) = tokio::join!(
            app.state.dispatcher.tick(&app.state),
            other.tick(&app.state)
        );
        let (a, b) = (a.expect("pass of process 1"), b.expect("pass of process 2"));
        escalated += a.escalated + b.escalated;
    }
    assert_eq!(escalated, 40, "each order escalated once");
    assert_eq!(app.count("orders WHERE status = 'escalated'").await, 40);
    assert_eq!(
        app.count("order_events WHERE kind = 'escalated'").await
            + app
                .count("order_events WHERE to_status = 'escalated' AND kind <> 'escalated'")
                .await,
        40,
        "one escalation event per order"
    );
    app.cleanup().await;
}
