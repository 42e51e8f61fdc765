//! The outbox relay: publishes pushes written in the same transaction as the
//! state change they announce, at least once, in order. While Redis is down
//! the rows wait; when it is back they go out. Several processes may relay:
//! on PostgreSQL rows are claimed with `FOR UPDATE SKIP LOCKED`.
use std::time::Duration;

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, DbBackend, EntityTrait, FromQueryResult, QueryFilter, Statement, TransactionTrait,
};

use crate::bus::BusMessage;
use crate::entities::outbox;
use crate::error::ApiResult;
use crate::state::AppState;

#[derive(FromQueryResult)]
struct Row {
    id: i64,
    channel: String,
    payload: String,
}

/// Publishes up to 500 waiting rows; returns how many went out.
pub async fn relay_once(state: &AppState) -> ApiResult<usize> {
    let backend = state.db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "SELECT id, channel, payload FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT 500 FOR UPDATE SKIP LOCKED"
        }
        _ => {
            "SELECT id, channel, payload FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT 500"
        }
    };
    let txn = state.db.begin().await?;
    let rows = Row::find_by_statement(Statement::from_string(backend, sql))
        .all(&txn)
        .await?;
    let mut done = Vec::new();
    for r in rows {
        let data = serde_json::from_str(&r.payload).unwrap_or(serde_json::Value::Null);
        let msg = BusMessage {
            id: Some(r.id),
            channel: r.channel,
            data,
            origin: state.bus.origin,
        };
        if let Err(e) = state.bus.publish(msg).await {
            tracing::debug!(error = %e, "relay paused");
            break;
        }
        done.push(r.id);
    }
    let n = done.len();
    if n > 0 {
        outbox::Entity::update_many()
            .col_expr(outbox::Column::PublishedAt, Expr::value(Utc::now()))
            .filter(outbox::Column::Id.is_in(done))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(n)
}

/// Deletes published rows older than `keep` (the resume window).
pub async fn prune(state: &AppState, keep: chrono::Duration) -> ApiResult<u64> {
    let res = outbox::Entity::delete_many()
        .filter(outbox::Column::PublishedAt.lt(Utc::now() - keep))
        .exec(&state.db)
        .await?;
    Ok(res.rows_affected)
}

/// Relays until shutdown: at once when woken, and every 100 ms.
pub async fn run(state: AppState, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let mut prune_every = tokio::time::interval(Duration::from_secs(600));
    let mut backoff = Duration::from_millis(100);
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            _ = state.relay_wake.notified() => {}
            _ = tokio::time::sleep(backoff) => {}
            _ = prune_every.tick() => {
                if let Err(e) = prune(&state, chrono::Duration::hours(24)).await {
                    tracing::warn!(error = %e, "outbox prune failed");
                }
            }
        }
        loop {
            match relay_once(&state).await {
                Ok(500) => continue,
                Ok(_) => {
                    backoff = Duration::from_millis(100);
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "outbox relay failed");
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                    break;
                }
            }
        }
    }
}
