//! Live sessions follow their account: a WebSocket stays open only while the
//! token it was opened with is still good. Each process keeps a registry of
//! its sessions by account and one watcher task that, every second, reads
//! the accounts changed since its last look (one indexed query per process,
//! whatever the number of sockets) and closes the sessions of accounts that
//! were disabled, had their tokens revoked (password reset) or changed role.
//! The database is the source of truth, so this works across processes and
//! while Redis is away.
//!
//! The same watcher keeps `live_sessions` true for this process: which
//! volunteers hold a socket here (added and removed within a second, and
//! refreshed every [`PRESENCE_REFRESH`], so a killed process's rows go
//! stale after [`LIVE_FOR`]). The notifier reads it to reach, by Web Push
//! or text, only the volunteers no socket reaches.
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, Duration, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use tokio::sync::Notify;
use uuid::Uuid;

use crate::entities::{live_session, user};

/// How often the watcher looks (a session closes at most this long after
/// its account changed, plus the query).
pub const WATCH_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// How often this process re-stamps its `live_sessions` rows.
pub const PRESENCE_REFRESH: Duration = Duration::seconds(20);

/// A `live_sessions` row not re-stamped for this long is a dead process's.
pub const LIVE_FOR: Duration = Duration::seconds(60);

struct Entry {
    id: u64,
    token_version: i32,
    role: String,
    closed: Arc<Notify>,
}

/// The sessions of this process, by account.
pub struct Sessions {
    by_user: Mutex<HashMap<Uuid, Vec<Entry>>>,
    next: AtomicU64,
    /// This process's name in `live_sessions`.
    process: String,
}

impl Default for Sessions {
    fn default() -> Self {
        Sessions {
            by_user: Mutex::default(),
            next: AtomicU64::new(0),
            process: Uuid::now_v7().to_string(),
        }
    }
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

    /// Volunteers with a live session here.
    pub fn volunteers(&self) -> HashSet<Uuid> {
        self.lock()
            .iter()
            .filter(|(_, list)| list.iter().any(|e| e.role == "volunteer"))
            .map(|(id, _)| *id)
            .collect()
    }
}

/// Volunteers among `ids` holding a socket on some process now.
pub async fn live_among<C: sea_orm::ConnectionTrait>(
    db: &C,
    ids: Vec<Uuid>,
) -> Result<HashSet<Uuid>, sea_orm::DbErr> {
    if ids.is_empty() {
        return Ok(HashSet::new());
    }
    let mut live = HashSet::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<Uuid> = live_session::Entity::find()
            .select_only()
            .column(live_session::Column::UserId)
            .filter(live_session::Column::UserId.is_in(chunk.to_vec()))
            .filter(live_session::Column::SeenAt.gt(crate::clock::wall() - LIVE_FOR))
            .into_tuple()
            .all(db)
            .await?;
        live.extend(rows);
    }
    Ok(live)
}

/// Makes `live_sessions` say, for this process, the volunteers in `now`
/// (`published` is what it said last; updated to what it says now).
async fn publish_presence(
    db: &sea_orm::DatabaseConnection,
    process: &str,
    published: &mut HashSet<Uuid>,
    now: HashSet<Uuid>,
    refresh: bool,
) -> Result<(), sea_orm::DbErr> {
    let gone: Vec<Uuid> = published.difference(&now).copied().collect();
    let came: Vec<Uuid> = now.difference(published).copied().collect();
    let at = crate::clock::wall();
    for chunk in gone.chunks(500) {
        live_session::Entity::delete_many()
            .filter(live_session::Column::Process.eq(process))
            .filter(live_session::Column::UserId.is_in(chunk.to_vec()))
            .exec(db)
            .await?;
    }
    for chunk in came.chunks(500) {
        let rows = chunk.iter().map(|id| live_session::ActiveModel {
            user_id: Set(*id),
            process: Set(process.to_owned()),
            seen_at: Set(at),
        });
        live_session::Entity::insert_many(rows)
            .on_conflict(
                OnConflict::columns([live_session::Column::UserId, live_session::Column::Process])
                    .update_column(live_session::Column::SeenAt)
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    if refresh && !now.is_empty() {
        live_session::Entity::update_many()
            .col_expr(live_session::Column::SeenAt, Expr::value(at))
            .filter(live_session::Column::Process.eq(process))
            .exec(db)
            .await?;
    }
    *published = now;
    Ok(())
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
    let mut published = HashSet::new();
    let mut refreshed = crate::clock::wall();
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            _ = every.tick() => {}
        }
        let refresh = crate::clock::wall() - refreshed >= PRESENCE_REFRESH;
        match publish_presence(
            &db,
            &sessions.process,
            &mut published,
            sessions.volunteers(),
            refresh,
        )
        .await
        {
            Ok(()) if refresh => refreshed = crate::clock::wall(),
            Ok(()) => {}
            Err(e) => tracing::warn!(error = %e, "publishing live sessions failed"),
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
    // A clean stop says so at once; a killed process's rows go stale.
    if let Err(e) = live_session::Entity::delete_many()
        .filter(live_session::Column::Process.eq(sessions.process.as_str()))
        .exec(&db)
        .await
    {
        tracing::warn!(error = %e, "clearing live sessions failed");
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
