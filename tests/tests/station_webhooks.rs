//! Webhooks to a station system, end to end against a stand-in station (an
//! HTTP server in the test that checks the Standard Webhooks signature with
//! its own HMAC, not the server's code): a slip's assignment, check-in,
//! completion, liaison messages, closing, escalation and cancellation each
//! arrive once and in order, and the station closes its slip; a 500 and a timeout are retried; a message queued while the
//! station is down survives a kill of the process that was delivering it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use zhongdui_tests::{LAT, LON, TestApp, at, both_backends};

/// What the stand-in station received, and how it answers.
#[derive(Default)]
struct Station {
    /// Verified messages, in arrival order: (webhook-id, body).
    received: Mutex<Vec<(String, Value)>>,
    /// Requests that failed verification.
    forged: AtomicUsize,
    /// Answer 500 to this many requests first.
    fail_next: AtomicUsize,
    /// Answer the next request too late.
    slow_next: AtomicBool,
    /// Every request, answered or not.
    requests: AtomicUsize,
    /// The type of every request refused with 500, in order.
    refused: Mutex<Vec<String>>,
    /// The `whsec_` secret it checks with.
    secret: Mutex<String>,
}

/// The Standard Webhooks check, written here from the specification.
fn verify(secret: &str, req: &HttpRequest, body: &[u8]) -> Option<String> {
    let header = |n: &str| req.headers().get(n)?.to_str().ok().map(str::to_owned);
    let (id, ts, sigs) = (
        header("webhook-id")?,
        header("webhook-timestamp")?,
        header("webhook-signature")?,
    );
    let age = chrono::Utc::now().timestamp() - ts.parse::<i64>().ok()?;
    if age.abs() > 300 {
        return None;
    }
    let key = STANDARD.decode(secret.strip_prefix("whsec_")?).ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(ts.as_bytes());
    mac.update(b".");
    mac.update(body);
    let want = STANDARD.encode(mac.finalize().into_bytes());
    sigs.split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .any(|s| s == want)
        .then_some(id)
}

async fn hook(req: HttpRequest, body: web::Bytes, st: web::Data<Arc<Station>>) -> HttpResponse {
    st.requests.fetch_add(1, Ordering::SeqCst);
    if st.slow_next.swap(false, Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        return HttpResponse::Ok().finish();
    }
    if st
        .fail_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        let v: Value = serde_json::from_slice(&body).unwrap_or_default();
        let kind = v["type"].as_str().unwrap_or("?").to_owned();
        st.refused.lock().unwrap().push(kind);
        return HttpResponse::InternalServerError().finish();
    }
    let secret = st.secret.lock().unwrap().clone();
    match verify(&secret, &req, &body) {
        Some(id) => {
            let v: Value = serde_json::from_slice(&body).unwrap();
            st.received.lock().unwrap().push((id, v));
            HttpResponse::NoContent().finish()
        }
        None => {
            st.forged.fetch_add(1, Ordering::SeqCst);
            HttpResponse::BadRequest().finish()
        }
    }
}

/// Starts the stand-in station; returns it and its webhook URL.
fn station() -> (Arc<Station>, String) {
    let st = Arc::new(Station::default());
    let data = web::Data::new(st.clone());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/zd/hooks", listener.local_addr().unwrap());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/zd/hooks", web::post().to(hook))
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    (st, url)
}

/// Waits (advancing the server's clock, which paces retries) until the
/// station holds `n` messages.
async fn received(app: &TestApp, st: &Station, n: usize) -> Vec<(String, Value)> {
    let start = Instant::now();
    loop {
        let got = st.received.lock().unwrap().clone();
        if got.len() >= n {
            return got;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{} of {n} webhooks arrived: {got:?}",
            got.len()
        );
        app.advance_secs(1);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn register(app: &TestApp, admin: &str, url: &str, st: &Station) -> (String, String) {
    let c = app
        .post(
            "/api/v1/clients",
            Some(admin),
            json!({"name": "新城警务系统", "station": "新城联勤警务站", "scopes": ["slips"], "webhook_url": url}),
        )
        .await
        .expect(201)
        .json;
    *st.secret.lock().unwrap() = c["webhook_secret"].as_str().unwrap().to_owned();
    let t = app
        .post(
            "/api/v1/oauth/token",
            None,
            json!({"grant_type": "client_credentials", "client_id": c["client_id"],
                   "client_secret": c["client_secret"]}),
        )
        .await
        .expect(200)
        .json;
    (
        c["id"].as_str().unwrap().to_owned(),
        t["access_token"].as_str().unwrap().to_owned(),
    )
}

fn slip(number: &str, pos: (f64, f64)) -> Value {
    json!({"external_id": number, "category": "patrol", "lat": pos.0, "lon": pos.1,
           "address": "龙港市新城大道 1 号", "description": "警情：协助疏导交通"})
}

fn kinds_of(got: &[(String, Value)], number: &str) -> Vec<String> {
    got.iter()
        .filter(|(_, v)| v["external_id"] == number)
        .map(|(_, v)| v["type"].as_str().unwrap().to_owned())
        .collect()
}

async fn the_station_hears_everything(app: &TestApp) {
    let (st, url) = station();
    let scene = app
        .scene("新城平安巡防一队", &["patrol"], &[at(300.0, 0.0)])
        .await;
    let (client_id, token) = register(app, &scene.admin, &url, &st).await;
    let v = &scene.vs[0].1;

    // The whole loop of one slip while the station answers 500: only its
    // first message is tried (the rest wait for it, in order per slip).
    st.fail_next.store(usize::MAX, Ordering::SeqCst);
    let o = app
        .post("/api/v1/slips", Some(&token), slip("JD-HOOK-1", (LAT, LON)))
        .await
        .expect(201)
        .json;
    let id = o["id"].as_str().unwrap().to_owned();
    app.advance_secs(1);
    app.tick().await;
    let offer = app.offers_of(v).await[0]["id"].as_str().unwrap().to_owned();
    app.accept_offer(v, &offer).await.expect(200);
    app.advance_secs(60);
    app.report_position(v, (LAT, LON)).await.expect(204);
    app.arrive(v, &id, (LAT, LON)).await.expect(200);
    app.complete(v, &id, Some("已疏导")).await.expect(200);
    let start = Instant::now();
    while st.refused.lock().unwrap().len() < 3 {
        assert!(start.elapsed() < Duration::from_secs(10), "no retries");
        app.advance_secs(1);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    st.fail_next.store(0, Ordering::SeqCst);
    assert!(
        st.refused
            .lock()
            .unwrap()
            .iter()
            .all(|k| k == "order.assigned"),
        "{:?}",
        st.refused.lock().unwrap()
    );
    let got = received(app, &st, 3).await;
    assert_eq!(
        kinds_of(&got, "JD-HOOK-1"),
        ["order.assigned", "order.arrived", "order.completed"]
    );
    let (first_id, first) = &got[0];
    assert!(first_id.starts_with("msg_"));
    assert_eq!(first["order_id"], id.as_str());
    assert_eq!(first["status"], "assigned");
    assert!(first["occurred_at"].as_str().is_some());
    // The liaison thread: the volunteer writes, the station answers; each
    // message reaches the station as `order.message`, after what came before.
    let path = format!("/api/v1/orders/{id}/messages");
    app.post(&path, Some(v), json!({"text": "已到现场，交通已疏导"}))
        .await
        .expect(201);
    let mine = app
        .post(&path, Some(&token), json!({"text": "收到，请拍照留存"}))
        .await
        .expect(201)
        .json;
    assert_eq!(mine["author_role"], "client");
    assert_eq!(mine["author_name"], "新城联勤警务站");
    let got = received(app, &st, 5).await;
    let messages: Vec<&Value> = got
        .iter()
        .map(|(_, v)| v)
        .filter(|v| v["type"] == "order.message")
        .collect();
    assert_eq!(messages.len(), 2, "{got:?}");
    assert_eq!(messages[0]["data"]["text"], "已到现场，交通已疏导");
    assert_eq!(messages[0]["data"]["author_role"], "volunteer");
    assert_eq!(messages[0]["status"], "completed");
    assert_eq!(messages[1]["data"]["text"], "收到，请拍照留存");
    let thread = app.get(&path, Some(&token)).await.expect(200).json;
    assert_eq!(thread["total"], 2);
    // The closing after the confirmation period.
    app.advance_secs(25 * 3600);
    app.tick().await;
    let got = received(app, &st, 6).await;
    assert_eq!(
        kinds_of(&got, "JD-HOOK-1").last().unwrap(),
        "order.confirmed"
    );
    // The station closes its slip (双向闭环): it is in the audit trail.
    app.post(
        "/api/v1/slips/JD-HOOK-1/close",
        Some(&token),
        json!({"outcome": "resolved", "note": "警情处置完毕"}),
    )
    .await
    .expect(200);
    let o = app.order_detail(&scene.admin, &id).await.expect(200).json;
    let closing = o["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "station_closed")
        .cloned()
        .expect("the station's closing is in the audit trail");
    assert_eq!(closing["data"]["outcome"], "resolved");

    // A timeout is retried.
    st.slow_next.store(true, Ordering::SeqCst);
    let o2 = app
        .post(
            "/api/v1/slips",
            Some(&token),
            slip("JD-HOOK-2", at(0.0, 60_000.0)),
        )
        .await
        .expect(201)
        .json;
    let id2 = o2["id"].as_str().unwrap().to_owned();
    app.post(
        &format!("/api/v1/orders/{id2}/cancel"),
        Some(&scene.admin),
        json!({"reason": "警情已撤销"}),
    )
    .await
    .expect(200);
    let got = received(app, &st, 7).await;
    assert_eq!(kinds_of(&got, "JD-HOOK-2"), ["order.cancelled"]);

    // Escalation, when nobody can take it.
    let o3 = app
        .post(
            "/api/v1/slips",
            Some(&token),
            slip("JD-HOOK-3", at(0.0, 90_000.0)),
        )
        .await
        .expect(201)
        .json;
    for _ in 0..12 {
        app.advance_secs(61);
        app.tick().await;
    }
    let got = received(app, &st, 8).await;
    assert_eq!(kinds_of(&got, "JD-HOOK-3"), ["order.escalated"], "{o3}");
    assert_eq!(st.forged.load(Ordering::SeqCst), 0);
    // Each message once (no repeats after the retries).
    let ids: std::collections::HashSet<_> = got.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(ids.len(), got.len());

    // The delivery log shows the attempts; a redelivery sends the same id again.
    let log = app
        .get(
            &format!("/api/v1/clients/{client_id}/deliveries"),
            Some(&scene.admin),
        )
        .await
        .expect(200)
        .json;
    assert_eq!(log["total"], 8);
    let items = log["items"].as_array().unwrap();
    assert!(items.iter().all(|d| d["status"] == "delivered"), "{log}");
    let retried: Vec<&Value> = items
        .iter()
        .filter(|d| d["attempts"].as_i64() > Some(1))
        .collect();
    assert_eq!(retried.len(), 2, "the 500 and the timeout: {log}");
    let again = items[0]["id"].as_i64().unwrap();
    app.post(
        &format!("/api/v1/clients/{client_id}/deliveries/{again}/redeliver"),
        Some(&scene.admin),
        json!({}),
    )
    .await
    .expect(200);
    let got = received(app, &st, 9).await;
    assert_eq!(got[8].0, items[0]["message_id"].as_str().unwrap());
}

both_backends!(station_webhooks, the_station_hears_everything);

/// A message queued while the station is down waits in the database: the
/// delivering process is killed, and the next one delivers it.
async fn delivery_survives_a_kill(app: TestApp) -> TestApp {
    let (st, url) = station();
    let admin = app.admin_token().await;
    let (_, token) = register(&app, &admin, &url, &st).await;
    st.fail_next.store(usize::MAX, Ordering::SeqCst);
    let o = app
        .post("/api/v1/slips", Some(&token), slip("JD-KILL-1", (LAT, LON)))
        .await
        .expect(201)
        .json;
    app.post(
        &format!("/api/v1/orders/{}/cancel", o["id"].as_str().unwrap()),
        Some(&admin),
        json!({"reason": "警情已撤销"}),
    )
    .await
    .expect(200);
    let start = Instant::now();
    while st.requests.load(Ordering::SeqCst) < 2 {
        assert!(start.elapsed() < Duration::from_secs(10), "no attempts");
        app.advance_secs(1);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let app = app.restart().await;
    st.fail_next.store(0, Ordering::SeqCst);
    let got = received(&app, &st, 1).await;
    assert_eq!(kinds_of(&got, "JD-KILL-1"), ["order.cancelled"]);
    app
}

#[tokio::test]
async fn webhook_survives_a_kill_sqlite() {
    let app = TestApp::spawn(zhongdui_tests::Backend::Sqlite).await;
    delivery_survives_a_kill(app).await.cleanup().await;
}

#[tokio::test]
async fn webhook_survives_a_kill_postgres() {
    let app = TestApp::spawn(zhongdui_tests::Backend::Postgres).await;
    delivery_survives_a_kill(app).await.cleanup().await;
}

/// Two processes on one database: one holds the lease and delivers; each
/// message reaches the station once.
async fn one_process_delivers(app: &TestApp) {
    let (st, url) = station();
    let admin = app.admin_token().await;
    let (_, token) = register(app, &admin, &url, &st).await;
    let second = app.second_process().await;
    for i in 0..10 {
        let number = format!("JD-TWO-{i}");
        let by = if i % 2 == 0 { app } else { &second };
        let o = by
            .post(
                "/api/v1/slips",
                Some(&token),
                slip(&number, at(0.0, 60_000.0)),
            )
            .await
            .expect(201)
            .json;
        by.post(
            &format!("/api/v1/orders/{}/cancel", o["id"].as_str().unwrap()),
            Some(&admin),
            json!({"reason": "警情已撤销"}),
        )
        .await
        .expect(200);
    }
    let got = received(app, &st, 10).await;
    // Time for a second delivery of any of them, had there been one.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let got_after = st.received.lock().unwrap().clone();
    assert_eq!(got_after.len(), 10, "{got_after:?}");
    let ids: std::collections::HashSet<_> = got.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(ids.len(), 10);
    assert_eq!(st.requests.load(Ordering::SeqCst), 10, "one request each");
}

both_backends!(station_webhooks_two_processes, one_process_delivers);
