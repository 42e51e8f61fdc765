//! Test helpers: [`TestApp`] starts the real server on port 0 with a fresh
//! database (a SQLite file in a temporary folder, or a new PostgreSQL
//! database) and offers typed helpers. Logs stay silent unless `TEST_LOG` is set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;

use reqwest::{Method, StatusCode};
use sea_orm::{ConnectionTrait, Database};
use secrecy::SecretString;
use serde_json::Value;
use zhongdui_api::clock::{Clock, ManualClock};
use zhongdui_api::server;
use zhongdui_api::settings::Settings;
use zhongdui_api::state::AppState;

/// Which database a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A fresh database on the PostgreSQL server of `ZD_TEST_POSTGRES_URL`.
    Postgres,
}

/// Latitude of the point the dispatch scenarios are laid out around.
pub const LAT: f64 = 27.56;
/// Longitude of that point.
pub const LON: f64 = 120.56;

/// A point `north_m` metres north and `east_m` metres east of ([`LAT`], [`LON`]).
pub fn at(north_m: f64, east_m: f64) -> (f64, f64) {
    (
        LAT + north_m / 111_195.0,
        LON + east_m / (111_195.0 * LAT.to_radians().cos()),
    )
}

/// The PostgreSQL server used by tests (trust auth on loopback by default).
pub fn postgres_base_url() -> String {
    std::env::var("ZD_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A running server and a client for it.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The HTTP client.
    pub client: reqwest::Client,
    /// The server's state (database handle etc.).
    pub state: AppState,
    /// The backend in use.
    pub backend: Backend,
    /// The server's clock, moved by hand in dispatch tests.
    pub clock: ManualClock,
    handle: actix_web::dev::ServerHandle,
    _dir: Option<tempfile::TempDir>,
    pg_database: Option<String>,
}

/// The usual start of a dispatch test: an admin, a team and its volunteers.
pub struct Scene {
    /// The admin's token.
    pub admin: String,
    /// The team's id.
    pub team: String,
    /// The volunteers' (id, token) pairs, one a position.
    pub vs: Vec<(String, String)>,
}

/// A response read whole.
#[derive(Debug)]
pub struct Reply {
    /// Status.
    pub status: StatusCode,
    /// Content type.
    pub content_type: String,
    /// Body as JSON (Null if it was not JSON).
    pub json: Value,
    /// Body as text.
    pub text: String,
}

impl Reply {
    /// Asserts the status, printing the body when it differs.
    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text
        );
        self
    }

    /// Asserts a problem+json with this status naming `field`.
    #[track_caller]
    pub fn expect_problem(self, status: u16, field: Option<&str>) -> Self {
        let me = self.expect(status);
        assert!(
            me.content_type.starts_with("application/problem+json"),
            "not problem+json: {} {}",
            me.content_type,
            me.text
        );
        assert_eq!(
            me.json["status"].as_u64(),
            Some(u64::from(status)),
            "{}",
            me.text
        );
        // Every problem carries a machine code, and so does each field error,
        // with the message written for a person.
        assert!(
            me.json["code"].as_str().is_some_and(|c| !c.is_empty()),
            "problem without a code: {}",
            me.text
        );
        for e in me.json["errors"].as_array().into_iter().flatten() {
            assert!(
                e["code"].as_str().is_some_and(|c| !c.is_empty())
                    && e["message"].as_str().is_some_and(|m| !m.is_empty()),
                "field error without a code or message: {}",
                me.text
            );
        }
        if let Some(f) = field {
            let named = me.json["field"].as_str() == Some(f)
                || me.json["errors"]
                    .as_array()
                    .is_some_and(|errs| errs.iter().any(|e| e["field"].as_str() == Some(f)));
            assert!(named, "problem does not name field `{f}`: {}", me.text);
        }
        me
    }
}

/// Prepares a server on `settings` with `clock` and starts it on a free port:
/// its state, base URL and handle.
async fn serve(
    settings: Settings,
    clock: &ManualClock,
) -> (AppState, String, actix_web::dev::ServerHandle) {
    let state = server::prepare_with_clock(settings, std::sync::Arc::new(clock.clone()))
        .await
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let running = server::start(state.clone(), listener).unwrap();
    let base = format!("http://{}", running.addr);
    let handle = running.server.handle();
    tokio::spawn(running.server);
    (state, base, handle)
}

impl TestApp {
    /// Starts a server with default settings on `backend`.
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Starts a server after letting `tweak` change the settings.
    pub async fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> TestApp {
        if std::env::var_os("TEST_LOG").is_some() {
            zhongdui_api::telemetry::init(&zhongdui_api::settings::LogSettings {
                format: "text".into(),
                level: "debug".into(),
            });
        }
        let mut settings = Settings::default_settings().unwrap();
        settings.auth.login_burst = 1000;
        settings.auth.login_per_minute = 60_000;
        // Scenarios place many orders and accounts quickly; the abuse limits
        // have their own tests (tests/abuse.rs), which set them.
        settings.limits.register_burst = 10_000;
        settings.limits.orders_burst = 10_000;
        settings.limits.orders_per_address_burst = 10_000;
        settings.limits.staff_orders_burst = 10_000;
        settings.limits.max_open_orders = 0;
        settings.limits.duplicate_window_secs = 0;
        // Stand-in station systems listen on loopback; retries are quick.
        settings.net.allow_private_targets = true;
        settings.webhooks.timeout_ms = 500;
        settings.webhooks.backoff_ms = 200;
        settings.webhooks.lease_secs = 2;
        // Tests drive the dispatcher and the clock by hand.
        settings.dispatch.background = false;
        // Scenarios place orders and then run the batch window out; the
        // adaptive window's own rules are tested with it on
        // (tests/adaptive_window.rs).
        settings.dispatch.adaptive_window = false;
        // Scenarios name who is offered next by distance; rotation by recent
        // offers is tested with it on (tests/rotation.rs).
        settings.dispatch.offer_penalty_m = 0.0;
        // Position reports are rate-limited per volunteer; tests that need it set it.
        settings.dispatch.location_min_interval_ms = 0;
        // Many test servers run at once on one PostgreSQL: open connections on demand.
        settings.database_pool_min = 1;
        let (dir, pg_database, url) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
                (Some(dir), None, url)
            }
            Backend::Postgres => {
                let base = postgres_base_url();
                let admin = Database::connect(&base).await.expect(
                    "PostgreSQL must be running for the tests (see README: .ci/run starts it)",
                );
                let name = format!("zd_t_{}", uuid::Uuid::new_v4().simple());
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .unwrap();
                admin.close().await.unwrap();
                let (prefix, _) = base.rsplit_once('/').unwrap();
                (None, Some(name.clone()), format!("{prefix}/{name}"))
            }
        };
        settings.database_url = SecretString::from(url);
        tweak(&mut settings);
        let clock = ManualClock::new(chrono::Utc::now());
        let (state, base, handle) = serve(settings, &clock).await;
        TestApp {
            base,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            state,
            backend,
            clock,
            handle,
            _dir: dir,
            pg_database,
        }
    }

    /// Stops this server (as a crash or deploy would) and starts a new one on
    /// the same database and clock: nothing in memory survives.
    pub async fn restart(mut self) -> TestApp {
        self.handle.stop(false).await;
        // Its background loops stop too (they hold connections the pool waits for).
        let _ = self.state.shutdown.send(true);
        let settings = self.state.settings.clone();
        let _ = self.state.db.clone().close().await;
        let (state, base, handle) = serve(settings, &self.clock).await;
        TestApp {
            base,
            client: self.client.clone(),
            state,
            backend: self.backend,
            clock: self.clock.clone(),
            handle,
            _dir: self._dir.take(),
            pg_database: self.pg_database.take(),
        }
    }

    /// Another server process on the same database and clock (as a second
    /// api process in production would be); the first one cleans up.
    pub async fn second_process(&self) -> TestApp {
        let (state, base, handle) = serve(self.state.settings.clone(), &self.clock).await;
        TestApp {
            base,
            client: self.client.clone(),
            state,
            backend: self.backend,
            clock: self.clock.clone(),
            handle,
            _dir: None,
            pg_database: None,
        }
    }

    /// Runs one dispatcher pass at the clock's now.
    pub async fn tick(&self) -> zhongdui_api::dispatch::pass::TickReport {
        self.state.dispatcher.tick(&self.state).await.unwrap()
    }

    /// Moves the server's clock forward.
    pub fn advance_secs(&self, secs: i64) {
        self.clock.advance(chrono::Duration::seconds(secs));
    }

    /// Reloads the volunteer index (after writing to the database directly).
    pub async fn reload_index(&self) {
        self.state
            .dispatcher
            .reload(
                &self.state.db,
                &self.state.settings.dispatch,
                self.clock.now(),
            )
            .await
            .unwrap();
    }

    /// Creates a team and `n` volunteers with `skills`, on duty at the given
    /// positions, and returns their (id, token) pairs.
    pub async fn volunteers_at(
        &self,
        admin: &str,
        team: &str,
        skills: &[&str],
        at: &[(f64, f64)],
    ) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (i, (lat, lon)) in at.iter().enumerate() {
            let phone = format!("1{}{:09}", 5 + (self.next_phone() % 5), self.next_phone());
            let certs: serde_json::Map<String, Value> = skills
                .iter()
                .filter(|s| ["first_aid", "fire_safety", "water_rescue"].contains(s))
                .map(|s| ((*s).to_owned(), Value::from("2099-12-31")))
                .collect();
            let v = self
                .post(
                    "/api/v1/volunteers",
                    Some(admin),
                    serde_json::json!({"phone": phone, "display_name": format!("志愿者{i}"), "password": "volunteer-pw",
                                       "team_id": team, "skills": skills, "certificates": certs}),
                )
                .await
                .expect(201);
            let id = v.json["id"].as_str().unwrap().to_owned();
            let token = self.login(&phone, "volunteer-pw").await;
            self.set_duty(&token, true).await.expect(200);
            self.report_position(&token, (*lat, *lon)).await.expect(204);
            out.push((id, token));
        }
        out
    }

    fn next_phone(&self) -> u64 {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(100);
        NEXT.fetch_add(1, Ordering::Relaxed)
    }

    /// Drops the PostgreSQL database (call at the end of a test).
    pub async fn cleanup(self) {
        let Some(name) = self.pg_database.clone() else {
            return;
        };
        let _ = self.state.shutdown.send(true);
        let _ = self.state.db.clone().close().await;
        let admin = Database::connect(&postgres_base_url()).await.unwrap();
        let _ = admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await;
    }

    /// Sends a request; `body` is JSON unless `raw` is given.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        raw: Option<(&str, Vec<u8>)>,
    ) -> Reply {
        let mut req = self
            .client
            .request(method, format!("{}{}", self.base, path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        if let Some((ct, bytes)) = raw {
            req = req.header("content-type", ct).body(bytes);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let content_type = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let text = res.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            content_type,
            json,
            text,
        }
    }

    /// GET.
    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.send(Method::GET, path, token, None, None).await
    }

    /// GET a binary body (200 expected), e.g. a PDF.
    pub async fn get_bytes(&self, path: &str, token: Option<&str>) -> Vec<u8> {
        let mut req = self.client.get(format!("{}{}", self.base, path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status().as_u16(), 200, "GET {path}");
        res.bytes().await.unwrap().to_vec()
    }

    /// POST JSON.
    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.send(Method::POST, path, token, Some(body), None).await
    }

    /// PUT JSON.
    pub async fn put(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.send(Method::PUT, path, token, Some(body), None).await
    }

    /// PATCH JSON.
    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.send(Method::PATCH, path, token, Some(body), None)
            .await
    }

    /// Logs in and returns the token.
    pub async fn login(&self, phone: &str, password: &str) -> String {
        let r = self
            .post(
                "/api/v1/auth/login",
                None,
                serde_json::json!({"phone": phone, "password": password}),
            )
            .await
            .expect(200);
        r.json["token"].as_str().unwrap().to_owned()
    }

    /// Creates an admin account directly and logs in.
    pub async fn admin_token(&self) -> String {
        let phone = zhongdui_domain::Phone::parse("13811112222").unwrap();
        zhongdui_api::services::accounts::create_or_reset_admin(
            &self.state.db,
            &phone,
            "admin-password".into(),
        )
        .await
        .unwrap();
        self.login("13811112222", "admin-password").await
    }

    /// Registers a resident and logs in.
    pub async fn resident_token(&self, phone: &str) -> String {
        self.post(
            "/api/v1/auth/register",
            None,
            serde_json::json!({"phone": phone, "password": "resident-pw", "display_name": "居民"}),
        )
        .await
        .expect(201);
        self.login(phone, "resident-pw").await
    }

    /// Creates a team as `token`'s user and returns its id.
    pub async fn create_team(&self, token: &str, name: &str) -> String {
        let r = self
            .post(
                "/api/v1/teams",
                Some(token),
                serde_json::json!({"name": name, "kind": "community_patrol", "area": "新城片区"}),
            )
            .await
            .expect(201);
        r.json["id"].as_str().unwrap().to_owned()
    }

    /// Imports a roster CSV as `token` and returns the report (200 expected).
    pub async fn import_csv(&self, token: &str, csv: &str) -> Value {
        self.send(
            Method::POST,
            "/api/v1/roster/import",
            Some(token),
            None,
            Some(("text/csv", csv.as_bytes().to_vec())),
        )
        .await
        .expect(200)
        .json
    }

    /// The server's today in China time (UTC+8, computed here, not by the server's code).
    pub fn china_today(&self) -> chrono::NaiveDate {
        self.clock
            .now()
            .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
            .date_naive()
    }

    /// Appoints a coordinator of `team` (password `coord-pass`) and logs in.
    pub async fn coordinator_token(&self, admin: &str, phone: &str, team: &str) -> String {
        self.post(
            "/api/v1/coordinators",
            Some(admin),
            serde_json::json!({"phone": phone, "display_name": "协调员", "password": "coord-pass", "team_ids": [team]}),
        )
        .await
        .expect(201);
        self.login(phone, "coord-pass").await
    }

    /// Logs in the admin and creates team `name` with volunteers with `skills` on duty `at`.
    pub async fn scene(&self, name: &str, skills: &[&str], at: &[(f64, f64)]) -> Scene {
        let admin = self.admin_token().await;
        let team = self.create_team(&admin, name).await;
        let vs = self.volunteers_at(&admin, &team, skills, at).await;
        Scene { admin, team, vs }
    }

    /// Places an order with `body` as `token` (201 expected) and returns it.
    pub async fn new_order(&self, token: &str, body: Value) -> Value {
        self.post("/api/v1/orders", Some(token), body)
            .await
            .expect(201)
            .json
    }

    /// Places an order with `body` as `token` (201 expected) and returns its id.
    pub async fn place_order(&self, token: &str, body: Value) -> String {
        self.new_order(token, body).await["id"]
            .as_str()
            .expect("the new order's id")
            .to_owned()
    }

    /// Reads order `id` as `token`.
    pub async fn order_detail(&self, token: &str, id: &str) -> Reply {
        self.get(&format!("/api/v1/orders/{id}"), Some(token)).await
    }

    /// The open offers `token`'s volunteer holds.
    pub async fn offers_of(&self, token: &str) -> Vec<Value> {
        self.get("/api/v1/me/offers", Some(token))
            .await
            .expect(200)
            .json
            .as_array()
            .expect("a list of offers")
            .clone()
    }

    /// Accepts offer `offer_id` as `token`'s volunteer.
    pub async fn accept_offer(&self, token: &str, offer_id: &str) -> Reply {
        let path = format!("/api/v1/offers/{offer_id}/accept");
        self.send(Method::POST, &path, Some(token), None, None)
            .await
    }

    /// Declines offer `offer_id` as `token`'s volunteer.
    pub async fn decline_offer(&self, token: &str, offer_id: &str) -> Reply {
        let path = format!("/api/v1/offers/{offer_id}/decline");
        self.send(Method::POST, &path, Some(token), None, None)
            .await
    }

    /// Grabs order `order_id` as `token`'s volunteer.
    pub async fn grab(&self, token: &str, order_id: &str) -> Reply {
        self.order_action(token, order_id, "grab", None).await
    }

    /// Checks in at order `order_id` from `pos` (lat, lon).
    pub async fn arrive(&self, token: &str, order_id: &str, pos: (f64, f64)) -> Reply {
        let body = serde_json::json!({"lat": pos.0, "lon": pos.1});
        self.order_action(token, order_id, "arrive", Some(body))
            .await
    }

    /// Reports order `order_id` done, with `note` if given.
    pub async fn complete(&self, token: &str, order_id: &str, note: Option<&str>) -> Reply {
        let body = only_if("note", note);
        self.order_action(token, order_id, "complete", Some(body))
            .await
    }

    /// Confirms order `order_id` with `rating`, and `feedback` if given.
    pub async fn confirm(
        &self,
        token: &str,
        order_id: &str,
        rating: i64,
        feedback: Option<&str>,
    ) -> Reply {
        let mut body = only_if("feedback", feedback);
        body["rating"] = Value::from(rating);
        self.order_action(token, order_id, "confirm", Some(body))
            .await
    }

    /// Cancels order `order_id`, giving `reason` if any.
    pub async fn cancel(&self, token: &str, order_id: &str, reason: Option<&str>) -> Reply {
        let body = only_if("reason", reason);
        self.order_action(token, order_id, "cancel", Some(body))
            .await
    }

    /// POST `/api/v1/orders/{order_id}/{action}` as `token`.
    async fn order_action(
        &self,
        token: &str,
        order_id: &str,
        action: &str,
        body: Option<Value>,
    ) -> Reply {
        let path = format!("/api/v1/orders/{order_id}/{action}");
        self.send(Method::POST, &path, Some(token), body, None)
            .await
    }

    /// Puts `token`'s volunteer on or off duty.
    pub async fn set_duty(&self, token: &str, on_duty: bool) -> Reply {
        let body = serde_json::json!({"on_duty": on_duty});
        self.put("/api/v1/me/duty", Some(token), body).await
    }

    /// Reports `token`'s volunteer at `pos` (lat, lon).
    pub async fn report_position(&self, token: &str, pos: (f64, f64)) -> Reply {
        let body = serde_json::json!({"lat": pos.0, "lon": pos.1});
        self.put("/api/v1/me/location", Some(token), body).await
    }

    /// Counts rows of a table.
    pub async fn count(&self, table: &str) -> i64 {
        let backend = self.state.db.get_database_backend();
        let row = self
            .state
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                backend,
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<i64>("", "n").unwrap()
    }
}

/// `{key: value}`, or `{}` without a value.
fn only_if(key: &str, value: Option<&str>) -> Value {
    let mut body = serde_json::json!({});
    if let Some(v) = value {
        body[key] = Value::from(v);
    }
    body
}

/// Haversine metres between two (lat, lon) points, written here (not the
/// server's code) for checking what the server computed.
pub fn distance_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, lo1, la2, lo2) = (
        a.0.to_radians(),
        a.1.to_radians(),
        b.0.to_radians(),
        b.1.to_radians(),
    );
    let h = ((la2 - la1) / 2.0).sin().powi(2)
        + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    2.0 * 6_371_008.8 * h.sqrt().asin()
}

/// Runs an async scenario `fn(TestApp)` once on SQLite and once on PostgreSQL:
/// `both_backends!(name, scenario);` makes `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $scenario:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = $crate::TestApp::spawn($crate::Backend::Sqlite).await;
                super::$scenario(&app).await;
                app.cleanup().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let app = $crate::TestApp::spawn($crate::Backend::Postgres).await;
                super::$scenario(&app).await;
                app.cleanup().await;
            }
        }
    };
}

/// [`both_backends!`] with the settings changed by `tweak` first.
#[macro_export]
macro_rules! both_backends_with {
    ($name:ident, $scenario:ident, $tweak:expr) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = $crate::TestApp::spawn_with($crate::Backend::Sqlite, $tweak).await;
                super::$scenario(&app).await;
                app.cleanup().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let app = $crate::TestApp::spawn_with($crate::Backend::Postgres, $tweak).await;
                super::$scenario(&app).await;
                app.cleanup().await;
            }
        }
    };
}

/// A WebSocket client of the gateway.
pub struct WsClient {
    stream: tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
}

impl TestApp {
    /// Opens `/api/v1/ws` as `token` (Authorization header), resuming after `last`.
    pub async fn ws(&self, token: &str, last: Option<i64>) -> WsClient {
        ws_connect(&self.base, token, last).await
    }
}

/// Opens `/api/v1/ws` on a server at `base` (`http://host:port`).
pub async fn ws_connect(base: &str, token: &str, last: Option<i64>) -> WsClient {
    let query = last
        .map(|l| format!("last_event_id={l}"))
        .unwrap_or_default();
    ws_connect_query(base, token, &query).await
}

/// Opens `/api/v1/ws?{query}` on a server at `base`.
pub async fn ws_connect_query(base: &str, token: &str, query: &str) -> WsClient {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut url = format!("{}/api/v1/ws", base.replacen("http", "ws", 1));
    if !query.is_empty() {
        url.push('?');
        url.push_str(query);
    }
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert("Authorization", format!("Bearer {token}").parse().unwrap());
    let (stream, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    let mut client = WsClient { stream };
    let hello = client
        .next(std::time::Duration::from_secs(5))
        .await
        .expect("hello");
    assert_eq!(hello["type"], "hello");
    client
}

impl WsClient {
    /// The next JSON message, or None after `wait`.
    pub async fn next(&mut self, wait: std::time::Duration) -> Option<Value> {
        use futures_util::StreamExt;
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .ok()??
                .ok()?;
            if let tokio_tungstenite::tungstenite::Message::Text(t) = msg {
                return serde_json::from_str(t.as_str()).ok();
            }
        }
    }

    /// The next message of `kind`, skipping others, or None after `wait`.
    pub async fn next_of(&mut self, kind: &str, wait: std::time::Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let m = self.next(left).await?;
            if m["type"] == kind {
                return Some(m);
            }
        }
    }

    /// Sends a JSON message.
    pub async fn send(&mut self, v: Value) {
        use futures_util::SinkExt;
        self.stream
            .send(tokio_tungstenite::tungstenite::Message::text(v.to_string()))
            .await
            .unwrap();
    }

    /// Closes the connection.
    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
    }
}
