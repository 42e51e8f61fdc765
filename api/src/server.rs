//! Assembling and starting the HTTP server.
use std::net::{SocketAddr, TcpListener};

use actix_governor::Governor;
use actix_web::middleware::{DefaultHeaders, from_fn};
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use tracing_actix_web::TracingLogger;

use std::sync::Arc;

use crate::auth::{TokenKeys, login_rate_limiter};
use crate::bus::Bus;
use crate::clock::{Clock, SystemClock};
use crate::dispatch::index::Dispatcher;
use crate::extract::JsonLimit;
use crate::settings::Settings;
use crate::state::{AppState, Shared};
use crate::{db, routes};
use secrecy::ExposeSecret;

/// A started server.
pub struct Running {
    /// The address it listens on (useful with port 0).
    pub addr: SocketAddr,
    /// Resolves when the server stops; must be awaited or spawned.
    pub server: actix_web::dev::Server,
    /// The state it serves.
    pub state: AppState,
    /// The background loops (dispatcher, relay, hub, index follower, offer
    /// flush, session watcher); each stops on `state.shutdown`.
    pub tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// Connects to the database, applies migrations and prepares shared state
/// with the system clock.
pub async fn prepare(settings: Settings) -> anyhow::Result<AppState> {
    prepare_with_clock(settings, Arc::new(SystemClock)).await
}

/// Like [`prepare`], with a given clock (tests drive time by hand).
pub async fn prepare_with_clock(
    settings: Settings,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<AppState> {
    settings.validate()?;
    let db = db::connect(
        &settings.database_url,
        settings.database_pool_min,
        settings.database_pool_max,
    )
    .await?;
    db::migrate(&db).await?;
    let tokens = TokenKeys::load(
        &db,
        settings.auth.jwt_secret.as_ref(),
        settings.auth.token_ttl_minutes,
    )
    .await
    .context("loading token keys")?;
    let sealer = crate::auth::Sealer::load(&db, settings.auth.data_key.as_ref())
        .await
        .context("loading the data key")?;
    let vapid = crate::push::Vapid::load(&db)
        .await
        .context("loading the VAPID key")?;
    let dispatcher = Dispatcher::new(&settings.dispatch);
    let indexed = dispatcher
        .reload(&db, &settings.dispatch, clock.now())
        .await
        .map_err(|e| anyhow::anyhow!("loading the volunteer index: {e}"))?;
    tracing::info!(volunteers = indexed, "volunteer index loaded");
    let (shutdown, _) = tokio::sync::watch::channel(false);
    let hub = crate::hub::Hub::new(&settings.redis_prefix);
    let bus = match &settings.redis_url {
        Some(url) => Bus::redis(
            url.expose_secret(),
            &settings.redis_prefix,
            shutdown.subscribe(),
        )?,
        None => Bus::in_process(&settings.redis_prefix),
    };
    let limits = crate::auth::limits::Limits::new(&settings.limits);
    Ok(AppState::new(Shared {
        limits,
        db,
        settings,
        tokens,
        sealer,
        vapid,
        clock,
        dispatcher,
        shutdown,
        bus,
        relay_wake: tokio::sync::Notify::new(),
        relay_lock: tokio::sync::Mutex::new(crate::state::RelayState::default()),
        hub,
        sessions: Arc::default(),
        location_gate: std::sync::Mutex::new(std::collections::HashMap::new()),
    }))
}

/// Builds the server on `listener` (bind to port 0 in tests).
pub fn start(state: AppState, listener: TcpListener) -> anyhow::Result<Running> {
    let addr = listener.local_addr().context("reading the bound address")?;
    crate::metrics::handle();
    let limiter = login_rate_limiter(
        state.settings.auth.login_per_minute,
        state.settings.auth.login_burst,
    )?;
    let json_limit = JsonLimit(state.settings.http.max_json_bytes);
    let body_deadline = crate::extract::BodyDeadline(std::time::Duration::from_secs(
        state.settings.http.body_timeout_secs.max(1),
    ));
    let data = web::Data::new(state.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(json_limit)
            .app_data(body_deadline)
            // Innermost: it keeps and replays the handlers' own answers.
            .wrap(from_fn(crate::idempotency::replay_safe))
            .wrap(from_fn(crate::metrics::track))
            .wrap(from_fn(wake_relay_after_writes))
            .wrap(crate::http_guard::problem_errors())
            .wrap(from_fn(crate::http_guard::security_headers))
            .wrap(TracingLogger::<crate::http_guard::RedactedSpan>::new())
            // gzip for the pages, scripts and JSON (WebSocket upgrades pass through).
            .wrap(actix_web::middleware::Compress::default())
            .wrap(
                DefaultHeaders::new()
                    .add(("X-Content-Type-Options", "nosniff"))
                    .add(("Referrer-Policy", "same-origin"))
                    .add(("X-Frame-Options", "DENY")),
            )
            // Outermost: everything inside answers in the request's language.
            .wrap(from_fn(crate::lang::negotiate))
            // Registered before the /api/v1 scope so that it is matched first.
            .service(
                web::resource("/api/v1/auth/login")
                    .wrap(Governor::new(&limiter))
                    .route(web::post().to(routes::auth::login)),
            )
            // Client credentials are guessed like passwords: the same limit.
            .service(
                web::resource("/api/v1/oauth/token")
                    .wrap(Governor::new(&limiter))
                    .route(web::post().to(routes::clients::token)),
            )
            .configure(routes::configure)
    })
    .workers(match state.settings.http.workers {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        n => n,
    })
    // Headers must arrive within 5 s; bodies have their own deadline (extractors).
    .client_request_timeout(std::time::Duration::from_secs(5))
    .listen(listener)
    .context("listening")?
    .shutdown_timeout(10)
    .run();
    let mut tasks = Vec::new();
    if state.settings.dispatch.background {
        tasks.push(tokio::spawn(Dispatcher::run(
            state.clone(),
            state.shutdown.subscribe(),
        )));
    }
    tasks.push(tokio::spawn(crate::relay::run(
        state.clone(),
        state.shutdown.subscribe(),
    )));
    tasks.push(tokio::spawn(crate::hub::Hub::run(
        state.hub.clone(),
        state.bus.subscribe(),
        state.shutdown.subscribe(),
    )));
    tasks.push(tokio::spawn(crate::location::follow(
        state.clone(),
        state.shutdown.subscribe(),
    )));
    tasks.push(tokio::spawn(crate::sessions::watch(
        state.db.clone(),
        state.sessions.clone(),
        state.shutdown.subscribe(),
    )));
    tasks.push(tokio::spawn(crate::services::privacy::run_retention(
        state.clone(),
        state.shutdown.subscribe(),
    )));
    tasks.push(tokio::spawn(crate::webhooks::run(
        state.clone(),
        state.shutdown.subscribe(),
    )));
    tasks.push(tokio::spawn(crate::services::certificates::run(
        state.clone(),
        state.shutdown.subscribe(),
    )));
    tasks.push(tokio::spawn(crate::notify::run(
        state.clone(),
        state.shutdown.subscribe(),
    )));
    tasks.push(tokio::spawn(crate::location::tell_offers(
        state.clone(),
        state.shutdown.subscribe(),
    )));
    Ok(Running {
        addr,
        server,
        state,
        tasks,
    })
}

/// Binds `bind` and starts.
pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    let bind = settings.bind.clone();
    let state = prepare(settings).await?;
    let listener = TcpListener::bind(&bind).with_context(|| format!("binding {bind}"))?;
    let running = start(state, listener)?;
    tracing::info!(addr = %running.addr, "listening");
    // A plain line for people and scripts (the port may have been 0).
    println!("众队 Zhongdui listening on http://{}/", running.addr);
    let result = running.server.await.context("running the server");
    // The HTTP side has stopped (SIGTERM/SIGINT, after in-flight requests):
    // stop every loop and wait for them (the relay's round, the last flush
    // of offers to the other processes) before the runtime goes away.
    let _ = running.state.shutdown.send(true);
    let all = futures_util::future::join_all(running.tasks);
    if tokio::time::timeout(std::time::Duration::from_secs(10), all)
        .await
        .is_err()
    {
        tracing::warn!("background loops did not stop within 10 s");
    }
    running.state.db.clone().close().await.ok();
    tracing::info!("stopped");
    result
}

/// After any write request, the outbox may hold new pushes: wake the relay.
async fn wake_relay_after_writes(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    let write = req.method() != actix_web::http::Method::GET;
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let res = next.call(req).await?;
    if let Some(s) = state.filter(|_| write && res.status().is_success()) {
        s.relay_wake.notify_one();
    }
    Ok(res)
}
