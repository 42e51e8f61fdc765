//! Live pushes over the WebSocket gateway: offers to volunteers, status and
//! progress to residents, the ops feed to coordinators; resume after a drop;
//! pushes survive a Redis outage.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::json;
use zhongdui_tests::{Backend, Scene, TestApp, both_backends};

const LAT: f64 = 27.56;
const LON: f64 = 120.56;
const WAIT: Duration = Duration::from_secs(5);

async fn place(app: &TestApp, token: &str, urgency: &str) -> String {
    app.place_order(
        token,
        json!({"category": "patrol", "lat": LAT, "lon": LON, "address": "新城大道", "description": "请帮忙", "urgency": urgency}),
    )
    .await
}

async fn live_offers_and_resume(app: &TestApp) {
    let Scene { admin, vs, .. } = app
        .scene("新城平安巡防一队", &["patrol"], &[(LAT + 0.002, LON)])
        .await;
    let (vid, vtoken) = &vs[0];
    let resident = app.resident_token("13500000011").await;

    // Without a token: 401.
    let anon = reqwest::get(format!("{}/api/v1/ws", app.base))
        .await
        .unwrap();
    assert_eq!(anon.status(), 401);

    let mut volunteer = app.ws(vtoken, None).await;
    let mut ops = app.ws(&admin, None).await;
    let mut home = app.ws(&resident, None).await;

    // An order: the coordinators see it, the volunteer gets the offer live.
    let first = place(app, &resident, "low").await;
    let created = ops.next_of("order_created", WAIT).await.expect("ops feed");
    assert_eq!(created["order_id"], first.as_str());
    app.advance_secs(1);
    app.tick().await;
    let offer = volunteer
        .next_of("offer", WAIT)
        .await
        .expect("offer pushed");
    assert_eq!(offer["order_id"], first.as_str());
    assert!(offer["deadline"].is_string() && offer["distance_m"].as_f64().unwrap() > 100.0);
    let offer_event = offer["id"].as_i64().expect("an event id");

    // Accepting: the resident sees who is coming, then their progress.
    let offer_id = offer["offer_id"].as_str().unwrap();
    app.accept_offer(vtoken, offer_id).await.expect(200);
    let status = home
        .next_of("order_status", WAIT)
        .await
        .expect("status pushed");
    assert_eq!(status["status"], "assigned");
    volunteer
        .send(json!({"type": "location", "lat": LAT + 0.001, "lon": LON}))
        .await;
    let pos = home
        .next_of("volunteer_position", WAIT)
        .await
        .expect("progress pushed");
    assert_eq!(pos["volunteer_id"], vid.as_str());
    assert!(
        (pos["distance_m"].as_f64().unwrap() - 111.0).abs() < 5.0,
        "{pos}"
    );

    // The phone loses signal; meanwhile the order is cancelled and another offered.
    volunteer.close().await;
    app.cancel(&admin, &first, Some("误报")).await.expect(200);
    let second = place(app, &resident, "low").await;
    app.advance_secs(1);
    app.tick().await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Back online with the last event id: nothing missed, nothing twice.
    let mut again = app.ws(vtoken, Some(offer_event)).await;
    let cancelled = again
        .next_of("order_cancelled", WAIT)
        .await
        .expect("missed cancellation replayed");
    assert_eq!(cancelled["order_id"], first.as_str());
    let missed = again
        .next_of("offer", WAIT)
        .await
        .expect("missed offer replayed");
    assert_eq!(missed["order_id"], second.as_str());
    assert!(missed["id"].as_i64().unwrap() > offer_event);
    assert!(
        again
            .next_of("offer", Duration::from_millis(500))
            .await
            .is_none(),
        "no duplicates"
    );

    // Duty changes reach the coordinators' feed (their live map), not residents.
    app.set_duty(vtoken, false).await.expect(200);
    let duty = ops
        .next_of("volunteer_duty", WAIT)
        .await
        .expect("duty change on the ops feed");
    assert_eq!(duty["volunteer_id"], vid.as_str());
    assert_eq!(duty["on_duty"], false);
    assert!(
        home.next_of("volunteer_duty", Duration::from_millis(300))
            .await
            .is_none()
    );
    app.set_duty(vtoken, true).await.expect(200);

    // Someone else's socket never sees another volunteer's offers.
    let other = app.resident_token("13500000012").await;
    let mut stranger = app.ws(&other, None).await;
    let third = place(app, &resident, "low").await;
    app.advance_secs(40);
    app.tick().await;
    assert!(
        stranger.next(Duration::from_millis(500)).await.is_none(),
        "a stranger hears nothing"
    );
    let _ = third;
}

both_backends!(websocket_pushes, live_offers_and_resume);

/// Row ids are taken when a transaction inserts, not when it commits: a push
/// with a lower id can commit after one with a higher id was published. The
/// event id clients see is the publication number, so neither the live
/// session (which drops ids it has passed) nor a resume skips the late one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_that_commits_late_is_neither_dropped_nor_skipped_on_resume() {
    use sea_orm::TransactionTrait;
    use zhongdui_api::messages::Push;
    use zhongdui_api::services::orders::{Channels, push};

    let app = TestApp::spawn(Backend::Postgres).await;
    let Scene { vs, .. } = app
        .scene("云岩应急救援二队", &["patrol"], &[(LAT, LON)])
        .await;
    let (vid, vtoken) = &vs[0];
    let channel = Channels(&app.state.settings.redis_prefix).volunteer(vid.parse().unwrap());
    let mut live = app.ws(vtoken, None).await;

    let now = chrono::Utc::now();
    let slow = app.state.db.begin().await.unwrap();
    // Two pushes of one kind told apart by their code.
    let assigned = |code: &str| Push::Assigned {
        order_id: uuid::Uuid::nil(),
        code: code.to_owned(),
    };
    push(&slow, channel.clone(), assigned("late"), now)
        .await
        .unwrap();
    let quick = app.state.db.begin().await.unwrap();
    push(&quick, channel.clone(), assigned("early"), now)
        .await
        .unwrap();
    quick.commit().await.unwrap();
    zhongdui_api::relay::relay_once(&app.state).await.unwrap();
    let early = live.next_of("assigned", WAIT).await.expect("published");
    assert_eq!(early["code"], "early");
    slow.commit().await.unwrap();
    zhongdui_api::relay::relay_once(&app.state).await.unwrap();
    let late = live
        .next_of("assigned", WAIT)
        .await
        .expect("the late commit reaches the live session");
    assert_eq!(late["code"], "late");
    let (e, l) = (early["id"].as_i64().unwrap(), late["id"].as_i64().unwrap());
    assert!(l > e, "event ids follow publication: {e} then {l}");

    // A phone that saw only the early one resumes after it: the late one comes.
    live.close().await;
    let mut again = app.ws(vtoken, Some(e)).await;
    let replayed = again
        .next_of("assigned", WAIT)
        .await
        .expect("replayed on resume");
    assert_eq!(replayed["code"], "late");
    assert_eq!(replayed["id"], late["id"]);
    app.cleanup().await;
}

/// A Redis server of our own on a free port, so a test can stop and start it.
struct PrivateRedis {
    child: Option<std::process::Child>,
}

impl PrivateRedis {
    fn start(port: u16) -> Self {
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server must be installed");
        for _ in 0..50 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        PrivateRedis { child: Some(child) }
    }

    /// SIGSTOP or SIGCONT: a Redis that hangs (and later wakes up and runs
    /// everything its clients had queued).
    fn signal(&self, sig: &str) {
        if let Some(c) = &self.child {
            let ok = std::process::Command::new("kill")
                .args([sig, &c.id().to_string()])
                .status()
                .unwrap()
                .success();
            assert!(ok, "kill {sig}");
        }
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_survive_a_redis_outage() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut redis = PrivateRedis::start(port);
    let app = TestApp::spawn_with(Backend::Postgres, |s| {
        s.redis_url = Some(secrecy::SecretString::from(format!(
            "redis://127.0.0.1:{port}"
        )));
        s.redis_prefix = format!("zdt{port}");
    })
    .await;
    assert!(app.state.bus.is_redis());
    let Scene { admin, vs, .. } = app
        .scene("云岩应急救援一队", &["patrol"], &[(LAT, LON + 0.003)])
        .await;
    // Wait for the bus to connect, then listen.
    for _ in 0..50 {
        if app.state.bus.redis_conn().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut volunteer = app.ws(&vs[0].1, None).await;

    // Redis goes away. Orders and offers still commit.
    redis.stop();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let id = place(&app, &admin, "low").await;
    app.advance_secs(1);
    let r = app.tick().await;
    assert_eq!(r.offers, 1, "the offer is written without Redis");
    assert!(
        volunteer
            .next_of("offer", Duration::from_millis(800))
            .await
            .is_none(),
        "nothing can be pushed yet"
    );
    let waiting = app.count("outbox WHERE published_at IS NULL").await;
    assert!(waiting >= 2, "pushes wait in the outbox: {waiting}");

    // Redis comes back: the pushes arrive.
    let _redis = PrivateRedis::start(port);
    let offer = volunteer
        .next_of("offer", Duration::from_secs(15))
        .await
        .expect("the offer arrives after Redis returns");
    assert_eq!(offer["order_id"], id.as_str());
    // And the leaderboard is served from Redis (built from the ledger on first use).
    let board = app
        .get("/api/v1/leaderboard?scope=teams&period=week", Some(&admin))
        .await
        .expect(200);
    assert_eq!(board.json["items"].as_array().unwrap().len(), 0);
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn position_reports_are_rate_limited() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.dispatch.location_min_interval_ms = 1000
    })
    .await;
    let Scene { vs, .. } = app
        .scene("平等骑手志愿一队", &["traffic"], &[(LAT, LON)])
        .await;
    // volunteers_at has just reported a position: the next one within a second is refused.
    app.report_position(&vs[0].1, (LAT, LON))
        .await
        .expect_problem(429, None);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    app.report_position(&vs[0].1, (LAT + 0.01, LON))
        .await
        .expect(204);
    let (lat, _) =
        zhongdui_api::location::indexed_position(&app.state, vs[0].0.parse().unwrap()).unwrap();
    assert!((lat - (LAT + 0.01)).abs() < 1e-9, "the index follows");
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_leaderboards_follow_adjustments() {
    let prefix = format!("zdlb{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.redis_url = Some(secrecy::SecretString::from(
            std::env::var("ZD_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into()),
        ));
        s.redis_prefix = prefix.clone();
    })
    .await;
    for _ in 0..50 {
        if app.state.bus.redis_conn().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        app.state.bus.redis_conn().is_some(),
        "Redis must be running for the tests"
    );
    let Scene { admin, vs, .. } = app
        .scene("白沙助老服务一队", &["elderly_care"], &[(LAT, LON)])
        .await;
    // Building the boards from the (empty) ledger.
    let board = app
        .get(
            "/api/v1/leaderboard?scope=volunteers&period=week",
            Some(&admin),
        )
        .await
        .expect(200);
    assert_eq!(board.json["items"].as_array().unwrap().len(), 0);
    let mut theirs = app.ws(&vs[0].1, None).await;
    app.post(
        "/api/v1/points/adjustments",
        Some(&admin),
        json!({"volunteer_id": vs[0].0, "amount": 15, "reason": "重阳节助老活动"}),
    )
    .await
    .expect(201);
    // The volunteer's page hears of it at once, with the new balance.
    let told = theirs
        .next_of("points_adjusted", WAIT)
        .await
        .expect("points_adjusted on the volunteer's socket");
    assert_eq!(
        (told["amount"].as_i64(), told["balance"].as_i64()),
        (Some(15), Some(15)),
        "{told}"
    );
    assert_eq!(told["reason"], "重阳节助老活动");
    theirs.close().await;
    // The built board follows the ledger without waiting for it to expire.
    let board = app
        .get(
            "/api/v1/leaderboard?scope=volunteers&period=week",
            Some(&admin),
        )
        .await
        .expect(200);
    assert_eq!(board.json["items"][0]["id"], vs[0].0.as_str());
    assert_eq!(board.json["items"][0]["points"], 15);
    let teams = app
        .get("/api/v1/leaderboard?scope=teams&period=all", Some(&admin))
        .await
        .expect(200);
    assert_eq!(teams.json["items"][0]["points"], 15);
    if let Some(mut conn) = app.state.bus.redis_conn() {
        let keys: Vec<String> = redis_keys(&mut conn, &format!("{prefix}:lb:*")).await;
        assert!(!keys.is_empty(), "the boards live in Redis");
        let _: Result<(), _> = redis::AsyncCommands::del(&mut conn, keys).await;
    }
    app.cleanup().await;
}

async fn redis_keys(conn: &mut redis::aio::ConnectionManager, pattern: &str) -> Vec<String> {
    redis::cmd("KEYS")
        .arg(pattern)
        .query_async(conn)
        .await
        .unwrap_or_default()
}

/// A Redis that freezes (SIGSTOP) for several seconds under load, then
/// wakes up: every push reaches each socket exactly once, because a row
/// keeps its publication number through the failed rounds and the copies
/// Redis had queued carry the same id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_redis_does_not_duplicate_pushes() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let redis = PrivateRedis::start(port);
    let app = TestApp::spawn_with(Backend::Postgres, |s| {
        s.redis_url = Some(secrecy::SecretString::from(format!(
            "redis://127.0.0.1:{port}"
        )));
        s.redis_prefix = format!("zdt{port}");
    })
    .await;
    let spots: Vec<(f64, f64)> = (0..6).map(|i| (LAT + 0.01 * f64::from(i), LON)).collect();
    let Scene { admin, vs, .. } = app.scene("云岩应急救援三队", &["patrol"], &spots).await;
    for _ in 0..50 {
        if app.state.bus.redis_conn().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut ops = app.ws(&admin, None).await;
    let mut sockets = Vec::new();
    for (_, token) in &vs {
        sockets.push(app.ws(token, None).await);
    }

    // Redis hangs while orders keep coming, one near each volunteer.
    redis.signal("-STOP");
    let mut ids = Vec::new();
    for (i, p) in spots.iter().enumerate() {
        let id = app
            .place_order(
                &admin,
                json!({"category": "patrol", "lat": p.0, "lon": p.1, "address": format!("新城大道 {i} 号"),
                       "description": "请帮忙", "urgency": "low"}),
            )
            .await;
        ids.push(id);
        app.advance_secs(2);
        app.tick().await;
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    // Several relay rounds time out meanwhile.
    tokio::time::sleep(Duration::from_secs(5)).await;
    redis.signal("-CONT");

    // Everything arrives, once.
    let mut created = std::collections::HashMap::<String, Vec<i64>>::new();
    while let Some(m) = ops.next(Duration::from_secs(8)).await {
        if m["type"] == "order_created" {
            created
                .entry(m["order_id"].as_str().unwrap().to_owned())
                .or_default()
                .push(m["id"].as_i64().unwrap());
        }
    }
    for id in &ids {
        assert_eq!(
            created.get(id).map(Vec::len),
            Some(1),
            "order_created for {id}: {created:?}"
        );
    }
    for (i, s) in sockets.iter_mut().enumerate() {
        let mut offers = Vec::new();
        while let Some(m) = s.next(Duration::from_secs(1)).await {
            if m["type"] == "offer" {
                offers.push(m["id"].as_i64().unwrap());
            }
        }
        assert_eq!(offers.len(), 1, "volunteer {i} got offers {offers:?}");
    }
    app.cleanup().await;
    drop(redis);
}

/// A position report reads the volunteer's orders only when the index says
/// they have a task in hand. A task taken on another process reaches this
/// one's index over the bus, so the resident watching through this process
/// still sees the volunteer coming.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_taken_on_another_process_still_shows_the_volunteer_coming() {
    let prefix = format!("zdt{}", uuid::Uuid::new_v4().simple());
    let app = TestApp::spawn_with(Backend::Postgres, |s| {
        s.redis_url = Some(secrecy::SecretString::from(
            std::env::var("ZD_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into()),
        ));
        s.redis_prefix = prefix.clone();
    })
    .await;
    let other = app.second_process().await;
    for a in [&app, &other] {
        for _ in 0..50 {
            if a.state.bus.redis_conn().is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let Scene { admin, vs, .. } = app
        .scene("云岩应急救援一队", &["patrol"], &[(LAT, LON + 0.003)])
        .await;
    let (vid, vtoken) = (&vs[0].0, &vs[0].1);
    let resident = app.resident_token("13500000009").await;
    let mut home = app.ws(&resident, None).await;
    let id = place(&app, &resident, "low").await;
    app.advance_secs(1);
    app.tick().await;
    let offers = other.offers_of(vtoken).await;
    let offer = offers
        .iter()
        .find(|o| o["order_id"] == id.as_str())
        .expect("the offer");
    other
        .accept_offer(vtoken, offer["id"].as_str().unwrap())
        .await
        .expect(200);
    // Reports through the first process until the bus hop has landed.
    let mut seen = None;
    for i in 0..20 {
        let pos = (LAT + 0.0001 * f64::from(i), LON + 0.003);
        app.report_position(vtoken, pos).await.expect(204);
        if let Some(p) = home
            .next_of("volunteer_position", Duration::from_millis(300))
            .await
        {
            seen = Some(p);
            break;
        }
    }
    let p = seen.expect("the resident sees the volunteer coming");
    assert_eq!(p["volunteer_id"], vid.as_str());
    assert_eq!(p["order_id"], id.as_str());
    let _ = admin;
    app.cleanup().await;
}
