//! The outbox relay: publishes pushes written in the same transaction as the
//! state change they announce, at least once, in order. While Redis is down
//! the rows wait; when it is back they go out.
//!
//! Each row gets its publication number (`seq`), the event id clients see,
//! in the order rows go out, once and for life (see [`RelayState`](crate::state::RelayState)). Row ids cannot serve: they are
//! allocated at insert, not at commit, so a higher id may commit (and be
//! published) before a lower one, and a client resuming "after N" would skip
//! the lower one. Relay rounds are serialised (an advisory lock on
//! PostgreSQL, which several processes share; a mutex in the process), so
//! numbers increase in publication order across processes; and on
//! PostgreSQL one process at a time runs them (see [`run`]).
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait, FromQueryResult,
    QueryFilter, Statement,
};

use crate::bus::BusMessage;
use crate::entities::outbox;
use crate::error::ApiResult;
use crate::hub::Listen;
use crate::state::{AppState, RelayState};

/// Rows published per round.
const BATCH: usize = 500;
/// The advisory lock key that serialises relays across processes ("zdrelay").
const RELAY_LOCK: i64 = 0x007a_6472_656c_6179;

#[derive(FromQueryResult)]
struct Row {
    id: i64,
    channel: String,
    payload: String,
}

#[derive(FromQueryResult)]
struct Numbered {
    seq: i64,
    channel: String,
    payload: String,
}

#[derive(FromQueryResult)]
struct Number {
    n: i64,
}

/// PostgreSQL: numbers up to a batch of waiting rows from the `outbox_seq`
/// sequence and marks them published, in one statement. `o.id = ANY(…)`
/// bounds the scan of the table being updated to the batch, whichever side
/// of the join the planner puts it on: with the statistics of an empty
/// outbox both sides look like one row, and a plan that walked the whole
/// primary key per round took 100-500 ms a round under load.
fn claim_sql() -> String {
    format!(
        "WITH batch AS (SELECT id FROM outbox WHERE published_at IS NULL AND seq IS NULL ORDER BY id LIMIT {BATCH}), \
         numbered AS (SELECT id, nextval('outbox_seq') AS seq FROM (SELECT id FROM batch ORDER BY id) b) \
         UPDATE outbox o SET seq = numbered.seq, published_at = $1 FROM numbered \
         WHERE o.id = numbered.id AND o.id = ANY(ARRAY(SELECT id FROM batch)) \
         RETURNING o.seq, o.channel, o.payload"
    )
}

/// Rows numbered earlier whose publish failed, in number order, marked
/// published again (both backends).
fn retry_sql(backend: DbBackend) -> String {
    let now = if backend == DbBackend::Postgres {
        "$1"
    } else {
        "?"
    };
    format!(
        "UPDATE outbox SET published_at = {now} WHERE id IN \
         (SELECT id FROM outbox WHERE published_at IS NULL AND seq IS NOT NULL ORDER BY seq LIMIT {BATCH}) \
         RETURNING seq, channel, payload"
    )
}

/// After a failed publish: the rows keep their numbers and wait again.
fn unpublish_sql(seqs: &[i64]) -> String {
    // Integers from the database: nothing a user wrote.
    let list: Vec<String> = seqs.iter().map(i64::to_string).collect();
    format!(
        "UPDATE outbox SET published_at = NULL WHERE seq IN ({})",
        list.join(",")
    )
}

/// What a PostgreSQL round sets before claiming: one relay at a time across
/// processes, and index lookups whatever the table's statistics say. The
/// rows a round publishes leave dead entries in the waiting index, which an
/// index scan marks and skips from then on, while sequential, bitmap, merge
/// or hash plans read every row, dead or alive, on every round. A fresh or
/// busy outbox (stale statistics) got those plans and read millions of rows
/// under load.
fn round_setup_sql() -> String {
    format!(
        "SELECT set_config('enable_seqscan', 'off', true), set_config('enable_bitmapscan', 'off', true), \
                set_config('enable_mergejoin', 'off', true), set_config('enable_hashjoin', 'off', true), \
                pg_advisory_xact_lock({RELAY_LOCK})"
    )
}

/// SQLite serves one process: the relay mutex (held by the caller) keeps the
/// last number handed out, which never goes back.
async fn claim_sqlite(
    relay: &mut RelayState,
    txn: &DatabaseTransaction,
    now: DateTime<Utc>,
) -> ApiResult<Vec<Numbered>> {
    let backend = txn.get_database_backend();
    let rows = Row::find_by_statement(Statement::from_string(
        backend,
        format!(
            "SELECT id, channel, payload FROM outbox WHERE published_at IS NULL AND seq IS NULL ORDER BY id LIMIT {BATCH}"
        ),
    ))
    .all(txn)
    .await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    if relay.last_handed_out == 0 {
        // First round of this process: carry on from what is stored.
        relay.last_handed_out = Number::find_by_statement(Statement::from_string(
            backend,
            "SELECT COALESCE(MAX(seq), 0) AS n FROM outbox",
        ))
        .one(txn)
        .await?
        .map_or(0, |r| r.n);
    }
    let mut next = relay.last_handed_out;
    let mut cases = String::new();
    let mut ids = Vec::with_capacity(rows.len());
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        next += 1;
        // Both numbers are integers from the database: nothing a user wrote.
        cases.push_str(&format!(" WHEN {} THEN {next}", r.id));
        ids.push(r.id);
        out.push(Numbered {
            seq: next,
            channel: r.channel,
            payload: r.payload,
        });
    }
    relay.last_handed_out = next;
    outbox::Entity::update_many()
        .col_expr(outbox::Column::PublishedAt, Expr::value(now))
        .col_expr(
            outbox::Column::Seq,
            Expr::cust(format!("CASE id{cases} END")),
        )
        .filter(outbox::Column::Id.is_in(ids))
        .exec(txn)
        .await?;
    Ok(out)
}

/// Publishes up to 500 waiting rows (those of a failed round first); returns
/// how many went out.
pub async fn relay_once(state: &AppState) -> ApiResult<usize> {
    let backend = state.db.get_database_backend();
    let mut relay = state.relay_lock.lock().await;
    let txn = crate::db::begin_write(&state.db).await?;
    let now = crate::clock::wall();
    if backend == DbBackend::Postgres {
        txn.execute_unprepared(&round_setup_sql()).await?;
    }
    let mut rows = Vec::new();
    if relay.retry {
        rows = Numbered::find_by_statement(Statement::from_sql_and_values(
            backend,
            retry_sql(backend),
            [now.into()],
        ))
        .all(&txn)
        .await?;
        relay.retry = rows.len() == BATCH;
    }
    if rows.is_empty() {
        rows = if backend == DbBackend::Postgres {
            Numbered::find_by_statement(Statement::from_sql_and_values(
                DbBackend::Postgres,
                claim_sql(),
                [now.into()],
            ))
            .all(&txn)
            .await?
        } else {
            claim_sqlite(&mut relay, &txn, now).await?
        };
    }
    if rows.is_empty() {
        txn.commit().await?;
        return Ok(0);
    }
    let n = rows.len();
    let seqs: Vec<i64> = rows.iter().map(|r| r.seq).collect();
    if publish(state, rows).await {
        txn.commit().await?;
        return Ok(n);
    }
    txn.execute_unprepared(&unpublish_sql(&seqs)).await?;
    txn.commit().await?;
    relay.retry = true;
    Ok(0)
}

/// Publishes numbered rows in number order; false if the bus refused them.
async fn publish(state: &AppState, mut rows: Vec<Numbered>) -> bool {
    rows.sort_unstable_by_key(|r| r.seq);
    let msgs = rows
        .into_iter()
        .map(|r| BusMessage {
            id: Some(r.seq),
            channel: r.channel,
            data: serde_json::from_str(&r.payload).unwrap_or(serde_json::Value::Null),
            origin: state.bus.origin,
        })
        .collect();
    match state.bus.publish_all(msgs).await {
        Ok(()) => true,
        Err(e) => {
            tracing::debug!(error = %e, "relay paused");
            metrics::counter!("outbox_relay_publish_failures_total").increment(1);
            false
        }
    }
}

/// A round on the leader's own connection: [`relay_once`] in three round
/// trips instead of four, the setup travelling with `BEGIN` in one simple
/// query.
async fn relay_as_leader(state: &AppState, conn: &mut Held) -> ApiResult<usize> {
    use sea_orm::sqlx::{AssertSqlSafe, Connection};
    let internal = |e: sea_orm::sqlx::Error| crate::error::ApiError::Internal(e.into());
    let mut relay = state.relay_lock.lock().await;
    let mut txn = (**conn)
        .begin_with(AssertSqlSafe(format!("BEGIN; {}", round_setup_sql())))
        .await
        .map_err(internal)?;
    let now = crate::clock::wall();
    let mut rows: Vec<(i64, String, String)> = Vec::new();
    if relay.retry {
        rows = sea_orm::sqlx::query_as(AssertSqlSafe(retry_sql(DbBackend::Postgres)))
            .bind(now)
            .fetch_all(&mut *txn)
            .await
            .map_err(internal)?;
        relay.retry = rows.len() == BATCH;
    }
    if rows.is_empty() {
        rows = sea_orm::sqlx::query_as(AssertSqlSafe(claim_sql()))
            .bind(now)
            .fetch_all(&mut *txn)
            .await
            .map_err(internal)?;
    }
    if rows.is_empty() {
        txn.commit().await.map_err(internal)?;
        return Ok(0);
    }
    let n = rows.len();
    let seqs: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let rows = rows
        .into_iter()
        .map(|(seq, channel, payload)| Numbered {
            seq,
            channel,
            payload,
        })
        .collect();
    if publish(state, rows).await {
        txn.commit().await.map_err(internal)?;
        return Ok(n);
    }
    sea_orm::sqlx::query(AssertSqlSafe(unpublish_sql(&seqs)))
        .execute(&mut *txn)
        .await
        .map_err(internal)?;
    txn.commit().await.map_err(internal)?;
    relay.retry = true;
    Ok(0)
}

/// Deletes published rows older than `keep` (the resume window).
pub async fn prune(state: &AppState, keep: chrono::Duration) -> ApiResult<u64> {
    let res = outbox::Entity::delete_many()
        .filter(outbox::Column::PublishedAt.lt(crate::clock::wall() - keep))
        .exec(&state.db)
        .await?;
    Ok(res.rows_affected)
}

/// The session-level advisory lock held by the process that relays ("zdlead").
const LEADER_LOCK: i64 = 0x7a64_6c65_6164;

type Held = sea_orm::sqlx::pool::PoolConnection<sea_orm::sqlx::Postgres>;

/// Whether this process relays. On PostgreSQL one process at a time does: it
/// holds a connection with the leader lock (released when the process or
/// its connection dies, and another takes over within a second). The others
/// only forward their wake-ups to it over the bus. This saves rounds (every
/// round publishes what all processes committed) and the waiting on the
/// round lock, which under load cost more than the rounds themselves.
enum Lead {
    Follower,
    /// SQLite: one process, always relaying.
    Alone,
    Leader(Held),
}

impl Lead {
    fn relays(&self) -> bool {
        !matches!(self, Lead::Follower)
    }
}

async fn try_lead(state: &AppState) -> Lead {
    if state.db.get_database_backend() != DbBackend::Postgres {
        return Lead::Alone;
    }
    let Ok(mut conn) = state.db.get_postgres_connection_pool().acquire().await else {
        return Lead::Follower;
    };
    let got: Result<(bool,), _> = sea_orm::sqlx::query_as("SELECT pg_try_advisory_lock($1)")
        .bind(LEADER_LOCK)
        .fetch_one(&mut *conn)
        .await;
    match got {
        Ok((true,)) => {
            tracing::info!("this process relays the outbox");
            Lead::Leader(conn)
        }
        _ => Lead::Follower,
    }
}

/// Relays until shutdown: at once when woken (here, or by a follower), and
/// every 100 ms.
pub async fn run(state: AppState, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let mut prune_every = tokio::time::interval(Duration::from_secs(600));
    let mut elect = tokio::time::interval(Duration::from_secs(1));
    let wake_channel = state.channels().relay();
    // Only the wake-ups, not every message on the bus.
    let listen = || {
        state
            .hub
            .subscribe(vec![Listen::Channel(wake_channel.clone())])
    };
    let mut wakes = listen();
    let mut lead = try_lead(&state).await;
    // An interval, not a sleep: bus traffic must not keep postponing it.
    let mut poll = tokio::time::interval(Duration::from_millis(100));
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut backoff = Duration::from_millis(100);
    loop {
        let mut woken_here = false;
        tokio::select! {
            _ = shutdown.changed() => break,
            _ = state.relay_wake.notified() => woken_here = true,
            m = wakes.recv() => match m {
                Some(_) if lead.relays() => {}
                Some(_) => continue,
                // The hub dropped us (too many wake-ups waiting): listen
                // again, and relay now in case one was missed.
                None => wakes = listen(),
            },
            _ = poll.tick() => {}
            _ = elect.tick() => {
                lead = match lead {
                    Lead::Follower => try_lead(&state).await,
                    Lead::Leader(conn) if state.db.get_postgres_connection_pool().is_closed() => {
                        // The pool is closing and waits for this connection.
                        let _ = conn.close().await;
                        Lead::Follower
                    }
                    Lead::Leader(mut conn) => {
                        if sea_orm::sqlx::query("SELECT 1").execute(&mut *conn).await.is_ok() {
                            Lead::Leader(conn)
                        } else {
                            tracing::warn!("lost the relay's leader connection");
                            try_lead(&state).await
                        }
                    }
                    Lead::Alone => Lead::Alone,
                };
                metrics::gauge!("outbox_relay_leader").set(if lead.relays() { 1.0 } else { 0.0 });
            }
            _ = prune_every.tick() => {
                if let Err(e) = prune(&state, chrono::Duration::hours(24)).await {
                    tracing::warn!(error = %e, "outbox prune failed");
                }
            }
        }
        if !lead.relays() {
            if woken_here {
                let nudge = BusMessage {
                    id: None,
                    channel: wake_channel.clone(),
                    data: crate::messages::Peer::Relay.to_value(),
                    origin: state.bus.origin,
                };
                if let Err(e) = state.bus.publish_all(vec![nudge]).await {
                    tracing::debug!(error = %e, "could not wake the relaying process");
                }
            }
            continue;
        }
        // Wake-ups already waiting are covered by the round about to start
        // (they were sent after their commits): one round for all of them,
        // not one each.
        let coalesced = wakes.drain();
        if coalesced > 0 {
            metrics::counter!("outbox_relay_wakeups_coalesced_total").increment(coalesced as u64);
        }
        loop {
            let round = match &mut lead {
                Lead::Leader(conn) => relay_as_leader(&state, conn).await,
                _ => relay_once(&state).await,
            };
            let published = round.as_ref().map_or(0, |n| *n);
            metrics::counter!("outbox_relay_rounds_total", "empty" => if published == 0 { "true" } else { "false" })
                .increment(1);
            match round {
                Ok(BATCH) => continue,
                Ok(_) => {
                    backoff = Duration::from_millis(100);
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "outbox relay failed");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                    break;
                }
            }
        }
    }
    if let Lead::Leader(conn) = lead {
        // Closing the connection releases the leader lock at once.
        let _ = conn.close().await;
    }
}
