//! Exactly `headcount` volunteers end up on an order, whatever the races:
//! 50 concurrent accepts and grabs on a headcount-1 order, many times over.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use futures_util::future::join_all;
use reqwest::Method;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;
use zhongdui_tests::{Backend, TestApp};

const LAT: f64 = 27.56;
const LON: f64 = 120.56;

async fn race(backend: Backend, rounds: usize) {
    let app = TestApp::spawn_with(backend, |s| {
        // Every contender is on the order's first wave; urgent orders get 3 offers.
        s.dispatch.max_offers_per_hour = 0;
    })
    .await;
    let admin = app.admin_token().await;
    let team = app.create_team(&admin, "新城应急救援一队").await;
    let spots: Vec<(f64, f64)> = (0..50)
        .map(|i| (LAT + f64::from(i) * 0.00005, LON))
        .collect();
    let vs = app.volunteers_at(&admin, &team, &["patrol"], &spots).await;

    for round in 0..rounds {
        let o = app
            .post(
                "/api/v1/orders",
                Some(&admin),
                json!({"category": "patrol", "lat": LAT, "lon": LON, "address": "x", "description": "race",
                       "headcount": 1, "urgency": "urgent"}),
            )
            .await
            .expect(201);
        let id = o.json["id"].as_str().unwrap().to_owned();
        app.advance_secs(1);
        app.tick().await;
        // Offered volunteers accept; everyone else grabs; all at once.
        let mut calls = Vec::new();
        for (_, token) in &vs {
            let offers = app
                .get("/api/v1/me/offers", Some(token))
                .await
                .expect(200)
                .json;
            let path = match offers.as_array().unwrap().first() {
                Some(offer) => format!("/api/v1/offers/{}/accept", offer["id"].as_str().unwrap()),
                None => format!("/api/v1/orders/{id}/grab"),
            };
            calls.push((path, token.clone()));
        }
        let accepts = calls.iter().filter(|(p, _)| p.contains("/offers/")).count();
        assert!(accepts >= 1, "round {round}: somebody was offered it");
        let replies = join_all(
            calls
                .iter()
                .map(|(path, token)| app.send(Method::POST, path, Some(token), None, None)),
        )
        .await;
        let won = replies.iter().filter(|r| r.status.is_success()).count();
        let lost = replies.iter().filter(|r| r.status.as_u16() == 409).count();
        assert_eq!(
            won,
            1,
            "round {round}: exactly one winner; statuses: {:?}",
            replies
                .iter()
                .map(|r| r.status.as_u16())
                .collect::<Vec<_>>()
        );
        assert_eq!(lost, 49, "round {round}: everyone else gets 409");

        // The database agrees.
        let backend = app.state.db.get_database_backend();
        let sql = format!(
            "SELECT COUNT(*) AS n FROM assignments WHERE order_id = '{id}' AND state = 'accepted'"
        );
        let n = if backend == sea_orm::DbBackend::Postgres {
            app.state
                .db
                .query_one_raw(Statement::from_string(backend, sql))
                .await
                .unwrap()
                .unwrap()
                .try_get::<i64>("", "n")
                .unwrap()
        } else {
            let on: i64 = app
                .state
                .db
                .query_one_raw(Statement::from_string(
                    backend,
                    "SELECT COUNT(*) AS n FROM assignments WHERE state = 'accepted'".to_owned(),
                ))
                .await
                .unwrap()
                .unwrap()
                .try_get("", "n")
                .unwrap();
            on
        };
        assert_eq!(n, 1, "round {round}: one accepted assignment");
        let busy = app.count("volunteers WHERE active_tasks > 0").await;
        assert_eq!(busy, 1, "round {round}: one volunteer's capacity is used");
        let detail = app
            .get(&format!("/api/v1/orders/{id}"), Some(&admin))
            .await
            .expect(200);
        assert_eq!(detail.json["filled"], 1);
        assert_eq!(detail.json["status"], "assigned");

        // Free the winner for the next round.
        app.post(
            &format!("/api/v1/orders/{id}/cancel"),
            Some(&admin),
            json!({"reason": "next round"}),
        )
        .await
        .expect(200);
    }
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_contenders_one_place_postgres() {
    race(Backend::Postgres, 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_contenders_one_place_sqlite() {
    race(Backend::Sqlite, 5).await;
}

/// The first orders of a new day race to make the day's code sequence on
/// PostgreSQL: every one of them gets a code, and no two the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_orders_of_a_day_all_get_distinct_codes() {
    let app = TestApp::spawn(Backend::Postgres).await;
    // Open the pool's connections first, so the calls below really overlap.
    join_all((0..16).map(|_| app.state.db.execute_unprepared("SELECT pg_sleep(0.2)"))).await;
    for ahead in 400..412 {
        // A day no order has had yet on this database.
        let day = chrono::Utc::now() + chrono::Duration::days(ahead);
        let codes = join_all(
            (0..16).map(|_| zhongdui_api::services::orders::next_code(&app.state.db, day)),
        )
        .await;
        let mut codes: Vec<String> = codes.into_iter().map(|c| c.expect("a code")).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), 16, "{codes:?}");
    }
    app.cleanup().await;
}
