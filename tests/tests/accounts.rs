//! Registration, login, token expiry and the login rate limit.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;
use zhongdui_tests::{Backend, TestApp, both_backends};

async fn register_and_login(app: &TestApp) {
    let r = app
        .post(
            "/api/v1/auth/register",
            None,
            json!({"phone": "+86 135-0000-0001", "password": "resident-pw", "display_name": "  居民甲 "}),
        )
        .await
        .expect(201);
    assert_eq!(r.json["role"], "resident");
    assert_eq!(r.json["phone"], "13500000001");
    assert_eq!(r.json["display_name"], "居民甲");
    assert!(r.json.get("password_hash").is_none());

    // The stored password is an argon2id hash, not the password.
    let backend = app.state.db.get_database_backend();
    use sea_orm::ConnectionTrait;
    let row = app
        .state
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            backend,
            "SELECT password_hash FROM users WHERE phone = '13500000001'",
        ))
        .await
        .unwrap()
        .unwrap();
    let hash: String = row.try_get("", "password_hash").unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");

    app.post(
        "/api/v1/auth/register",
        None,
        json!({"phone": "13500000001", "password": "another-pw", "display_name": "x"}),
    )
    .await
    .expect_problem(409, None);
    app.post(
        "/api/v1/auth/login",
        None,
        json!({"phone": "13500000001", "password": "wrong-pw"}),
    )
    .await
    .expect_problem(401, None);
    app.post(
        "/api/v1/auth/login",
        None,
        json!({"phone": "13599999999", "password": "resident-pw"}),
    )
    .await
    .expect_problem(401, None);
    let login = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"phone": "13500000001", "password": "resident-pw"}),
        )
        .await
        .expect(200);
    let token = login.json["token"].as_str().unwrap();
    assert_eq!(login.json["user"]["role"], "resident");
    let me = app.get("/api/v1/me", Some(token)).await.expect(200);
    assert_eq!(me.json["phone"], "13500000001");
    // A tampered token is refused.
    let mut bad = token.to_owned();
    bad.pop();
    bad.push(if token.ends_with('A') { 'B' } else { 'A' });
    app.get("/api/v1/me", Some(&bad))
        .await
        .expect_problem(401, None);
}

both_backends!(accounts_register_login, register_and_login);

async fn expired_tokens_and_rate_limit(backend: Backend) {
    // Tokens that expired are refused.
    let app = TestApp::spawn_with(backend, |s| s.auth.token_ttl_minutes = -10).await;
    let token = app.resident_token("13500000002").await;
    app.get("/api/v1/me", Some(&token))
        .await
        .expect_problem(401, None);
    app.cleanup().await;

    // The login rate limit answers 429 problem+json with Retry-After.
    let app = TestApp::spawn_with(backend, |s| {
        s.auth.login_burst = 3;
        s.auth.login_per_minute = 1;
    })
    .await;
    for _ in 0..3 {
        app.post(
            "/api/v1/auth/login",
            None,
            json!({"phone": "13500000003", "password": "whatever-pw"}),
        )
        .await
        .expect_problem(401, None);
    }
    let r = app
        .post(
            "/api/v1/auth/login",
            None,
            json!({"phone": "13500000003", "password": "whatever-pw"}),
        )
        .await
        .expect_problem(429, None);
    assert_eq!(r.json["code"], "rate_limited", "{}", r.text);
    assert!(r.json["params"]["seconds"].as_u64().is_some(), "{}", r.text);
    // Other routes are not limited.
    app.get("/api/v1/skills", None).await.expect(200);
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_and_rate_limit_sqlite() {
    expired_tokens_and_rate_limit(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_and_rate_limit_postgres() {
    expired_tokens_and_rate_limit(Backend::Postgres).await;
}
