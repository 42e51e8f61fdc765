//! Trust: coordinators act only on their teams, existing accounts are never
//! converted silently, disabled or revoked volunteers leave dispatch and
//! their sockets, and field claims (grab, check-in) follow the dispatch
//! rules with certificates judged on the city's day.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use zhongdui_api::clock::Clock;
use zhongdui_tests::{LAT, LON, Scene, TestApp, at, both_backends};

fn north(m: f64) -> (f64, f64) {
    at(m, 0.0)
}

async fn place(app: &TestApp, token: &str, category: &str, pos: (f64, f64)) -> String {
    app.place_order(
        token,
        json!({"category": category, "lat": pos.0, "lon": pos.1, "address": "龙港市新城大道 1 号",
               "description": "需要帮助", "urgency": "low"}),
    )
    .await
}

/// Runs the batch window out and one pass.
async fn dispatch(app: &TestApp) {
    app.advance_secs(2);
    app.tick().await;
}

async fn coordinators_stay_in_their_teams(app: &TestApp) {
    let admin = app.admin_token().await;
    let team1 = app.create_team(&admin, "一队").await;
    let team2 = app.create_team(&admin, "二队").await;
    let coord2 = app.coordinator_token(&admin, "13911110002", &team2).await;
    let v1 = app
        .volunteers_at(&admin, &team1, &["patrol"], &[north(100.0)])
        .await;
    let v1_id = v1[0].0.clone();
    let v1_phone = app
        .get(&format!("/api/v1/volunteers/{v1_id}"), Some(&admin))
        .await
        .expect(200)
        .json["phone"]
        .as_str()
        .unwrap()
        .to_owned();

    // CSV: a team-1 volunteer's phone with team 2's name is refused and stays in team 1.
    let csv = format!("phone,display_name,team,skills\n{v1_phone},改名,二队,patrol\n");
    let report = app.import_csv(&coord2, &csv).await;
    assert_eq!(report["lines"][0]["status"], "error", "{report}");
    assert_eq!(
        report["lines"][0]["errors"][0]["field"], "phone",
        "{report}"
    );
    let after = app
        .get(&format!("/api/v1/volunteers/{v1_id}"), Some(&admin))
        .await
        .expect(200);
    assert_eq!(after.json["team_id"], team1.as_str());
    assert_eq!(after.json["display_name"], "志愿者0");
    // The admin may move them.
    let report = app.import_csv(&admin, &csv).await;
    assert_eq!(report["lines"][0]["status"], "updated", "{report}");

    // Reassigning: team 3's volunteer accepted; team 4's coordinator may not take them off.
    let team3 = app.create_team(&admin, "三队").await;
    let team4 = app.create_team(&admin, "四队").await;
    let coord4 = app.coordinator_token(&admin, "13911110004", &team4).await;
    let v3 = app
        .volunteers_at(&admin, &team3, &["patrol"], &[north(50.0)])
        .await;
    let v4 = app
        .volunteers_at(&admin, &team4, &["patrol"], &[north(8000.0)])
        .await;
    let resident = app.resident_token("13500000031").await;
    let order = place(app, &resident, "patrol", (LAT, LON)).await;
    dispatch(app).await;
    let offer = app.offers_of(&v3[0].1).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.accept_offer(&v3[0].1, &offer).await.expect(200);
    let path = format!("/api/v1/orders/{order}/assign");
    app.post(
        &path,
        Some(&coord4),
        json!({"volunteer_id": v4[0].0, "replace_volunteer_id": v3[0].0}),
    )
    .await
    .expect_problem(403, None);
    let o = app.order_detail(&admin, &order).await.expect(200);
    let states: Vec<&str> = o.json["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["state"].as_str().unwrap())
        .collect();
    assert!(states.contains(&"accepted"), "{states:?}");
    assert!(!states.contains(&"removed"), "{states:?}");
    // The admin may.
    app.post(
        &path,
        Some(&admin),
        json!({"volunteer_id": v4[0].0, "replace_volunteer_id": v3[0].0}),
    )
    .await
    .expect(200);

    // An existing resident is never converted by a coordinator: 409 naming `phone`.
    app.resident_token("13500000077").await;
    let r = app
        .post(
            "/api/v1/volunteers",
            Some(&coord2),
            json!({"phone": "13500000077", "display_name": "居民", "team_id": team2}),
        )
        .await
        .expect_problem(409, Some("phone"));
    assert!(
        !r.text.contains("13500000077"),
        "phone masked in the body: {}",
        r.text
    );
    let me = app.login("13500000077", "resident-pw").await;
    let me = app.get("/api/v1/me", Some(&me)).await.expect(200);
    assert_eq!(me.json["role"], "resident");
    // Nor by an import line.
    let report = app
        .import_csv(&coord2, "phone,display_name,team\n13500000077,居民,二队\n")
        .await;
    assert_eq!(report["lines"][0]["status"], "error", "{report}");
    // Coordinators cannot promote; an admin can, explicitly, and the resident keeps their password.
    app.post(
        "/api/v1/volunteers",
        Some(&coord2),
        json!({"phone": "13500000077", "display_name": "居民", "team_id": team2, "promote": true}),
    )
    .await
    .expect_problem(403, None);
    let promoted = app
        .post(
            "/api/v1/volunteers",
            Some(&admin),
            json!({"phone": "13500000077", "display_name": "居民志愿者", "team_id": team2, "promote": true}),
        )
        .await
        .expect(201);
    assert!(
        promoted.json.get("initial_password").is_none(),
        "{}",
        promoted.text
    );
    let token = app.login("13500000077", "resident-pw").await;
    let me = app.get("/api/v1/me", Some(&token)).await.expect(200);
    assert_eq!(me.json["role"], "volunteer");
}

both_backends!(team_scope, coordinators_stay_in_their_teams);

/// Waits until the socket closes; returns how long it took (None: still open after `limit`).
async fn closes_within(mut ws: zhongdui_tests::WsClient, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if ws.next(limit - started.elapsed()).await.is_none() {
            return (started.elapsed() < limit).then(|| started.elapsed());
        }
    }
    None
}

async fn disabled_and_revoked_volunteers_leave(app: &TestApp) {
    let Scene { admin, vs, .. } = app
        .scene("一队", &["patrol"], &[north(100.0), north(200.0)])
        .await;
    let resident = app.resident_token("13500000041").await;
    let ws = app.ws(&vs[0].1, None).await;

    // Disabled: out of the index at once, the socket closed within 5 s.
    app.patch(
        &format!("/api/v1/volunteers/{}", vs[0].0),
        Some(&admin),
        json!({"disabled": true}),
    )
    .await
    .expect(200);
    let indexed = app
        .get(&format!("/api/v1/ops/index/{}", vs[0].0), Some(&admin))
        .await
        .expect(200);
    assert!(indexed.json["lat"].is_null(), "{}", indexed.text);
    let took = closes_within(ws, Duration::from_secs(5)).await;
    assert!(
        took.is_some(),
        "the disabled volunteer's socket stayed open"
    );
    place(app, &resident, "patrol", (LAT, LON)).await;
    dispatch(app).await;
    let o = app
        .get("/api/v1/orders", Some(&admin))
        .await
        .expect(200)
        .json["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let detail = app.order_detail(&admin, &o).await.expect(200);
    let offered: Vec<&str> = detail.json["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["volunteer_id"].as_str().unwrap())
        .collect();
    assert_eq!(offered, vec![vs[1].0.as_str()], "only the enabled one");

    // A password reset revokes the token: its socket closes too.
    let ws = app.ws(&vs[1].1, None).await;
    app.patch(
        &format!("/api/v1/volunteers/{}", vs[1].0),
        Some(&admin),
        json!({"password": "a-new-password"}),
    )
    .await
    .expect(200);
    assert!(
        closes_within(ws, Duration::from_secs(5)).await.is_some(),
        "the revoked token's socket stayed open"
    );
}

both_backends!(disabled_volunteers, disabled_and_revoked_volunteers_leave);

async fn grab_follows_the_rules(app: &TestApp) {
    let admin = app.admin_token().await;
    let team = app.create_team(&admin, "一队").await;
    let resident = app.resident_token("13500000051").await;
    let vs = app
        .volunteers_at(&admin, &team, &["patrol"], &[north(100.0), north(20_000.0)])
        .await;
    let (near, far) = (&vs[0], &vs[1]);
    let order = place(app, &resident, "patrol", (LAT, LON)).await;
    // Farther than the grab radius (10 km).
    app.grab(&far.1, &order)
        .await
        .expect_problem(422, Some("distance_m"));
    // Off duty.
    app.set_duty(&near.1, false).await.expect(200);
    app.grab(&near.1, &order)
        .await
        .expect_problem(422, Some("on_duty"));
    app.set_duty(&near.1, true).await.expect(200);
    // Stale position (older than 30 minutes).
    app.advance_secs(31 * 60);
    app.grab(&near.1, &order)
        .await
        .expect_problem(422, Some("location"));
    app.report_position(&near.1, north(100.0)).await.expect(204);
    // A first-aid order needs the skill with a certificate.
    let first_aid = place(app, &resident, "first_aid", north(10.0)).await;
    app.grab(&near.1, &first_aid)
        .await
        .expect_problem(422, Some("skills"));
    // Fine now; and then at capacity for the next one.
    app.grab(&near.1, &order).await.expect(200);
    let other = place(app, &resident, "patrol", north(30.0)).await;
    app.grab(&near.1, &other)
        .await
        .expect_problem(409, Some("capacity"));
}

both_backends!(grab_rules, grab_follows_the_rules);

async fn check_in_needs_a_plausible_trip(app: &TestApp) {
    let admin = app.admin_token().await;
    let team = app.create_team(&admin, "一队").await;
    let resident = app.resident_token("13500000061").await;
    // A volunteer who never reported a position, made by hand.
    let v = app
        .post(
            "/api/v1/volunteers",
            Some(&admin),
            json!({"phone": "15500000061", "display_name": "未定位", "password": "volunteer-pw",
                   "team_id": team, "skills": ["patrol"]}),
        )
        .await
        .expect(201);
    let vid = v.json["id"].as_str().unwrap().to_owned();
    let silent = app.login("15500000061", "volunteer-pw").await;
    let far = app
        .volunteers_at(&admin, &team, &["patrol"], &[north(115_000.0)])
        .await;
    let order = app
        .place_order(
            &resident,
            json!({"category": "patrol", "lat": LAT, "lon": LON, "address": "新城大道",
                   "description": "需要两人", "headcount": 2}),
        )
        .await;
    let assign = |volunteer: String| {
        let path = format!("/api/v1/orders/{order}/assign");
        let admin = admin.clone();
        async move {
            app.post(&path, Some(&admin), json!({"volunteer_id": volunteer}))
                .await
                .expect(200);
        }
    };
    assign(vid.clone()).await;
    assign(far[0].0.clone()).await;
    // Never reported: refused.
    app.arrive(&silent, &order, (LAT, LON))
        .await
        .expect_problem(422, Some("location"));
    // Last seen 115 km away a second ago: refused as implausible, and the
    // position is not taken either.
    app.advance_secs(1);
    let r = app
        .arrive(&far[0].1, &order, (LAT, LON))
        .await
        .expect_problem(422, Some("lat"));
    assert_eq!(r.json["errors"][0]["code"], "field.too_fast", "{}", r.text);
    let row = app
        .get(&format!("/api/v1/volunteers/{}", far[0].0), Some(&admin))
        .await
        .expect(200);
    assert!(
        row.json["lat"].as_f64().unwrap() > LAT + 1.0,
        "{}",
        row.text
    );
    // After a plausible trip (40 minutes at about 48 m/s) it works.
    app.advance_secs(40 * 60);
    app.arrive(&far[0].1, &order, (LAT, LON)).await.expect(200);
}

both_backends!(check_in, check_in_needs_a_plausible_trip);

async fn certificates_count_on_the_city_day(app: &TestApp) {
    let admin = app.admin_token().await;
    let team = app.create_team(&admin, "急救队").await;
    let resident = app.resident_token("13500000071").await;
    // 00:30 China time (16:30 UTC): a certificate valid until yesterday no longer counts.
    let now = app.clock.now();
    let china = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
    let today = now.with_timezone(&china).date_naive();
    let target = today
        .succ_opt()
        .unwrap()
        .and_hms_opt(0, 30, 0)
        .unwrap()
        .and_local_timezone(china)
        .unwrap()
        .with_timezone(&chrono::Utc);
    app.clock.advance(target - now);
    let yesterday = today; // the day before the clock's new China day
    let mk = |phone: &'static str, certs: Value| {
        let admin = admin.clone();
        let team = team.clone();
        async move {
            let v = app
                .post(
                    "/api/v1/volunteers",
                    Some(&admin),
                    json!({"phone": phone, "display_name": "急救员", "password": "volunteer-pw",
                           "team_id": team, "skills": ["first_aid"], "certificates": certs}),
                )
                .await
                .expect(201);
            let token = app.login(phone, "volunteer-pw").await;
            app.set_duty(&token, true).await.expect(200);
            app.report_position(&token, (LAT, LON)).await.expect(204);
            (v.json["id"].as_str().unwrap().to_owned(), token)
        }
    };
    let none = mk("15500000071", json!({})).await;
    let expired = mk(
        "15500000072",
        json!({"first_aid": yesterday.format("%Y-%m-%d").to_string()}),
    )
    .await;
    let valid = mk("15500000073", json!({"first_aid": "2099-12-31"})).await;
    place(app, &resident, "first_aid", north(20.0)).await;
    dispatch(app).await;
    assert!(app.offers_of(&none.1).await.is_empty(), "no certificate");
    assert!(
        app.offers_of(&expired.1).await.is_empty(),
        "expired yesterday (China time)"
    );
    assert_eq!(app.offers_of(&valid.1).await.len(), 1);

    // The import warns about missing and expired certificates on kept lines.
    let csv = format!(
        "phone,display_name,team,skills,certificates\n15500000081,甲,急救队,first_aid,\n15500000082,乙,急救队,first_aid,first_aid:{}\n15500000083,丙,急救队,patrol,\n",
        yesterday.format("%Y-%m-%d")
    );
    let report = app.import_csv(&admin, &csv).await;
    assert_eq!(report["created"], 3, "{report}");
    assert_eq!(
        report["lines"][0]["warnings"][0]["field"], "certificates",
        "{report}"
    );
    assert_eq!(
        report["lines"][1]["warnings"][0]["field"], "certificates",
        "{report}"
    );
    assert!(report["lines"][2].get("warnings").is_none(), "{report}");
}

both_backends!(certificates, certificates_count_on_the_city_day);

/// A stored order whose skills column does not parse is a corrupt row, never
/// read as "no skills needed": nobody may grab it, the nearby list leaves it
/// out, and a dispatcher pass skips it but carries on with the rest.
async fn corrupt_rows_are_never_read_as_defaults(app: &TestApp) {
    let admin = app.admin_token().await;
    let team = app.create_team(&admin, "一队").await;
    let resident = app.resident_token("13500000061").await;
    let vs = app
        .volunteers_at(&admin, &team, &["patrol"], &[north(100.0)])
        .await;
    let token = &vs[0].1;
    let first_aid = place(app, &resident, "first_aid", north(10.0)).await;
    {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
        use zhongdui_api::entities::order;
        let id: uuid::Uuid = first_aid.parse().unwrap();
        let res = order::Entity::update_many()
            .col_expr(order::Column::RequiredSkills, Expr::value("first_aid,???"))
            .filter(order::Column::Id.eq(id))
            .exec(&app.state.db)
            .await
            .unwrap();
        assert_eq!(res.rows_affected, 1);
    }
    let grab = app.grab(token, &first_aid).await;
    assert_eq!(grab.status.as_u16(), 500, "{}", grab.text);
    let nearby = app
        .get("/api/v1/tasks/nearby", Some(token))
        .await
        .expect(200);
    assert!(
        !nearby.text.contains(&first_aid),
        "the corrupt order was listed: {}",
        nearby.text
    );
    let patrol = place(app, &resident, "patrol", north(20.0)).await;
    app.advance_secs(120);
    app.tick().await;
    let offered: Vec<String> = app
        .offers_of(token)
        .await
        .iter()
        .map(|o| o["order_id"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(!offered.contains(&first_aid), "{offered:?}");
    assert!(offered.contains(&patrol), "{offered:?}");
    assert_eq!(
        app.count("assignments").await,
        1,
        "only the patrol order was offered"
    );
}

both_backends!(corrupt_rows, corrupt_rows_are_never_read_as_defaults);
