//! Live sessions follow their account: a WebSocket stays open only while the
//! token it was opened with is still good. Each process keeps a registry of
//! its sessions by account and one watcher task that, every second, reads
//! the accounts changed since its last look (one indexed query per process,
//! whatever the number of sockets) and closes the sessions of accounts that
//! were disabled, had their tokens revoked (password reset) or changed role.
//! The database is the source of truth, so this works across processes and
//! while Redis is away.
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::entities::user;

/// How often the watcher looks (a session closes at most this long after
/// its account changed, plus the query).
pub const WATCH_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

struct Entry {
    id: u64,
    token_version: i32,
    role: String,
    closed: Arc<Notify>,
}

/// The sessions of this process, by account.
#[derive(Default)]
pub struct Sessions {
    by_user: Mutex<HashMap<Uuid, Vec<Entry>>>,
    next: AtomicU64,
}

/// A session's registration; unregisters when dropped.
pub struct Registration {
    sessions: Arc<Sessions>,
    user: Uuid,
    id: u64,
    /// Notified when the account no longer allows this session.
    pub revoked: Arc<Notify>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut map = self.sessions.lock();
        if let Some(list) = map.get_mut(&self.user) {
            list.retain(|e| e.id != self.id);
            if list.is_empty() {
                map.remove(&self.user);
            }
        }
    }
}

impl Sessions {
    fn lock(&self) -> MutexGuard<'_, HashMap<Uuid, Vec<Entry>>> {
        // A std lock: nothing awaits while holding it, and each change is one
        // push or retain, so a poisoned map is still consistent.
        self.by_user.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a session opened by `user` with a token of `token_version`.
    pub fn register(self: &Arc<Self>, user: Uuid, token_version: i32, role: &str) -> Registration {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let closed = Arc::new(Notify::new());
        self.lock().entry(user).or_default().push(Entry {
            id,
            token_version,
            role: role.to_owned(),
            closed: closed.clone(),
        });
        Registration {
            sessions: self.clone(),
            user,
            id,
            revoked: closed,
        }
    }

    /// Closes the sessions of `row`'s account that it no longer allows;
    /// returns how many.
    pub fn check(&self, row: &AccountRow) -> usize {
        let map = self.lock();
        let mut n = 0;
        for e in map.get(&row.0).into_iter().flatten() {
            if row.2 || e.token_version != row.1 || e.role != row.3 {
                e.closed.notify_one();
                n += 1;
            }
        }
        n
    }

    /// Accounts with a live session here.
    pub fn accounts(&self) -> usize {
        self.lock().len()
    }
}

/// (id, token_version, disabled, role, updated_at) of an account.
pub type AccountRow = (Uuid, i32, bool, String, DateTime<Utc>);

/// Closes sessions whose account changed, until shutdown.
pub async fn watch(
    db: sea_orm::DatabaseConnection,
    sessions: Arc<Sessions>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut every = tokio::time::interval(WATCH_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Rows are stamped with the writer's wall clock before it commits: look
    // back far enough to see a change that committed late.
    let overlap = Duration::seconds(30);
    let mut since = crate::clock::wall();
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            _ = every.tick() => {}
        }
        if sessions.accounts() == 0 {
            since = crate::clock::wall();
            continue;
        }
        let rows: Result<Vec<AccountRow>, _> = user::Entity::find()
            .select_only()
            .column(user::Column::Id)
            .column(user::Column::TokenVersion)
            .column(user::Column::Disabled)
            .column(user::Column::Role)
            .column(user::Column::UpdatedAt)
            .filter(user::Column::UpdatedAt.gt(since - overlap))
            .into_tuple()
            .all(&db)
            .await;
        match rows {
            Ok(rows) => {
                for row in &rows {
                    let closed = sessions.check(row);
                    if closed > 0 {
                        metrics::counter!("ws_sessions_revoked_total").increment(closed as u64);
                    }
                    since = since.max(row.4);
                }
            }
            Err(e) => tracing::warn!(error = %e, "reading changed accounts failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sessions_the_account_no_longer_allows_are_closed() {
        let s = Arc::new(Sessions::default());
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let ra = s.register(a, 3, "volunteer");
        let rb = s.register(b, 1, "volunteer");
        let now = crate::clock::wall();
        assert_eq!(s.check(&(a, 3, false, "volunteer".into(), now)), 0);
        assert_eq!(s.check(&(a, 4, false, "volunteer".into(), now)), 1);
        assert_eq!(s.check(&(b, 1, true, "volunteer".into(), now)), 1);
        assert_eq!(s.check(&(b, 1, false, "resident".into(), now)), 1);
        drop(ra);
        assert_eq!(s.accounts(), 1);
        assert_eq!(s.check(&(a, 9, true, "volunteer".into(), now)), 0);
        drop(rb);
        assert_eq!(s.accounts(), 0);
    }
}
