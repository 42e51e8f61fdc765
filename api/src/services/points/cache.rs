//! Leaderboards in Redis sorted sets (when Redis is configured), SQL otherwise.
use chrono::{DateTime, Utc};
use redis::AsyncCommands;
use uuid::Uuid;

use super::board::{LeaderRow, Period, ranked, sums};
use super::earning::Credit;
use crate::error::ApiResult;
use crate::state::AppState;

const TTL_SECS: i64 = 3600;
const PERIODS: [Period; 3] = [Period::Week, Period::Month, Period::All];

fn key(state: &AppState, teams: bool, period: Period, now: DateTime<Utc>) -> String {
    let start = period.start(now).map(|s| s.timestamp()).unwrap_or(0);
    let scope = if teams { "teams" } else { "volunteers" };
    state
        .channels()
        .key(&format!("lb:{scope}:{}:{start}", period.code()))
}

/// The top `limit` of a board: from the sorted set, built from the
/// ledger on first use; from SQL without Redis (or if Redis fails).
pub async fn leaderboard(
    state: &AppState,
    teams: bool,
    period: Period,
    limit: usize,
) -> ApiResult<Vec<LeaderRow>> {
    let now = state.clock.now();
    let Some(mut conn) = state.bus.redis_conn() else {
        return super::board::leaderboard(&state.db, teams, period, now, limit).await;
    };
    let k = key(state, teams, period, now);
    match read(&mut conn, state, &k, teams, period, now, limit).await {
        Ok(Some(top)) => ranked(&state.db, teams, top).await,
        Ok(None) => super::board::leaderboard(&state.db, teams, period, now, limit).await,
        Err(e) => {
            tracing::warn!(error = %e, "Redis leaderboard unavailable; using SQL");
            super::board::leaderboard(&state.db, teams, period, now, limit).await
        }
    }
}

async fn read(
    conn: &mut redis::aio::ConnectionManager,
    state: &AppState,
    k: &str,
    teams: bool,
    period: Period,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<Option<Vec<(Uuid, i64)>>, redis::RedisError> {
    let exists: bool = conn.exists(k).await?;
    if !exists {
        let Ok(all) = sums(&state.db, teams, period.start(now), None).await else {
            return Ok(None);
        };
        let mut pipe = redis::pipe();
        pipe.atomic().del(k);
        for chunk in all.chunks(500) {
            let members: Vec<(i64, String)> =
                chunk.iter().map(|(id, p)| (*p, id.to_string())).collect();
            pipe.zadd_multiple(k, &members);
        }
        // An empty board still gets a (sentinel-free) key so it is not rebuilt each time.
        pipe.zadd(k, "_", i64::MIN / 2).expire(k, TTL_SECS);
        let _: () = pipe.query_async(conn).await?;
    }
    let end = isize::try_from(limit).unwrap_or(isize::MAX) - 1;
    let rows: Vec<(String, f64)> = conn.zrevrange_withscores(k, 0, end).await?;
    Ok(Some(
        rows.into_iter()
            .filter_map(|(m, score)| Some((m.parse::<Uuid>().ok()?, score as i64)))
            .collect(),
    ))
}

/// After a commit: adds new ledger rows to the boards that exist.
pub async fn add(state: &AppState, credits: &[Credit]) {
    let Some(mut conn) = state.bus.redis_conn() else {
        return;
    };
    // ZINCRBY only where the board is built (else the next read builds it).
    let script = redis::Script::new(
        "if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('ZINCRBY', KEYS[1], ARGV[1], ARGV[2]) end return false",
    );
    for c in credits {
        for period in PERIODS {
            if period.start(c.at).is_some_and(|s| c.at < s) {
                continue;
            }
            let mut targets = vec![(key(state, false, period, c.at), c.volunteer_id)];
            if let Some(t) = c.team_id {
                targets.push((key(state, true, period, c.at), t));
            }
            for (k, member) in targets {
                let r: Result<Option<String>, _> = script
                    .key(&k)
                    .arg(c.amount)
                    .arg(member.to_string())
                    .invoke_async(&mut conn)
                    .await;
                if let Err(e) = r {
                    tracing::warn!(error = %e, "leaderboard update skipped; the board expires and is rebuilt");
                    let _: Result<(), _> = conn.del(&k).await;
                }
            }
        }
    }
}
