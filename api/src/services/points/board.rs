//! Leaderboards from the ledger: periods in China time, sums, ranks.
use std::collections::HashMap;
use zhongdui_domain::text::phrases as p;

use chrono::{DateTime, Datelike, Duration, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QuerySelect,
};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::entities::{points_entry, team, user, volunteer};
use crate::error::{ApiError, ApiResult};

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
                p::PERIOD_NAME.with("value", other),
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

pub(super) async fn sums<C: ConnectionTrait>(
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
pub(super) async fn ranked<C: ConnectionTrait>(
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

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
