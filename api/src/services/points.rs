//! Points: an append-only ledger (earn, bonus, adjustment, redemption).
//! Balances and leaderboards are sums of it; earning is idempotent per
//! (order, volunteer) through the ledger's unique idempotency key.
use std::collections::HashMap;

use chrono::{DateTime, Datelike, Duration, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::entities::{assignment, order, points_entry, team, user, volunteer};
use crate::error::{ApiError, ApiResult};
use crate::settings::PointsSettings;
use zhongdui_domain::AssignmentState;

/// Ledger entry kinds.
pub const KINDS: [&str; 4] = ["earn", "bonus", "adjustment", "redemption"];

/// Points for one volunteer's part in a closed order, by the rule table:
/// tier base + time on task (per started half hour, capped) + rating bonus.
pub fn earned(
    rules: &PointsSettings,
    tier: i16,
    minutes_on_task: i64,
    rating: Option<i16>,
) -> (i32, i32) {
    let tier_index = usize::try_from(tier.clamp(1, 3) - 1).unwrap_or(0);
    let base = rules.tier_base.get(tier_index).copied().unwrap_or(0);
    let half_hours = i32::try_from((minutes_on_task.max(0) + 29) / 30).unwrap_or(i32::MAX);
    let time = half_hours
        .saturating_mul(rules.per_half_hour)
        .min(rules.max_time_points);
    let bonus = match rating {
        Some(5) => rules.rating5_bonus,
        Some(4) => rules.rating4_bonus,
        _ => 0,
    };
    (base + time, bonus)
}

/// A ledger row just written (for the leaderboards).
#[derive(Debug, Clone, Copy)]
pub struct Credit {
    /// Volunteer.
    pub volunteer_id: Uuid,
    /// Their team then.
    pub team_id: Option<Uuid>,
    /// Points.
    pub amount: i32,
    /// When.
    pub at: DateTime<Utc>,
}

/// Writes the ledger rows for a closed order (confirmed or auto-closed).
/// Safe to call any number of times: one earn (and bonus) row per volunteer.
/// Returns the rows this call wrote.
pub async fn award_for_order<C: ConnectionTrait>(
    db: &C,
    rules: &PointsSettings,
    o: &order::Model,
    now: DateTime<Utc>,
    ch: crate::services::orders::Channels<'_>,
) -> ApiResult<Vec<Credit>> {
    let done = assignment::Entity::find()
        .filter(assignment::Column::OrderId.eq(o.id))
        .filter(assignment::Column::State.eq(AssignmentState::Completed.code()))
        .all(db)
        .await?;
    // (row, what it credits) per ledger row this order should have.
    let mut rows: Vec<(points_entry::ActiveModel, String, Credit)> = Vec::new();
    for a in &done {
        let team_id = volunteer::Entity::find_by_id(a.volunteer_id)
            .one(db)
            .await?
            .map(|v| v.team_id);
        let minutes = match (a.arrived_at, a.completed_at) {
            (Some(s), Some(e)) => (e - s).num_minutes(),
            _ => 0,
        };
        let (amount, bonus) = earned(rules, o.tier, minutes, o.rating);
        let mut entry = |kind: &str, amount: i32, reason: String| {
            let key = format!("{kind}:{}:{}", o.id, a.volunteer_id);
            let row = points_entry::ActiveModel {
                volunteer_id: Set(a.volunteer_id),
                team_id: Set(team_id),
                kind: Set(kind.to_owned()),
                amount: Set(amount),
                order_id: Set(Some(o.id)),
                reason: Set(Some(reason)),
                idempotency_key: Set(key.clone()),
                created_by: Set(None),
                created_at: Set(now),
                ..Default::default()
            };
            let credit = Credit {
                volunteer_id: a.volunteer_id,
                team_id,
                amount,
                at: now,
            };
            rows.push((row, key, credit));
        };
        entry(
            "earn",
            amount,
            format!("{} ({} min on task)", o.code, minutes),
        );
        if bonus > 0 {
            entry(
                "bonus",
                bonus,
                format!("{} rated {}", o.code, o.rating.unwrap_or(0)),
            );
        }
    }
    let keys: Vec<String> = rows.iter().map(|(_, k, _)| k.clone()).collect();
    let existing: std::collections::HashSet<String> = points_entry::Entity::find()
        .filter(points_entry::Column::IdempotencyKey.is_in(keys))
        .all(db)
        .await?
        .into_iter()
        .map(|e| e.idempotency_key)
        .collect();
    let (fresh, credits): (Vec<_>, Vec<_>) = rows
        .into_iter()
        .filter(|(_, k, _)| !existing.contains(k))
        .map(|(row, _, credit)| (row, credit))
        .unzip();
    if !fresh.is_empty() {
        points_entry::Entity::insert_many(fresh)
            .on_conflict(
                OnConflict::column(points_entry::Column::IdempotencyKey)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    // Tell each volunteer, in the same transaction, so their balance updates live.
    let mut per_volunteer: std::collections::BTreeMap<Uuid, i64> = Default::default();
    for c in &credits {
        *per_volunteer.entry(c.volunteer_id).or_default() += i64::from(c.amount);
    }
    for (volunteer_id, amount) in per_volunteer {
        crate::services::orders::push(
            db,
            ch.volunteer(volunteer_id),
            crate::messages::Push::PointsAwarded {
                order_id: o.id,
                code: o.code.clone(),
                amount,
            },
            now,
        )
        .await?;
    }
    Ok(credits)
}

/// A volunteer's balance: the sum of their ledger.
pub async fn balance<C: ConnectionTrait>(db: &C, volunteer_id: Uuid) -> ApiResult<i64> {
    let sum: Option<Option<i64>> = points_entry::Entity::find()
        .select_only()
        .column_as(points_entry::Column::Amount.sum(), "total")
        .filter(points_entry::Column::VolunteerId.eq(volunteer_id))
        .into_tuple()
        .one(db)
        .await?;
    Ok(sum.flatten().unwrap_or(0))
}

/// A leaderboard period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// Since Monday 00:00 (China time).
    Week,
    /// Since the 1st of the month 00:00 (China time).
    Month,
    /// Ever.
    All,
}

impl Period {
    /// Parses `week`, `month` or `all`.
    pub fn parse(s: &str) -> ApiResult<Self> {
        match s {
            "week" => Ok(Period::Week),
            "month" => Ok(Period::Month),
            "all" => Ok(Period::All),
            other => Err(ApiError::invalid(
                "period",
                format!("`{other}` is not week, month or all"),
            )),
        }
    }

    /// The code.
    pub fn code(self) -> &'static str {
        match self {
            Period::Week => "week",
            Period::Month => "month",
            Period::All => "all",
        }
    }

    /// When the period started, in Beijing time (UTC+8), as UTC.
    pub fn start(self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = crate::clock::local_today(now).ok()?;
        let day = match self {
            Period::Week => {
                local - Duration::days(i64::from(local.weekday().num_days_from_monday()))
            }
            Period::Month => local.with_day(1)?,
            Period::All => return None,
        };
        crate::clock::local_day_start(day).ok()
    }
}

/// One row of a leaderboard.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LeaderRow {
    /// 1-based rank (ties share a rank).
    pub rank: u32,
    /// Volunteer or team id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Team name (volunteer boards).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team_name: Option<String>,
    /// Points in the period.
    pub points: i64,
}

#[derive(FromQueryResult)]
struct SumRow {
    key: Uuid,
    total: i64,
}

async fn sums<C: ConnectionTrait>(
    db: &C,
    by_team: bool,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
) -> ApiResult<Vec<(Uuid, i64)>> {
    let key = if by_team {
        points_entry::Column::TeamId
    } else {
        points_entry::Column::VolunteerId
    };
    let mut q = points_entry::Entity::find()
        .select_only()
        .column_as(key, "key")
        .column_as(
            sea_orm::sea_query::ExprTrait::cast_as(points_entry::Column::Amount.sum(), "BIGINT"),
            "total",
        )
        .filter(key.is_not_null())
        .group_by(key);
    if let Some(s) = since {
        q = q.filter(points_entry::Column::CreatedAt.gte(s));
    }
    if let Some(u) = until {
        q = q.filter(points_entry::Column::CreatedAt.lt(u));
    }
    let rows = q.into_model::<SumRow>().all(db).await?;
    let mut out: Vec<(Uuid, i64)> = rows.into_iter().map(|r| (r.key, r.total)).collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    Ok(out)
}

/// The leaderboard of volunteers or teams for a period, top `limit`.
pub async fn leaderboard<C: ConnectionTrait>(
    db: &C,
    teams: bool,
    period: Period,
    now: DateTime<Utc>,
    limit: usize,
) -> ApiResult<Vec<LeaderRow>> {
    let totals = sums(db, teams, period.start(now), None).await?;
    let top: Vec<(Uuid, i64)> = totals.into_iter().take(limit).collect();
    ranked(db, teams, top).await
}

/// Names and ranks for (id, points) rows sorted best first.
async fn ranked<C: ConnectionTrait>(
    db: &C,
    teams: bool,
    top: Vec<(Uuid, i64)>,
) -> ApiResult<Vec<LeaderRow>> {
    let ids: Vec<Uuid> = top.iter().map(|(id, _)| *id).collect();
    let (names, team_names) = if teams {
        let names: HashMap<Uuid, String> = team::Entity::find()
            .filter(team::Column::Id.is_in(ids))
            .all(db)
            .await?
            .into_iter()
            .map(|t| (t.id, t.name))
            .collect();
        (names, HashMap::new())
    } else {
        let names: HashMap<Uuid, String> = user::Entity::find()
            .filter(user::Column::Id.is_in(ids.clone()))
            .all(db)
            .await?
            .into_iter()
            .map(|u| (u.id, u.display_name))
            .collect();
        let vols = volunteer::Entity::find()
            .filter(volunteer::Column::Id.is_in(ids))
            .all(db)
            .await?;
        let all_teams: HashMap<Uuid, String> = team::Entity::find()
            .filter(team::Column::Id.is_in(vols.iter().map(|v| v.team_id).collect::<Vec<_>>()))
            .all(db)
            .await?
            .into_iter()
            .map(|t| (t.id, t.name))
            .collect();
        let team_names = vols
            .into_iter()
            .filter_map(|v| all_teams.get(&v.team_id).map(|n| (v.id, n.clone())))
            .collect();
        (names, team_names)
    };
    let mut rows = Vec::new();
    let mut rank = 0;
    let mut last = None;
    for (i, (id, points)) in top.into_iter().enumerate() {
        if last != Some(points) {
            rank = i + 1;
            last = Some(points);
        }
        rows.push(LeaderRow {
            rank: u32::try_from(rank).unwrap_or(u32::MAX),
            id: id.to_string(),
            name: names.get(&id).cloned().unwrap_or_default(),
            team_name: team_names.get(&id).cloned(),
            points,
        });
    }
    Ok(rows)
}

/// A volunteer's all-time rank among volunteers (1-based; None with no points).
pub async fn rank_of<C: ConnectionTrait>(db: &C, volunteer_id: Uuid) -> ApiResult<Option<u32>> {
    let totals = sums(db, false, None, None).await?;
    let Some(mine) = totals
        .iter()
        .find(|(id, _)| *id == volunteer_id)
        .map(|(_, p)| *p)
    else {
        return Ok(None);
    };
    let better = totals.iter().filter(|(_, p)| *p > mine).count();
    Ok(Some(u32::try_from(better + 1).unwrap_or(u32::MAX)))
}

/// A volunteer's ledger, newest first.
pub async fn history<C: ConnectionTrait>(
    db: &C,
    volunteer_id: Uuid,
    limit: u64,
) -> ApiResult<Vec<points_entry::Model>> {
    Ok(points_entry::Entity::find()
        .filter(points_entry::Column::VolunteerId.eq(volunteer_id))
        .order_by_desc(points_entry::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// A points adjustment or redemption to book.
pub struct Adjustment<'a> {
    /// Whose points.
    pub volunteer_id: Uuid,
    /// `adjustment` or `redemption`.
    pub kind: &'a str,
    /// Points added (negative: taken).
    pub amount: i32,
    /// Why.
    pub reason: String,
    /// Makes retries harmless: a second booking with the key returns the first.
    pub key: String,
}

/// Books an adjustment or redemption by `by` at `now`: returns the row and
/// whether this call wrote it (false: its key was booked before).
pub async fn adjust<C: ConnectionTrait>(
    db: &C,
    a: Adjustment<'_>,
    by: Uuid,
    now: DateTime<Utc>,
) -> ApiResult<(points_entry::Model, bool)> {
    let Adjustment {
        volunteer_id,
        kind,
        amount,
        reason,
        key,
    } = a;
    let v = volunteer::Entity::find_by_id(volunteer_id)
        .one(db)
        .await?
        .ok_or_else(|| ApiError::invalid("volunteer_id", "no such volunteer"))?;
    if let Some(existing) = points_entry::Entity::find()
        .filter(points_entry::Column::IdempotencyKey.eq(key.as_str()))
        .one(db)
        .await?
    {
        return Ok((existing, false));
    }
    let row = points_entry::ActiveModel {
        volunteer_id: Set(volunteer_id),
        team_id: Set(Some(v.team_id)),
        kind: Set(kind.to_owned()),
        amount: Set(amount),
        order_id: Set(None),
        reason: Set(Some(reason)),
        idempotency_key: Set(key.clone()),
        created_by: Set(Some(by)),
        created_at: Set(now),
        ..Default::default()
    };
    points_entry::Entity::insert(row)
        .on_conflict(
            OnConflict::column(points_entry::Column::IdempotencyKey)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    points_entry::Entity::find()
        .filter(points_entry::Column::IdempotencyKey.eq(key))
        .one(db)
        .await?
        .map(|e| (e, true))
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("adjustment vanished")))
}

/// Points per volunteer for the residency-points scheme, as CSV:
/// `phone,display_name,team,points_in_period,balance`.
/// `teams` limits the rows to volunteers of those teams (a coordinator's).
pub async fn export_csv<C: ConnectionTrait>(
    db: &C,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    teams_only: Option<&[Uuid]>,
) -> ApiResult<Vec<u8>> {
    let period: HashMap<Uuid, i64> = sums(db, false, from, to).await?.into_iter().collect();
    let all: HashMap<Uuid, i64> = sums(db, false, None, None).await?.into_iter().collect();
    let users: HashMap<Uuid, user::Model> = user::Entity::find()
        .filter(user::Column::Id.is_in(all.keys().copied().collect::<Vec<_>>()))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    let vols: HashMap<Uuid, Uuid> = volunteer::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|v| (v.id, v.team_id))
        .collect();
    let teams: HashMap<Uuid, String> = team::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.id, t.name))
        .collect();
    let mut rows: Vec<(String, String, String, i64, i64)> = all
        .iter()
        .filter(|(id, _)| {
            teams_only.is_none_or(|only| vols.get(*id).is_some_and(|t| only.contains(t)))
        })
        .filter_map(|(id, bal)| {
            let u = users.get(id)?;
            let team = vols
                .get(id)
                .and_then(|t| teams.get(t))
                .cloned()
                .unwrap_or_default();
            Some((
                u.phone.clone(),
                u.display_name.clone(),
                team,
                period.get(id).copied().unwrap_or(0),
                *bal,
            ))
        })
        .collect();
    rows.sort();
    let mut out = "\u{feff}".as_bytes().to_vec();
    {
        let mut w = csv::Writer::from_writer(&mut out);
        let err =
            |e: csv::Error| ApiError::Internal(anyhow::Error::new(e).context("writing points CSV"));
        w.write_record([
            "phone",
            "display_name",
            "team",
            "points_in_period",
            "balance",
        ])
        .map_err(err)?;
        for (phone, name, team, p, b) in rows {
            use crate::services::csv_roster::safe_cell;
            w.write_record([
                safe_cell(&phone),
                safe_cell(&name),
                safe_cell(&team),
                p.to_string(),
                b.to_string(),
            ])
            .map_err(err)?;
        }
        w.flush().map_err(|e| ApiError::Internal(e.into()))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn rules() -> PointsSettings {
        PointsSettings {
            tier_base: vec![10, 20, 30],
            per_half_hour: 5,
            max_time_points: 20,
            rating5_bonus: 10,
            rating4_bonus: 5,
        }
    }

    #[test]
    fn rule_table() {
        assert_eq!(earned(&rules(), 1, 0, None), (10, 0));
        assert_eq!(earned(&rules(), 3, 45, Some(5)), (30 + 10, 10));
        assert_eq!(
            earned(&rules(), 2, 600, Some(4)),
            (20 + 20, 5),
            "time is capped"
        );
        assert_eq!(
            earned(&rules(), 2, 1, Some(3)),
            (25, 0),
            "a started half hour counts"
        );
    }

    #[test]
    fn periods_start_in_beijing_time() {
        // Monday 2026-11-23 02:00 in Beijing is Sunday 18:00 UTC.
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 18, 0, 0).unwrap();
        assert_eq!(
            Period::Week.start(now).unwrap(),
            Utc.with_ymd_and_hms(2026, 11, 22, 16, 0, 0).unwrap()
        );
        assert_eq!(
            Period::Month.start(now).unwrap(),
            Utc.with_ymd_and_hms(2026, 10, 31, 16, 0, 0).unwrap()
        );
        assert!(Period::All.start(now).is_none());
        assert!(Period::parse("year").is_err());
    }
}

/// Leaderboards in Redis sorted sets (when Redis is configured), SQL otherwise.
pub mod cache {
    use chrono::{DateTime, Utc};
    use redis::AsyncCommands;
    use uuid::Uuid;

    use super::{Credit, LeaderRow, Period, ranked, sums};
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
            return super::leaderboard(&state.db, teams, period, now, limit).await;
        };
        let k = key(state, teams, period, now);
        match read(&mut conn, state, &k, teams, period, now, limit).await {
            Ok(Some(top)) => ranked(&state.db, teams, top).await,
            Ok(None) => super::leaderboard(&state.db, teams, period, now, limit).await,
            Err(e) => {
                tracing::warn!(error = %e, "Redis leaderboard unavailable; using SQL");
                super::leaderboard(&state.db, teams, period, now, limit).await
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
}
