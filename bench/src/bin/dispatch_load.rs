//! Load benchmark for dispatch and realtime delivery (not part of CI).
//!
//! Seeds the demo city (122 teams, 2,568 volunteers) into a fresh PostgreSQL
//! database, puts every volunteer on duty at their base, starts one or two
//! real `zhongdui` processes, optionally connects all volunteers' WebSockets
//! (each accepts the offers it receives, as a phone would), then places
//! orders open-loop at a fixed rate and reports:
//! - create → first offers written (database timestamps),
//! - create → offer received on the volunteer's socket (with `--sockets`),
//!   from two starts: the client sending `POST /orders` (includes the HTTP
//!   round trip and any queueing in front of the handler), and the order's
//!   `created_at` as the server stamped it (same host, same clock),
//! - offers lost (orders whose offer never reached a socket).
//!
//! With `--positions-workers N` it places no orders: N workers (spread over
//! the processes) send `PUT /api/v1/me/location` back to back, each for its
//! own share of the volunteers, a few metres from the last position, and it
//! reports reports per second and their latency (warm-up left out).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use clap::Parser;
use futures_util::StreamExt;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use sqlx::{Connection, Executor, Row};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

#[derive(Parser, Debug)]
struct Args {
    /// The zhongdui binary (build it with --release).
    #[arg(long, default_value = "target/release/zhongdui")]
    bin: String,
    /// PostgreSQL server (a fresh database is created on it).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/test")]
    postgres: String,
    /// Redis (needed for --procs 2).
    #[arg(long)]
    redis: Option<String>,
    /// Number of api processes.
    #[arg(long, default_value_t = 1)]
    procs: usize,
    /// Orders per second.
    #[arg(long, default_value_t = 200)]
    rate: u32,
    /// Seconds of load measured.
    #[arg(long, default_value_t = 10)]
    seconds: u32,
    /// Seconds of the same load placed first and left out of the figures
    /// (new connections, statement preparation, caches); the per-second
    /// breakdown still shows them, marked.
    #[arg(long, default_value_t = 0)]
    warmup: u32,
    /// Connect every volunteer's WebSocket and accept offers.
    #[arg(long)]
    sockets: bool,
    /// The batch window (`ZD_DISPATCH__BATCH_WINDOW_MS`): 0 writes every
    /// first wave in its order's own transaction; the servers' default is
    /// 1000 with the adaptive window on.
    #[arg(long, default_value_t = 0)]
    batch_window_ms: u64,
    /// Turn the adaptive window off (every order waits out the window).
    #[arg(long)]
    no_adaptive: bool,
    /// Seconds to keep listening on the sockets after the last order (an
    /// offer later than that counts as never arrived).
    #[arg(long, default_value_t = 3)]
    drain_secs: u64,
    /// Urgency of the orders (wave size = factor × headcount).
    #[arg(long, default_value = "low")]
    urgency: String,
    /// Category of the orders (`general` needs no skill, so every volunteer qualifies).
    #[arg(long, default_value = "general")]
    category: String,
    /// Keep the load database afterwards (to inspect it); it is dropped by default.
    #[arg(long)]
    keep_db: bool,
    /// Let the servers talk TLS to PostgreSQL (sqlx's default, `sslmode=prefer`).
    /// Off by default: on loopback it protects nothing and costs CPU on both
    /// ends (PostgreSQL's OpenSSL alone took 4.5 % of the machine's CPU
    /// samples at 200 orders/s).
    #[arg(long)]
    postgres_tls: bool,
    /// Most PostgreSQL connections per process (`ZD_DATABASE_POOL_MAX`).
    #[arg(long, default_value_t = 20)]
    pool_max: u32,
    /// Position-report mode: this many concurrent clients send
    /// `PUT /me/location` for `--seconds` (after `--warmup`); no orders.
    #[arg(long, default_value_t = 0)]
    positions_workers: usize,
    /// HTTP worker threads per process (`ZD_HTTP__WORKERS`; 0: one per CPU).
    #[arg(long, default_value_t = 0)]
    workers: usize,
}

struct Proc(Child);
impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn summary(name: &str, mut v: Vec<f64>) {
    v.sort_by(f64::total_cmp);
    println!(
        "| {name} | {} | {:.1} | {:.1} | {:.1} | {:.1} |",
        v.len(),
        percentile(&v, 0.5),
        percentile(&v, 0.9),
        percentile(&v, 0.99),
        v.last().copied().unwrap_or(f64::NAN)
    );
}

#[derive(serde::Serialize)]
struct Claims {
    sub: String,
    role: String,
    ver: i32,
    iat: i64,
    exp: i64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        args.procs == 1 || args.redis.is_some(),
        "several processes need --redis"
    );
    let db_name = format!("zd_load_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(&args.postgres)
        .await
        .context("connecting to PostgreSQL")?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {db_name}")))
        .execute(&mut admin)
        .await?;
    let db_url = format!(
        "{}/{db_name}{}",
        args.postgres.rsplit_once('/').context("postgres url")?.0,
        if args.postgres_tls {
            ""
        } else {
            "?sslmode=disable"
        }
    );
    let prefix = format!("zdload{}", &db_name[8..14]);
    let envs = |cmd: &mut Command| {
        cmd.env("DATABASE_URL", &db_url)
            .env("ZD_REDIS_PREFIX", &prefix)
            .env(
                "ZD_DISPATCH__BATCH_WINDOW_MS",
                args.batch_window_ms.to_string(),
            )
            .env(
                "ZD_DISPATCH__ADAPTIVE_WINDOW",
                (!args.no_adaptive).to_string(),
            )
            .env("ZD_DISPATCH__OFFER_TIMEOUT_SECS", "600")
            .env("ZD_DISPATCH__MAX_OFFERS_PER_HOUR", "0")
            .env("ZD_DISPATCH__TICK_MS", "200")
            .env("ZD_DISPATCH__LOCATION_MIN_INTERVAL_MS", "0")
            // The load is one admin placing hundreds of orders a second.
            .env("ZD_LIMITS__STAFF_ORDERS_PER_HOUR", "0")
            .env("ZD_HTTP__WORKERS", args.workers.to_string())
            .env("ZD_DATABASE_POOL_MAX", args.pool_max.to_string())
            .env("RUST_LOG", "warn");
        match &args.redis {
            Some(r) => cmd.env("REDIS_URL", r),
            None => cmd.env_remove("REDIS_URL"),
        };
    };

    eprintln!("seeding the demo city into {db_name} …");
    let mut seed = Command::new(&args.bin);
    envs(&mut seed);
    let out = seed
        .arg("seed-demo")
        .output()
        .context("running zhongdui seed-demo")?;
    anyhow::ensure!(
        out.status.success(),
        "seed-demo failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut db = sqlx::PgConnection::connect(&db_url).await?;
    db.execute(
        "UPDATE volunteers SET on_duty = true, lat = home_lat, lon = home_lon, location_at = now(), capacity = 100000, active_tasks = 0",
    )
    .await?;

    let mut procs = Vec::new();
    let mut bases = Vec::new();
    for _ in 0..args.procs {
        let mut cmd = Command::new(&args.bin);
        envs(&mut cmd);
        let mut child = cmd
            .args(["serve", "--bind", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdout = child.stdout.take().context("stdout")?;
        procs.push(Proc(child));
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            let line = lines.next().context("server exited")??;
            if let Some(rest) = line.split("listening on ").nth(1) {
                break rest.trim_end_matches('/').to_owned();
            }
        };
        // The server logs to stdout: pass its warnings and errors on.
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                if line.contains("ERROR") || line.contains("WARN") {
                    eprintln!("[server] {line}");
                }
            }
        });
        bases.push(base);
    }

    // Tokens signed with the server's key (it keeps it in the database).
    let secret: String = sqlx::query("SELECT value FROM app_secrets WHERE name = 'jwt_secret'")
        .fetch_one(&mut db)
        .await?
        .get(0);
    let key = jsonwebtoken::EncodingKey::from_secret(secret.as_bytes());
    let now = chrono::Utc::now().timestamp();
    let sign = |id: uuid::Uuid, role: &str| {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &Claims {
                sub: id.to_string(),
                role: role.into(),
                ver: 0,
                iat: now,
                exp: now + 7200,
            },
            &key,
        )
        .unwrap()
    };
    let admin_id: String = sqlx::query("SELECT id::text FROM users WHERE phone = '13800000000'")
        .fetch_one(&mut db)
        .await?
        .get(0);
    let admin_id: uuid::Uuid = admin_id.parse()?;
    let admin_token = sign(admin_id, "admin");
    let vols: Vec<(uuid::Uuid, f64, f64)> =
        sqlx::query("SELECT id::text, home_lat, home_lon FROM volunteers")
            .fetch_all(&mut db)
            .await?
            .into_iter()
            .map(|r| (r.get::<String, _>(0).parse().unwrap(), r.get(1), r.get(2)))
            .collect();

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;
    let received: Arc<Mutex<HashMap<String, (Instant, SystemTime)>>> =
        Arc::new(Mutex::new(HashMap::new()));
    let offers_seen = Arc::new(AtomicU64::new(0));
    if args.sockets {
        eprintln!("connecting {} volunteer sockets …", vols.len());
        for (i, (id, _, _)) in vols.iter().enumerate() {
            let base = bases[i % bases.len()].clone();
            let token = sign(*id, "volunteer");
            let mut req =
                format!("{}/api/v1/ws", base.replacen("http", "ws", 1)).into_client_request()?;
            req.headers_mut()
                .insert("Authorization", format!("Bearer {token}").parse()?);
            let (mut ws, _) = tokio_tungstenite::connect_async(req)
                .await
                .context("ws connect")?;
            let received = received.clone();
            let seen = offers_seen.clone();
            let client = client.clone();
            tokio::spawn(async move {
                while let Some(Ok(msg)) = ws.next().await {
                    let Message::Text(t) = msg else { continue };
                    let Ok(v) = serde_json::from_str::<Value>(t.as_str()) else {
                        continue;
                    };
                    if v["type"] != "offer" {
                        continue;
                    }
                    let at = (Instant::now(), SystemTime::now());
                    seen.fetch_add(1, Ordering::Relaxed);
                    let order = v["order_id"].as_str().unwrap_or_default().to_owned();
                    received.lock().unwrap().entry(order).or_insert(at);
                    // Accept, as the phone would.
                    let offer = v["offer_id"].as_str().unwrap_or_default().to_owned();
                    let url = format!("{base}/api/v1/offers/{offer}/accept");
                    let (c, t) = (client.clone(), token.clone());
                    tokio::spawn(async move {
                        let _ = c.post(url).bearer_auth(t).send().await;
                    });
                }
            });
        }
        eprintln!("sockets connected");
        tokio::time::sleep(Duration::from_secs(2)).await;
    }

    // Steady state before the load: statistics for the seeded tables, and the
    // seeding's dirty pages flushed now rather than by a checkpoint mid-run.
    db.execute("VACUUM ANALYZE").await?;
    db.execute("CHECKPOINT").await?;
    tokio::time::sleep(Duration::from_secs(2)).await;

    if args.positions_workers > 0 {
        positions(&args, &bases, &vols, &client, &sign).await;
    } else {
        orders(
            &args,
            &bases,
            &vols,
            &client,
            &admin_token,
            &received,
            &offers_seen,
            &mut db,
        )
        .await?;
    }
    drop(procs);
    drop(db);
    if args.keep_db {
        eprintln!("kept database {db_name}");
        return Ok(());
    }
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {db_name} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await?;
    Ok(())
}

/// Position reports back to back from `--positions-workers` clients.
async fn positions(
    args: &Args,
    bases: &[String],
    vols: &[(uuid::Uuid, f64, f64)],
    client: &reqwest::Client,
    sign: &dyn Fn(uuid::Uuid, &str) -> String,
) {
    let n = args.positions_workers;
    let warm_until = Instant::now() + Duration::from_secs(u64::from(args.warmup));
    let end = warm_until + Duration::from_secs(u64::from(args.seconds));
    eprintln!(
        "{n} clients reporting positions for {} s ({} s warm-up) …",
        args.warmup + args.seconds,
        args.warmup
    );
    let mut tasks = Vec::new();
    for w in 0..n {
        let base = bases[w % bases.len()].clone();
        let mine: Vec<(String, f64, f64)> = vols
            .iter()
            .skip(w)
            .step_by(n)
            .map(|(id, lat, lon)| (sign(*id, "volunteer"), *lat, *lon))
            .collect();
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat_ms = Vec::new();
            let mut errors = 0u64;
            let mut step = 0u64;
            if mine.is_empty() {
                return (lat_ms, errors);
            }
            while Instant::now() < end {
                let (token, lat, lon) = &mine[(step as usize) % mine.len()];
                step += 1;
                // A few metres from home, a different spot each round.
                let d = (step % 7) as f64 * 1e-5;
                let t0 = Instant::now();
                let r = client
                    .put(format!("{base}/api/v1/me/location"))
                    .bearer_auth(token)
                    .json(&json!({"lat": lat + d, "lon": lon - d}))
                    .send()
                    .await;
                let ok = r.is_ok_and(|r| r.status().is_success());
                if t0 >= warm_until {
                    if ok {
                        lat_ms.push(t0.elapsed().as_secs_f64() * 1000.0);
                    } else {
                        errors += 1;
                    }
                }
            }
            (lat_ms, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.unwrap();
        all.extend(l);
        errors += e;
    }
    println!(
        "\nposition reports: {} in {} s = {:.0}/s; errors {errors}",
        all.len(),
        args.seconds,
        all.len() as f64 / args.seconds as f64
    );
    println!("| latency (ms) | n | p50 | p90 | p99 | max |\n|---|---|---|---|---|---|");
    summary("PUT /me/location", all);
}

/// The order load: orders placed open-loop at `--rate`.
#[allow(clippy::too_many_arguments)]
async fn orders(
    args: &Args,
    bases: &[String],
    vols: &[(uuid::Uuid, f64, f64)],
    client: &reqwest::Client,
    admin_token: &str,
    received: &Arc<Mutex<HashMap<String, (Instant, SystemTime)>>>,
    offers_seen: &Arc<AtomicU64>,
    db: &mut sqlx::PgConnection,
) -> anyhow::Result<()> {
    let total = args.rate * (args.warmup + args.seconds);
    eprintln!(
        "placing {total} orders at {}/s for {} s ({} s warm-up) …",
        args.rate,
        args.warmup + args.seconds,
        args.warmup
    );
    let created: Arc<Mutex<Vec<(String, Instant, f64)>>> = Arc::new(Mutex::new(Vec::new()));
    let errors = Arc::new(AtomicU64::new(0));
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..total {
        let due = start + Duration::from_secs_f64(f64::from(i) / f64::from(args.rate));
        tokio::time::sleep_until(due.into()).await;
        let (_, lat, lon) = vols[rng.random_range(0..vols.len())];
        let body = json!({"category": args.category, "lat": lat + rng.random_range(-0.002..0.002), "lon": lon + rng.random_range(-0.002..0.002),
                          "address": "load", "description": "load test", "urgency": args.urgency});
        let url = format!("{}/api/v1/orders", bases[i as usize % bases.len()]);
        let (client, token, created, errors) = (
            client.clone(),
            admin_token.to_owned(),
            created.clone(),
            errors.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let t0 = Instant::now();
            match client.post(url).bearer_auth(token).json(&body).send().await {
                Ok(r) if r.status().as_u16() == 201 => {
                    let v: Value = r.json().await.unwrap_or_default();
                    let ms = t0.elapsed().as_secs_f64() * 1000.0;
                    created.lock().unwrap().push((
                        v["id"].as_str().unwrap_or_default().to_owned(),
                        t0,
                        ms,
                    ));
                }
                other => {
                    // Say what went wrong, for the first few failures.
                    if errors.fetch_add(1, Ordering::Relaxed) < 3 {
                        match other {
                            Ok(r) => {
                                let status = r.status();
                                eprintln!(
                                    "order failed: {status} {}",
                                    r.text().await.unwrap_or_default()
                                );
                            }
                            Err(e) => eprintln!("order failed: {e}"),
                        }
                    }
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let sent_in = start.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(args.drain_secs)).await;

    // Only orders placed after the warm-up are measured.
    let warm_end = start + Duration::from_secs(u64::from(args.warmup));
    let all_created = created.lock().unwrap().clone();
    let created: Vec<(String, Instant, f64)> = all_created
        .iter()
        .filter(|c| c.1 >= warm_end)
        .cloned()
        .collect();
    let measured: std::collections::HashSet<&str> = created.iter().map(|c| c.0.as_str()).collect();
    println!(
        "\n{} process(es), {} orders at {}/s ({} s measured after {} s warm-up), category {}, urgency {}, batch window {} ms{}, sockets: {}",
        args.procs,
        total,
        args.rate,
        args.seconds,
        args.warmup,
        args.category,
        args.urgency,
        args.batch_window_ms,
        if args.batch_window_ms > 0 && !args.no_adaptive {
            " (adaptive)"
        } else {
            ""
        },
        args.sockets
    );
    println!(
        "orders created: {} in {:.2} s ({:.0}/s), errors: {}; measured: {}",
        all_created.len(),
        sent_in,
        all_created.len() as f64 / sent_in,
        errors.load(Ordering::Relaxed),
        created.len()
    );
    println!("\n| measure (ms) | n | p50 | p90 | p99 | max |\n|---|---|---|---|---|---|");
    summary(
        "POST /orders round trip",
        created.iter().map(|c| c.2).collect(),
    );
    let rows = sqlx::query(
        "SELECT o.id::text, (EXTRACT(EPOCH FROM (MIN(a.offered_at) - o.created_at)) * 1000.0)::float8 AS ms \
         FROM orders o JOIN assignments a ON a.order_id = o.id GROUP BY o.id, o.created_at",
    )
    .fetch_all(&mut *db)
    .await?;
    let written: Vec<f64> = rows
        .iter()
        .filter(|r| measured.contains(r.get::<String, _>(0).as_str()))
        .map(|r| r.get::<f64, _>(1))
        .collect();
    let n_written = written.len();
    summary("create → first offers written (DB)", written);
    if args.sockets {
        let received = received.lock().unwrap().clone();
        let lat: Vec<f64> = created
            .iter()
            .filter_map(|(id, t0, _)| {
                received
                    .get(id)
                    .map(|r| r.0.duration_since(*t0).as_secs_f64() * 1000.0)
            })
            .collect();
        let lost = n_written.saturating_sub(lat.len());
        summary("POST sent → offer received on socket", lat);
        // The same, per second of the run (is the tail spread out or bunched?).
        let last = (args.warmup + args.seconds) as usize;
        let mut by_second: Vec<Vec<f64>> = vec![Vec::new(); last + 1];
        for (id, t0, _) in &all_created {
            if let Some(r) = received.get(id) {
                let sec = (t0.duration_since(start).as_secs() as usize).min(last);
                by_second[sec].push(r.0.duration_since(*t0).as_secs_f64() * 1000.0);
            }
        }
        for (sec, v) in by_second
            .into_iter()
            .enumerate()
            .filter(|(_, v)| !v.is_empty())
        {
            let warm = if sec < args.warmup as usize {
                " (warm-up)"
            } else {
                ""
            };
            summary(&format!("… second {sec}{warm}"), v);
        }
        let stamped = sqlx::query(
            "SELECT id::text, (EXTRACT(EPOCH FROM created_at) * 1000000.0)::int8 FROM orders",
        )
        .fetch_all(&mut *db)
        .await?;
        let from_created: Vec<f64> = stamped
            .iter()
            .filter_map(|r| {
                let id = r.get::<String, _>(0);
                if !measured.contains(id.as_str()) {
                    return None;
                }
                let (_, wall) = received.get(&id)?;
                let micros = wall
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .ok()?
                    .as_micros() as i64;
                Some((micros - r.get::<i64, _>(1)) as f64 / 1000.0)
            })
            .collect();
        summary(
            "created_at (server) → offer received on socket",
            from_created,
        );
        println!(
            "\norders with offers written: {n_written}; offer messages received: {}; orders whose offer never arrived: {lost}",
            offers_seen.load(Ordering::Relaxed)
        );
    } else {
        println!(
            "\norders with offers written: {n_written} of {}",
            created.len()
        );
    }
    let statuses = sqlx::query(
        "SELECT status || ' (wave ' || wave || ')', COUNT(*) FROM orders GROUP BY 1 ORDER BY 1",
    )
    .fetch_all(&mut *db)
    .await?;
    let statuses: Vec<String> = statuses
        .iter()
        .map(|r| format!("{}: {}", r.get::<String, _>(0), r.get::<i64, _>(1)))
        .collect();
    println!("order statuses: {}", statuses.join(", "));
    Ok(())
}
