//! The `zhongdui` server: configuration, persistence, accounts, roster and
//! the HTTP API. `main.rs` only calls [`cli::main`].
#![forbid(unsafe_code)]

pub mod auth;
pub mod bus;
pub mod cli;
pub mod clock;
pub mod db;
pub mod dispatch;
pub mod entities;
pub mod error;
pub mod extract;
pub mod http_guard;
pub mod hub;
pub mod idempotency;
pub mod lang;
pub mod lifecycle;
pub mod location;
pub mod messages;
pub mod metrics;
pub mod notify;
pub mod outbound;
pub mod push;
pub mod relay;
pub mod routes;
pub mod seed;
pub mod server;
pub mod services;
pub mod sessions;
pub mod settings;
pub mod sms;
pub mod state;
pub mod telemetry;
pub mod webhooks;
pub mod wire;
pub mod ws;
