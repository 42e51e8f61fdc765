//! The closed loop: waves, declines and timeouts, escalation, manual assign,
//! accept and withdrawal, check-in geofence, completion, confirmation and
//! points, cancellation, batching, station slips, auto-close, and restarts —
//! with the server's clock driven by hand.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use zhongdui_api::clock::Clock;
use zhongdui_tests::{LAT, LON, Scene, TestApp, at, both_backends};

async fn order(
    app: &TestApp,
    token: &str,
    category: &str,
    headcount: u32,
    urgency: &str,
    pos: (f64, f64),
) -> Value {
    app.new_order(
        token,
        json!({"category": category, "lat": pos.0, "lon": pos.1, "address": "龙港市新城大道 1 号",
               "description": "需要帮助", "headcount": headcount, "urgency": urgency}),
    )
    .await
}

async fn staff_view(app: &TestApp, admin: &str, id: &str) -> Value {
    app.order_detail(admin, id).await.expect(200).json
}

fn event_kinds(o: &Value) -> Vec<String> {
    o["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}

async fn waves_escalation_and_manual_assign(app: &TestApp) {
    // Arrange: volunteers 0.5, 2, 5 and 15 km away; a resident.
    let Scene { admin, vs, .. } = app
        .scene(
            "新城平安巡防一队",
            &["patrol"],
            &[
                at(500.0, 0.0),
                at(0.0, 2000.0),
                at(-5000.0, 0.0),
                at(15000.0, 0.0),
            ],
        )
        .await;
    let resident = app.resident_token("13500000001").await;
    // A map's box lists only the volunteers inside it (0.5 and 15 km north,
    // not 2 km east nor 5 km south).
    let bbox = format!(
        "{},{},{},{}",
        LON - 0.01,
        LAT - 0.001,
        LON + 0.01,
        LAT + 0.2
    );
    let inside = app
        .get(
            &format!("/api/v1/volunteers?bbox={bbox}&per_page=100"),
            Some(&admin),
        )
        .await
        .expect(200);
    let mut ids: Vec<&str> = inside.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    let mut want = vec![vs[0].0.as_str(), vs[3].0.as_str()];
    want.sort_unstable();
    assert_eq!(ids, want);
    assert_eq!(inside.json["total"], 2);
    // Corners in either order are the same box.
    let flipped = format!(
        "{},{},{},{}",
        LON + 0.01,
        LAT + 0.2,
        LON - 0.01,
        LAT - 0.001
    );
    let same = app
        .get(&format!("/api/v1/volunteers?bbox={flipped}"), Some(&admin))
        .await
        .expect(200);
    assert_eq!(same.json["total"], 2);

    // Act: an order (low urgency: one offer per wave).
    let o = order(app, &resident, "patrol", 1, "low", (LAT, LON)).await;
    let id = o["id"].as_str().unwrap();
    let today = zhongdui_api::clock::local_today(app.clock.now())
        .unwrap()
        .format("%Y%m%d")
        .to_string();
    assert_eq!(o["code"], format!("ZD-{today}-0001"));
    assert_eq!(o["status"], "open");

    // Within the batch window nothing is sent yet.
    assert_eq!(app.tick().await.offers, 0);
    app.advance_secs(1);
    let r = app.tick().await;
    assert_eq!((r.waves, r.offers), (1, 1), "{r:?}");
    let mine = app.offers_of(&vs[0].1).await;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["order_id"], id);
    assert!((mine[0]["distance_m"].as_f64().unwrap() - 500.0).abs() < 5.0);
    assert!(
        mine[0]["order"]["contact_phone"]
            .as_str()
            .unwrap()
            .contains("****"),
        "masked until accepted"
    );
    assert!(app.offers_of(&vs[1].1).await.is_empty(), "wave 1 is 1 km");

    // A decline moves on at once to the next wave (3 km).
    let offer_id = mine[0]["id"].as_str().unwrap();
    app.decline_offer(&vs[0].1, offer_id).await.expect(204);
    let r = app.tick().await;
    assert_eq!(r.offers, 1);
    assert_eq!(app.offers_of(&vs[1].1).await.len(), 1);

    // A timeout does too (10 km).
    app.advance_secs(31);
    let r = app.tick().await;
    assert_eq!((r.expired, r.offers), (1, 1), "{r:?}");
    assert_eq!(app.offers_of(&vs[2].1).await.len(), 1);
    assert!(
        app.offers_of(&vs[1].1).await.is_empty(),
        "expired offers are gone"
    );

    // After the last wave: escalated to coordinators.
    app.advance_secs(31);
    let r = app.tick().await;
    assert_eq!(r.escalated, 1, "{r:?}");
    let queue = app
        .get("/api/v1/escalations", Some(&admin))
        .await
        .expect(200);
    assert_eq!(queue.json[0]["id"], id);
    app.get("/api/v1/escalations", Some(&resident))
        .await
        .expect_problem(403, None);
    assert!(
        app.offers_of(&vs[3].1).await.is_empty(),
        "15 km is beyond the last wave"
    );

    // A coordinator assigns the far volunteer by hand.
    let assigned = app
        .post(
            &format!("/api/v1/orders/{id}/assign"),
            Some(&admin),
            json!({"volunteer_id": vs[3].0}),
        )
        .await
        .expect(200);
    assert_eq!(assigned.json["status"], "assigned");
    assert_eq!(assigned.json["filled"], 1);

    // The audit trail tells the whole story.
    let full = staff_view(app, &admin, id).await;
    let kinds = event_kinds(&full);
    for k in [
        "created",
        "wave_started",
        "offer_declined",
        "offer_expired",
        "escalated",
        "assigned",
        "filled",
    ] {
        assert!(kinds.iter().any(|x| x == k), "missing event {k}: {kinds:?}");
    }
    assert_eq!(kinds.iter().filter(|k| *k == "wave_started").count(), 3);
    // Every id the trail's data names comes with its name, and the actor too,
    // so the page writes sentences, never ids.
    let events = full["events"].as_array().unwrap();
    let first_wave = events.iter().find(|e| e["kind"] == "wave_started").unwrap();
    let asked = first_wave["data"]["offered"][0].as_str().unwrap();
    assert_eq!(asked, vs[0].0.as_str());
    let name = first_wave["names"][asked].as_str().unwrap();
    assert!(!name.is_empty() && !name.contains(asked), "{first_wave}");
    let by_hand = events.iter().find(|e| e["kind"] == "assigned").unwrap();
    assert!(
        by_hand["actor_name"]
            .as_str()
            .is_some_and(|n| !n.is_empty()),
        "{by_hand}"
    );
    assert!(
        first_wave["actor_name"].is_null(),
        "the dispatcher has no name"
    );
    // The resident's view of the trail names nobody.
    let theirs = app.order_detail(&resident, id).await.expect(200).json;
    for e in theirs["events"].as_array().unwrap() {
        assert!(e["names"].as_object().unwrap().is_empty(), "{e}");
    }
    // The resident sees who is coming (with phone), not who was asked.
    let mine = app.order_detail(&resident, id).await.expect(200);
    let a = mine.json["assignments"].as_array().unwrap();
    assert_eq!(a.len(), 1);
    assert_eq!(a[0]["volunteer_id"], vs[3].0.as_str());
    assert!(a[0]["volunteer_phone"].is_string());
}

both_backends!(waves_and_escalation, waves_escalation_and_manual_assign);

async fn the_whole_loop(app: &TestApp) {
    let Scene { admin, vs, .. } = app
        .scene(
            "白沙应急救援一队",
            &["patrol", "first_aid"],
            &[at(300.0, 0.0), at(0.0, 400.0), at(0.0, -600.0)],
        )
        .await;
    let resident = app.resident_token("13500000002").await;
    let other_resident = app.resident_token("13500000003").await;
    let o = order(app, &resident, "first_aid", 1, "normal", (LAT, LON)).await;
    let id = o["id"].as_str().unwrap();
    app.advance_secs(1);
    let r = app.tick().await;
    assert_eq!(r.offers, 2, "normal urgency: two offers for one place");
    let first = app.offers_of(&vs[0].1).await;
    let second = app.offers_of(&vs[1].1).await;
    assert_eq!((first.len(), second.len()), (1, 1));

    // Privacy: other people's orders and offers are invisible.
    app.order_detail(&other_resident, id)
        .await
        .expect_problem(404, None);
    let listed = app
        .get("/api/v1/orders", Some(&other_resident))
        .await
        .expect(200);
    assert_eq!(listed.json["total"], 0);
    let not_mine = first[0]["id"].as_str().unwrap();
    app.accept_offer(&vs[1].1, not_mine)
        .await
        .expect_problem(404, None);

    // Accept: the order fills, the other offer is withdrawn.
    let accepted = app.accept_offer(&vs[0].1, not_mine).await.expect(200);
    assert_eq!(accepted.json["status"], "assigned");
    assert_eq!(
        accepted.json["contact_phone"], "13500000002",
        "unmasked once accepted"
    );
    let late = second[0]["id"].as_str().unwrap();
    app.accept_offer(&vs[1].1, late)
        .await
        .expect_problem(409, None);
    assert!(app.offers_of(&vs[1].1).await.is_empty());

    // Check-in is geofenced (after a plausible trip: two minutes on the way).
    app.advance_secs(120);
    let far = at(2000.0, 0.0);
    let refused = app
        .arrive(&vs[0].1, id, far)
        .await
        .expect_problem(422, Some("lat"));
    assert_eq!(
        refused.json["errors"][0]["code"], "field.too_far",
        "{}",
        refused.text
    );
    // That position was recorded: the volunteer walks back first.
    app.advance_secs(120);
    let arrived = app
        .arrive(&vs[0].1, id, (LAT, LON + 0.001))
        .await
        .expect(200);
    assert_eq!(arrived.json["status"], "in_progress");
    // Too late for the resident to cancel.
    app.cancel(&resident, id, None)
        .await
        .expect_problem(409, None);
    // Confirming before completion is illegal.
    app.confirm(&resident, id, 5, None)
        .await
        .expect_problem(409, None);

    // 45 minutes on task, then done.
    app.advance_secs(45 * 60);
    let done = app.complete(&vs[0].1, id, Some("已送医")).await.expect(200);
    assert_eq!(done.json["status"], "completed");
    app.confirm(&resident, id, 6, None)
        .await
        .expect_problem(422, Some("rating"));
    app.confirm(&vs[0].1, id, 5, None)
        .await
        .expect_problem(403, None);
    let confirmed = app
        .confirm(&resident, id, 5, Some("非常及时"))
        .await
        .expect(200);
    assert_eq!(confirmed.json["status"], "confirmed");
    app.confirm(&resident, id, 5, None)
        .await
        .expect_problem(409, None);

    // Points: tier 3 (30) + two started half hours (10) + 5-star bonus (10).
    let pts = app
        .get("/api/v1/me/points", Some(&vs[0].1))
        .await
        .expect(200);
    assert_eq!(pts.json["balance"], 50, "{}", pts.text);
    assert_eq!(pts.json["rank"], 1);
    assert_eq!(pts.json["history"].as_array().unwrap().len(), 2);
    // The history says why in the reader's language, from the phrase code.
    let task = pts.json["history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["kind"] == "earn")
        .unwrap()
        .clone();
    assert_eq!(task["reason_code"], "points.reason.task", "{task}");
    assert_eq!(task["reason_params"]["minutes"], 45, "{task}");
    assert!(
        task["reason"].as_str().unwrap().contains("服务 45 分钟"),
        "{task}"
    );
    let en = app
        .client
        .get(format!("{}/api/v1/me/points", app.base))
        .bearer_auth(&vs[0].1)
        .header("Accept-Language", "en")
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    let reasons: Vec<&str> = en["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|h| h["reason"].as_str())
        .collect();
    assert!(
        reasons.iter().any(|r| r.ends_with("(45 min on task)")),
        "{en}"
    );
    assert!(reasons.iter().any(|r| r.ends_with("rated 5")), "{en}");
    // Awarding again changes nothing (idempotent per order and volunteer).
    let model = zhongdui_api::services::orders::load(&app.state.db, id.parse().unwrap())
        .await
        .unwrap();
    zhongdui_api::services::points::award_for_order(
        &app.state.db,
        &app.state.settings.points,
        &model,
        chrono::Utc::now(),
        app.state.channels(),
    )
    .await
    .unwrap();
    assert_eq!(app.count("points_ledger").await, 2);
    // The volunteer was told once, on their own channel, not again on the repeat.
    {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        let told = zhongdui_api::entities::outbox::Entity::find()
            .filter(zhongdui_api::entities::outbox::Column::Payload.contains("points_awarded"))
            .all(&app.state.db)
            .await
            .unwrap();
        assert_eq!(told.len(), 1, "{told:?}");
        assert!(told[0].channel.ends_with(&format!("volunteer:{}", vs[0].0)));
        assert!(
            told[0].payload.contains("\"amount\":50"),
            "{}",
            told[0].payload
        );
    }
    let board = app
        .get(
            "/api/v1/leaderboard?scope=volunteers&period=week",
            Some(&resident),
        )
        .await
        .expect(200);
    assert_eq!(board.json["items"][0]["id"], vs[0].0.as_str());
    assert_eq!(board.json["items"][0]["points"], 50);
    let teams = app
        .get("/api/v1/leaderboard?scope=teams&period=all", Some(&admin))
        .await
        .expect(200);
    assert_eq!(teams.json["items"][0]["name"], "白沙应急救援一队");
    app.get("/api/v1/leaderboard?period=year", Some(&admin))
        .await
        .expect_problem(422, Some("period"));

    // The capacity was released on completion: the volunteer can take more.
    let me = app.get("/api/v1/me", Some(&vs[0].1)).await.expect(200);
    assert_eq!(me.json["volunteer"]["active_tasks"], 0);
    // The ledger cannot be rewritten.
    use sea_orm::ConnectionTrait;
    assert!(
        app.state
            .db
            .execute_unprepared("UPDATE points_ledger SET amount = 1000")
            .await
            .is_err()
    );
}

both_backends!(accept_arrive_complete_confirm, the_whole_loop);

/// An accepted offer takes the volunteer's capacity in this process's index
/// at once (from the row the claim returned, nothing re-read): the next order
/// beside it goes to someone else.
async fn accepting_fills_the_volunteers_capacity(app: &TestApp) {
    let Scene { vs, .. } = app
        .scene(
            "白沙应急救援三队",
            &["patrol"],
            &[at(100.0, 0.0), at(0.0, 900.0)],
        )
        .await;
    let resident = app.resident_token("13500000004").await;
    order(app, &resident, "patrol", 1, "low", (LAT, LON)).await;
    app.advance_secs(1);
    assert_eq!(app.tick().await.offers, 1, "low urgency: one offer");
    let offered = app.offers_of(&vs[0].1).await;
    assert_eq!(offered.len(), 1, "the nearest volunteer is offered first");
    let offer = offered[0]["id"].as_str().unwrap();
    app.accept_offer(&vs[0].1, offer).await.expect(200);

    order(app, &resident, "patrol", 1, "low", (LAT, LON)).await;
    app.advance_secs(1);
    assert_eq!(app.tick().await.offers, 1);
    assert!(
        app.offers_of(&vs[0].1).await.is_empty(),
        "a volunteer at capacity is offered nothing"
    );
    assert_eq!(app.offers_of(&vs[1].1).await.len(), 1);
}

both_backends!(
    accept_takes_capacity,
    accepting_fills_the_volunteers_capacity
);

async fn grab_nearby_tasks(app: &TestApp) {
    let Scene {
        admin, vs: patrol, ..
    } = app
        .scene(
            "平等骑手志愿一队",
            &["patrol"],
            &[at(0.0, 0.0), at(100.0, 0.0)],
        )
        .await;
    let coordinator_order = |cat: &'static str, pos: (f64, f64)| {
        let admin = admin.clone();
        async move { order(app, &admin, cat, 1, "normal", pos).await }
    };
    let near = coordinator_order("patrol", at(800.0, 0.0)).await;
    let nearer = coordinator_order("patrol", at(200.0, 0.0)).await;
    let needs_aid = coordinator_order("first_aid", at(300.0, 0.0)).await;
    let far = coordinator_order("patrol", at(9000.0, 0.0)).await;

    let list = app
        .get("/api/v1/tasks/nearby?radius_m=3000", Some(&patrol[0].1))
        .await
        .expect(200);
    let ids: Vec<&str> = list
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![nearer["id"].as_str().unwrap(), near["id"].as_str().unwrap()],
        "nearest first, skills matched, radius kept"
    );
    assert!((list.json[0]["distance_m"].as_f64().unwrap() - 200.0).abs() < 3.0);
    assert!(
        !ids.contains(&needs_aid["id"].as_str().unwrap())
            && !ids.contains(&far["id"].as_str().unwrap())
    );
    app.get("/api/v1/tasks/nearby?radius_m=5", Some(&patrol[0].1))
        .await
        .expect_problem(422, Some("radius_m"));

    let gid = nearer["id"].as_str().unwrap();
    let got = app.grab(&patrol[0].1, gid).await.expect(200);
    assert_eq!(got.json["status"], "assigned");
    app.grab(&patrol[1].1, gid).await.expect_problem(409, None);
    let aid = needs_aid["id"].as_str().unwrap();
    app.grab(&patrol[1].1, aid)
        .await
        .expect_problem(422, Some("skills"));
    // At capacity (1): a second grab is refused.
    let nid = near["id"].as_str().unwrap();
    app.grab(&patrol[0].1, nid).await.expect_problem(409, None);
    // Residents and staff cannot grab.
    app.grab(&admin, nid).await.expect_problem(403, None);
}

both_backends!(grab, grab_nearby_tasks);

async fn batch_beats_greedy(app: &TestApp) {
    // Two orders 1 km apart on a line; P sits between them, Q behind A.
    // Greedy (A first) gives A→P and leaves B without anyone in 1 km.
    // Joint assignment gives A→Q and B→P.
    let Scene { admin, vs, .. } = app
        .scene(
            "湖前平安巡防一队",
            &["patrol"],
            &[at(600.0, 0.0), at(-800.0, 0.0)],
        )
        .await;
    let (p, q) = (&vs[0], &vs[1]);
    let a = order(app, &admin, "patrol", 1, "low", at(0.0, 0.0)).await;
    let b = order(app, &admin, "patrol", 1, "low", at(1000.0, 0.0)).await;
    app.advance_secs(1);
    let r = app.tick().await;
    assert_eq!(r.batched, 2, "{r:?}");
    let p_offers = app.offers_of(&p.1).await;
    let q_offers = app.offers_of(&q.1).await;
    assert_eq!(q_offers[0]["order_id"], a["id"]);
    assert_eq!(p_offers[0]["order_id"], b["id"]);
}

both_backends!(batch_assignment, batch_beats_greedy);

async fn cancellations(app: &TestApp) {
    let Scene { admin, vs, .. } = app
        .scene(
            "舥艚渔嫂志愿一队",
            &["patrol"],
            &[at(100.0, 0.0), at(200.0, 0.0)],
        )
        .await;
    let resident = app.resident_token("13500000004").await;

    // A resident cancels while offers are out: they are withdrawn.
    let o = order(app, &resident, "patrol", 1, "normal", (LAT, LON)).await;
    app.advance_secs(1);
    app.tick().await;
    assert_eq!(app.offers_of(&vs[0].1).await.len(), 1);
    let id = o["id"].as_str().unwrap();
    let c = app.cancel(&resident, id, None).await.expect(200);
    assert_eq!(c.json["status"], "cancelled");
    assert!(app.offers_of(&vs[0].1).await.is_empty());
    app.cancel(&resident, id, None)
        .await
        .expect_problem(409, None);

    // A coordinator cancels an assigned order: reason required; the volunteer is released and told.
    let o = order(app, &resident, "patrol", 1, "low", (LAT, LON)).await;
    let id = o["id"].as_str().unwrap();
    app.advance_secs(1);
    app.tick().await;
    let offer = app.offers_of(&vs[0].1).await;
    let oid = offer[0]["id"].as_str().unwrap();
    app.accept_offer(&vs[0].1, oid).await.expect(200);
    app.cancel(&admin, id, None)
        .await
        .expect_problem(422, Some("reason"));
    app.cancel(&vs[0].1, id, Some("x"))
        .await
        .expect_problem(403, None);
    let c = app
        .cancel(&admin, id, Some("警情已由民警处置"))
        .await
        .expect(200);
    assert_eq!(c.json["cancel_reason"], "警情已由民警处置");
    let me = app.get("/api/v1/me", Some(&vs[0].1)).await.expect(200);
    assert_eq!(me.json["volunteer"]["active_tasks"], 0);
    let told = app
        .count(&format!(
            "outbox WHERE channel = 'zd:volunteer:{}' AND payload LIKE '%order_cancelled%'",
            vs[0].0
        ))
        .await;
    assert_eq!(told, 1);
}

both_backends!(cancel_rules, cancellations);

async fn bad_orders(app: &TestApp) {
    let Scene { admin, team, vs } = app
        .scene("云岩乡贤调解一队", &["mediation"], &[at(0.0, 0.0)])
        .await;
    let resident = app.resident_token("13500000005").await;
    let good = json!({"category": "dispute", "lat": LAT, "lon": LON, "address": "白沙路 8 号", "description": "邻里纠纷"});
    let with = |k: &str, v: Value| {
        let mut b = good.clone();
        b[k] = v;
        b
    };
    let before = app.count("orders").await;
    for (body, status, field) in [
        (with("category", json!("juggling")), 422, "category"),
        (with("lat", json!(91)), 422, "lat"),
        (with("lon", json!(200)), 422, "lon"),
        (with("headcount", json!(0)), 422, "headcount"),
        (with("urgency", json!("asap")), 422, "urgency"),
        (with("address", json!("")), 422, "address"),
        (with("contact_phone", json!("abc")), 422, "contact_phone"),
        (with("target_team_id", json!(team)), 422, "target_team_id"),
        (with("lat", json!("north")), 400, "lat"),
    ] {
        app.post("/api/v1/orders", Some(&resident), body)
            .await
            .expect_problem(status, Some(field));
    }
    app.post("/api/v1/orders", Some(&vs[0].1), good.clone())
        .await
        .expect_problem(403, None);
    app.post("/api/v1/orders", None, good.clone())
        .await
        .expect_problem(401, None);
    assert_eq!(app.count("orders").await, before, "nothing was created");
    app.get("/api/v1/orders?status=done", Some(&admin))
        .await
        .expect_problem(422, Some("status"));
    // A station slip by a coordinator is fine.
    let slip = app
        .post(
            "/api/v1/orders",
            Some(&admin),
            with("source", json!("station")),
        )
        .await
        .expect(201);
    assert_eq!(slip.json["source"], "station");
}

both_backends!(order_validation, bad_orders);

async fn station_slip_then_auto_close(app: &TestApp) {
    let admin = app.admin_token().await;
    let target = app.create_team(&admin, "芦浦企业护卫一队").await;
    let other = app.create_team(&admin, "芦浦企业护卫二队").await;
    let team_member = app
        .volunteers_at(&admin, &target, &["patrol"], &[at(5000.0, 0.0)])
        .await;
    let neighbour = app
        .volunteers_at(&admin, &other, &["patrol"], &[at(300.0, 0.0)])
        .await;
    let id = app
        .place_order(
            &admin,
            json!({"category": "patrol", "lat": LAT, "lon": LON, "address": "芦浦工业区", "description": "夜间巡逻",
                   "source": "station", "station": "芦浦联勤警务站", "target_team_id": target, "urgency": "low"}),
        )
        .await;
    app.advance_secs(1);
    app.tick().await;
    assert_eq!(
        app.offers_of(&team_member[0].1).await.len(),
        1,
        "the team is asked first, however far"
    );
    assert!(app.offers_of(&neighbour[0].1).await.is_empty());
    // After the team-first period, it spills over to everyone nearby.
    app.advance_secs(121);
    let r = app.tick().await;
    assert!(r.offers >= 1, "{r:?}");
    let spill = app.offers_of(&neighbour[0].1).await;
    assert_eq!(spill.len(), 1);
    let oid = spill[0]["id"].as_str().unwrap();
    app.accept_offer(&neighbour[0].1, oid).await.expect(200);
    app.arrive(&neighbour[0].1, &id, (LAT, LON))
        .await
        .expect(200);
    app.complete(&neighbour[0].1, &id, None).await.expect(200);
    // Nobody confirms: after 24 hours it closes by itself, points without a rating bonus.
    app.advance_secs(23 * 3600);
    assert_eq!(app.tick().await.auto_closed, 0);
    app.advance_secs(3600 + 1);
    assert_eq!(app.tick().await.auto_closed, 1);
    let o = staff_view(app, &admin, &id).await;
    assert_eq!(o["status"], "closed");
    let pts = app
        .get("/api/v1/me/points", Some(&neighbour[0].1))
        .await
        .expect(200);
    assert_eq!(
        pts.json["balance"], 10,
        "tier 1, no time, no bonus: {}",
        pts.text
    );
}

both_backends!(station_slip_auto_close, station_slip_then_auto_close);

async fn restart_mid_dispatch(app: TestApp) {
    let Scene { admin, vs, .. } = app
        .scene(
            "海城应急救援一队",
            &["patrol"],
            &[at(500.0, 0.0), at(2500.0, 0.0)],
        )
        .await;
    let o = order(&app, &admin, "patrol", 1, "low", (LAT, LON)).await;
    let id = o["id"].as_str().unwrap().to_owned();
    app.advance_secs(1);
    assert_eq!(app.tick().await.offers, 1);
    // The server goes down with an offer out; time passes; it comes back.
    let app = app.restart().await;
    app.advance_secs(40);
    let r = app.tick().await;
    assert_eq!(
        (r.expired, r.offers),
        (1, 1),
        "the new process carries on: {r:?}"
    );
    assert_eq!(app.offers_of(&vs[1].1).await.len(), 1);
    let app = app.restart().await;
    app.advance_secs(31);
    let r = app.tick().await;
    assert_eq!(r.escalated, 1, "{r:?}");
    let o = staff_view(&app, &admin, &id).await;
    assert_eq!(o["status"], "escalated");
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_sqlite() {
    restart_mid_dispatch(TestApp::spawn(zhongdui_tests::Backend::Sqlite).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_postgres() {
    restart_mid_dispatch(TestApp::spawn(zhongdui_tests::Backend::Postgres).await).await;
}

async fn adjustments_and_export(app: &TestApp) {
    let admin = app.admin_token().await;
    let team_a = app.create_team(&admin, "甲队").await;
    let team_b = app.create_team(&admin, "乙队").await;
    let a = app
        .volunteers_at(&admin, &team_a, &["patrol"], &[at(0.0, 0.0)])
        .await;
    let b = app
        .volunteers_at(&admin, &team_b, &["patrol"], &[at(0.0, 0.0)])
        .await;
    let coord = app.coordinator_token(&admin, "13911110009", &team_a).await;
    let adjust = |token: String, body: Value, key: Option<&'static str>| async move {
        let mut req = app
            .client
            .post(format!("{}/api/v1/points/adjustments", app.base))
            .bearer_auth(token)
            .json(&body);
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        let res = req.send().await.unwrap();
        (
            res.status().as_u16(),
            res.json::<Value>().await.unwrap_or(Value::Null),
        )
    };
    let (s, first) = adjust(
        coord.clone(),
        json!({"volunteer_id": a[0].0, "amount": 15, "reason": "协助大型活动"}),
        Some("k1"),
    )
    .await;
    assert_eq!(s, 201, "{first}");
    let (s, again) = adjust(
        coord.clone(),
        json!({"volunteer_id": a[0].0, "amount": 15, "reason": "协助大型活动"}),
        Some("k1"),
    )
    .await;
    assert_eq!(
        (s, &again["id"]),
        (201, &first["id"]),
        "a retry with the same key adds nothing"
    );
    let (s, _) = adjust(
        coord.clone(),
        json!({"volunteer_id": b[0].0, "amount": 5, "reason": "x"}),
        None,
    )
    .await;
    assert_eq!(s, 403, "not the coordinator's team");
    let (s, p) = adjust(
        coord.clone(),
        json!({"volunteer_id": a[0].0, "amount": 5, "reason": " "}),
        None,
    )
    .await;
    assert_eq!((s, p["field"].as_str()), (422, Some("reason")));
    let (s, p) = adjust(
        admin.clone(),
        json!({"volunteer_id": a[0].0, "amount": -100, "reason": "兑换", "kind": "redemption"}),
        None,
    )
    .await;
    assert_eq!(
        (s, p["field"].as_str()),
        (422, Some("amount")),
        "cannot redeem more than the balance"
    );
    let (s, _) = adjust(admin.clone(), json!({"volunteer_id": a[0].0, "amount": -10, "reason": "兑换停车券", "kind": "redemption"}), None).await;
    assert_eq!(s, 201);
    let (s, _) = adjust(
        a[0].1.clone(),
        json!({"volunteer_id": a[0].0, "amount": 500, "reason": "我自己"}),
        None,
    )
    .await;
    assert_eq!(s, 403, "volunteers cannot award themselves");
    let pts = app
        .get(
            &format!("/api/v1/volunteers/{}/points", a[0].0),
            Some(&coord),
        )
        .await
        .expect(200);
    assert_eq!(pts.json["balance"], 5);
    app.get(
        &format!("/api/v1/volunteers/{}/points", a[0].0),
        Some(&b[0].1),
    )
    .await
    .expect_problem(403, None);
    let csv = app
        .get("/api/v1/points/export", Some(&admin))
        .await
        .expect(200);
    assert!(csv.content_type.starts_with("text/csv"));
    let line = csv
        .text
        .lines()
        .find(|l| l.contains("甲队"))
        .unwrap()
        .to_owned();
    assert!(line.ends_with(",5,5"), "{line}");
    app.get("/api/v1/points/export", Some(&a[0].1))
        .await
        .expect_problem(403, None);
    app.get("/api/v1/points/export?from=2026-13-01", Some(&admin))
        .await
        .expect_problem(422, Some("from"));
}

both_backends!(points_adjustments, adjustments_and_export);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_batch_window_the_first_wave_leaves_with_the_order() {
    let app = TestApp::spawn_with(zhongdui_tests::Backend::Postgres, |s| {
        s.dispatch.batch_window_ms = 0
    })
    .await;
    let Scene { admin, vs, .. } = app
        .scene(
            "鲸头平安巡防一队",
            &["patrol"],
            &[at(200.0, 0.0), at(2500.0, 0.0)],
        )
        .await;
    // No dispatcher pass runs in this test.
    let first = order(&app, &admin, "patrol", 1, "low", (LAT, LON)).await;
    assert_eq!(first["wave"], 1);
    assert_eq!(app.offers_of(&vs[0].1).await.len(), 1);
    // The nearest is now holding an offer: the next order goes to the next free volunteer, in a wider wave.
    let second = order(&app, &admin, "patrol", 1, "low", (LAT, LON)).await;
    assert_eq!(second["wave"], 2);
    let theirs = app.offers_of(&vs[1].1).await;
    assert_eq!(theirs[0]["order_id"], second["id"]);
    // Nobody left: the order waits for the dispatcher, which escalates it.
    let third = order(&app, &admin, "patrol", 1, "low", (LAT, LON)).await;
    assert_eq!(third["wave"], 0);
    // Each order is announced (event and ops push) whether or not a wave left
    // with it, and its `created` event comes before its wave.
    for o in [&first, &second, &third] {
        let detail = app
            .order_detail(&admin, o["id"].as_str().unwrap())
            .await
            .expect(200);
        let kinds = event_kinds(&detail.json);
        let want: &[&str] = if o["wave"] == 0 {
            &["created"]
        } else {
            &["created", "wave_started"]
        };
        assert_eq!(kinds, want, "{}", detail.text);
    }
    {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
        let ops = zhongdui_api::entities::outbox::Entity::find()
            .filter(zhongdui_api::entities::outbox::Column::Payload.contains("order_created"))
            .order_by_asc(zhongdui_api::entities::outbox::Column::Id)
            .all(&app.state.db)
            .await
            .unwrap();
        assert_eq!(ops.len(), 3);
        assert!(ops.iter().all(|m| m.channel.ends_with(":ops")));
        // The first order's push precedes the offer written with it.
        let offer = zhongdui_api::entities::outbox::Entity::find()
            .filter(
                zhongdui_api::entities::outbox::Column::Payload
                    .contains(first["id"].as_str().unwrap()),
            )
            .filter(zhongdui_api::entities::outbox::Column::Payload.contains("\"offer\""))
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap();
        assert!(ops[0].id < offer.id);
    }
    assert_eq!(app.tick().await.escalated, 1);
    app.cleanup().await;
}

/// How many offers this process's index counts for `v` this hour.
async fn offers_counted(app: &TestApp, admin: &str, v: &str) -> Option<u64> {
    app.get(&format!("/api/v1/ops/index/{v}"), Some(admin))
        .await
        .expect(200)
        .json["offers_last_hour"]
        .as_u64()
}

/// The hourly offer cap counts the offers of the last hour from the
/// database: a reload (every 5 minutes, and at start-up) or a restart does
/// not give a volunteer a fresh allowance. Cap 1 here: after one offer,
/// declined, the volunteer is skipped until the hour has passed.
async fn offer_cap_survives_reloads(app: TestApp) {
    let Scene { admin, vs, .. } = app
        .scene("沿江平安巡防一队", &["patrol"], &[at(300.0, 0.0)])
        .await;
    let v = vs[0].0.as_str();
    assert_eq!(offers_counted(&app, &admin, v).await, Some(0));
    order(&app, &admin, "patrol", 1, "low", (LAT, LON)).await;
    app.advance_secs(1);
    assert_eq!(app.tick().await.offers, 1);
    let offer = app.offers_of(&vs[0].1).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.decline_offer(&vs[0].1, &offer).await.expect(204);
    assert_eq!(offers_counted(&app, &admin, v).await, Some(1));

    // Reloaded and restarted: still one offer this hour, so no second one.
    app.reload_index().await;
    assert_eq!(offers_counted(&app, &admin, v).await, Some(1));
    let app = app.restart().await;
    assert_eq!(offers_counted(&app, &admin, v).await, Some(1));
    order(&app, &admin, "patrol", 1, "low", (LAT, LON)).await;
    app.advance_secs(1);
    assert_eq!(app.tick().await.offers, 0, "capped");
    assert!(app.offers_of(&vs[0].1).await.is_empty());

    // An hour after the first offer the allowance is back.
    app.advance_secs(3600);
    app.reload_index().await;
    assert_eq!(offers_counted(&app, &admin, v).await, Some(0));
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offer_cap_reload_sqlite() {
    let app = TestApp::spawn_with(zhongdui_tests::Backend::Sqlite, |s| {
        s.dispatch.max_offers_per_hour = 1
    })
    .await;
    offer_cap_survives_reloads(app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offer_cap_reload_postgres() {
    let app = TestApp::spawn_with(zhongdui_tests::Backend::Postgres, |s| {
        s.dispatch.max_offers_per_hour = 1
    })
    .await;
    offer_cap_survives_reloads(app).await;
}
