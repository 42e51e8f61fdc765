//! Who may do what: residents, volunteers, coordinators of one team, admins.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;
use zhongdui_tests::{TestApp, both_backends};

async fn roles_and_scopes(app: &TestApp) {
    // Arrange: two teams, a coordinator for A, a volunteer in each.
    let admin = app.admin_token().await;
    let team_a = app.create_team(&admin, "甲队").await;
    let team_b = app.create_team(&admin, "乙队").await;
    let coord_a = app.coordinator_token(&admin, "13911110001", &team_a).await;
    let vol_a = app
        .post(
            "/api/v1/volunteers",
            Some(&coord_a),
            json!({"phone": "13700000101", "display_name": "甲", "password": "vol-pass-1", "team_id": team_a, "skills": ["patrol"]}),
        )
        .await
        .expect(201)
        .json;
    let vol_b = app
        .post(
            "/api/v1/volunteers",
            Some(&admin),
            json!({"phone": "13700000102", "display_name": "乙", "team_id": team_b, "skills": ["first_aid"], "certificates": {"first_aid": "2027-01-31"}}),
        )
        .await
        .expect(201)
        .json;
    assert!(
        vol_b["initial_password"].as_str().unwrap().len() >= 12,
        "generated password shown once"
    );
    let vol_a_id = vol_a["id"].as_str().unwrap();
    let vol_b_id = vol_b["id"].as_str().unwrap();
    let resident = app.resident_token("13500000001").await;
    let volunteer = app.login("13700000101", "vol-pass-1").await;

    // No token: 401 everywhere on the roster.
    for path in [
        "/api/v1/teams",
        "/api/v1/volunteers",
        "/api/v1/me",
        "/api/v1/roster/export",
    ] {
        app.get(path, None).await.expect_problem(401, None);
    }
    app.get("/api/v1/teams", Some("not-a-token"))
        .await
        .expect_problem(401, None);

    // Residents: 403 on roster reads and writes.
    app.get("/api/v1/volunteers", Some(&resident))
        .await
        .expect_problem(403, None);
    app.get("/api/v1/teams", Some(&resident))
        .await
        .expect_problem(403, None);
    app.post(
        "/api/v1/teams",
        Some(&resident),
        json!({"name": "x", "kind": "other"}),
    )
    .await
    .expect_problem(403, None);
    app.post(
        "/api/v1/volunteers",
        Some(&resident),
        json!({"phone": "13700000199", "display_name": "x", "team_id": team_a}),
    )
    .await
    .expect_problem(403, None);
    app.patch(
        &format!("/api/v1/volunteers/{vol_a_id}"),
        Some(&resident),
        json!({"capacity": 2}),
    )
    .await
    .expect_problem(403, None);
    app.send(
        reqwest::Method::POST,
        "/api/v1/roster/import",
        Some(&resident),
        None,
        Some(("text/csv", b"phone,display_name,team\n".to_vec())),
    )
    .await
    .expect_problem(403, None);

    // Volunteers: their own record yes, someone else's or the list no.
    app.get(&format!("/api/v1/volunteers/{vol_a_id}"), Some(&volunteer))
        .await
        .expect(200);
    app.get(&format!("/api/v1/volunteers/{vol_b_id}"), Some(&volunteer))
        .await
        .expect_problem(403, None);
    app.get("/api/v1/volunteers", Some(&volunteer))
        .await
        .expect_problem(403, None);
    let me = app.get("/api/v1/me", Some(&volunteer)).await.expect(200);
    assert_eq!(me.json["role"], "volunteer");
    assert_eq!(me.json["volunteer"]["team_id"], team_a.as_str());

    // Coordinator of A: edits A's volunteer and team, not B's; cannot create teams.
    app.patch(
        &format!("/api/v1/volunteers/{vol_a_id}"),
        Some(&coord_a),
        json!({"capacity": 2}),
    )
    .await
    .expect(200);
    app.patch(
        &format!("/api/v1/volunteers/{vol_b_id}"),
        Some(&coord_a),
        json!({"capacity": 2}),
    )
    .await
    .expect_problem(403, None);
    app.patch(
        &format!("/api/v1/volunteers/{vol_a_id}"),
        Some(&coord_a),
        json!({"team_id": team_b}),
    )
    .await
    .expect_problem(403, None);
    app.post(
        "/api/v1/volunteers",
        Some(&coord_a),
        json!({"phone": "13700000103", "display_name": "丙", "team_id": team_b}),
    )
    .await
    .expect_problem(403, None);
    app.patch(
        &format!("/api/v1/teams/{team_a}"),
        Some(&coord_a),
        json!({"area": "白沙片区"}),
    )
    .await
    .expect(200);
    app.patch(
        &format!("/api/v1/teams/{team_b}"),
        Some(&coord_a),
        json!({"area": "白沙片区"}),
    )
    .await
    .expect_problem(403, None);
    app.post(
        "/api/v1/teams",
        Some(&coord_a),
        json!({"name": "新队", "kind": "other"}),
    )
    .await
    .expect_problem(403, None);
    let me = app.get("/api/v1/me", Some(&coord_a)).await.expect(200);
    assert_eq!(me.json["team_ids"], json!([team_a]));
    let b_after = app
        .get(&format!("/api/v1/volunteers/{vol_b_id}"), Some(&admin))
        .await
        .expect(200);
    assert_eq!(
        b_after.json["capacity"], 1,
        "a refused edit changes nothing"
    );

    // Admin: anything.
    let r = app
        .patch(
            &format!("/api/v1/volunteers/{vol_b_id}"),
            Some(&admin),
            json!({"capacity": 3, "skills": ["first_aid", "patrol"], "team_id": team_a}),
        )
        .await
        .expect(200);
    assert_eq!(r.json["capacity"], 3);
    assert_eq!(r.json["team_id"], team_a.as_str());
    assert_eq!(
        r.json["certificates"][0]["certified_until"], "2027-01-31",
        "certificates kept"
    );

    // Disabling an account revokes its tokens.
    app.patch(
        &format!("/api/v1/volunteers/{vol_a_id}"),
        Some(&admin),
        json!({"disabled": true}),
    )
    .await
    .expect(200);
    app.get("/api/v1/me", Some(&volunteer))
        .await
        .expect_problem(401, None);
    app.post(
        "/api/v1/auth/login",
        None,
        json!({"phone": "13700000101", "password": "vol-pass-1"}),
    )
    .await
    .expect_problem(401, None);
}

both_backends!(access_control, roles_and_scopes);
