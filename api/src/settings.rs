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
}

/// Web front-end settings.
#[derive(Debug, Clone, Deserialize)]
pub struct WebSettings {
    /// Map tile URL template for the coordinator map.
    pub tile_url: String,
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
        builder
            .build()
            .context("reading configuration")?
            .try_deserialize()
            .context("parsing configuration")
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
            .set_default("log.format", "text")?
            .set_default("log.level", "info")?
            .set_default("auth.token_ttl_minutes", 12 * 60)?
            .set_default("auth.login_per_minute", 10)?
            .set_default("auth.login_burst", 10)?
            .set_default("http.max_json_bytes", 64 * 1024)?
            .set_default("http.max_csv_bytes", 4 * 1024 * 1024)?
            .set_default(
                "web.tile_url",
                "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
            )?)
    }
}
