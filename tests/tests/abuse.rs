//! Abuse limits and hardening: order and registration limits with 429 and
//! Retry-After, the open-order cap and duplicates, bounded paging, text
//! that lies about itself, framework errors as problem+json, page headers,
//! bodies that trickle in, and CSV cells that would run as formulas.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use zhongdui_tests::{Backend, TestApp};

const LAT: f64 = 27.56;
const LON: f64 = 120.56;

fn order_body(category: &str, north_m: f64) -> Value {
    json!({"category": category, "lat": LAT + north_m / 111_195.0, "lon": LON,
           "address": "龙港市新城大道 1 号", "description": "需要帮助", "urgency": "critical", "headcount": 20})
}

async fn post_raw(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    body: Value,
) -> reqwest::Response {
    let mut req = app.client.post(format!("{}{path}", app.base)).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_limits_caps_and_duplicates() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.limits.orders_burst = 3;
        s.limits.orders_per_hour = 10;
        s.limits.max_open_orders = 4;
        s.limits.duplicate_window_secs = 600;
        s.limits.duplicate_radius_m = 200.0;
    })
    .await;
    let resident = app.resident_token("13500000101").await;
    // A duplicate (same category within 200 m and 10 min) points at the first.
    let first = app
        .post("/api/v1/orders", Some(&resident), order_body("patrol", 0.0))
        .await
        .expect(201);
    let dup = post_raw(
        &app,
        "/api/v1/orders",
        Some(&resident),
        order_body("patrol", 150.0),
    )
    .await;
    assert_eq!(dup.status(), 409);
    assert_eq!(
        dup.headers()["location"].to_str().unwrap(),
        format!("/api/v1/orders/{}", first.json["id"].as_str().unwrap())
    );
    let dup: Value = dup.json().await.unwrap();
    assert_eq!(dup["order_id"], first.json["id"], "{dup}");
    // Not a duplicate: another category, or farther away.
    app.post("/api/v1/orders", Some(&resident), order_body("repair", 0.0))
        .await
        .expect(201);
    app.post(
        "/api/v1/orders",
        Some(&resident),
        order_body("patrol", 1000.0),
    )
    .await
    .expect(201);
    // The burst of 3 is spent: 429 with Retry-After, and nothing is created.
    let before = app.count("orders").await;
    let limited = post_raw(
        &app,
        "/api/v1/orders",
        Some(&resident),
        order_body("traffic", 0.0),
    )
    .await;
    assert_eq!(limited.status(), 429);
    let wait: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=400).contains(&wait), "{wait}");
    assert!(
        limited.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/problem+json")
    );
    assert_eq!(app.count("orders").await, before);
    // Staff have their own limit.
    let admin = app.admin_token().await;
    for i in 0..5 {
        app.post(
            "/api/v1/orders",
            Some(&admin),
            order_body("patrol", 100.0 * f64::from(i)),
        )
        .await
        .expect(201);
    }
    app.cleanup().await;

    // The open-order cap holds across categories and places.
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.limits.max_open_orders = 2).await;
    let resident = app.resident_token("13500000102").await;
    for (c, n) in [("patrol", 0.0), ("repair", 5000.0)] {
        app.post("/api/v1/orders", Some(&resident), order_body(c, n))
            .await
            .expect(201);
    }
    let r = app
        .post(
            "/api/v1/orders",
            Some(&resident),
            order_body("traffic", 9000.0),
        )
        .await
        .expect_problem(409, None);
    assert_eq!(r.json["code"], "order.too_many_open", "{}", r.text);
    assert_eq!(r.json["params"]["max"], 2, "{}", r.text);
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registrations_are_limited_per_address() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.limits.register_burst = 2;
        s.limits.register_per_hour = 2;
    })
    .await;
    for phone in ["13500000201", "13500000202"] {
        app.resident_token(phone).await;
    }
    let r = post_raw(
        &app,
        "/api/v1/auth/register",
        None,
        json!({"phone": "13500000203", "password": "resident-pw", "display_name": "居民"}),
    )
    .await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(app.count("users").await, 2);
    // A taken phone is a 409 that names the field and does not print the number.
    let app2 = TestApp::spawn(Backend::Sqlite).await;
    app2.resident_token("13500000204").await;
    let r = app2
        .post(
            "/api/v1/auth/register",
            None,
            json!({"phone": "13500000204", "password": "resident-pw", "display_name": "居民"}),
        )
        .await
        .expect_problem(409, Some("phone"));
    assert!(!r.text.contains("13500000204"), "{}", r.text);
    app.cleanup().await;
    app2.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_login_rate_starts() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.auth.login_per_minute = 10_000_000).await;
    app.admin_token().await;
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hardening() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.http.body_timeout_secs = 2).await;
    let admin = app.admin_token().await;
    let resident = app.resident_token("13500000301").await;

    // Paging is bounded (these used to panic inside the driver).
    for q in [
        "page=18446744073709551615",
        "per_page=500&page=36028797018963968",
    ] {
        app.get(&format!("/api/v1/orders?{q}"), Some(&admin))
            .await
            .expect_problem(422, Some("page"));
    }
    app.get("/api/v1/orders?per_page=501", Some(&admin))
        .await
        .expect_problem(422, Some("per_page"));

    // ?token= only on /api/v1/ws.
    app.get(&format!("/api/v1/teams?token={admin}"), None)
        .await
        .expect_problem(401, None);
    app.get(&format!("/api/v1/teams/ws?token={admin}"), None)
        .await
        .expect_problem(401, None);

    // Framework errors are problem+json; a route asked with a method it does
    // not answer is 405 with Allow (RFC 9110), however it is registered.
    app.send(Method::DELETE, "/api/v1/orders", Some(&admin), None, None)
        .await
        .expect_problem(405, None);
    for (method, path, allow) in [
        (Method::DELETE, "/api/v1/orders", "GET, POST, HEAD"),
        (Method::PUT, "/api/v1/auth/login", "POST"),
        (
            Method::GET,
            "/api/v1/orders/01a2319d-bec9-76d8-b59b-6760a0bee380/grab",
            "POST",
        ),
    ] {
        let r = app
            .client
            .request(method, format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 405, "{path}");
        assert_eq!(r.headers()["allow"].to_str().unwrap(), allow, "{path}");
    }

    // Text that hides or reverses itself is refused, naming the field.
    let base = json!({"category": "patrol", "lat": LAT, "lon": LON, "address": "新城大道", "description": "需要帮助"});
    for (field, value) in [
        ("address", "新城\u{202e}大道"),
        ("address", "新城\u{7}大道"),
        ("description", "\u{200b}\u{200b} "),
        ("description", "请\u{2066}帮忙"),
    ] {
        let mut body = base.clone();
        body[field] = json!(value);
        app.post("/api/v1/orders", Some(&resident), body)
            .await
            .expect_problem(422, Some(field));
    }
    assert_eq!(app.count("orders").await, 0);
    app.post(
        "/api/v1/auth/register",
        None,
        json!({"phone": "13500000302", "password": "resident-pw", "display_name": "\u{202e}nimda"}),
    )
    .await
    .expect_problem(422, Some("display_name"));
    // Line breaks are fine in a description.
    let mut ok = base.clone();
    ok["description"] = json!("两位老人\n需要帮助");
    app.post("/api/v1/orders", Some(&resident), ok)
        .await
        .expect(201);

    // Pages carry a CSP without inline script; the API docs page works under it.
    for path in ["/", "/resident.html", "/api/docs/"] {
        let r = app
            .client
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let csp = r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        for part in [
            "script-src 'self'",
            "frame-ancestors 'none'",
            "object-src 'none'",
            "base-uri 'self'",
        ] {
            assert!(csp.contains(part), "{path}: {csp}");
        }
        let html = r.text().await.unwrap();
        assert!(
            !html.contains("<script>") && !html.contains("<script type=\"text/javascript\">"),
            "{path} has an inline script"
        );
    }

    // A body that trickles in is cut off with 408.
    let addr = app.base.trim_start_matches("http://").to_owned();
    let started = Instant::now();
    let status = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        write!(
            s,
            "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
        )
        .unwrap();
        for _ in 0..4 {
            if s.write_all(b" ").is_err() {
                break;
            }
            std::thread::sleep(Duration::from_secs(1));
        }
        let mut buf = [0u8; 512];
        let n = s.read(&mut buf).unwrap_or(0);
        String::from_utf8_lossy(&buf[..n]).to_string()
    })
    .await
    .unwrap();
    assert!(status.starts_with("HTTP/1.1 408"), "{status}");
    assert!(started.elapsed() < Duration::from_secs(10));

    // CSV exports neutralise formulas; the import keeps the quote.
    let team = app.create_team(&admin, "=一队").await;
    app.post(
        "/api/v1/volunteers",
        Some(&admin),
        json!({"phone": "15500000301", "display_name": "=HYPERLINK(\"http://x\")", "team_id": team}),
    )
    .await
    .expect(201);
    let csv = app
        .get("/api/v1/roster/export", Some(&admin))
        .await
        .expect(200)
        .text;
    assert!(csv.contains("'=HYPERLINK"), "{csv}");
    assert!(csv.contains("'=一队"), "{csv}");
    assert!(
        !csv.lines()
            .any(|l| l.split(',').any(|c| c.trim_matches('"').starts_with('='))),
        "{csv}"
    );
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hsts_only_when_served_over_tls() {
    for https in [false, true] {
        let app = TestApp::spawn_with(Backend::Sqlite, |s| s.http.https = https).await;
        let r = app
            .client
            .get(format!("{}/", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.headers()
                .get("strict-transport-security")
                .map(|v| v.to_str().unwrap().to_owned()),
            https.then(|| "max-age=31536000; includeSubDomains".to_owned())
        );
        app.cleanup().await;
    }
}
