//! A new user's path: start, seed the demo, log in as a coordinator, page
//! through 122 teams and 2,568 volunteers; the web page and docs load.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;

use zhongdui_api::seed;
use zhongdui_tests::{TestApp, both_backends};

async fn demo_roster_pages(app: &TestApp) {
    // Arrange: the demo city, seeded twice (it must be idempotent).
    seed::seed_demo(&app.state.db, false).await.unwrap();
    seed::seed_demo(&app.state.db, false).await.unwrap();
    let token = app
        .login(&seed::coordinator_phone(1), seed::DEMO_PASSWORD)
        .await;

    // Act + Assert: 122 teams over three pages.
    let mut names = HashSet::new();
    for page in 1..=3 {
        let r = app
            .get(
                &format!("/api/v1/teams?page={page}&per_page=50"),
                Some(&token),
            )
            .await
            .expect(200);
        assert_eq!(r.json["total"], 122);
        for t in r.json["items"].as_array().unwrap() {
            names.insert(t["name"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(names.len(), 122);
    let r = app
        .get("/api/v1/teams?page=3&per_page=50", Some(&token))
        .await
        .expect(200);
    assert_eq!(r.json["items"].as_array().unwrap().len(), 22);

    // 2,568 volunteers, every one exactly once across pages.
    let mut ids = HashSet::new();
    let mut sum_members = 0;
    for page in 1..=6 {
        let r = app
            .get(
                &format!("/api/v1/volunteers?page={page}&per_page=500"),
                Some(&token),
            )
            .await
            .expect(200);
        assert_eq!(r.json["total"], 2568);
        for v in r.json["items"].as_array().unwrap() {
            assert!(
                ids.insert(v["id"].as_str().unwrap().to_owned()),
                "duplicate across pages"
            );
            let lat = v["home_lat"].as_f64().unwrap();
            let lon = v["home_lon"].as_f64().unwrap();
            assert!((27.50..=27.65).contains(&lat) && (120.45..=120.65).contains(&lon));
        }
    }
    assert_eq!(ids.len(), 2568);
    let r = app
        .get("/api/v1/teams?per_page=500", Some(&token))
        .await
        .expect(200);
    for t in r.json["items"].as_array().unwrap() {
        sum_members += t["member_count"].as_i64().unwrap();
    }
    assert_eq!(sum_members, 2568);

    // Filters: a skill, a team, duty.
    let aid = app
        .get(
            "/api/v1/volunteers?skill=first_aid&per_page=1",
            Some(&token),
        )
        .await
        .expect(200);
    let n_aid = aid.json["total"].as_u64().unwrap();
    assert!(n_aid > 50 && n_aid < 2568, "{n_aid}");
    assert!(
        aid.json["items"][0]["skills"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "first_aid")
    );
    let team_id = r.json["items"][0]["id"].as_str().unwrap();
    let members = r.json["items"][0]["member_count"].as_u64().unwrap();
    let by_team = app
        .get(
            &format!("/api/v1/volunteers?team_id={team_id}&per_page=1"),
            Some(&token),
        )
        .await
        .expect(200);
    assert_eq!(by_team.json["total"].as_u64().unwrap(), members);
    let on = app
        .get("/api/v1/volunteers?on_duty=true&per_page=1", Some(&token))
        .await
        .expect(200);
    let off = app
        .get("/api/v1/volunteers?on_duty=false&per_page=1", Some(&token))
        .await
        .expect(200);
    assert_eq!(
        on.json["total"].as_u64().unwrap() + off.json["total"].as_u64().unwrap(),
        2568
    );

    // The web page and the interactive docs are served by the binary itself.
    let home = app.get("/", None).await.expect(200);
    assert!(home.content_type.starts_with("text/html"));
    assert!(home.text.contains("众队"));
    let docs = app.get("/api/docs/", None).await.expect(200);
    assert!(docs.text.to_lowercase().contains("swagger"));
    let spec = app.get("/api/openapi.json", None).await.expect(200);
    for path in [
        "/api/v1/auth/login",
        "/api/v1/teams",
        "/api/v1/volunteers/{id}",
        "/api/v1/roster/import",
    ] {
        assert!(spec.json["paths"][path].is_object(), "openapi lacks {path}");
    }
}

both_backends!(demo_roster, demo_roster_pages);
