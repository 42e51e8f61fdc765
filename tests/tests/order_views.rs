//! What order lists and order details show: the list filters (text, urgency,
//! source, team, days) within each role's own orders, and the live position
//! of a volunteer on an order, shown only while they are on it and only to
//! those who may follow it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Duration;
use reqwest::Method;
use serde_json::{Value, json};
use zhongdui_api::clock::Clock;
use zhongdui_tests::{LAT, LON, TestApp, at, both_backends};

/// A point `m` metres north of the base.
fn north(m: f64) -> (f64, f64) {
    at(m, 0.0)
}

/// The codes of the orders `token` lists with `query`.
async fn codes(app: &TestApp, token: &str, query: &str) -> Vec<String> {
    let r = app
        .get(&format!("/api/v1/orders?{query}"), Some(token))
        .await
        .expect(200);
    let items = r.json["items"].as_array().unwrap();
    assert_eq!(r.json["total"].as_u64().unwrap() as usize, items.len());
    let mut out: Vec<String> = items
        .iter()
        .map(|o| o["code"].as_str().unwrap().to_owned())
        .collect();
    out.sort();
    out
}

fn sorted(mut v: Vec<&str>) -> Vec<String> {
    v.sort_unstable();
    v.into_iter().map(str::to_owned).collect()
}

async fn list_filters(app: &TestApp) {
    // Arrange: a1 (team A) grabs o1; b1 (team B) declines an offer of o3;
    // o2 is a station slip sent to team B first.
    let admin = app.admin_token().await;
    let team_a = app.create_team(&admin, "甲队").await;
    let team_b = app.create_team(&admin, "乙队").await;
    let a1 = app
        .volunteers_at(&admin, &team_a, &["patrol"], &[north(200.0)])
        .await
        .remove(0);
    let b1 = app
        .volunteers_at(&admin, &team_b, &["patrol"], &[north(300.0)])
        .await
        .remove(0);
    let r1 = app.resident_token("13500000001").await;
    let r2 = app.resident_token("13500000002").await;
    let o1 = app
        .post(
            "/api/v1/orders",
            Some(&r1),
            json!({"category": "patrol", "lat": LAT, "lon": LON, "address": "龙港市新城大道 1 号",
                   "description": "夜间巡逻", "urgency": "low"}),
        )
        .await
        .expect(201)
        .json;
    let id1 = o1["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/orders/{id1}/grab"),
        Some(&a1.1),
        json!({}),
    )
    .await
    .expect(200);
    let o3 = app
        .post(
            "/api/v1/orders",
            Some(&r2),
            json!({"category": "patrol", "lat": LAT, "lon": LON, "address": "白沙路 3 号 100%_店",
                   "description": "纠纷", "urgency": "critical"}),
        )
        .await
        .expect(201)
        .json;
    app.advance_secs(1);
    app.tick().await;
    let offers = app.get("/api/v1/me/offers", Some(&b1.1)).await.expect(200);
    assert_eq!(offers.json[0]["order_id"], o3["id"], "{}", offers.text);
    let offer = offers.json[0]["id"].as_str().unwrap();
    app.send(
        Method::POST,
        &format!("/api/v1/offers/{offer}/decline"),
        Some(&b1.1),
        None,
        None,
    )
    .await
    .expect(204);
    let o2 = app
        .post(
            "/api/v1/orders",
            Some(&admin),
            json!({"category": "patrol", "lat": LAT, "lon": LON, "address": "Harbour Road 8",
                   "description": "警务站派单", "urgency": "urgent", "source": "station",
                   "station": "龙港派出所", "target_team_id": team_b}),
        )
        .await
        .expect(201)
        .json;
    let (c1, c2, c3) = (
        o1["code"].as_str().unwrap(),
        o2["code"].as_str().unwrap(),
        o3["code"].as_str().unwrap(),
    );
    let all = sorted(vec![c1, c2, c3]);
    assert_eq!(codes(app, &admin, "").await, all);

    // Text: code or address, case-insensitive substring; wildcards are literal.
    assert_eq!(codes(app, &admin, "q=harbour").await, sorted(vec![c2]));
    assert_eq!(
        codes(app, &admin, "q=HARBOUR%20road").await,
        sorted(vec![c2])
    );
    assert_eq!(codes(app, &admin, "q=新城大道").await, sorted(vec![c1]));
    let lower = c1.to_lowercase();
    assert_eq!(
        codes(app, &admin, &format!("q={lower}")).await,
        sorted(vec![c1])
    );
    assert_eq!(codes(app, &admin, "q=zd-").await, all);
    assert_eq!(codes(app, &admin, "q=100%25_").await, sorted(vec![c3]));
    assert_eq!(codes(app, &admin, "q=%25").await, sorted(vec![c3]));
    assert!(
        codes(app, &admin, "q=100_").await.is_empty(),
        "_ matches only _"
    );
    assert!(
        codes(app, &admin, "q=0%25店").await.is_empty(),
        "% matches only %"
    );
    assert!(codes(app, &admin, "q=nowhere").await.is_empty());
    assert_eq!(codes(app, &admin, "q=").await, all, "empty is no filter");

    // Urgency and source.
    assert_eq!(codes(app, &admin, "urgency=urgent").await, sorted(vec![c2]));
    assert_eq!(
        codes(app, &admin, "urgency=critical").await,
        sorted(vec![c3])
    );
    assert_eq!(codes(app, &admin, "source=station").await, sorted(vec![c2]));
    assert_eq!(
        codes(app, &admin, "source=resident").await,
        sorted(vec![c1, c3])
    );
    assert!(codes(app, &admin, "source=coordinator").await.is_empty());

    // Team: a member on it (not merely offered or declining), or sent to it first.
    assert_eq!(
        codes(app, &admin, &format!("team_id={team_a}")).await,
        sorted(vec![c1])
    );
    assert_eq!(
        codes(app, &admin, &format!("team_id={team_b}")).await,
        sorted(vec![c2])
    );

    // Days (China time), inclusive.
    let (day, prev, next) = (
        app.china_today(),
        app.china_today() - Duration::days(1),
        app.china_today() + Duration::days(1),
    );
    assert_eq!(
        codes(app, &admin, &format!("from={day}&to={day}")).await,
        all
    );
    assert_eq!(codes(app, &admin, &format!("from={prev}")).await, all);
    assert!(codes(app, &admin, &format!("to={prev}")).await.is_empty());
    assert!(codes(app, &admin, &format!("from={next}")).await.is_empty());

    // Filters combine, with each other and with the old ones.
    assert_eq!(
        codes(
            app,
            &admin,
            &format!("urgency=low&team_id={team_a}&status=assigned")
        )
        .await,
        sorted(vec![c1])
    );
    assert!(
        codes(app, &admin, &format!("urgency=urgent&team_id={team_a}"))
            .await
            .is_empty()
    );

    // Residents and volunteers still see only their own orders.
    assert_eq!(codes(app, &r1, "").await, sorted(vec![c1]));
    assert!(codes(app, &r1, "q=harbour").await.is_empty());
    assert!(codes(app, &r1, "urgency=critical").await.is_empty());
    assert_eq!(codes(app, &r2, "urgency=critical").await, sorted(vec![c3]));
    assert_eq!(codes(app, &a1.1, "").await, sorted(vec![c1]));
    assert_eq!(
        codes(app, &a1.1, &format!("team_id={team_a}")).await,
        sorted(vec![c1])
    );
    assert!(
        codes(app, &b1.1, &format!("team_id={team_b}"))
            .await
            .is_empty()
    );

    // Bad values: a problem naming the parameter.
    let unknown = uuid::Uuid::new_v4();
    let long = "长".repeat(101);
    for (query, field) in [
        ("urgency=asap".to_owned(), "urgency"),
        ("source=email".to_owned(), "source"),
        ("team_id=team-a".to_owned(), "team_id"),
        (format!("team_id={unknown}"), "team_id"),
        ("from=2026-02-30".to_owned(), "from"),
        ("to=tomorrow".to_owned(), "to"),
        (format!("from={next}&to={day}"), "from"),
        (format!("q={long}"), "q"),
        ("status=lost".to_owned(), "status"),
    ] {
        app.get(&format!("/api/v1/orders?{query}"), Some(&admin))
            .await
            .expect_problem(422, Some(field));
    }
    app.get("/api/v1/orders?urgency=asap", Some(&r1))
        .await
        .expect_problem(422, Some("urgency"));
}

both_backends!(order_list_filters, list_filters);

/// Order codes carry the city's day (China time), like the list's day
/// filters: an order placed at 00:30 China time, 16:30 UTC the day before,
/// is numbered on the new day and found by that day's filter.
async fn codes_follow_the_city_day(app: &TestApp) {
    let now = app.clock.now();
    let mut at = now.date_naive().and_hms_opt(16, 30, 0).unwrap().and_utc();
    if at <= now {
        at += Duration::days(1);
    }
    app.advance_secs((at - now).num_seconds());
    let day = app.china_today();
    assert_ne!(day, at.date_naive(), "the city's day is not UTC's here");
    let resident = app.resident_token("13500000009").await;
    let o = app
        .post(
            "/api/v1/orders",
            Some(&resident),
            json!({"category": "patrol", "lat": LAT, "lon": LON, "address": "龙港市新城大道 9 号",
                   "description": "凌晨求助", "urgency": "low"}),
        )
        .await
        .expect(201)
        .json;
    let code = format!("ZD-{}-0001", day.format("%Y%m%d"));
    assert_eq!(o["code"], code.as_str());
    assert_eq!(
        codes(app, &resident, &format!("from={day}&to={day}")).await,
        [code]
    );
}
both_backends!(order_codes_by_city_day, codes_follow_the_city_day);

fn assignment_of<'a>(order: &'a Value, volunteer: &str) -> Option<&'a Value> {
    order["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["volunteer_id"] == volunteer)
}

fn has_position(a: &Value) -> bool {
    let set = [&a["lat"], &a["lon"], &a["location_at"]].map(|v| !v.is_null());
    assert!(
        set.iter().all(|s| *s) || set.iter().all(|s| !*s),
        "lat, lon and location_at go together: {a}"
    );
    set[0]
}

async fn live_position(app: &TestApp) {
    // Arrange: two volunteers, an order for two; both are offered it.
    let admin = app.admin_token().await;
    let team = app.create_team(&admin, "甲队").await;
    let vs = app
        .volunteers_at(&admin, &team, &["patrol"], &[north(400.0), north(600.0)])
        .await;
    let (v1, v2) = (&vs[0], &vs[1]);
    let resident = app.resident_token("13500000001").await;
    let other = app.resident_token("13500000002").await;
    let o = app
        .post(
            "/api/v1/orders",
            Some(&resident),
            json!({"category": "patrol", "lat": LAT, "lon": LON, "address": "龙港市新城大道 1 号",
                   "description": "需要帮助", "headcount": 2, "urgency": "low"}),
        )
        .await
        .expect(201)
        .json;
    let id = o["id"].as_str().unwrap();
    let path = format!("/api/v1/orders/{id}");
    app.advance_secs(1);
    assert_eq!(app.tick().await.offers, 2);
    let view = |token: String| {
        let path = path.clone();
        async move { app.get(&path, Some(&token)).await.expect(200).json }
    };

    // Offered only: nobody sees a position (the resident not even the offers).
    let staff = view(admin.clone()).await;
    for v in [v1, v2] {
        let a = assignment_of(&staff, &v.0).unwrap();
        assert_eq!(a["state"], "offered");
        assert!(!has_position(a), "{a}");
    }
    let mine = view(resident.clone()).await;
    assert!(mine["assignments"].as_array().unwrap().is_empty(), "{mine}");

    // v1 accepts and reports where they are; v2 still only has the offer.
    let offers = app.get("/api/v1/me/offers", Some(&v1.1)).await.expect(200);
    let offer = offers.json[0]["id"].as_str().unwrap();
    app.send(
        Method::POST,
        &format!("/api/v1/offers/{offer}/accept"),
        Some(&v1.1),
        None,
        None,
    )
    .await
    .expect(200);
    app.advance_secs(5);
    let here = north(250.0);
    app.send(
        Method::PUT,
        "/api/v1/me/location",
        Some(&v1.1),
        Some(json!({"lat": here.0, "lon": here.1})),
        None,
    )
    .await
    .expect(204);
    let reported_at = app.clock.now();

    // The resident sees v1 coming, and where v1 is.
    let mine = view(resident.clone()).await;
    let list = mine["assignments"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{mine}");
    let a = &list[0];
    assert_eq!(a["volunteer_id"], v1.0.as_str());
    assert!(has_position(a), "{a}");
    assert!((a["lat"].as_f64().unwrap() - here.0).abs() < 1e-9);
    assert!((a["lon"].as_f64().unwrap() - here.1).abs() < 1e-9);
    let at: chrono::DateTime<chrono::Utc> = a["location_at"].as_str().unwrap().parse().unwrap();
    assert!(
        (at - reported_at).num_milliseconds().abs() < 1,
        "{at} vs {reported_at}"
    );

    // Staff see it too, and no position for the open offer.
    let staff = view(admin.clone()).await;
    assert!(has_position(assignment_of(&staff, &v1.0).unwrap()));
    let offered = assignment_of(&staff, &v2.0).unwrap();
    assert_eq!(offered["state"], "offered");
    assert!(!has_position(offered), "{offered}");

    // v1 sees their own position; v2 (only offered) sees v1 on it, but not where.
    let own = view(v1.1.clone()).await;
    assert!(has_position(assignment_of(&own, &v1.0).unwrap()));
    let prospect = view(v2.1.clone()).await;
    let seen = assignment_of(&prospect, &v1.0).unwrap();
    assert!(!has_position(seen), "{seen}");
    // Another resident cannot see the order at all.
    app.get(&path, Some(&other)).await.expect_problem(404, None);

    // v2 accepts too (the order is then assigned): their last known position shows.
    let offers = app.get("/api/v1/me/offers", Some(&v2.1)).await.expect(200);
    let offer = offers.json[0]["id"].as_str().unwrap();
    app.send(
        Method::POST,
        &format!("/api/v1/offers/{offer}/accept"),
        Some(&v2.1),
        None,
        None,
    )
    .await
    .expect(200);
    let mine = view(resident.clone()).await;
    assert_eq!(mine["status"], "assigned");
    assert!(has_position(assignment_of(&mine, &v2.0).unwrap()));

    // On scene (after a plausible trip): still shown.
    app.advance_secs(60);
    app.post(
        &format!("{path}/arrive"),
        Some(&v1.1),
        json!({"lat": LAT, "lon": LON}),
    )
    .await
    .expect(200);
    let mine = view(resident.clone()).await;
    let a = assignment_of(&mine, &v1.0).unwrap();
    assert_eq!(a["state"], "arrived");
    assert!(has_position(a), "{a}");

    // Done: no longer followed.
    app.post(&format!("{path}/complete"), Some(&v1.1), json!({}))
        .await
        .expect(200);
    let mine = view(resident.clone()).await;
    let a = assignment_of(&mine, &v1.0).unwrap();
    assert_eq!(a["state"], "completed");
    assert!(!has_position(a), "{a}");
    let staff = view(admin.clone()).await;
    assert!(!has_position(assignment_of(&staff, &v1.0).unwrap()));
}

both_backends!(volunteer_position_on_order, live_position);
