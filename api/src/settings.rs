//! Typed settings: built-in defaults, then an optional TOML file, then the
//! environment. Secrets are wrapped so they never print.
use std::path::PathBuf;

use anyhow::Context;
use secrecy::SecretString;
use serde::Deserialize;

/// Everything the server can be told.
#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// Address to listen on, e.g. `127.0.0.1:8080`.
    pub bind: String,
    /// `sqlite://…` or `postgres://…`. Default: `zhongdui.db` in the working directory.
    pub database_url: SecretString,
    /// PostgreSQL connections each process keeps open even when idle, so the
    /// first burst after a start does not wait for new connections (SQLite: 1).
    pub database_pool_min: u32,
    /// Most PostgreSQL connections each process opens (at least 2). Fewer
    /// than requests in flight queue in the pool rather than in the server.
    pub database_pool_max: u32,
    /// `redis://…`; unset means the in-process bus.
    pub redis_url: Option<SecretString>,
    /// Prefix of every Redis key and channel.
    pub redis_prefix: String,
    /// Logging.
    pub log: LogSettings,
    /// Accounts and tokens.
    pub auth: AuthSettings,
    /// HTTP limits.
    pub http: HttpSettings,
    /// Web front-end.
    pub web: WebSettings,
    /// Dispatch rules.
    pub dispatch: DispatchSettings,
    /// Points rules.
    pub points: PointsSettings,
    /// Abuse limits.
    pub limits: LimitSettings,
    /// Personal data.
    pub privacy: PrivacySettings,
    /// Webhooks to station systems.
    pub webhooks: WebhookSettings,
    /// Outbound calls.
    pub net: NetSettings,
    /// Replay-safe actions (`Idempotency-Key`).
    pub idempotency: IdempotencySettings,
    /// Web Push to volunteers with no live socket.
    pub push: PushSettings,
    /// Text messages, the last resort.
    pub sms: SmsSettings,
    /// Service hours and their certificates.
    pub hours: HoursSettings,
}

/// Service hours and the 志愿服务证明.
#[derive(Debug, Clone, Deserialize)]
pub struct HoursSettings {
    /// The organisation that issues certificates (printed on them).
    pub issuer: String,
    /// A TrueType/OpenType font with Chinese glyphs for the certificate
    /// (a `.ttf`, `.otf` or `.ttc`); empty: the first found of Debian's
    /// `fonts-wqy-microhei` and `fonts-noto-cjk`.
    pub font_path: String,
}

/// Web Push (RFC 8030/8291/8292).
#[derive(Debug, Clone, Deserialize)]
pub struct PushSettings {
    /// The VAPID contact push services may write to about this server:
    /// a `mailto:` or `https:` URI (RFC 8292 `sub`).
    pub subject: String,
    /// How long one request to a push service may take.
    pub timeout_ms: u64,
    /// How long a notification other than an offer (assignment,
    /// cancellation, broadcast) is worth delivering.
    pub keep_hours: i64,
}

/// Text messages to volunteers no socket or push reaches.
#[derive(Debug, Clone, Deserialize)]
pub struct SmsSettings {
    /// `off` (the default), `log` (written to the log with the phone
    /// masked: development) or `aliyun` (Alibaba Cloud SMS `SendSms`).
    pub channel: String,
    /// An urgent or critical offer pushed but not shown on the device
    /// within this many seconds goes by text too.
    pub after_push_secs: i64,
    /// At most this many texts per volunteer per rolling hour (more are
    /// recorded as `limited`, not sent).
    pub per_volunteer_per_hour: u32,
    /// How long one request to the provider may take.
    pub timeout_ms: u64,
    /// Alibaba Cloud SMS.
    pub aliyun: AliyunSmsSettings,
}

/// Alibaba Cloud SMS (`dysmsapi`, API version 2017-05-25).
#[derive(Debug, Clone, Deserialize)]
pub struct AliyunSmsSettings {
    /// The API endpoint.
    pub endpoint: String,
    /// The AccessKey id.
    pub access_key_id: String,
    /// The AccessKey secret.
    pub access_key_secret: Option<SecretString>,
    /// The approved signature (签名名称).
    pub sign_name: String,
    /// The approved template (模板CODE), with the variables `code`,
    /// `category`, `distance` and `link`.
    pub template_code: String,
    /// The region id.
    pub region_id: String,
}

/// Replay-safe actions.
#[derive(Debug, Clone, Deserialize)]
pub struct IdempotencySettings {
    /// How long a key's answer is kept for replays.
    pub ttl_hours: i64,
    /// A request still unanswered after this long counts as lost (its
    /// process died): the key may be used again.
    pub pending_secs: i64,
}

/// Webhooks to station systems.
#[derive(Debug, Clone, Deserialize)]
pub struct WebhookSettings {
    /// How long one delivery attempt may take.
    pub timeout_ms: u64,
    /// The first retry waits this long; each further one twice as long.
    pub backoff_ms: u64,
    /// The longest wait between two attempts.
    pub max_backoff_secs: u64,
    /// A message not delivered this long after it was queued is given up.
    pub retry_for_hours: i64,
    /// How long the delivering process's lease lasts without renewal (a
    /// killed process's messages wait at most this long for the next).
    pub lease_secs: i64,
}

/// Outbound calls (webhooks).
#[derive(Debug, Clone, Deserialize)]
pub struct NetSettings {
    /// Allow loopback, private and link-local targets (tests; off in
    /// production, where they would let a client reach internal services).
    pub allow_private_targets: bool,
}

/// Personal data (个人信息保护法).
#[derive(Debug, Clone, Deserialize)]
pub struct PrivacySettings {
    /// Closed orders older than this many days lose their free text,
    /// contact phone and exact position (0: never).
    pub retention_days: i64,
}

/// Abuse limits. Rates are a GCRA quota: `burst` at once, refilled at
/// `per_hour` (0 turns a rate off). They are kept per process, like the
/// login limit; the open-order cap and the duplicate check are read from the
/// database and hold across processes.
#[derive(Debug, Clone, Deserialize)]
pub struct LimitSettings {
    /// Orders a resident account may place at once.
    pub orders_burst: u32,
    /// Orders a resident account may place per hour.
    pub orders_per_hour: u32,
    /// Orders from one client address at once (any account).
    pub orders_per_address_burst: u32,
    /// Orders from one client address per hour.
    pub orders_per_address_per_hour: u32,
    /// Orders a coordinator or admin may place at once.
    pub staff_orders_burst: u32,
    /// Orders a coordinator or admin may place per hour.
    pub staff_orders_per_hour: u32,
    /// Open (not yet completed or cancelled) orders a resident may have (0: no cap).
    pub max_open_orders: u32,
    /// A resident's new order of the same category within this distance…
    pub duplicate_radius_m: f64,
    /// …and this many seconds of an open one is a duplicate (409; 0: no check).
    pub duplicate_window_secs: i64,
    /// Registrations from one client address at once.
    pub register_burst: u32,
    /// Registrations from one client address per hour.
    pub register_per_hour: u32,
    /// Messages one author may write to order threads at once.
    pub messages_burst: u32,
    /// Messages one author may write to order threads per hour.
    pub messages_per_hour: u32,
    /// Broadcasts one coordinator may send at once.
    pub broadcasts_burst: u32,
    /// Broadcasts one coordinator may send per hour.
    pub broadcasts_per_hour: u32,
    /// Certificate verifications from one client address at once.
    pub verify_burst: u32,
    /// Certificate verifications from one client address per hour.
    pub verify_per_hour: u32,
    /// Certificates (PDF) one account may have issued at once.
    pub certificates_burst: u32,
    /// Certificates (PDF) one account may have issued per hour.
    pub certificates_per_hour: u32,
}

/// Dispatch rules (DESIGN.md's defaults).
#[derive(Debug, Clone, Deserialize)]
pub struct DispatchSettings {
    /// How long a volunteer has to answer an offer.
    pub offer_timeout_secs: i64,
    /// Radius of each wave, widening (metres). From the environment either
    /// `1000,3000,10000` or `[1000,3000,10000]`.
    #[serde(deserialize_with = "number_list")]
    pub radii_m: Vec<f64>,
    /// Offers per wave as a multiple of the headcount, by urgency.
    pub wave_factor: UrgencyFactors,
    /// A position older than this is stale.
    pub max_location_age_secs: i64,
    /// Candidates this close in distance count as equal; the longest idle wins.
    pub fairness_epsilon_m: f64,
    /// A volunteer on an order is expected on scene this many seconds after
    /// taking it, plus the distance at `arrival_speed_mps`; 0 turns no-show
    /// alerts and replacements off.
    pub arrival_slack_secs: i64,
    /// The speed the expected arrival assumes (m/s; 4 ≈ a bicycle in town).
    pub arrival_speed_mps: f64,
    /// Reliability (acceptance, withdrawals, no-shows) is counted over this
    /// many days and breaks ties among near-equal candidates (0: off).
    pub reliability_days: i64,
    /// At most this many offers per volunteer per hour (0: no cap).
    pub max_offers_per_hour: u32,
    /// Rotation: each offer a volunteer had in the last hour counts as this
    /// many metres farther when candidates are ranked, so offers pass to
    /// someone nearly as near instead of paging the nearest again (0: off;
    /// the fairness simulation in the README chose 60).
    pub offer_penalty_m: f64,
    /// The rotation's extra distance stops at this many metres.
    pub offer_penalty_max_m: f64,
    /// New orders arriving within this window are assigned together.
    pub batch_window_ms: u64,
    /// The window adapts (on by default): urgent and critical orders and an
    /// order no other order in dispatch could compete with (none within
    /// twice the first radius) get their first wave at once; only the rest
    /// wait out the window to be assigned jointly. Off: every order waits.
    pub adaptive_window: bool,
    /// Largest group of neighbouring orders assigned jointly (a larger one
    /// is cut into chunks).
    pub batch_max_orders: usize,
    /// Check-in must be within this distance of the order.
    pub arrive_radius_m: f64,
    /// Completed orders nobody confirms close after this long.
    pub auto_close_hours: i64,
    /// A station slip for a team is offered to that team alone for this long.
    pub team_first_secs: i64,
    /// How often the dispatcher looks for due work.
    pub tick_ms: u64,
    /// Run the dispatcher loop in the background (tests drive it by hand).
    pub background: bool,
    /// A volunteer may report a position at most this often.
    pub location_min_interval_ms: u64,
    /// Fault injection for tests: a reload waits this long between reading
    /// the database and swapping the index in (0 in production).
    pub reload_pause_ms: u64,
    /// A volunteer may grab an open task at most this far away (metres).
    pub grab_radius_m: f64,
    /// A check-in whose position implies moving faster than this since the
    /// last report (metres per second) is refused as implausible.
    pub max_speed_mps: f64,
}

/// A list of numbers: a sequence (TOML) or a string `1,2,3` / `[1,2,3]` (environment).
fn number_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        List(Vec<f64>),
        Text(String),
        One(f64),
    }
    match Raw::deserialize(d)? {
        Raw::List(v) => Ok(v),
        Raw::One(x) => Ok(vec![x]),
        Raw::Text(t) => t
            .trim()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| {
                p.parse::<f64>().map_err(|_| {
                    serde::de::Error::custom(format!(
                        "`{p}` is not a number (write e.g. 1000,3000,10000)"
                    ))
                })
            })
            .collect(),
    }
}

/// Wave-size multipliers by urgency.
#[derive(Debug, Clone, Deserialize)]
pub struct UrgencyFactors {
    /// low
    pub low: u32,
    /// normal
    pub normal: u32,
    /// urgent
    pub urgent: u32,
    /// critical
    pub critical: u32,
}

/// The points rule table.
#[derive(Debug, Clone, Deserialize)]
pub struct PointsSettings {
    /// Base points by difficulty tier 1, 2, 3.
    pub tier_base: Vec<i32>,
    /// Points per started half hour on task (arrival to completion).
    pub per_half_hour: i32,
    /// Cap on the time component.
    pub max_time_points: i32,
    /// Bonus for a 5-star rating.
    pub rating5_bonus: i32,
    /// Bonus for a 4-star rating.
    pub rating4_bonus: i32,
}

/// Logging settings.
#[derive(Debug, Clone, Deserialize)]
pub struct LogSettings {
    /// `text` (default) or `json`.
    pub format: String,
    /// A tracing filter such as `info` or `zhongdui_api=debug,info`.
    pub level: String,
}

/// Account and token settings.
#[derive(Debug, Clone, Deserialize)]
pub struct AuthSettings {
    /// HMAC key for tokens. Unset: generated once and kept in the database,
    /// so every api process on that database shares it.
    pub jwt_secret: Option<SecretString>,
    /// How long a login token is valid.
    pub token_ttl_minutes: i64,
    /// Key material for sealing stored secrets (webhook secrets). Unset:
    /// generated once and kept in the database, like the token key.
    pub data_key: Option<SecretString>,
    /// Login attempts allowed per client address per minute (sustained rate).
    pub login_per_minute: u32,
    /// Login attempts a client address may make in a burst.
    pub login_burst: u32,
}

/// HTTP limits.
#[derive(Debug, Clone, Deserialize)]
pub struct HttpSettings {
    /// Largest JSON body accepted, in bytes.
    pub max_json_bytes: usize,
    /// Largest CSV upload accepted, in bytes.
    pub max_csv_bytes: usize,
    /// HTTP worker threads (0: one per CPU). Several processes on one
    /// machine do better with fewer each.
    pub workers: usize,
    /// Served over TLS (directly or behind a TLS proxy): send HSTS.
    pub https: bool,
    /// A request body must arrive within this many seconds (408 after).
    pub body_timeout_secs: u64,
}

/// Web front-end settings.
#[derive(Debug, Clone, Deserialize)]
pub struct WebSettings {
    /// Map tile URL template for the maps (`{z}/{x}/{y}`); markers still
    /// show when tiles cannot be reached.
    pub tile_url: String,
    /// Attribution shown under the map tiles.
    pub tile_attribution: String,
    /// The coordinates `tile_url`'s tiles are drawn in: `wgs84` (OpenStreetMap,
    /// Tianditu) or `gcj02` (AMap, Tencent: the pages shift what they draw,
    /// stored positions stay WGS-84).
    pub tile_crs: String,
    /// What `{s}` in `tile_url` runs through (one character each).
    pub tile_subdomains: String,
    /// A named tile provider instead of `tile_url`: `tianditu` (WGS-84,
    /// needs `tile_key`), `amap` or `tencent` (GCJ-02); empty: `tile_url`.
    pub tile_preset: String,
    /// The provider's key (Tianditu's `tk`).
    pub tile_key: String,
    /// Where the maps open before anything is on them, `[lat, lon]`.
    pub map_center: [f64; 2],
    /// The address people reach the pages at (links in text messages).
    pub public_url: String,
}

/// The map tiles the pages draw: from a preset or `web.tile_url`.
#[derive(Debug, Clone, PartialEq)]
pub struct TileSource {
    /// URL template (`{s}`, `{z}`, `{x}`, `{y}`, `{-y}`).
    pub url: String,
    /// A second layer drawn over it (Tianditu's labels), if any.
    pub overlay_url: Option<String>,
    /// Attribution.
    pub attribution: String,
    /// `wgs84` or `gcj02`.
    pub crs: String,
    /// What `{s}` runs through.
    pub subdomains: String,
}

/// The presets `web.tile_preset` names.
pub const TILE_PRESETS: [&str; 4] = ["osm", "tianditu", "amap", "tencent"];

impl WebSettings {
    /// The tiles the pages draw.
    pub fn tiles(&self) -> TileSource {
        let tianditu = |layer: &str| {
            format!(
                "https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0\
                 &LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}\
                 &TILEROW={{y}}&TILECOL={{x}}&tk={}",
                self.tile_key
            )
        };
        let preset = |url: String,
                      overlay: Option<String>,
                      attribution: &str,
                      crs: &str,
                      subdomains: &str| TileSource {
            url,
            overlay_url: overlay,
            attribution: attribution.to_owned(),
            crs: crs.to_owned(),
            subdomains: subdomains.to_owned(),
        };
        match self.tile_preset.as_str() {
            "osm" => preset(
                "https://tile.openstreetmap.org/{z}/{x}/{y}.png".to_owned(),
                None,
                "© OpenStreetMap contributors",
                "wgs84",
                "abc",
            ),
            "tianditu" => preset(
                tianditu("vec"),
                Some(tianditu("cva")),
                "© 天地图 Tianditu",
                "wgs84",
                "01234567",
            ),
            "amap" => preset(
                "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}"
                    .to_owned(),
                None,
                "© 高德地图 AMap",
                "gcj02",
                "1234",
            ),
            "tencent" => preset(
                "https://rt{s}.map.gtimg.com/tile?z={z}&x={x}&y={-y}&type=vector&styleid=0".to_owned(),
                None,
                "© 腾讯地图 Tencent",
                "gcj02",
                "0123",
            ),
            _ => preset(
                self.tile_url.clone(),
                None,
                &self.tile_attribution,
                &self.tile_crs,
                &self.tile_subdomains,
            ),
        }
    }
}

impl Settings {
    /// Loads settings: defaults, then the file named by `ZD_CONFIG` (or
    /// `zhongdui.toml` if present), then `ZD_*` variables (`__` separates
    /// levels, e.g. `ZD_AUTH__TOKEN_TTL_MINUTES`), then `DATABASE_URL` and
    /// `REDIS_URL`.
    pub fn load() -> anyhow::Result<Self> {
        let file = std::env::var_os("ZD_CONFIG").map(PathBuf::from);
        let mut builder = Self::defaults()?;
        builder = match file {
            Some(path) => builder.add_source(config::File::from(path).required(true)),
            None => builder.add_source(config::File::with_name("zhongdui").required(false)),
        };
        builder = builder.add_source(
            config::Environment::with_prefix("ZD")
                .prefix_separator("_")
                .separator("__"),
        );
        if let Ok(url) = std::env::var("DATABASE_URL") {
            builder = builder.set_override("database_url", url)?;
        }
        if let Some(url) = std::env::var("REDIS_URL").ok().filter(|u| !u.is_empty()) {
            builder = builder.set_override("redis_url", url)?;
        }
        let settings: Settings = builder
            .build()
            .context("reading configuration")?
            .try_deserialize()
            .context("parsing configuration")?;
        settings.validate()?;
        Ok(settings)
    }

    /// Refuses values the server cannot work with, naming the setting.
    pub fn validate(&self) -> anyhow::Result<()> {
        let d = &self.dispatch;
        let bad = |name: &str, why: &str| anyhow::anyhow!("configuration: {name} {why}");
        if d.radii_m.is_empty() {
            return Err(bad("dispatch.radii_m", "needs at least one radius"));
        }
        if d.radii_m.iter().any(|r| !r.is_finite() || *r <= 0.0) {
            return Err(bad(
                "dispatch.radii_m",
                "must be positive numbers of metres",
            ));
        }
        for (name, v) in [
            ("dispatch.arrive_radius_m", d.arrive_radius_m),
            ("dispatch.grab_radius_m", d.grab_radius_m),
            ("dispatch.max_speed_mps", d.max_speed_mps),
            ("dispatch.arrival_speed_mps", d.arrival_speed_mps),
        ] {
            if !v.is_finite() || v <= 0.0 {
                return Err(bad(name, "must be a positive number"));
            }
        }
        for (name, v) in [
            ("limits.duplicate_radius_m", self.limits.duplicate_radius_m),
            ("dispatch.fairness_epsilon_m", d.fairness_epsilon_m),
            ("dispatch.offer_penalty_m", d.offer_penalty_m),
            ("dispatch.offer_penalty_max_m", d.offer_penalty_max_m),
        ] {
            if !v.is_finite() || v < 0.0 {
                return Err(bad(name, "must be 0 or more"));
            }
        }
        for (name, v) in [
            ("dispatch.offer_timeout_secs", d.offer_timeout_secs),
            ("dispatch.max_location_age_secs", d.max_location_age_secs),
        ] {
            if v <= 0 {
                return Err(bad(name, "must be 1 or more"));
            }
        }
        if d.tick_ms == 0 {
            return Err(bad("dispatch.tick_ms", "must be 1 or more"));
        }
        if !(self.push.subject.starts_with("mailto:") || self.push.subject.starts_with("https:")) {
            return Err(bad("push.subject", "must be a mailto: or https: URI"));
        }
        let w = &self.web;
        if !(w.tile_preset.is_empty() || TILE_PRESETS.contains(&w.tile_preset.as_str())) {
            return Err(bad(
                "web.tile_preset",
                "must be empty, osm, tianditu, amap or tencent",
            ));
        }
        if w.tile_preset == "tianditu" && w.tile_key.trim().is_empty() {
            return Err(bad("web.tile_key", "is needed for tianditu (its tk)"));
        }
        if !matches!(w.tile_crs.as_str(), "wgs84" | "gcj02") {
            return Err(bad("web.tile_crs", "must be wgs84 or gcj02"));
        }
        if w.tile_subdomains.is_empty()
            || !w.tile_subdomains.chars().all(|c| c.is_ascii_alphanumeric())
        {
            return Err(bad(
                "web.tile_subdomains",
                "must be letters or digits, one per subdomain",
            ));
        }
        match self.sms.channel.as_str() {
            "off" | "log" => {}
            "aliyun" => {
                let a = &self.sms.aliyun;
                if a.access_key_id.is_empty()
                    || a.access_key_secret.is_none()
                    || a.sign_name.is_empty()
                    || a.template_code.is_empty()
                {
                    return Err(bad(
                        "sms.aliyun",
                        "needs access_key_id, access_key_secret, sign_name and template_code",
                    ));
                }
            }
            _ => return Err(bad("sms.channel", "must be off, log or aliyun")),
        }
        Ok(())
    }

    /// The built-in defaults only (what tests start from).
    pub fn default_settings() -> anyhow::Result<Self> {
        Self::defaults()?
            .build()
            .context("building default configuration")?
            .try_deserialize()
            .context("parsing default configuration")
    }

    fn defaults() -> anyhow::Result<config::ConfigBuilder<config::builder::DefaultState>> {
        Ok(config::Config::builder()
            .set_default("bind", "127.0.0.1:8080")?
            .set_default("database_url", "sqlite://zhongdui.db?mode=rwc")?
            .set_default("redis_prefix", "zd")?
            .set_default("database_pool_min", 4)?
            .set_default("database_pool_max", 20)?
            .set_default("log.format", "text")?
            .set_default("log.level", "info")?
            .set_default("auth.token_ttl_minutes", 12 * 60)?
            .set_default("auth.login_per_minute", 10)?
            .set_default("auth.login_burst", 10)?
            .set_default("http.max_json_bytes", 64 * 1024)?
            .set_default("http.max_csv_bytes", 4 * 1024 * 1024)?
            .set_default("http.workers", 0)?
            .set_default("http.https", false)?
            .set_default("http.body_timeout_secs", 15)?
            .set_default("dispatch.offer_timeout_secs", 30)?
            .set_default("dispatch.radii_m", vec![1000.0, 3000.0, 10000.0])?
            .set_default("dispatch.wave_factor.low", 1)?
            .set_default("dispatch.wave_factor.normal", 2)?
            .set_default("dispatch.wave_factor.urgent", 3)?
            .set_default("dispatch.wave_factor.critical", 5)?
            .set_default("dispatch.max_location_age_secs", 1800)?
            .set_default("dispatch.fairness_epsilon_m", 50.0)?
            .set_default("dispatch.arrival_slack_secs", 300)?
            .set_default("dispatch.arrival_speed_mps", 4.0)?
            .set_default("dispatch.reliability_days", 90)?
            .set_default("dispatch.max_offers_per_hour", 6)?
            .set_default("dispatch.offer_penalty_m", 60.0)?
            .set_default("dispatch.offer_penalty_max_m", 250.0)?
            .set_default("dispatch.batch_window_ms", 1000)?
            .set_default("dispatch.adaptive_window", true)?
            .set_default("dispatch.batch_max_orders", 64)?
            .set_default("dispatch.arrive_radius_m", 300.0)?
            .set_default("dispatch.auto_close_hours", 24)?
            .set_default("dispatch.team_first_secs", 120)?
            .set_default("dispatch.tick_ms", 200)?
            .set_default("dispatch.background", true)?
            .set_default("dispatch.location_min_interval_ms", 1000)?
            .set_default("dispatch.grab_radius_m", 10_000.0)?
            .set_default("dispatch.reload_pause_ms", 0)?
            .set_default("dispatch.max_speed_mps", 50.0)?
            .set_default("limits.orders_burst", 3)?
            .set_default("limits.orders_per_hour", 10)?
            .set_default("limits.orders_per_address_burst", 10)?
            .set_default("limits.orders_per_address_per_hour", 60)?
            .set_default("limits.staff_orders_burst", 200)?
            .set_default("limits.staff_orders_per_hour", 3000)?
            .set_default("limits.max_open_orders", 3)?
            .set_default("limits.duplicate_radius_m", 200.0)?
            .set_default("limits.duplicate_window_secs", 600)?
            .set_default("privacy.retention_days", 180)?
            .set_default("webhooks.timeout_ms", 5000)?
            .set_default("webhooks.backoff_ms", 1000)?
            .set_default("webhooks.max_backoff_secs", 3600)?
            .set_default("webhooks.retry_for_hours", 24)?
            .set_default("webhooks.lease_secs", 10)?
            .set_default("idempotency.ttl_hours", 24)?
            .set_default("idempotency.pending_secs", 60)?
            .set_default("net.allow_private_targets", false)?
            .set_default("push.subject", "mailto:ops@zhongdui.example")?
            .set_default("push.timeout_ms", 5000)?
            .set_default("push.keep_hours", 12)?
            .set_default("sms.channel", "off")?
            .set_default("sms.after_push_secs", 45)?
            .set_default("sms.per_volunteer_per_hour", 5)?
            .set_default("sms.timeout_ms", 5000)?
            .set_default("sms.aliyun.endpoint", "https://dysmsapi.aliyuncs.com/")?
            .set_default("sms.aliyun.access_key_id", "")?
            .set_default("sms.aliyun.sign_name", "")?
            .set_default("sms.aliyun.template_code", "")?
            .set_default("sms.aliyun.region_id", "cn-hangzhou")?
            .set_default("web.public_url", "http://localhost:8080")?
            .set_default("limits.verify_burst", 20)?
            .set_default("limits.verify_per_hour", 300)?
            .set_default("limits.certificates_burst", 5)?
            .set_default("limits.certificates_per_hour", 60)?
            .set_default("hours.issuer", "众队志愿服务平台")?
            .set_default("hours.font_path", "")?
            .set_default("limits.register_burst", 10)?
            .set_default("limits.register_per_hour", 30)?
            .set_default("limits.messages_burst", 20)?
            .set_default("limits.messages_per_hour", 600)?
            .set_default("limits.broadcasts_burst", 5)?
            .set_default("limits.broadcasts_per_hour", 30)?
            .set_default("points.tier_base", vec![10, 20, 30])?
            .set_default("points.per_half_hour", 5)?
            .set_default("points.max_time_points", 20)?
            .set_default("points.rating5_bonus", 10)?
            .set_default("points.rating4_bonus", 5)?
            .set_default(
                "web.tile_url",
                "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
            )?
            .set_default("web.tile_attribution", "© OpenStreetMap contributors")?
            .set_default("web.tile_crs", "wgs84")?
            .set_default("web.tile_subdomains", "abc")?
            .set_default("web.tile_preset", "")?
            .set_default("web.tile_key", "")?
            .set_default("web.map_center", vec![27.57, 120.56])?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(key: &str, value: &str) -> anyhow::Result<Settings> {
        let s: Settings = Settings::defaults()?
            .set_override(key, value)?
            .build()?
            .try_deserialize()?;
        s.validate()?;
        Ok(s)
    }

    #[test]
    fn tile_presets_name_their_provider_and_coordinates() {
        let osm = with("web.tile_preset", "").unwrap().web.tiles();
        assert_eq!(osm.url, "https://tile.openstreetmap.org/{z}/{x}/{y}.png");
        assert_eq!(osm.crs, "wgs84");
        let amap = with("web.tile_preset", "amap").unwrap().web.tiles();
        assert_eq!(amap.crs, "gcj02");
        assert!(amap.url.contains("autonavi.com") && amap.url.contains("{s}"));
        assert_eq!(
            with("web.tile_preset", "tencent").unwrap().web.tiles().crs,
            "gcj02"
        );
        // Tianditu needs its key, which goes into both of its layers.
        assert!(with("web.tile_preset", "tianditu").is_err());
        let s: Settings = Settings::defaults()
            .unwrap()
            .set_override("web.tile_preset", "tianditu")
            .unwrap()
            .set_override("web.tile_key", "k123")
            .unwrap()
            .build()
            .unwrap()
            .try_deserialize()
            .unwrap();
        s.validate().unwrap();
        let t = s.web.tiles();
        assert_eq!(t.crs, "wgs84");
        assert!(
            t.url.contains("LAYER=vec") && t.url.ends_with("tk=k123"),
            "{}",
            t.url
        );
        assert!(t.overlay_url.unwrap().contains("LAYER=cva"));
        assert_eq!(t.subdomains, "01234567");
        assert!(with("web.tile_preset", "google").is_err());
        assert!(with("web.tile_crs", "bd09").is_err());
    }

    #[test]
    fn radii_from_the_environment() {
        for raw in ["1000,3000", "[1000,3000]", " 1000 , 3000 "] {
            assert_eq!(
                with("dispatch.radii_m", raw).unwrap().dispatch.radii_m,
                vec![1000.0, 3000.0],
                "{raw}"
            );
        }
        let e = with("dispatch.radii_m", "1000,far").unwrap_err();
        assert!(format!("{e:#}").contains("`far` is not a number"), "{e:#}");
        let e = with("dispatch.radii_m", "0,-5").unwrap_err();
        assert!(format!("{e:#}").contains("dispatch.radii_m"), "{e:#}");
    }

    #[test]
    fn any_login_rate_builds_a_limiter() {
        for per_minute in [1, 60_000, 60_001, 120_000, 10_000_000, u32::MAX] {
            assert!(
                crate::auth::login_rate_limiter(per_minute, 10).is_ok(),
                "{per_minute}"
            );
        }
    }
}
