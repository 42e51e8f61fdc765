//! Shared application state: a cheap-to-clone handle around `Arc<Shared>`.
use std::ops::Deref;
use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::auth::TokenKeys;
use crate::bus::Bus;
use crate::clock::Clock;
use crate::dispatch::Dispatcher;
use crate::settings::Settings;

/// What every handler can reach.
pub struct Shared {
    /// The database pool.
    pub db: DatabaseConnection,
    /// The settings the server started with.
    pub settings: Settings,
    /// Token signing keys.
    pub tokens: TokenKeys,
    /// The time source (a manual one in tests).
    pub clock: Arc<dyn Clock>,
    /// The dispatch engine.
    pub dispatcher: Dispatcher,
    /// Set to true to stop background loops.
    pub shutdown: tokio::sync::watch::Sender<bool>,
    /// The realtime bus.
    pub bus: Arc<Bus>,
    /// Wakes the outbox relay after a commit.
    pub relay_wake: tokio::sync::Notify,
    /// Serialises this process's relay rounds and holds what one round
    /// hands the next.
    pub relay_lock: tokio::sync::Mutex<crate::relay::RelayState>,
    /// Abuse limits (order creation, registration).
    pub limits: crate::auth::limits::Limits,
    /// This process's WebSocket sessions by account (closed when revoked).
    pub sessions: std::sync::Arc<crate::sessions::Sessions>,
    /// Routes bus messages to this process's WebSocket sessions.
    pub hub: std::sync::Arc<crate::hub::Hub>,
    /// Last position report per volunteer (rate limit), and last ops-feed position.
    /// A std lock: nothing awaits while holding it.
    pub location_gate: std::sync::Mutex<
        std::collections::HashMap<uuid::Uuid, (std::time::Instant, std::time::Instant)>,
    >,
}

/// A handle to [`Shared`].
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    /// Wraps the shared state.
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}
