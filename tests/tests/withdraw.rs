//! A volunteer withdraws from an order before completing it: the place
//! reopens at once, the next wave goes to someone else (not them), the
//! resident and coordinators are told; the rules around it, and the
//! replay of a withdrawal sent twice with one Idempotency-Key.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::{Value, json};
use zhongdui_tests::{LAT, LON, TestApp, at, both_backends};

async fn withdraw_keyed(app: &TestApp, token: &str, id: &str, body: Value) -> (u16, Value, bool) {
    let r = app
        .client
        .post(format!("{}/api/v1/orders/{id}/withdraw", app.base))
        .bearer_auth(token)
        .header("Idempotency-Key", "k-withdraw-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    let replayed = r.headers().get("idempotent-replayed").is_some();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null), replayed)
}

async fn withdrawing(app: &TestApp) {
    let scene = app
        .scene(
            "甲队",
            &["patrol"],
            &[at(200.0, 0.0), at(300.0, 0.0), at(400.0, 0.0)],
        )
        .await;
    let (admin, v0, v1) = (&scene.admin, &scene.vs[0].1, &scene.vs[1].1);
    let resident = app.resident_token("13500000081").await;
    let id = app
        .place_order(
            &resident,
            json!({"category": "patrol", "lat": LAT, "lon": LON, "address": "新城大道 8 号",
                   "description": "夜里有人砸门", "urgency": "low"}),
        )
        .await;
    app.advance_secs(1);
    app.tick().await;
    let offer = app.offers_of(v0).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.accept_offer(v0, &offer).await.expect(200);
    let mut ws = app.ws(&resident, None).await;

    // Bad input and the wrong people change nothing.
    let path = format!("/api/v1/orders/{id}/withdraw");
    app.post(&path, Some(v0), json!({}))
        .await
        .expect_problem(400, Some("reason"));
    app.post(&path, Some(v0), json!({"reason": "  "}))
        .await
        .expect_problem(422, Some("reason"));
    app.post(&path, Some(&resident), json!({"reason": "x"}))
        .await
        .expect_problem(403, None);
    app.post(&path, Some(&scene.vs[2].1), json!({"reason": "x"}))
        .await
        .expect_problem(404, None);
    assert_eq!(
        app.order_detail(admin, &id).await.expect(200).json["status"],
        "assigned"
    );

    // The withdrawal, sent twice with one key: done once, the first answer again.
    let why = json!({"reason": "家里老人突发不适，需要马上回去"});
    let first = withdraw_keyed(app, v0, &id, why.clone()).await;
    assert_eq!(first.0, 200, "{}", first.1);
    let again = withdraw_keyed(app, v0, &id, why).await;
    assert_eq!((again.0, again.2), (200, true));
    let o = app.order_detail(admin, &id).await.expect(200).json;
    assert_eq!(o["status"], "open", "{o}");
    assert_eq!(o["filled"], 0);
    let mine = o["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["volunteer_id"] == scene.vs[0].0.as_str())
        .unwrap()
        .clone();
    assert_eq!(mine["state"], "left");
    let told: Vec<&Value> = o["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "volunteer_withdrew")
        .collect();
    assert_eq!(told.len(), 1);
    assert_eq!(told[0]["data"]["reason"], "家里老人突发不适，需要马上回去");
    let pushed = ws
        .next_of("volunteer_withdrew", Duration::from_secs(5))
        .await
        .expect("the resident is told");
    assert_eq!(pushed["filled"], 0);
    // Withdrawn already: 409.
    app.post(&path, Some(v0), json!({"reason": "again"}))
        .await
        .expect_problem(409, None);

    // Dispatch resumes at once with the next wave, to someone else.
    app.tick().await;
    assert!(app.offers_of(v0).await.is_empty(), "not asked again");
    let next = app.offers_of(v1).await;
    assert_eq!(next.len(), 1, "the next nearest is offered it");
    app.accept_offer(v1, next[0]["id"].as_str().unwrap())
        .await
        .expect(200);

    // The only one on scene may not walk away: complete, or a coordinator reassigns.
    app.advance_secs(60);
    app.report_position(v1, (LAT, LON)).await.expect(204);
    app.arrive(v1, &id, (LAT, LON)).await.expect(200);
    app.post(&path, Some(v1), json!({"reason": "临时有事"}))
        .await
        .expect_problem(409, None);
    assert_eq!(
        app.order_detail(admin, &id).await.expect(200).json["status"],
        "in_progress"
    );
}

both_backends!(withdraw, withdrawing);
