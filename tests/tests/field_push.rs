//! Reaching volunteers who are not on the page, end to end without the
//! internet:
//! - a stand-in push service (an HTTP server in the test) checks each
//!   request's VAPID JWT (RFC 8292: ES256 under the key the server
//!   publishes, `aud` its own origin, `exp` within 24 hours, a contact in
//!   `sub`) and decrypts the payload with the subscription's private key as
//!   RFC 8291 and RFC 8188 describe (written here with RustCrypto's P-256,
//!   HKDF and AES-GCM, not the server's code);
//! - a stand-in Alibaba Cloud SMS endpoint checks each request's V3
//!   signature (`ACS3-HMAC-SHA256`) by the documented algorithm.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use aes_gcm::aead::{Aead, KeyInit};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use p256::ecdsa::signature::Verifier;
use p256::elliptic_curve::sec1::ToEncodedPoint;
use rand::RngCore;
use sea_orm::{EntityTrait, QueryOrder};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use zhongdui_api::entities::sms_message;
use zhongdui_tests::{Backend, LAT, LON, TestApp, at, both_backends_with};

/// One browser's subscription, as the browser keeps it.
struct Browser {
    secret: p256::SecretKey,
    auth: [u8; 16],
}

impl Browser {
    fn new() -> Self {
        let mut auth = [0u8; 16];
        rand::rng().fill_bytes(&mut auth);
        loop {
            let mut k = [0u8; 32];
            rand::rng().fill_bytes(&mut k);
            if let Ok(secret) = p256::SecretKey::from_slice(&k) {
                return Browser { secret, auth };
            }
        }
    }

    fn keys(&self) -> Value {
        let public = self.secret.public_key().to_encoded_point(false);
        json!({"p256dh": URL_SAFE_NO_PAD.encode(public.as_bytes()),
               "auth": URL_SAFE_NO_PAD.encode(self.auth)})
    }

    /// RFC 8291 §3.4 and RFC 8188 §2: one aes128gcm record.
    fn decrypt(&self, body: &[u8]) -> Result<Vec<u8>, String> {
        let salt = body.get(..16).ok_or("no salt")?;
        let rs = u32::from_be_bytes(body.get(16..20).ok_or("no rs")?.try_into().unwrap());
        let idlen = usize::from(*body.get(20).ok_or("no idlen")?);
        let keyid = body.get(21..21 + idlen).ok_or("short keyid")?;
        let record = &body[21 + idlen..];
        if record.len() > rs as usize {
            return Err(format!("a record longer than rs ({} > {rs})", record.len()));
        }
        let as_public =
            p256::PublicKey::from_sec1_bytes(keyid).map_err(|_| "keyid is not a P-256 point")?;
        let shared =
            p256::ecdh::diffie_hellman(self.secret.to_nonzero_scalar(), as_public.as_affine());
        let ua_public = self.secret.public_key().to_encoded_point(false);
        let mut key_info = b"WebPush: info\0".to_vec();
        key_info.extend_from_slice(ua_public.as_bytes());
        key_info.extend_from_slice(as_public.to_encoded_point(false).as_bytes());
        let mut ikm = [0u8; 32];
        hkdf::Hkdf::<Sha256>::new(Some(&self.auth), shared.raw_secret_bytes())
            .expand(&key_info, &mut ikm)
            .unwrap();
        let prk = hkdf::Hkdf::<Sha256>::new(Some(salt), &ikm);
        let mut cek = [0u8; 16];
        prk.expand(b"Content-Encoding: aes128gcm\0", &mut cek)
            .unwrap();
        let mut nonce = [0u8; 12];
        prk.expand(b"Content-Encoding: nonce\0", &mut nonce)
            .unwrap();
        let cipher = aes_gcm::Aes128Gcm::new_from_slice(&cek).unwrap();
        let mut plain = cipher
            .decrypt(&nonce.into(), record)
            .map_err(|_| "the record does not decrypt")?;
        // The last record ends with 0x02 and then zero padding.
        while plain.last() == Some(&0) {
            plain.pop();
        }
        if plain.pop() != Some(2) {
            return Err("no last-record delimiter".into());
        }
        Ok(plain)
    }
}

/// A push request that passed every check.
#[derive(Debug, Clone)]
struct Pushed {
    path: String,
    ttl: u64,
    urgency: String,
    payload: Value,
}

/// The stand-in push service.
#[derive(Default)]
struct PushService {
    origin: Mutex<String>,
    vapid_key: Mutex<String>,
    browsers: Mutex<HashMap<String, Arc<Browser>>>,
    /// Paths the service no longer knows (answered 410).
    gone: Mutex<Vec<String>>,
    received: Mutex<Vec<Pushed>>,
    refused: Mutex<Vec<String>>,
}

fn b64(s: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .unwrap_or_default()
}

impl PushService {
    /// RFC 8292 §2 and §3: the JWT, its signature, its claims and the key.
    fn check_vapid(&self, req: &HttpRequest) -> Result<(), String> {
        let auth = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .ok_or("no Authorization")?;
        let rest = auth.strip_prefix("vapid ").ok_or("not the vapid scheme")?;
        let mut t = None;
        let mut k = None;
        for part in rest.split(',') {
            let part = part.trim();
            if let Some(v) = part.strip_prefix("t=") {
                t = Some(v);
            } else if let Some(v) = part.strip_prefix("k=") {
                k = Some(v);
            }
        }
        let (t, k) = (t.ok_or("no t=")?, k.ok_or("no k=")?);
        if k != *self.vapid_key.lock().unwrap() {
            return Err("k is not the server's published key".into());
        }
        let mut parts = t.split('.');
        let (h, c, s) = (
            parts.next().ok_or("no header")?,
            parts.next().ok_or("no claims")?,
            parts.next().ok_or("no signature")?,
        );
        let header: Value = serde_json::from_slice(&b64(h)).map_err(|_| "header is not JSON")?;
        if header["alg"] != "ES256" {
            return Err(format!("alg {}", header["alg"]));
        }
        let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&b64(k)).map_err(|_| "bad k")?;
        let sig = p256::ecdsa::Signature::from_slice(&b64(s)).map_err(|_| "bad signature")?;
        key.verify(format!("{h}.{c}").as_bytes(), &sig)
            .map_err(|_| "the signature does not verify")?;
        let claims: Value = serde_json::from_slice(&b64(c)).map_err(|_| "claims not JSON")?;
        let origin = self.origin.lock().unwrap().clone();
        if claims["aud"] != origin.as_str() {
            return Err(format!("aud {} is not {origin}", claims["aud"]));
        }
        let exp = claims["exp"].as_i64().ok_or("no exp")?;
        let now = chrono::Utc::now().timestamp();
        if exp <= now || exp > now + 24 * 3600 {
            return Err(format!("exp {exp} is not within 24 hours of {now}"));
        }
        let sub = claims["sub"].as_str().ok_or("no sub")?;
        if !(sub.starts_with("mailto:") || sub.starts_with("https:")) {
            return Err(format!("sub {sub}"));
        }
        Ok(())
    }
}

async fn push_endpoint(
    req: HttpRequest,
    body: web::Bytes,
    svc: web::Data<Arc<PushService>>,
) -> HttpResponse {
    let path = req.path().to_owned();
    if svc.gone.lock().unwrap().contains(&path) {
        return HttpResponse::Gone().finish();
    }
    let header = |n: &str| {
        req.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let checked = (|| {
        svc.check_vapid(&req)?;
        if header("content-encoding").as_deref() != Some("aes128gcm") {
            return Err("Content-Encoding is not aes128gcm".to_owned());
        }
        let ttl: u64 = header("ttl")
            .ok_or("no TTL")?
            .parse()
            .map_err(|_| "TTL not a number")?;
        let browser = svc
            .browsers
            .lock()
            .unwrap()
            .get(&path)
            .cloned()
            .ok_or("no such subscription")?;
        let plain = browser.decrypt(&body)?;
        let payload: Value =
            serde_json::from_slice(&plain).map_err(|_| "the payload is not JSON".to_owned())?;
        Ok(Pushed {
            path: path.clone(),
            ttl,
            urgency: header("urgency").unwrap_or_default(),
            payload,
        })
    })();
    match checked {
        Ok(p) => {
            svc.received.lock().unwrap().push(p);
            HttpResponse::Created().finish()
        }
        Err(e) => {
            svc.refused.lock().unwrap().push(e);
            HttpResponse::BadRequest().finish()
        }
    }
}

fn serve<T: Send + Sync + 'static>(
    data: Arc<T>,
    handler: fn(
        HttpRequest,
        web::Bytes,
        web::Data<Arc<T>>,
    ) -> futures_util::future::LocalBoxFuture<'static, HttpResponse>,
) -> String {
    let data = web::Data::new(data);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .default_service(web::to(handler))
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    origin
}

fn push_handler(
    req: HttpRequest,
    body: web::Bytes,
    svc: web::Data<Arc<PushService>>,
) -> futures_util::future::LocalBoxFuture<'static, HttpResponse> {
    Box::pin(push_endpoint(req, body, svc))
}

async fn push_service(app: &TestApp) -> Arc<PushService> {
    let svc = Arc::new(PushService::default());
    let origin = serve(svc.clone(), push_handler);
    *svc.origin.lock().unwrap() = origin;
    let key = app
        .get("/api/v1/push/vapid-public-key", None)
        .await
        .expect(200)
        .json;
    *svc.vapid_key.lock().unwrap() = key["public_key"].as_str().unwrap().to_owned();
    svc
}

/// Subscribes `token`'s volunteer with a new browser at `path`.
async fn subscribe(app: &TestApp, svc: &PushService, token: &str, path: &str) -> String {
    let browser = Arc::new(Browser::new());
    let endpoint = format!("{}{path}", svc.origin.lock().unwrap());
    app.post(
        "/api/v1/me/push-subscriptions",
        Some(token),
        json!({"endpoint": endpoint, "keys": browser.keys()}),
    )
    .await
    .expect(201);
    svc.browsers
        .lock()
        .unwrap()
        .insert(path.to_owned(), browser);
    endpoint
}

/// Waits for the notifier to have started (it reads the outbox from then on).
async fn notifier_ready(app: &TestApp) {
    let start = Instant::now();
    while app.count("cursors").await == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the notifier did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn pushed_to(svc: &PushService, path: &str, n: usize) -> Vec<Pushed> {
    let start = Instant::now();
    loop {
        let got: Vec<Pushed> = svc
            .received
            .lock()
            .unwrap()
            .iter()
            .filter(|p| p.path == path)
            .cloned()
            .collect();
        if got.len() >= n {
            return got;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "{} of {n} pushes to {path}; refused: {:?}",
            got.len(),
            svc.refused.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn offers_by_push(app: &TestApp) {
    let svc = push_service(app).await;
    let scene = app
        .scene(
            "白沙急救队",
            &["first_aid"],
            &[at(200.0, 0.0), at(300.0, 0.0)],
        )
        .await;
    let (away, here) = (&scene.vs[0].1, &scene.vs[1].1);
    notifier_ready(app).await;

    // Bad subscriptions change nothing.
    let good = Browser::new().keys();
    for (body, status, field) in [
        (
            json!({"endpoint": "ftp://x/y", "keys": good}),
            422,
            "endpoint",
        ),
        (
            json!({"endpoint": "https://push.example/a", "keys": {"p256dh": "A".repeat(87), "auth": good["auth"]}}),
            422,
            "keys.p256dh",
        ),
        (
            json!({"endpoint": "https://push.example/a", "keys": {"p256dh": good["p256dh"], "auth": "A".repeat(23)}}),
            422,
            "keys.auth",
        ),
        (json!({"endpoint": "https://push.example/a"}), 400, "keys"),
    ] {
        app.post("/api/v1/me/push-subscriptions", Some(away), body)
            .await
            .expect_problem(status, Some(field));
    }
    app.post(
        "/api/v1/me/push-subscriptions",
        Some(&scene.admin),
        json!({"endpoint": "https://push.example/a", "keys": good}),
    )
    .await
    .expect_problem(403, None);
    assert_eq!(app.count("push_subscriptions").await, 0);

    let away_endpoint = subscribe(app, &svc, away, "/push/away").await;
    subscribe(app, &svc, here, "/push/here").await;
    assert_eq!(app.count("push_subscriptions").await, 2);
    // The other volunteer has the page open: their socket is live.
    let mut ws = app.ws(here, None).await;
    tokio::time::sleep(Duration::from_millis(1600)).await;

    let resident = app.resident_token("13500000201").await;
    let order = app
        .place_order(
            &resident,
            json!({"category": "first_aid", "lat": LAT, "lon": LON, "address": "白沙路 18 号 3 楼",
                   "description": "老人摔倒，意识清醒"}),
        )
        .await;
    app.advance_secs(1);
    app.tick().await;
    let offer = app.offers_of(away).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!app.offers_of(here).await.is_empty(), "both are offered");
    assert!(ws.next_of("offer", Duration::from_secs(5)).await.is_some());

    let got = pushed_to(&svc, "/push/away", 1).await;
    let p = &got[0];
    assert_eq!(p.payload["kind"], "offer");
    assert_eq!(p.payload["offer_id"], offer.as_str());
    assert_eq!(p.payload["order_id"], order.as_str());
    assert_eq!(p.payload["url"], format!("/volunteer.html#offer={offer}"));
    assert!(
        p.payload["title"].as_str().unwrap().contains("急救求助"),
        "{}",
        p.payload
    );
    assert!(
        p.payload["title"].as_str().unwrap().contains("米"),
        "{}",
        p.payload
    );
    assert!(
        p.payload["body"].as_str().unwrap().contains("白沙路"),
        "{}",
        p.payload
    );
    assert_eq!(p.urgency, "high");
    // TTL: the offer's remaining time (30 s by default, 1 s of it gone).
    assert!((1..=30).contains(&p.ttl), "TTL {}", p.ttl);
    assert!(p.payload["deadline"].is_string());
    // The volunteer on the page got it live, not by push.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        svc.received
            .lock()
            .unwrap()
            .iter()
            .all(|p| p.path != "/push/here")
    );

    // The service worker's receipt: once, and only with the secret.
    let receipt = p.payload["receipt"].as_str().unwrap().to_owned();
    let (id, _) = receipt.split_once('.').unwrap();
    app.post(
        "/api/v1/push/receipts",
        None,
        json!({"receipt": format!("{id}.0000")}),
    )
    .await
    .expect_problem(404, None);
    app.post("/api/v1/push/receipts", None, json!({"receipt": receipt}))
        .await
        .expect(204);

    // A broadcast goes to the absent volunteer too, urgency normal; a 410
    // from the push service deletes the subscription.
    let admin = &scene.admin;
    app.post(
        &format!("/api/v1/teams/{}/broadcasts", scene.team),
        Some(admin),
        json!({"text": "今晚 8 点集合演练"}),
    )
    .await
    .expect(201);
    let got = pushed_to(&svc, "/push/away", 2).await;
    assert_eq!(got[1].payload["kind"], "broadcast");
    assert_eq!(got[1].urgency, "normal");
    assert!(
        got[1].payload["body"]
            .as_str()
            .unwrap()
            .contains("集合演练")
    );

    svc.gone.lock().unwrap().push("/push/away".to_owned());
    app.post(
        &format!("/api/v1/teams/{}/broadcasts", scene.team),
        Some(admin),
        json!({"text": "演练改到 9 点"}),
    )
    .await
    .expect(201);
    let start = Instant::now();
    while app.count("push_subscriptions").await != 1 {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "the gone subscription stayed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Unsubscribing: only one's own, then 404.
    app.send(
        reqwest::Method::DELETE,
        "/api/v1/me/push-subscriptions",
        Some(away),
        Some(json!({"endpoint": away_endpoint})),
        None,
    )
    .await
    .expect_problem(404, None);
    ws.close().await;
}

both_backends_with!(
    an_offer_reaches_a_volunteer_off_the_page_by_web_push,
    offers_by_push,
    |s| {
        s.push.subject = "mailto:ops@longgang.example".to_owned();
    }
);

/// What the stand-in SMS endpoint received.
#[derive(Default)]
struct SmsEndpoint {
    secret: String,
    sent: Mutex<Vec<BTreeMap<String, String>>>,
    refused: Mutex<Vec<String>>,
}

/// RFC 3986 encoding as Alibaba Cloud's V3 documentation asks.
fn acs_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl SmsEndpoint {
    /// The V3 check: rebuilds the canonical request from what arrived.
    fn verify(&self, req: &HttpRequest, body: &[u8]) -> Result<BTreeMap<String, String>, String> {
        let header = |n: &str| {
            req.headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
                .ok_or(format!("no {n}"))
        };
        let auth = header("authorization")?;
        let rest = auth
            .strip_prefix("ACS3-HMAC-SHA256 ")
            .ok_or("not ACS3-HMAC-SHA256")?;
        let fields: HashMap<&str, &str> = rest
            .split(',')
            .filter_map(|kv| kv.trim().split_once('='))
            .collect();
        let signed = *fields.get("SignedHeaders").ok_or("no SignedHeaders")?;
        if *fields.get("Credential").ok_or("no Credential")? != "LTAI-test-key" {
            return Err("unknown AccessKey".into());
        }
        for must in [
            "host",
            "x-acs-action",
            "x-acs-content-sha256",
            "x-acs-date",
            "x-acs-signature-nonce",
            "x-acs-version",
        ] {
            if !signed.split(';').any(|h| h == must) {
                return Err(format!("{must} is not signed"));
            }
        }
        if header("x-acs-content-sha256")? != hex(&Sha256::digest(body)) {
            return Err("the body hash does not match".into());
        }
        let query: BTreeMap<String, String> = form_urlencoded::parse(req.query_string().as_bytes())
            .into_owned()
            .collect();
        let canonical_query = query
            .iter()
            .map(|(k, v)| format!("{}={}", acs_encode(k), acs_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let mut canonical_headers = String::new();
        for name in signed.split(';') {
            canonical_headers.push_str(&format!("{name}:{}\n", header(name)?.trim()));
        }
        let canonical = format!(
            "{}\n{}\n{canonical_query}\n{canonical_headers}\n{signed}\n{}",
            req.method(),
            req.path(),
            hex(&Sha256::digest(body))
        );
        let to_sign = format!(
            "ACS3-HMAC-SHA256\n{}",
            hex(&Sha256::digest(canonical.as_bytes()))
        );
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.secret.as_bytes()).unwrap();
        mac.update(to_sign.as_bytes());
        if *fields.get("Signature").ok_or("no Signature")? != hex(&mac.finalize().into_bytes()) {
            return Err("the signature does not verify".into());
        }
        if header("x-acs-action")? != "SendSms" || header("x-acs-version")? != "2017-05-25" {
            return Err("not SendSms 2017-05-25".into());
        }
        let date = chrono::DateTime::parse_from_rfc3339(&header("x-acs-date")?)
            .map_err(|_| "x-acs-date is not ISO 8601")?;
        if (chrono::Utc::now() - date.with_timezone(&chrono::Utc))
            .num_minutes()
            .abs()
            > 15
        {
            return Err("x-acs-date is stale".into());
        }
        Ok(query)
    }
}

fn sms_handler(
    req: HttpRequest,
    body: web::Bytes,
    st: web::Data<Arc<SmsEndpoint>>,
) -> futures_util::future::LocalBoxFuture<'static, HttpResponse> {
    Box::pin(async move {
        match st.verify(&req, &body) {
            Ok(q) => {
                st.sent.lock().unwrap().push(q);
                HttpResponse::Ok().json(json!({"Code": "OK", "Message": "OK",
                    "BizId": "900619746936498440^0", "RequestId": "F655A8D5-B967-440B-8683-DAD6FF8DE990"}))
            }
            Err(e) => {
                st.refused.lock().unwrap().push(e);
                HttpResponse::BadRequest()
                    .json(json!({"Code": "SignatureDoesNotMatch", "Message": "bad"}))
            }
        }
    })
}

async fn texts_sent(st: &SmsEndpoint, n: usize) -> Vec<BTreeMap<String, String>> {
    let start = Instant::now();
    loop {
        let got = st.sent.lock().unwrap().clone();
        if got.len() >= n {
            return got;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "{} of {n} texts; refused: {:?}",
            got.len(),
            st.refused.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn phone_of(app: &TestApp, admin: &str, id: &str) -> String {
    let v = app
        .get(&format!("/api/v1/volunteers/{id}"), Some(admin))
        .await
        .expect(200)
        .json;
    v["phone"].as_str().unwrap().to_owned()
}

const SMS_SECRET: &str = "test-secret-不要外传";

async fn sms_rows(app: &TestApp) -> Vec<sms_message::Model> {
    sms_message::Entity::find()
        .order_by_asc(sms_message::Column::Id)
        .all(&app.state.db)
        .await
        .unwrap()
}

async fn texts_when_nothing_else_reaches(app: &TestApp, st: Arc<SmsEndpoint>) {
    let svc = push_service(app).await;
    let scene = app
        .scene(
            "白沙水上救援队",
            &["water_rescue"],
            &[at(200.0, 0.0), at(300.0, 0.0)],
        )
        .await;
    let (texted, pushed) = (&scene.vs[0], &scene.vs[1]);
    subscribe(app, &svc, &pushed.1, "/push/p").await;
    notifier_ready(app).await;

    let resident = app.resident_token("13500000202").await;
    app.place_order(
        &resident,
        json!({"category": "water_rescue", "urgency": "urgent", "lat": LAT, "lon": LON,
               "address": "白沙河 2 号桥下", "description": "有人落水"}),
    )
    .await;
    app.advance_secs(1);
    app.tick().await;
    // No socket, no subscription: a text at once.
    let sent = texts_sent(&st, 1).await;
    let phone = phone_of(app, &scene.admin, &texted.0).await;
    assert_eq!(sent[0]["PhoneNumbers"], phone);
    assert_eq!(sent[0]["SignName"], "众队");
    assert_eq!(sent[0]["TemplateCode"], "SMS_4711");
    let params: Value = serde_json::from_str(&sent[0]["TemplateParam"]).unwrap();
    assert_eq!(params["category"], "水上救援");
    let offer = app.offers_of(&texted.1).await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        params["link"],
        format!("https://zd.longgang.example/volunteer.html#offer={offer}")
    );
    assert!(
        params["distance"].as_str().unwrap().ends_with('米'),
        "{params}"
    );

    // The subscribed volunteer's push was not shown (no receipt): a text
    // follows after sms.after_push_secs.
    pushed_to(&svc, "/push/p", 1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(st.sent.lock().unwrap().len(), 1, "no text before the wait");
    app.advance_secs(21);
    let sent = texts_sent(&st, 2).await;
    assert_eq!(
        sent[1]["PhoneNumbers"],
        phone_of(app, &scene.admin, &pushed.0).await
    );

    // Recorded, with the phone masked and the provider's id.
    let rows = sms_rows(app).await;
    assert_eq!(rows.len(), 2);
    assert!(
        rows.iter()
            .all(|r| r.status == "sent" && r.provider == "aliyun")
    );
    assert!(rows.iter().all(|r| r.phone_masked.contains("****")));
    assert_eq!(
        rows[0].provider_ref.as_deref(),
        Some("900619746936498440^0")
    );

    // Both decline; the next urgent order: the texted volunteer is over the
    // hourly limit (1 here), recorded as limited and not sent; the pushed
    // one's notification is shown (receipt), so no text follows.
    for (_, token) in &scene.vs {
        let o = app.offers_of(token).await[0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        app.decline_offer(token, &o).await.expect(204);
    }
    app.place_order(
        &resident,
        json!({"category": "water_rescue", "urgency": "urgent", "lat": LAT, "lon": LON,
               "address": "白沙河 3 号桥下", "description": "又有人落水"}),
    )
    .await;
    app.advance_secs(1);
    app.tick().await;
    let got = pushed_to(&svc, "/push/p", 2).await;
    let receipt = got[1].payload["receipt"].as_str().unwrap().to_owned();
    app.post("/api/v1/push/receipts", None, json!({"receipt": receipt}))
        .await
        .expect(204);
    let start = Instant::now();
    loop {
        let rows = sms_rows(app).await;
        if rows.iter().any(|r| r.status == "limited") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "no limited text recorded"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app.advance_secs(21);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        st.sent.lock().unwrap().len(),
        2,
        "neither the limited nor the shown one texted"
    );
    assert!(st.refused.lock().unwrap().is_empty());
}

async fn texting(backend: Backend) {
    let st = Arc::new(SmsEndpoint {
        secret: SMS_SECRET.to_owned(),
        ..Default::default()
    });
    let origin = serve(st.clone(), sms_handler);
    let app = TestApp::spawn_with(backend, move |s| {
        s.sms.channel = "aliyun".to_owned();
        s.sms.aliyun.endpoint = format!("{origin}/");
        s.sms.aliyun.access_key_id = "LTAI-test-key".to_owned();
        s.sms.aliyun.access_key_secret = Some(SMS_SECRET.to_owned().into());
        s.sms.aliyun.sign_name = "众队".to_owned();
        s.sms.aliyun.template_code = "SMS_4711".to_owned();
        s.sms.after_push_secs = 20;
        s.sms.per_volunteer_per_hour = 1;
        s.dispatch.offer_timeout_secs = 300;
        s.web.public_url = "https://zd.longgang.example".to_owned();
    })
    .await;
    texts_when_nothing_else_reaches(&app, st).await;
    app.cleanup().await;
}

mod texts_go_by_alibaba_cloud_sms_signed_v3 {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::texting(zhongdui_tests::Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::texting(zhongdui_tests::Backend::Postgres).await;
    }
}
