//! Webhook latency benchmark (not part of CI): how long a change of a
//! station's slip takes to reach the station's endpoint.
//!
//! Creates a fresh PostgreSQL database, starts one release `zhongdui`
//! process, registers a machine client whose webhook URL is a small HTTP
//! receiver in this process (answering 204), then, open-loop at `--rate`
//! per second for `--seconds`, posts a slip with the client's token and
//! cancels it with an admin's (one `order.cancelled` message each), and
//! reports the time from the message's `occurred_at` (the server's clock,
//! same host) to its arrival, and messages lost.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use serde_json::{Value, json};
use sqlx::Connection;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};

#[derive(Parser, Debug)]
struct Args {
    /// The zhongdui binary (build it with --release).
    #[arg(long, default_value = "target/release/zhongdui")]
    bin: String,
    /// PostgreSQL server (a fresh database is created on it and dropped).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/test")]
    postgres: String,
    /// Slips (and cancellations) per second.
    #[arg(long, default_value_t = 20)]
    rate: u32,
    /// Seconds of load.
    #[arg(long, default_value_t = 10)]
    seconds: u32,
}

struct Proc(Child);
impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Arrival times (unix ms) by order id.
type Arrivals = Arc<Mutex<HashMap<String, (f64, f64)>>>;

/// A minimal HTTP/1.1 receiver (keep-alive, Content-Length bodies).
async fn receive(listener: tokio::net::TcpListener, arrivals: Arrivals) {
    loop {
        let Ok((sock, _)) = listener.accept().await else {
            return;
        };
        let arrivals = arrivals.clone();
        tokio::spawn(async move {
            let (r, mut w) = sock.into_split();
            let mut r = tokio::io::BufReader::new(r);
            loop {
                let mut len = 0usize;
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let l = line.trim_end();
                    if l.is_empty() {
                        break;
                    }
                    if let Some(v) = l.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0u8; len];
                if r.read_exact(&mut body).await.is_err() {
                    return;
                }
                let now = chrono::Utc::now().timestamp_micros() as f64 / 1000.0;
                if let Ok(v) = serde_json::from_slice::<Value>(&body) {
                    let at = chrono::DateTime::parse_from_rfc3339(
                        v["occurred_at"].as_str().unwrap_or(""),
                    )
                    .map(|t| t.timestamp_micros() as f64 / 1000.0)
                    .unwrap_or(f64::NAN);
                    let id = v["order_id"].as_str().unwrap_or("").to_owned();
                    arrivals.lock().unwrap().entry(id).or_insert((at, now));
                }
                if w.write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
                    .await
                    .is_err()
                {
                    return;
                }
            }
        });
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted
        .get(i.min(sorted.len().saturating_sub(1)))
        .copied()
        .unwrap_or(f64::NAN)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let db_name = format!("zd_hooks_{}", uuid::Uuid::new_v4().simple());
    let mut pg = sqlx::PgConnection::connect(&args.postgres).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db_name}")))
        .execute(&mut pg)
        .await?;
    let db_url = format!(
        "{}/{db_name}?sslmode=disable",
        args.postgres.rsplit_once('/').context("postgres url")?.0
    );
    let envs = |cmd: &mut Command| {
        cmd.env("DATABASE_URL", &db_url)
            .env_remove("REDIS_URL")
            .env("ZD_NET__ALLOW_PRIVATE_TARGETS", "true")
            .env("ZD_LIMITS__STAFF_ORDERS_PER_HOUR", "0")
            .env("RUST_LOG", "warn");
    };
    let mut admin = Command::new(&args.bin);
    envs(&mut admin);
    let out = admin
        .args([
            "create-admin",
            "--phone",
            "13800000000",
            "--password",
            "load-admin-pw",
        ])
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "create-admin: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut cmd = Command::new(&args.bin);
    envs(&mut cmd);
    let mut child = cmd
        .args(["serve", "--bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let stdout = child.stdout.take().context("stdout")?;
    let _proc = Proc(child);
    let mut lines = BufReader::new(stdout).lines();
    let base = loop {
        let line = lines.next().context("server exited")??;
        if let Some(rest) = line.split("listening on ").nth(1) {
            break rest.trim_end_matches('/').to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines.map_while(Result::ok) {});

    let arrivals: Arrivals = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let hook = format!("http://{}/hooks", listener.local_addr()?);
    tokio::spawn(receive(listener, arrivals.clone()));

    let http = reqwest::Client::new();
    let post = move |path: String, token: Option<String>, body: Value| {
        let mut req = http.post(format!("{}{path}", base)).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        async move {
            let r = req.send().await?;
            let status = r.status();
            let v: Value = r.json().await.unwrap_or(Value::Null);
            anyhow::ensure!(status.is_success(), "{path}: {status} {v}");
            anyhow::Ok(v)
        }
    };
    let login = post(
        "/api/v1/auth/login".into(),
        None,
        json!({"phone": "13800000000", "password": "load-admin-pw"}),
    )
    .await?;
    let admin = login["token"].as_str().context("admin token")?.to_owned();
    let c = post(
        "/api/v1/clients".into(),
        Some(admin.clone()),
        json!({"name": "压测警务系统", "station": "压测联勤警务站", "scopes": ["slips"], "webhook_url": hook}),
    )
    .await?;
    let t = post(
        "/api/v1/oauth/token".into(),
        None,
        json!({"grant_type": "client_credentials", "client_id": c["client_id"], "client_secret": c["client_secret"]}),
    )
    .await?;
    let token = t["access_token"]
        .as_str()
        .context("client token")?
        .to_owned();

    let total = args.rate * args.seconds;
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(args.rate)));
    let mut tasks = Vec::new();
    for i in 0..total {
        tick.tick().await;
        let (post, token, admin) = (post.clone(), token.clone(), admin.clone());
        tasks.push(tokio::spawn(async move {
            let slip = json!({"external_id": format!("LOAD-{i}"), "category": "patrol",
                "lat": 27.56, "lon": 120.56, "address": "龙港市新城大道 1 号", "description": "压测警单"});
            let o = post("/api/v1/slips".into(), Some(token), slip).await?;
            let id = o["id"].as_str().context("order id")?.to_owned();
            post(format!("/api/v1/orders/{id}/cancel"), Some(admin), json!({"reason": "压测撤销"})).await?;
            anyhow::Ok(id)
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await??);
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    let got = arrivals.lock().unwrap().clone();
    let mut lat: Vec<f64> = ids
        .iter()
        .filter_map(|id| got.get(id).map(|(at, now)| now - at))
        .collect();
    lat.sort_by(f64::total_cmp);
    println!(
        "{} slips cancelled at {}/s for {} s; webhooks received: {}, lost: {}",
        ids.len(),
        args.rate,
        args.seconds,
        lat.len(),
        ids.len() - lat.len()
    );
    println!("| occurred_at → received (ms) | n | p50 | p90 | p99 | max |");
    println!("|---|---|---|---|---|---|");
    println!(
        "| order.cancelled | {} | {:.1} | {:.1} | {:.1} | {:.1} |",
        lat.len(),
        percentile(&lat, 0.5),
        percentile(&lat, 0.9),
        percentile(&lat, 0.99),
        lat.last().copied().unwrap_or(f64::NAN)
    );
    drop(_proc);
    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {db_name} WITH (FORCE)"
    )))
    .execute(&mut pg)
    .await;
    Ok(())
}
