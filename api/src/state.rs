//! Shared application state: a cheap-to-clone handle around `Arc<Shared>`.
use std::ops::Deref;
use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::auth::{Sealer, TokenKeys};
use crate::bus::Bus;
use crate::clock::Clock;
use crate::dispatch::index::Dispatcher;
use crate::messages::Channels;
use crate::settings::Settings;

/// What every handler can reach.
pub struct Shared {
    /// The database pool.
    pub db: DatabaseConnection,
    /// The settings the server started with.
    pub settings: Settings,
    /// Token signing keys.
    pub tokens: TokenKeys,
    /// Seals the secrets the server must read back (webhook secrets).
    pub sealer: Sealer,
    /// The VAPID key Web Push requests are signed with.
    pub vapid: crate::push::Vapid,
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
    pub relay_lock: tokio::sync::Mutex<RelayState>,
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

    /// Where pushes go, under the configured prefix.
    pub fn channels(&self) -> Channels<'_> {
        Channels(&self.settings.redis_prefix)
    }
}

impl Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What the relay carries from one round to the next (behind the relay
/// mutex of the process).
///
/// A row keeps the publication number it was first given for life. A round
/// numbers rows and marks them published, publishes, and commits; when the
/// publish fails (Redis down, or frozen past its timeout, after which Redis
/// may still deliver what it had queued) the round does not roll the
/// numbers back: it clears the rows' `published_at` and commits, and the
/// next rounds publish exactly those rows again, with the same numbers,
/// before numbering anything new. Clients drop an id they have passed, so a
/// repeat never reaches a phone twice; and ids never go back, so neither a
/// live session nor a resume skips anything. The happy path costs what it
/// did: one statement numbers and marks, the commit follows the publish.
#[derive(Debug)]
pub struct RelayState {
    /// SQLite: the last number handed out (0: read it from the table).
    pub(crate) last_handed_out: i64,
    /// Numbered rows may be waiting unpublished: publish those first. A new
    /// process (or leader) starts by looking.
    pub(crate) retry: bool,
}

impl Default for RelayState {
    fn default() -> Self {
        Self {
            last_handed_out: 0,
            retry: true,
        }
    }
}
