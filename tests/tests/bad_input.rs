//! Bad input gets a 4xx problem+json naming the problem and changes nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;
use zhongdui_tests::{TestApp, both_backends};

async fn snapshot(app: &TestApp) -> Vec<i64> {
    let mut out = Vec::new();
    for t in [
        "users",
        "teams",
        "volunteers",
        "volunteer_skills",
        "team_coordinators",
    ] {
        out.push(app.count(t).await);
    }
    out
}

async fn refused_and_unchanged(app: &TestApp) {
    let admin = app.admin_token().await;
    let team = app.create_team(&admin, "新城平安巡防一队").await;
    let before = snapshot(app).await;
    let good = json!({"phone": "13600000001", "display_name": "王", "team_id": team, "skills": ["patrol"], "capacity": 1,
                      "home_lat": 27.56, "home_lon": 120.56});
    let with = |key: &str, value: serde_json::Value| {
        let mut v = good.clone();
        v[key] = value;
        v
    };
    let post = |body: serde_json::Value| {
        let admin = admin.clone();
        async move { app.post("/api/v1/volunteers", Some(&admin), body).await }
    };

    // Out-of-range and unparsable values: 422 naming the field.
    post(with("home_lat", json!(91)))
        .await
        .expect_problem(422, Some("home_lat"));
    post(with("home_lon", json!(-181.5)))
        .await
        .expect_problem(422, Some("home_lon"));
    post(with("phone", json!("abc")))
        .await
        .expect_problem(422, Some("phone"));
    post(with("skills", json!(["patrol", "juggling"])))
        .await
        .expect_problem(422, Some("skills[1]"));
    post(with("capacity", json!(99)))
        .await
        .expect_problem(422, Some("capacity"));
    post(with("team_id", json!("nope")))
        .await
        .expect_problem(422, Some("team_id"));
    post(with("team_id", json!(uuid::Uuid::new_v4().to_string())))
        .await
        .expect_problem(422, Some("team_id"));
    post(with("display_name", json!("")))
        .await
        .expect_problem(422, Some("display_name"));
    post(with("certificates", json!({"fire_safety": "2027-01-01"})))
        .await
        .expect_problem(422, Some("certificates.fire_safety"));
    // Wrong types and missing fields: 400 naming the field.
    post(with("home_lat", json!("north")))
        .await
        .expect_problem(400, Some("home_lat"));
    post(with("skills", json!("patrol")))
        .await
        .expect_problem(400, Some("skills"));
    post(with("certificates", json!({"first_aid": "next year"})))
        .await
        .expect_problem(400, Some("certificates.first_aid"));
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("phone");
    post(missing).await.expect_problem(400, Some("phone"));
    app.post(
        "/api/v1/auth/register",
        None,
        json!({"phone": "13512345678"}),
    )
    .await
    .expect_problem(400, Some("password"));
    app.post(
        "/api/v1/auth/register",
        None,
        json!({"phone": 13512345678i64, "password": "longenough", "display_name": "x"}),
    )
    .await
    .expect_problem(400, Some("phone"));
    // Not JSON at all, or the wrong media type.
    app.send(
        reqwest::Method::POST,
        "/api/v1/volunteers",
        Some(&admin),
        None,
        Some(("application/json", b"{oops".to_vec())),
    )
    .await
    .expect_problem(400, None);
    app.send(
        reqwest::Method::POST,
        "/api/v1/volunteers",
        Some(&admin),
        None,
        Some(("text/plain", b"{}".to_vec())),
    )
    .await
    .expect_problem(415, None);
    // A 2 MB body.
    let huge = format!(
        "{{\"phone\": \"13600000001\", \"display_name\": \"{}\"}}",
        "x".repeat(2 * 1024 * 1024)
    );
    app.send(
        reqwest::Method::POST,
        "/api/v1/volunteers",
        Some(&admin),
        None,
        Some(("application/json", huge.into_bytes())),
    )
    .await
    .expect_problem(413, None);
    // Bad query parameters.
    app.get("/api/v1/volunteers?per_page=0", Some(&admin))
        .await
        .expect_problem(422, Some("per_page"));
    app.get("/api/v1/volunteers?page=abc", Some(&admin))
        .await
        .expect_problem(422, Some("page"));
    app.get("/api/v1/volunteers?on_duty=maybe", Some(&admin))
        .await
        .expect_problem(422, Some("on_duty"));
    app.get("/api/v1/volunteers?skill=juggling", Some(&admin))
        .await
        .expect_problem(422, Some("skill"));
    for bbox in ["1,2,3", "a,b,c,d", "1,2,3,4,5", "1;2;3;4", "NaN,1,2,3"] {
        app.get(&format!("/api/v1/volunteers?bbox={bbox}"), Some(&admin))
            .await
            .expect_problem(422, Some("bbox"));
    }
    app.get("/api/v1/volunteers/not-a-uuid", Some(&admin))
        .await
        .expect_problem(422, Some("id"));
    app.get(
        &format!("/api/v1/volunteers/{}", uuid::Uuid::new_v4()),
        Some(&admin),
    )
    .await
    .expect_problem(404, None);
    app.get("/api/v1/no-such-route", Some(&admin))
        .await
        .expect_problem(404, None);
    // Team input.
    app.post(
        "/api/v1/teams",
        Some(&admin),
        json!({"name": "x", "kind": "circus"}),
    )
    .await
    .expect_problem(422, Some("kind"));
    app.post(
        "/api/v1/teams",
        Some(&admin),
        json!({"name": "新城平安巡防一队", "kind": "other"}),
    )
    .await
    .expect_problem(409, None);

    // Nothing changed.
    assert_eq!(snapshot(app).await, before);

    // And the good body still works.
    post(good.clone()).await.expect(201);
    post(good).await.expect_problem(409, None);
}

both_backends!(bad_input, refused_and_unchanged);

/// A NUL character in a query value is a 422 naming the parameter (PostgreSQL
/// cannot compare text holding it: this was a 500 there), and the document says so.
async fn nul_in_a_query(app: &TestApp) {
    let admin = app.admin_token().await;
    for path in [
        "/api/v1/volunteers?q=a%00b",
        "/api/v1/audit?entity=%00",
        "/api/v1/orders?q=%00",
    ] {
        let field = path.split('?').nth(1).unwrap().split('=').next().unwrap();
        app.get(path, Some(&admin))
            .await
            .expect_problem(422, Some(field));
    }
    let doc = app.get("/api/openapi.json", None).await.expect(200).json;
    let q = doc["paths"]["/api/v1/volunteers"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "q")
        .unwrap()
        .clone();
    assert_eq!(q["schema"]["pattern"], "^[^\\u0000]*$", "{q}");
}

both_backends!(nul_in_query, nul_in_a_query);
