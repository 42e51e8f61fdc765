//! Health, readiness, metrics, the catalogue.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use zhongdui_tests::{TestApp, both_backends};

async fn operations(app: &TestApp) {
    app.get("/healthz", None).await.expect(200);
    let ready = app.get("/readyz", None).await.expect(200);
    assert_eq!(ready.json["database"], "ok");
    app.get("/api/v1/skills", None).await.expect(200);
    let metrics = app.get("/metrics", None).await.expect(200);
    assert!(metrics.content_type.starts_with("text/plain"));
    assert!(
        metrics
            .text
            .contains("http_requests_total{method=\"GET\",path=\"/api/v1/skills\",status=\"200\"}"),
        "{}",
        metrics.text
    );
    let skills = app.get("/api/v1/skills", None).await.expect(200);
    let codes: Vec<&str> = skills
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes.len(), 10);
    assert!(codes.contains(&"water_rescue"));
    let cat = app.get("/api/v1/catalogue", None).await.expect(200);
    assert_eq!(cat.json["categories"].as_array().unwrap().len(), 11);

    // With the database gone, readiness says so (and health does not care).
    app.state.db.clone().close().await.unwrap();
    app.get("/readyz", None).await.expect_problem(503, None);
    app.get("/healthz", None).await.expect(200);
}

both_backends!(ops_endpoints, operations);
