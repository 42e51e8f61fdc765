//! Joint incidents (联勤联动): an order or slip with role slots, e.g. 1 ×
//! first aid and 2 × traffic control. Each wave offers each role to the
//! nearest volunteers holding its skill, a volunteer is offered and fills
//! one role, concurrent accepts and grabs (in two processes) never put more
//! than a role's count in it, and the order fills when every role has.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use futures_util::future::join_all;
use serde_json::{Value, json};
use zhongdui_tests::{LAT, LON, TestApp, at, both_backends};

fn joint(roles: Value) -> Value {
    json!({"category": "traffic", "lat": LAT, "lon": LON, "address": "龙港市世纪大道与新城大道路口",
           "description": "两车相撞，一人受伤，路口拥堵", "urgency": "normal", "roles": roles})
}

/// Each volunteer's (id → token), by their skills.
struct Crew {
    medics: Vec<(String, String)>,
    traffic: Vec<(String, String)>,
    both: Vec<(String, String)>,
    patrol: Vec<(String, String)>,
}

async fn crew(app: &TestApp, admin: &str, team: &str) -> Crew {
    Crew {
        medics: app
            .volunteers_at(
                admin,
                team,
                &["first_aid"],
                &[at(200.0, 0.0), at(320.0, 0.0)],
            )
            .await,
        traffic: app
            .volunteers_at(
                admin,
                team,
                &["traffic"],
                &[
                    at(250.0, 0.0),
                    at(350.0, 0.0),
                    at(450.0, 0.0),
                    at(550.0, 0.0),
                ],
            )
            .await,
        both: app
            .volunteers_at(admin, team, &["first_aid", "traffic"], &[at(100.0, 0.0)])
            .await,
        patrol: app
            .volunteers_at(admin, team, &["patrol"], &[at(50.0, 0.0)])
            .await,
    }
}

fn roles_of(o: &Value) -> HashMap<String, (i64, i64)> {
    o["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["skill"].as_str().unwrap().to_owned(),
                (r["count"].as_i64().unwrap(), r["filled"].as_i64().unwrap()),
            )
        })
        .collect()
}

async fn offers_fill_each_role(app: &TestApp) {
    let admin = app.admin_token().await;
    let team = app.create_team(&admin, "联勤一队").await;
    let c = crew(app, &admin, &team).await;
    let o = app
        .new_order(
            &admin,
            joint(json!([{"skill": "first_aid", "count": 1}, {"skill": "traffic", "count": 2}])),
        )
        .await;
    assert_eq!(o["headcount"], 3);
    assert_eq!(
        roles_of(&o),
        HashMap::from([("first_aid".into(), (1, 0)), ("traffic".into(), (2, 0))])
    );
    let id = o["id"].as_str().unwrap().to_owned();
    app.advance_secs(1);
    app.tick().await;

    // Each role is offered to the nearest holding its skill; one role each.
    let everyone: Vec<&(String, String)> = c
        .medics
        .iter()
        .chain(&c.traffic)
        .chain(&c.both)
        .chain(&c.patrol)
        .collect();
    // (volunteer, token, role, offer)
    let mut offered: Vec<(String, String, String, String)> = Vec::new();
    for (vid, token) in &everyone {
        let offers = app.offers_of(token).await;
        assert!(offers.len() <= 1, "one offer at most: {offers:?}");
        if let Some(offer) = offers.first() {
            let role = offer["role"].as_str().expect("an offer names its role");
            let offer_id = offer["id"].as_str().unwrap();
            offered.push((
                vid.clone(),
                token.clone(),
                role.to_owned(),
                offer_id.to_owned(),
            ));
        }
    }
    let count = |role: &str| offered.iter().filter(|o| o.2 == role).count();
    // Wave factor 2 for normal urgency: 2 per missing volunteer.
    assert_eq!(count("first_aid"), 2, "{offered:?}");
    assert_eq!(count("traffic"), 4, "{offered:?}");
    let medics: Vec<&String> = c.medics.iter().chain(&c.both).map(|v| &v.0).collect();
    let drivers: Vec<&String> = c.traffic.iter().chain(&c.both).map(|v| &v.0).collect();
    for (vid, _, role, _) in &offered {
        let holds = if role == "first_aid" {
            &medics
        } else {
            &drivers
        };
        assert!(
            holds.contains(&vid),
            "{vid} offered {role} without the skill"
        );
    }
    assert!(
        offered.iter().all(|o| o.0 != c.patrol[0].0),
        "the patrol volunteer holds no role's skill"
    );

    // Everyone offered accepts at once, half through a second process.
    let second = app.second_process().await;
    let replies = join_all(offered.iter().enumerate().map(|(i, (_, token, _, offer))| {
        let by = if i % 2 == 0 { app } else { &second };
        async move { by.accept_offer(token, offer).await.status.as_u16() }
    }))
    .await;
    assert_eq!(
        replies.iter().filter(|s| **s == 200).count(),
        3,
        "{replies:?}"
    );
    assert!(
        replies.iter().all(|s| *s == 200 || *s == 409),
        "{replies:?}"
    );
    let o = app.order_detail(&admin, &id).await.expect(200).json;
    assert_eq!(o["status"], "assigned");
    assert_eq!(
        roles_of(&o),
        HashMap::from([("first_aid".into(), (1, 1)), ("traffic".into(), (2, 2))])
    );
    let on: Vec<&Value> = o["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["state"] == "accepted")
        .collect();
    assert_eq!(on.len(), 3);
    assert_eq!(on.iter().filter(|a| a["role"] == "first_aid").count(), 1);
    assert_eq!(on.iter().filter(|a| a["role"] == "traffic").count(), 2);

    // The joint (batch) assignment of two new orders keeps roles apart.
    let a = app
        .place_order(&admin, joint(json!([{"skill": "first_aid", "count": 1}])))
        .await;
    let b = app
        .place_order(&admin, joint(json!([{"skill": "traffic", "count": 1}])))
        .await;
    app.advance_secs(1);
    let report = app.tick().await;
    assert_eq!(report.batched, 2, "{report:?}");
    for (vid, token) in &everyone {
        for offer in app.offers_of(token).await {
            let role = offer["role"].as_str().unwrap();
            let order = offer["order_id"].as_str().unwrap();
            let want = if order == a { "first_aid" } else { "traffic" };
            assert!(order == a || order == b);
            assert_eq!(role, want);
            let holds = if role == "first_aid" {
                &medics
            } else {
                &drivers
            };
            assert!(holds.contains(&vid), "{vid} offered {role}");
        }
    }
    drop(second);
}

both_backends!(offers_by_role, offers_fill_each_role);

async fn grabs_race_per_role(app: &TestApp) {
    let admin = app.admin_token().await;
    let team = app.create_team(&admin, "联勤二队").await;
    let c = crew(app, &admin, &team).await;
    let coord = app.coordinator_token(&admin, "13911110061", &team).await;
    let second = app.second_process().await;
    for round in 0..3 {
        let id = app
            .place_order(
                &coord,
                json!({"category": "traffic", "lat": LAT, "lon": LON, "address": format!("路口 {round}"),
                       "description": "疏导", "urgency": "low", "target_team_id": team,
                       "roles": [{"skill": "traffic", "count": 1}, {"skill": "first_aid", "count": 1}]}),
            )
            .await;
        let grabbers: Vec<&(String, String)> =
            c.medics.iter().chain(&c.traffic).chain(&c.both).collect();
        let replies = join_all(grabbers.iter().enumerate().map(|(i, (_, token))| {
            let by = if i % 2 == 0 { app } else { &second };
            let (token, id) = (token.clone(), id.clone());
            async move { by.grab(&token, &id).await.status.as_u16() }
        }))
        .await;
        assert_eq!(
            replies.iter().filter(|s| **s == 200).count(),
            2,
            "{replies:?}"
        );
        let o = app.order_detail(&admin, &id).await.expect(200).json;
        assert_eq!(o["status"], "assigned", "{o}");
        assert_eq!(
            roles_of(&o),
            HashMap::from([("first_aid".into(), (1, 1)), ("traffic".into(), (1, 1))])
        );
        // Free everyone for the next round.
        app.cancel(&coord, &id, Some("演练结束")).await.expect(200);
    }
    // Holding no role's skill: refused, naming what is missing.
    let id = app
        .place_order(
            &coord,
            joint(json!([{"skill": "first_aid", "count": 1}, {"skill": "traffic", "count": 1}])),
        )
        .await;
    app.grab(&c.patrol[0].1, &id)
        .await
        .expect_problem(422, Some("skills"));
    app.post(
        &format!("/api/v1/orders/{id}/assign"),
        Some(&coord),
        json!({"volunteer_id": c.patrol[0].0}),
    )
    .await
    .expect_problem(422, Some("volunteer_id"));
    // A coordinator's assignment takes a role the volunteer holds.
    let o = app
        .post(
            &format!("/api/v1/orders/{id}/assign"),
            Some(&coord),
            json!({"volunteer_id": c.traffic[0].0}),
        )
        .await
        .expect(200)
        .json;
    assert_eq!(roles_of(&o)["traffic"], (1, 1), "{o}");
    // The traffic place is taken: a traffic-only grab is refused, 409.
    app.grab(&c.traffic[1].1, &id)
        .await
        .expect_problem(409, Some("role"));
    drop(second);
}

both_backends!(grabs_by_role, grabs_race_per_role);

async fn role_rules(app: &TestApp) {
    let admin = app.admin_token().await;
    let before = app.count("orders").await;
    for (roles, field) in [
        (json!([]), "roles"),
        (json!([{"skill": "juggling", "count": 1}]), "roles[0].skill"),
        (json!([{"skill": "traffic", "count": 0}]), "roles[0].count"),
        (json!([{"skill": "traffic", "count": 21}]), "roles[0].count"),
        (
            json!([{"skill": "traffic", "count": 1}, {"skill": "traffic", "count": 2}]),
            "roles[1].skill",
        ),
        (
            json!([{"skill": "traffic", "count": 11}, {"skill": "first_aid", "count": 10}]),
            "roles",
        ),
    ] {
        app.post("/api/v1/orders", Some(&admin), joint(roles))
            .await
            .expect_problem(422, Some(field));
    }
    let mut body = joint(json!([{"skill": "traffic", "count": 2}]));
    body["headcount"] = json!(3);
    app.post("/api/v1/orders", Some(&admin), body)
        .await
        .expect_problem(422, Some("headcount"));
    for bad in [
        json!("traffic"),
        json!([{"skill": "traffic"}]),
        json!([{"count": 1}]),
    ] {
        let r = app.post("/api/v1/orders", Some(&admin), joint(bad)).await;
        assert!(r.status == 400 || r.status == 422, "{}", r.text);
    }
    assert_eq!(app.count("orders").await, before, "nothing was created");
    // The sum given as headcount is fine; a slip carries roles too.
    let mut body = joint(json!([{"skill": "traffic", "count": 2}]));
    body["headcount"] = json!(2);
    let o = app.new_order(&admin, body).await;
    assert_eq!(o["required_skills"], json!(["traffic"]));
    let c = app
        .post(
            "/api/v1/clients",
            Some(&admin),
            json!({"name": "新城警务系统", "station": "新城联勤警务站", "scopes": ["slips"]}),
        )
        .await
        .expect(201)
        .json;
    let token = app
        .post(
            "/api/v1/oauth/token",
            None,
            json!({"grant_type": "client_credentials", "client_id": c["client_id"],
                   "client_secret": c["client_secret"]}),
        )
        .await
        .expect(200)
        .json["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut slip =
        joint(json!([{"skill": "first_aid", "count": 1}, {"skill": "patrol", "count": 2}]));
    slip["external_id"] = json!("JD-ROLES-1");
    let s = app
        .post("/api/v1/slips", Some(&token), slip)
        .await
        .expect(201)
        .json;
    assert_eq!(s["headcount"], 3);
    assert_eq!(
        roles_of(&s),
        HashMap::from([("first_aid".into(), (1, 0)), ("patrol".into(), (2, 0))])
    );
}

both_backends!(roles_rules, role_rules);
