//! Per-team statistics for coordinators: offers and how they were answered,
//! orders served, time to first accept, completion time and no-shows.
//!
//! Everything is computed by four grouped queries over the whole period
//! (not one query per team); a volunteer's activity counts for the team they
//! belong to now. Days are China Standard Time (UTC+8), like the leaderboards.
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, Statement, Value};
use uuid::Uuid;
use zhongdui_domain::{OrderStatus, Role};

use crate::error::ApiResult;
use zhongdui_domain::AssignmentState;

/// One team's figures for a period (see `routes::stats` for the definitions).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TeamFigures {
    /// Offers made to members.
    pub offers: i64,
    /// Of those, accepted.
    pub accepted: i64,
    /// Of those, declined.
    pub declined: i64,
    /// Of those, left to time out.
    pub expired: i64,
    /// Distinct orders a member came onto.
    pub orders_served: i64,
    /// Mean time from placement to first accept, over the orders whose
    /// first accepter was a member.
    pub avg_first_accept_secs: Option<f64>,
    /// Assignments completed by members.
    pub completed: i64,
    /// Their mean time from accepting to completing.
    pub avg_completion_secs: Option<f64>,
    /// Accepted assignments that ended without the member arriving.
    pub no_shows: i64,
}

/// States of an assignment whose volunteer came onto the order (accepted,
/// grabbed or was assigned) at `responded_at`, whatever happened after.
const TOOK_IT: [&str; 5] = [
    AssignmentState::Accepted.code(),
    AssignmentState::Arrived.code(),
    AssignmentState::Completed.code(),
    AssignmentState::Cancelled.code(),
    AssignmentState::Removed.code(),
];

fn quoted(list: &[&str]) -> String {
    list.iter()
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Seconds from `a` to `b` (two timestamp expressions), per backend.
fn secs_between(backend: DbBackend, a: &str, b: &str) -> String {
    match backend {
        DbBackend::Postgres => format!("EXTRACT(EPOCH FROM ({b} - {a}))"),
        // Timestamps are stored as RFC 3339 text.
        _ => format!("((julianday({b}) - julianday({a})) * 86400.0)"),
    }
}

/// An average of seconds as a double on both backends.
fn avg_secs(backend: DbBackend, expr: &str) -> String {
    match backend {
        DbBackend::Postgres => format!("CAST(AVG({expr}) AS DOUBLE PRECISION)"),
        _ => format!("AVG({expr})"),
    }
}

/// A statement with `?` placeholders, numbered for PostgreSQL.
fn statement(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = match backend {
        DbBackend::Postgres => {
            let mut out = String::with_capacity(sql.len() + 8);
            let mut n = 0;
            for c in sql.chars() {
                if c == '?' {
                    n += 1;
                    out.push_str(&format!("${n}"));
                } else {
                    out.push(c);
                }
            }
            out
        }
        _ => sql.to_owned(),
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// `AND v.team_id IN (?, …)` and its values, unless every team is wanted.
fn team_filter(teams: Option<&[Uuid]>) -> (String, Vec<Value>) {
    match teams {
        None => (String::new(), Vec::new()),
        Some([]) => (" AND 1 = 0".to_owned(), Vec::new()),
        Some(ids) => (
            format!(" AND v.team_id IN ({})", vec!["?"; ids.len()].join(", ")),
            ids.iter().map(|id| Value::from(*id)).collect(),
        ),
    }
}

fn round_tenth(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// The figures of every team in `teams` (`None`: all teams) with activity in
/// `[start, end)`. Teams without activity are absent from the map.
pub async fn team_figures<C: ConnectionTrait>(
    db: &C,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    teams: Option<&[Uuid]>,
) -> ApiResult<HashMap<Uuid, TeamFigures>> {
    let backend = db.get_database_backend();
    let (scope, scope_values) = team_filter(teams);
    let period = || {
        let mut v = vec![Value::from(start), Value::from(end)];
        v.extend(scope_values.iter().cloned());
        v
    };
    let took_it = quoted(&TOOK_IT);
    let mut out: HashMap<Uuid, TeamFigures> = HashMap::new();

    // 1. Offers made in the period (rows written by a wave: they carry a
    //    deadline) and what became of them. An offer counts as accepted when
    //    the volunteer came onto the order through it (accepting it, or
    //    grabbing the order while it was open), whatever happened after; a
    //    coordinator's manual assignment over it does not.
    let sql = format!(
        "SELECT v.team_id AS team_id, COUNT(*) AS offers, \
           COALESCE(SUM(CASE WHEN a.state IN ({took_it}) AND a.how <> 'manual' THEN 1 ELSE 0 END), 0) AS accepted, \
           COALESCE(SUM(CASE WHEN a.state = '{declined}' THEN 1 ELSE 0 END), 0) AS declined, \
           COALESCE(SUM(CASE WHEN a.state = '{expired}' THEN 1 ELSE 0 END), 0) AS expired \
         FROM assignments a JOIN volunteers v ON v.id = a.volunteer_id \
         WHERE a.deadline IS NOT NULL AND a.offered_at >= ? AND a.offered_at < ?{scope} \
         GROUP BY v.team_id",
        declined = AssignmentState::Declined.code(),
        expired = AssignmentState::Expired.code(),
    );
    for row in db.query_all_raw(statement(backend, &sql, period())).await? {
        let f = out.entry(row.try_get("", "team_id")?).or_default();
        f.offers = row.try_get("", "offers")?;
        f.accepted = row.try_get("", "accepted")?;
        f.declined = row.try_get("", "declined")?;
        f.expired = row.try_get("", "expired")?;
    }

    // 2. Members who came onto an order in the period (by `responded_at`,
    //    the moment they accepted, grabbed or were assigned): distinct
    //    orders served, and no-shows among them.
    let finished = quoted(&[
        OrderStatus::Completed.code(),
        OrderStatus::Confirmed.code(),
        OrderStatus::Closed.code(),
        OrderStatus::Cancelled.code(),
    ]);
    let sql = format!(
        "SELECT v.team_id AS team_id, COUNT(DISTINCT a.order_id) AS orders_served, \
           COALESCE(SUM(CASE WHEN a.arrived_at IS NULL AND ( \
               a.state = '{removed}' \
               OR (a.state = '{cancelled}' AND NOT EXISTS (SELECT 1 FROM order_events e \
                     WHERE e.order_id = a.order_id AND e.kind = 'cancelled' AND e.actor_role = '{resident}')) \
               OR (a.state = '{accepted}' AND o.status IN ({finished})) \
             ) THEN 1 ELSE 0 END), 0) AS no_shows \
         FROM assignments a JOIN volunteers v ON v.id = a.volunteer_id JOIN orders o ON o.id = a.order_id \
         WHERE a.state IN ({took_it}) AND a.responded_at >= ? AND a.responded_at < ?{scope} \
         GROUP BY v.team_id",
        removed = AssignmentState::Removed.code(),
        cancelled = AssignmentState::Cancelled.code(),
        accepted = AssignmentState::Accepted.code(),
        resident = Role::Resident.code(),
    );
    for row in db.query_all_raw(statement(backend, &sql, period())).await? {
        let f = out.entry(row.try_get("", "team_id")?).or_default();
        f.orders_served = row.try_get("", "orders_served")?;
        f.no_shows = row.try_get("", "no_shows")?;
    }

    // 3. Orders first accepted in the period by a member: the member whose
    //    acceptance set `first_accepted_at` (nobody on the order accepted
    //    earlier; simultaneous first accepts credit each team once).
    let first = secs_between(backend, "o.created_at", "o.first_accepted_at");
    let sql = format!(
        "SELECT t.team_id AS team_id, {avg} AS avg_secs FROM ( \
           SELECT DISTINCT v.team_id AS team_id, o.id AS order_id, {first} AS secs \
           FROM orders o JOIN assignments a ON a.order_id = o.id JOIN volunteers v ON v.id = a.volunteer_id \
           WHERE o.first_accepted_at >= ? AND o.first_accepted_at < ?{scope} \
             AND a.state IN ({took_it}) AND a.responded_at <= o.first_accepted_at \
         ) t GROUP BY t.team_id",
        avg = avg_secs(backend, "t.secs"),
    );
    for row in db.query_all_raw(statement(backend, &sql, period())).await? {
        let f = out.entry(row.try_get("", "team_id")?).or_default();
        f.avg_first_accept_secs = row.try_get::<Option<f64>>("", "avg_secs")?.map(round_tenth);
    }

    // 4. Assignments completed in the period: completion time runs from the
    //    member's acceptance (`responded_at`) to their completion.
    let took = secs_between(backend, "a.responded_at", "a.completed_at");
    let sql = format!(
        "SELECT v.team_id AS team_id, COUNT(*) AS completed, {avg} AS avg_secs \
         FROM assignments a JOIN volunteers v ON v.id = a.volunteer_id \
         WHERE a.state = '{completed}' AND a.completed_at >= ? AND a.completed_at < ?{scope} \
         GROUP BY v.team_id",
        avg = avg_secs(backend, &took),
        completed = AssignmentState::Completed.code(),
    );
    for row in db.query_all_raw(statement(backend, &sql, period())).await? {
        let f = out.entry(row.try_get("", "team_id")?).or_default();
        f.completed = row.try_get("", "completed")?;
        f.avg_completion_secs = row.try_get::<Option<f64>>("", "avg_secs")?.map(round_tenth);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_for_postgres() {
        let s = statement(DbBackend::Postgres, "a = ? AND b IN (?, ?)", vec![]);
        assert_eq!(s.sql, "a = $1 AND b IN ($2, $3)");
        let s = statement(DbBackend::Sqlite, "a = ?", vec![]);
        assert_eq!(s.sql, "a = ?");
    }
}
