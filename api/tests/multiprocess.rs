//! Two real api processes on one PostgreSQL and one Redis: an order placed
//! through A is offered to a volunteer connected to B; a position sent to A
//! moves the volunteer in B's index; concurrent claims through A and B never
//! double-assign; one process relays the outbox, and when it dies the other
//! takes over.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const BIN: &str = env!("CARGO_BIN_EXE_zhongdui");

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn env(cmd: &mut Command, db: &str, prefix: &str) {
    cmd.env("DATABASE_URL", db)
        .env(
            "REDIS_URL",
            std::env::var("ZD_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into()),
        )
        .env("ZD_REDIS_PREFIX", prefix)
        .env("ZD_DISPATCH__BATCH_WINDOW_MS", "0")
        .env("ZD_DISPATCH__LOCATION_MIN_INTERVAL_MS", "0")
        .env("RUST_LOG", "warn")
        .env_remove("ZD_CONFIG");
}

fn start(db: &str, prefix: &str) -> (Proc, String) {
    let mut cmd = Command::new(BIN);
    env(&mut cmd, db, prefix);
    let mut child = cmd
        .args(["serve", "--bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let proc = Proc(child);
    let mut lines = BufReader::new(out).lines();
    let base = loop {
        let line = lines.next().expect("exited before listening").unwrap();
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.trim_end_matches('/').to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (proc, base)
}

async fn call(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = client.request(method, url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// What the index of the process at `base` holds for `volunteer`, read
/// every 100 ms for up to 5 s until `done` holds (else the last reading).
async fn index_entry_when(
    c: &reqwest::Client,
    base: &str,
    admin: &str,
    volunteer: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let mut seen = Value::Null;
    for _ in 0..50 {
        let (_, entry) = call(
            c,
            reqwest::Method::GET,
            format!("{base}/api/v1/ops/index/{volunteer}"),
            Some(admin),
            None,
        )
        .await;
        seen = entry;
        if done(&seen) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    seen
}

/// A volunteer's WebSocket on the process at `base`.
async fn listen(
    base: &str,
    token: &str,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let mut req = format!("{}/api/v1/ws", base.replacen("http", "ws", 1))
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("Authorization", format!("Bearer {token}").parse().unwrap());
    tokio_tungstenite::connect_async(req).await.unwrap().0
}

/// The first offer to arrive on `socket` within 10 s.
async fn first_offer<S, E>(socket: &mut S) -> Option<Value>
where
    S: futures_util::Stream<Item = Result<Message, E>> + Unpin,
{
    tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(Ok(msg)) = socket.next().await {
            if let Message::Text(t) = msg {
                let v: Value = serde_json::from_str(t.as_str()).unwrap();
                if v["type"] == "offer" {
                    return Some(v);
                }
            }
        }
        None
    })
    .await
    .ok()
    .flatten()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_one_city() {
    use reqwest::Method;
    // A fresh database.
    let base = std::env::var("ZD_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let admin_db = Database::connect(&base)
        .await
        .expect("PostgreSQL must be running");
    let name = format!("zd_mp_{}", uuid::Uuid::new_v4().simple());
    admin_db
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let db_url = format!("{}/{name}", base.rsplit_once('/').unwrap().0);
    let prefix = format!("zdmp{}", &name[6..14]);

    let mut create = Command::new(BIN);
    env(&mut create, &db_url, &prefix);
    let out = create
        .args([
            "create-admin",
            "--phone",
            "13800001111",
            "--password",
            "admin-password",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_a, a) = start(&db_url, &prefix);
    let (_b, b) = start(&db_url, &prefix);
    let c = reqwest::Client::new();

    let (_, login) = call(
        &c,
        Method::POST,
        format!("{a}/api/v1/auth/login"),
        None,
        Some(json!({"phone": "13800001111", "password": "admin-password"})),
    )
    .await;
    let admin = login["token"].as_str().unwrap().to_owned();
    let (s, team) = call(
        &c,
        Method::POST,
        format!("{a}/api/v1/teams"),
        Some(&admin),
        Some(json!({"name": "龙金企业护卫一队", "kind": "enterprise_patrol"})),
    )
    .await;
    assert_eq!(s, 201);
    let mut vols = Vec::new();
    for (i, phone) in ["15700000001", "15700000002"].iter().enumerate() {
        let (s, v) = call(&c, Method::POST, format!("{a}/api/v1/volunteers"), Some(&admin),
            Some(json!({"phone": phone, "display_name": format!("护卫{i}"), "password": "volunteer-pw", "team_id": team["id"], "skills": ["patrol"]}))).await;
        assert_eq!(s, 201, "{v}");
        let (_, l) = call(
            &c,
            Method::POST,
            format!("{a}/api/v1/auth/login"),
            None,
            Some(json!({"phone": phone, "password": "volunteer-pw"})),
        )
        .await;
        let token = l["token"].as_str().unwrap().to_owned();
        let (s, _) = call(
            &c,
            Method::PUT,
            format!("{a}/api/v1/me/duty"),
            Some(&token),
            Some(json!({"on_duty": true})),
        )
        .await;
        assert_eq!(s, 200);
        vols.push((v["id"].as_str().unwrap().to_owned(), token));
    }

    // A position sent to A moves the volunteer in B's index.
    for (lat, lon) in [(27.5610, 120.5600), (27.5620, 120.5610)] {
        for (_, token) in &vols {
            let (s, _) = call(
                &c,
                Method::PUT,
                format!("{a}/api/v1/me/location"),
                Some(token),
                Some(json!({"lat": lat, "lon": lon})),
            )
            .await;
            assert_eq!(s, 204);
        }
        let seen = index_entry_when(&c, &b, &admin, &vols[1].0, |e| {
            e["lat"].as_f64() == Some(lat)
        })
        .await;
        assert_eq!(
            seen["lat"].as_f64(),
            Some(lat),
            "B's index follows A: {seen}"
        );
    }
    let (_, entry_a) = call(
        &c,
        Method::GET,
        format!("{a}/api/v1/ops/index/{}", vols[1].0),
        Some(&admin),
        None,
    )
    .await;
    let (_, entry_b) = call(
        &c,
        Method::GET,
        format!("{b}/api/v1/ops/index/{}", vols[1].0),
        Some(&admin),
        None,
    )
    .await;
    assert_ne!(entry_a["process"], entry_b["process"], "two processes");

    // Volunteer 0 listens on B; the order is placed through A.
    let mut socket = listen(&b, &vols[0].1).await;
    let (s, order) = call(&c, Method::POST, format!("{a}/api/v1/orders"), Some(&admin),
        Some(json!({"category": "patrol", "lat": 27.5615, "lon": 120.5605, "address": "龙金大道", "description": "夜巡", "urgency": "low"}))).await;
    assert_eq!(s, 201);
    let order_id = order["id"].as_str().unwrap().to_owned();
    let offer = first_offer(&mut socket)
        .await
        .expect("the offer reaches B's socket");
    assert_eq!(offer["order_id"], order_id.as_str());
    let _ = socket.send(Message::Close(None)).await;
    // Both processes count that offer towards volunteer 0's hourly cap: A
    // sent it, B heard of it on the bus.
    for base in [&a, &b] {
        let seen =
            index_entry_when(&c, base, &admin, &vols[0].0, |e| e["offers_last_hour"] == 1).await;
        assert_eq!(
            seen["offers_last_hour"], 1,
            "{base} counts the offer: {seen}"
        );
    }

    // Volunteer 0 accepts through A while volunteer 1 grabs through B.
    let offer_id = offer["offer_id"].as_str().unwrap();
    let accept = call(
        &c,
        Method::POST,
        format!("{a}/api/v1/offers/{offer_id}/accept"),
        Some(&vols[0].1),
        None,
    );
    let grab = call(
        &c,
        Method::POST,
        format!("{b}/api/v1/orders/{order_id}/grab"),
        Some(&vols[1].1),
        None,
    );
    let ((s1, _), (s2, _)) = tokio::join!(accept, grab);
    let mut statuses = [s1, s2];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "exactly one of the two claims wins");
    // Both indexes take the winner's new task count: the claiming process
    // from the row its claim returned, the other from the bus.
    let winner = if s1 == 200 { &vols[0].0 } else { &vols[1].0 };
    for base in [&a, &b] {
        let seen = index_entry_when(&c, base, &admin, winner, |e| e["active_tasks"] == 1).await;
        assert_eq!(seen["active_tasks"], 1, "{base} follows the claim: {seen}");
    }
    let (_, detail) = call(
        &c,
        Method::GET,
        format!("{b}/api/v1/orders/{order_id}"),
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(detail["filled"], 1);

    // One process relays the outbox; when it dies the other takes over and
    // pushes still arrive.
    let leads = |base: String| {
        let c = c.clone();
        async move {
            let text = c
                .get(format!("{base}/metrics"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            text.lines().any(|l| l.trim() == "outbox_relay_leader 1")
        }
    };
    let (a_leads, b_leads) = (leads(a.clone()).await, leads(b.clone()).await);
    assert!(
        a_leads ^ b_leads,
        "exactly one process relays: A {a_leads}, B {b_leads}"
    );
    let (leader, survivor_proc, survivor) = if a_leads { (_a, _b, b) } else { (_b, _a, a) };
    drop(leader);
    let mut sockets = Vec::new();
    for (_, token) in &vols {
        sockets.push(listen(&survivor, token).await);
    }
    let (s, second) = call(&c, Method::POST, format!("{survivor}/api/v1/orders"), Some(&admin),
        Some(json!({"category": "patrol", "lat": 27.5615, "lon": 120.5605, "address": "龙金大道", "description": "再巡", "urgency": "low"}))).await;
    assert_eq!(s, 201, "{second}");
    let offered = first_offer(&mut futures_util::stream::select_all(sockets))
        .await
        .expect("the survivor relays once the leader is gone");
    assert_eq!(offered["order_id"], second["id"]);
    assert!(leads(survivor.clone()).await, "the survivor now relays");

    drop(survivor_proc);
    let _ = admin_db
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await;
}
