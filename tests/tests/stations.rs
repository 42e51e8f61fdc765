//! Station systems (联勤警务站) as machine clients: registration by admins,
//! OAuth2 client-credentials tokens (wrong secret, disabled client, rotated
//! secret, scopes), and slips (警单) placed once per slip number — also when
//! two processes race — read back, closed by the station, and offered to
//! several teams first.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine;
use reqwest::Method;
use serde_json::{Value, json};
use zhongdui_tests::{LAT, LON, TestApp, at, both_backends};

/// Registers a client for `station` and returns its registration reply.
async fn register(app: &TestApp, admin: &str, station: &str) -> Value {
    app.post(
        "/api/v1/clients",
        Some(admin),
        json!({"name": format!("{station}警务系统"), "station": station, "scopes": ["slips"],
               "webhook_url": "http://127.0.0.1:9/hooks"}),
    )
    .await
    .expect(201)
    .json
}

/// Asks for a token with a form body.
async fn form_token(app: &TestApp, id: &str, secret: &str) -> reqwest::Response {
    app.client
        .post(format!("{}/api/v1/oauth/token", app.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=client_credentials&client_id={id}&client_secret={secret}"
        ))
        .send()
        .await
        .unwrap()
}

/// A client token for the registration `c`.
async fn client_token(app: &TestApp, c: &Value) -> String {
    let r = form_token(
        app,
        c["client_id"].as_str().unwrap(),
        c["client_secret"].as_str().unwrap(),
    )
    .await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

fn slip(number: &str, pos: (f64, f64)) -> Value {
    json!({"external_id": number, "category": "patrol", "lat": pos.0, "lon": pos.1,
           "address": "龙港市新城大道 1 号", "description": "警情：老人走失，请协助寻找",
           "urgency": "urgent", "contact_phone": "13900000001"})
}

async fn clients_and_tokens(app: &TestApp) {
    let admin = app.admin_token().await;
    let team = app.create_team(&admin, "新城平安巡防一队").await;
    let coord = app.coordinator_token(&admin, "13911110021", &team).await;
    // Only admins register clients.
    app.post(
        "/api/v1/clients",
        Some(&coord),
        json!({"name": "x", "station": "y", "scopes": ["slips"]}),
    )
    .await
    .expect_problem(403, None);
    app.post(
        "/api/v1/clients",
        Some(&admin),
        json!({"name": "x", "station": "y", "scopes": ["stats"]}),
    )
    .await
    .expect_problem(422, Some("scopes[0]"));
    app.post(
        "/api/v1/clients",
        Some(&admin),
        json!({"name": "x", "station": "y", "scopes": ["slips"], "webhook_url": "ftp://x"}),
    )
    .await
    .expect_problem(422, Some("webhook_url"));
    let c = register(app, &admin, "新城联勤警务站").await;
    let (id, client_id, secret) = (
        c["id"].as_str().unwrap(),
        c["client_id"].as_str().unwrap(),
        c["client_secret"].as_str().unwrap(),
    );
    assert!(c["webhook_secret"].as_str().unwrap().starts_with("whsec_"));
    // Secrets are shown once, and stored neither in the clear nor as sent.
    let listed = app.get("/api/v1/clients", Some(&admin)).await.expect(200);
    assert_eq!(listed.json[0]["client_id"], client_id);
    assert!(
        listed.json[0].get("client_secret").is_none(),
        "{}",
        listed.text
    );
    assert!(!listed.text.contains(secret));
    use sea_orm::{ConnectionTrait, Statement};
    let row = app
        .state
        .db
        .query_one_raw(Statement::from_string(
            app.state.db.get_database_backend(),
            "SELECT secret_hash, webhook_secret FROM clients".to_owned(),
        ))
        .await
        .unwrap()
        .unwrap();
    let stored: String = row.try_get("", "secret_hash").unwrap();
    let sealed: String = row.try_get("", "webhook_secret").unwrap();
    assert!(!stored.contains(secret) && !sealed.contains("whsec_"));

    // The grant, as a form, as JSON and with HTTP Basic.
    let r = form_token(app, client_id, secret).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let t: Value = r.json().await.unwrap();
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["scope"], "slips");
    let ttl = t["expires_in"].as_i64().unwrap();
    assert!((1..=900).contains(&ttl), "short-lived: {ttl}");
    let token = t["access_token"].as_str().unwrap().to_owned();
    app.post(
        "/api/v1/oauth/token",
        None,
        json!({"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}),
    )
    .await
    .expect(200);
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{secret}"));
    let r = app
        .client
        .post(format!("{}/api/v1/oauth/token", app.base))
        .header("authorization", format!("Basic {basic}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Refusals: a wrong secret, an unknown client, another grant, a scope not held.
    let r = form_token(app, client_id, "zds_wrong").await;
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/problem+json")
    );
    assert_eq!(form_token(app, "zdc_nobody", secret).await.status(), 401);
    app.post(
        "/api/v1/oauth/token",
        None,
        json!({"grant_type": "password", "client_id": client_id, "client_secret": secret}),
    )
    .await
    .expect_problem(400, Some("grant_type"));
    app.post(
        "/api/v1/oauth/token",
        None,
        json!({"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret,
               "scope": "slips stats"}),
    )
    .await
    .expect_problem(400, Some("scope"));

    // A client token opens the slip routes only; a user token never opens them.
    app.get("/api/v1/slips/JD-1", Some(&token))
        .await
        .expect_problem(404, None);
    app.get("/api/v1/orders", Some(&token))
        .await
        .expect_problem(401, None);
    app.get("/api/v1/clients", Some(&token))
        .await
        .expect_problem(401, None);
    app.get("/api/v1/slips/JD-1", Some(&admin))
        .await
        .expect_problem(401, None);

    // Rotating the secret ends the old secret and its tokens at once.
    let rotated = app
        .patch(
            &format!("/api/v1/clients/{id}"),
            Some(&admin),
            json!({"rotate_secret": true}),
        )
        .await
        .expect(200)
        .json;
    let new_secret = rotated["client_secret"].as_str().unwrap();
    assert_ne!(new_secret, secret);
    assert!(
        rotated.get("webhook_secret").is_none(),
        "only what was rotated is shown"
    );
    app.get("/api/v1/slips/JD-1", Some(&token))
        .await
        .expect_problem(401, None);
    assert_eq!(form_token(app, client_id, secret).await.status(), 401);
    let c2 = json!({"client_id": client_id, "client_secret": new_secret});
    let token = client_token(app, &c2).await;
    app.get("/api/v1/slips/JD-1", Some(&token))
        .await
        .expect_problem(404, None);

    // Disabling ends its tokens at once and refuses new ones.
    app.send(
        Method::DELETE,
        &format!("/api/v1/clients/{id}"),
        Some(&admin),
        None,
        None,
    )
    .await
    .expect(204);
    app.get("/api/v1/slips/JD-1", Some(&token))
        .await
        .expect_problem(401, None);
    assert_eq!(form_token(app, client_id, new_secret).await.status(), 401);
    let shown = app
        .get(&format!("/api/v1/clients/{id}"), Some(&admin))
        .await
        .expect(200);
    assert_eq!(shown.json["disabled"], true);
    // Registration, rotation and disabling are in the audit log.
    let audit = app
        .get("/api/v1/audit?entity=client", Some(&admin))
        .await
        .expect(200);
    assert_eq!(audit.json["total"], 3, "{}", audit.text);
}

both_backends!(station_clients, clients_and_tokens);

async fn slips_once_and_closed(app: &TestApp) {
    let admin = app.admin_token().await;
    let c = register(app, &admin, "新城联勤警务站").await;
    let token = client_token(app, &c).await;
    let other = register(app, &admin, "白沙联勤警务站").await;
    let other_token = client_token(app, &other).await;

    let first = app
        .post(
            "/api/v1/slips",
            Some(&token),
            slip("JD20261201-0001", (LAT, LON)),
        )
        .await
        .expect(201)
        .json;
    assert_eq!(first["source"], "station");
    assert_eq!(first["station"], "新城联勤警务站");
    assert_eq!(first["external_id"], "JD20261201-0001");
    assert_eq!(first["contact_phone"], "13900000001");
    let orders = app.count("orders").await;
    // The same number again: the same order, nothing created.
    let again = app
        .post(
            "/api/v1/slips",
            Some(&token),
            slip("JD20261201-0001", (LAT, LON)),
        )
        .await
        .expect(200)
        .json;
    assert_eq!(again["id"], first["id"]);
    assert_eq!(app.count("orders").await, orders);
    // Another station's number space is its own.
    let theirs = app
        .post(
            "/api/v1/slips",
            Some(&other_token),
            slip("JD20261201-0001", (LAT, LON)),
        )
        .await
        .expect(201)
        .json;
    assert_ne!(theirs["id"], first["id"]);
    app.get("/api/v1/slips/JD20261201-0002", Some(&token))
        .await
        .expect_problem(404, None);
    // Read back, with its trail; staff see it as an order.
    let read = app
        .get("/api/v1/slips/JD20261201-0001", Some(&token))
        .await
        .expect(200)
        .json;
    assert_eq!(read["id"], first["id"]);
    assert_eq!(read["events"][0]["kind"], "created");
    assert_eq!(read["events"][0]["actor_role"], "client");

    // Bad slips change nothing.
    let n = app.count("orders").await;
    app.post("/api/v1/slips", Some(&token), slip("JD/1", (LAT, LON)))
        .await
        .expect_problem(422, Some("external_id"));
    let mut body = slip("JD20261201-0003", (LAT, LON));
    body["target_team_ids"] = json!(["00000000-0000-0000-0000-000000000000"]);
    app.post("/api/v1/slips", Some(&token), body)
        .await
        .expect_problem(422, Some("target_team_ids"));
    assert_eq!(app.count("orders").await, n);

    // The station closes the loop, once; its outcome is in the trail.
    app.post(
        "/api/v1/slips/JD20261201-0001/close",
        Some(&token),
        json!({"outcome": "finished"}),
    )
    .await
    .expect_problem(422, Some("outcome"));
    let closed = app
        .post(
            "/api/v1/slips/JD20261201-0001/close",
            Some(&token),
            json!({"outcome": "resolved", "note": "老人已找到，送返家中"}),
        )
        .await
        .expect(200)
        .json;
    let last = closed["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["kind"], "station_closed");
    assert_eq!(last["data"]["outcome"], "resolved");
    assert_eq!(last["data"]["note"], "老人已找到，送返家中");
    app.post(
        "/api/v1/slips/JD20261201-0001/close",
        Some(&token),
        json!({"outcome": "resolved"}),
    )
    .await
    .expect_problem(409, None);
    // Another client can neither read nor close a slip of this one.
    app.post(
        "/api/v1/slips",
        Some(&token),
        slip("JD-ONLY-MINE", (LAT, LON)),
    )
    .await
    .expect(201);
    app.get("/api/v1/slips/JD-ONLY-MINE", Some(&other_token))
        .await
        .expect_problem(404, None);
    app.post(
        "/api/v1/slips/JD-ONLY-MINE/close",
        Some(&other_token),
        json!({"outcome": "resolved"}),
    )
    .await
    .expect_problem(404, None);
    let staff = app
        .get(
            &format!("/api/v1/orders/{}", first["id"].as_str().unwrap()),
            Some(&admin),
        )
        .await
        .expect(200);
    assert!(staff.text.contains("station_closed"));
}

both_backends!(station_slips, slips_once_and_closed);

/// Identical slips posted to two processes at once make one order.
async fn racing_duplicates(app: &TestApp) {
    let admin = app.admin_token().await;
    let c = register(app, &admin, "新城联勤警务站").await;
    let token = client_token(app, &c).await;
    let second = app.second_process().await;
    for i in 0..8 {
        let number = format!("JD-RACE-{i}");
        let (a, b) = tokio::join!(
            app.post("/api/v1/slips", Some(&token), slip(&number, (LAT, LON))),
            second.post("/api/v1/slips", Some(&token), slip(&number, (LAT, LON))),
        );
        let mut statuses = [a.status.as_u16(), b.status.as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 201], "{} / {}", a.text, b.text);
        assert_eq!(a.json["id"], b.json["id"]);
    }
    assert_eq!(app.count("orders").await, 8);
}

both_backends!(station_slip_races, racing_duplicates);

/// A slip naming two teams is offered to those teams' members first, nearer
/// volunteers of other teams only after the team-first period.
async fn several_teams_first(app: &TestApp) {
    let admin = app.admin_token().await;
    let team_a = app.create_team(&admin, "新城平安巡防一队").await;
    let team_b = app.create_team(&admin, "白沙应急救援一队").await;
    let team_c = app.create_team(&admin, "舥艚渔嫂志愿一队").await;
    let a = app
        .volunteers_at(&admin, &team_a, &["patrol"], &[at(3000.0, 0.0)])
        .await;
    let b = app
        .volunteers_at(&admin, &team_b, &["patrol"], &[at(4000.0, 0.0)])
        .await;
    let c = app
        .volunteers_at(&admin, &team_c, &["patrol"], &[at(100.0, 0.0)])
        .await;
    let client = register(app, &admin, "新城联勤警务站").await;
    let token = client_token(app, &client).await;
    let mut body = slip("JD-TEAMS-1", (LAT, LON));
    body["headcount"] = json!(2);
    body["target_team_ids"] = json!([team_a, team_b]);
    let o = app
        .post("/api/v1/slips", Some(&token), body)
        .await
        .expect(201)
        .json;
    assert_eq!(o["target_team_ids"], json!([team_a, team_b]));
    assert_eq!(o["target_team_id"], team_a.as_str());
    app.advance_secs(1);
    app.tick().await;
    assert_eq!(app.offers_of(&a[0].1).await.len(), 1, "team A first");
    assert_eq!(
        app.offers_of(&b[0].1).await.len(),
        1,
        "team B together with A"
    );
    assert!(
        app.offers_of(&c[0].1).await.is_empty(),
        "the nearer volunteer of C waits"
    );
    // Coordinators of either team see the slip as theirs.
    let coord_b = app.coordinator_token(&admin, "13911110031", &team_b).await;
    app.post(
        &format!("/api/v1/orders/{}/redispatch", o["id"].as_str().unwrap()),
        Some(&coord_b),
        json!({}),
    )
    .await
    .expect_problem(409, None);
    // Staff can name several teams on an order too.
    let staff = app
        .post(
            "/api/v1/orders",
            Some(&admin),
            json!({"category": "patrol", "lat": LAT, "lon": LON, "address": "龙港市新城大道 2 号",
                   "description": "协助疏导交通", "source": "station", "station": "新城联勤警务站",
                   "target_team_ids": [team_b, team_c]}),
        )
        .await
        .expect(201)
        .json;
    assert_eq!(staff["target_team_ids"], json!([team_b, team_c]));
}

both_backends!(station_slip_teams, several_teams_first);
