//! Service hours (志愿服务时长): recorded from verified presence — check-in
//! on scene (inside the geofence) to completion for an order, time on duty
//! within a patrol shift — each record keeping its source; a shift's
//! record waits for its coordinator, who confirms or corrects it with a
//! reason (audited). Star levels, team and city totals, and the export for
//! the city's records system.
use std::collections::{BTreeMap, HashMap};
use zhongdui_domain::text::phrases as p;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde_json::json;
use uuid::Uuid;

use crate::entities::{service_hour, shift, team, user, volunteer};
use crate::error::{ApiError, ApiResult};
use crate::services::csv_roster::{csv_err, safe_cell};
use crate::services::orders::Actor;
use crate::services::privacy;

/// Where a record comes from.
pub const FROM_ORDER: &str = "order";
/// Where a record comes from.
pub const FROM_SHIFT: &str = "shift";
/// Counted (an order's check-in to completion, or a reviewed shift).
pub const CONFIRMED: &str = "confirmed";
/// A shift's record awaiting its coordinator (not counted yet).
pub const PENDING: &str = "pending";
/// Counted as a coordinator corrected it.
pub const CORRECTED: &str = "corrected";

/// The star levels (星级志愿者) by recorded hours: 一星 at 100 h up to 五星 at 1,500 h.
pub const STAR_HOURS: [i64; 5] = [100, 300, 600, 1000, 1500];

/// A volunteer's star level from their counted minutes: the level (0–5)
/// and the hours the next one needs (none at five stars).
pub fn star(minutes: i64) -> (u8, Option<i64>) {
    let hours = minutes / 60;
    let level = STAR_HOURS.iter().filter(|h| hours >= **h).count();
    (level as u8, STAR_HOURS.get(level).copied())
}

async fn insert_once<C: ConnectionTrait>(
    db: &C,
    row: service_hour::ActiveModel,
    key: service_hour::Column,
) -> ApiResult<()> {
    service_hour::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([service_hour::Column::VolunteerId, key])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Records `volunteer`'s time on order `order_id`: from their check-in
/// (`arrived`) to completion (`now`), to the nearest minute, confirmed.
pub async fn record_order<C: ConnectionTrait>(
    db: &C,
    v: &volunteer::Model,
    order_id: Uuid,
    arrived: DateTime<Utc>,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let minutes = (((now - arrived).num_seconds().max(0) + 30) / 60) as i32;
    let row = service_hour::ActiveModel {
        id: Set(Uuid::new_v4()),
        volunteer_id: Set(v.id),
        team_id: Set(v.team_id),
        order_id: Set(Some(order_id)),
        shift_id: Set(None),
        started_at: Set(arrived),
        ended_at: Set(now),
        minutes: Set(minutes),
        recorded_minutes: Set(minutes),
        source: Set(FROM_ORDER.to_owned()),
        status: Set(CONFIRMED.to_owned()),
        reason: Set(None),
        reviewed_by: Set(None),
        reviewed_at: Set(None),
        created_at: Set(now),
    };
    insert_once(db, row, service_hour::Column::OrderId).await
}

/// Records `minutes` on duty within patrol shift `s` (up to `until`), for
/// its coordinator to confirm or correct.
pub async fn record_shift<C: ConnectionTrait>(
    db: &C,
    v: &volunteer::Model,
    s: &shift::Model,
    until: DateTime<Utc>,
    minutes: i64,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let minutes = minutes.clamp(0, i64::from(i32::MAX)) as i32;
    let row = service_hour::ActiveModel {
        id: Set(Uuid::new_v4()),
        volunteer_id: Set(v.id),
        team_id: Set(s.team_id),
        order_id: Set(None),
        shift_id: Set(Some(s.id)),
        started_at: Set(s.starts_at),
        ended_at: Set(until),
        minutes: Set(minutes),
        recorded_minutes: Set(minutes),
        source: Set(FROM_SHIFT.to_owned()),
        status: Set(PENDING.to_owned()),
        reason: Set(None),
        reviewed_by: Set(None),
        reviewed_at: Set(None),
        created_at: Set(now),
    };
    insert_once(db, row, service_hour::Column::ShiftId).await
}

/// Whether a record counts towards totals.
pub fn counts(r: &service_hour::Model) -> bool {
    r.status != PENDING
}

/// Records starting in `[from, to)` (either end open), earliest first: of
/// one volunteer, or of some teams (`None`: every team).
pub async fn records<C: ConnectionTrait>(
    db: &C,
    volunteer: Option<Uuid>,
    teams: Option<&[Uuid]>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> ApiResult<Vec<service_hour::Model>> {
    let mut q = service_hour::Entity::find();
    if let Some(v) = volunteer {
        q = q.filter(service_hour::Column::VolunteerId.eq(v));
    }
    if let Some(t) = teams {
        q = q.filter(service_hour::Column::TeamId.is_in(t.to_vec()));
    }
    if let Some(f) = from {
        q = q.filter(service_hour::Column::StartedAt.gte(f));
    }
    if let Some(t) = to {
        q = q.filter(service_hour::Column::StartedAt.lt(t));
    }
    Ok(q.order_by_asc(service_hour::Column::StartedAt)
        .order_by_asc(service_hour::Column::Id)
        .all(db)
        .await?)
}

/// (counted, pending) minutes of `rows`.
pub fn sums(rows: &[service_hour::Model]) -> (i64, i64) {
    rows.iter().fold((0, 0), |(c, p), r| {
        if counts(r) {
            (c + i64::from(r.minutes), p)
        } else {
            (c, p + i64::from(r.minutes))
        }
    })
}

/// A coordinator's review of a pending or counted record: confirm it as
/// recorded (`minutes` none) or correct it to `minutes` with a reason.
/// Audited with the minutes before and after.
pub async fn review<C: ConnectionTrait>(
    db: &C,
    r: &service_hour::Model,
    actor: Actor,
    minutes: Option<i32>,
    reason: Option<String>,
    now: DateTime<Utc>,
) -> ApiResult<service_hour::Model> {
    let (status, minutes) = match minutes {
        None if r.status != PENDING => {
            return Err(ApiError::conflict(
                p::HOURS_ALREADY.with("status", p::word("hours", &r.status)),
            ));
        }
        None => (CONFIRMED, r.minutes),
        Some(m) => (CORRECTED, m),
    };
    let span = (r.ended_at - r.started_at).num_minutes();
    if i64::from(minutes) > span.max(i64::from(r.recorded_minutes)) {
        return Err(ApiError::invalid(
            "minutes",
            p::HOURS_SPAN.with("span", span),
        ));
    }
    let changed = service_hour::Entity::update_many()
        .col_expr(service_hour::Column::Minutes, Expr::value(minutes))
        .col_expr(service_hour::Column::Status, Expr::value(status))
        .col_expr(service_hour::Column::Reason, Expr::value(reason.clone()))
        .col_expr(service_hour::Column::ReviewedBy, Expr::value(actor.id))
        .col_expr(service_hour::Column::ReviewedAt, Expr::value(now))
        .filter(service_hour::Column::Id.eq(r.id))
        .filter(service_hour::Column::Minutes.eq(r.minutes))
        .filter(service_hour::Column::Status.eq(r.status.clone()))
        .exec(db)
        .await?;
    if changed.rows_affected == 0 {
        return Err(ApiError::conflict(&p::RECORD_CHANGED_MEANWHILE_RELOAD));
    }
    let data = json!({"volunteer_id": r.volunteer_id.to_string(), "before": r.minutes,
                      "after": minutes, "status": status, "reason": reason});
    let action = if status == CORRECTED {
        "corrected"
    } else {
        "confirmed"
    };
    privacy::audit(db, actor, "service_hours", r.id, action, data, now).await?;
    service_hour::Entity::find_by_id(r.id)
        .one(db)
        .await?
        .ok_or(ApiError::NotFound(&p::NOUN_RECORD))
}

/// A team's counted hours in a period.
#[derive(Clone, Debug)]
pub struct TeamTotal {
    pub team_id: Uuid,
    pub team_name: String,
    pub minutes: i64,
    pub pending_minutes: i64,
    pub volunteers: usize,
}

/// Totals per team (the teams of `scope`, or all) over `rows`.
pub async fn team_totals<C: ConnectionTrait>(
    db: &C,
    scope: Option<&[Uuid]>,
    rows: &[service_hour::Model],
) -> ApiResult<Vec<TeamTotal>> {
    let mut q = team::Entity::find().order_by_asc(team::Column::Name);
    if let Some(s) = scope {
        q = q.filter(team::Column::Id.is_in(s.to_vec()));
    }
    let mut out = Vec::new();
    for t in q.all(db).await? {
        let mine: Vec<service_hour::Model> =
            rows.iter().filter(|r| r.team_id == t.id).cloned().collect();
        let (minutes, pending_minutes) = sums(&mine);
        let mut people: Vec<Uuid> = mine
            .iter()
            .filter(|r| counts(r))
            .map(|r| r.volunteer_id)
            .collect();
        people.sort();
        people.dedup();
        out.push(TeamTotal {
            team_id: t.id,
            team_name: t.name,
            minutes,
            pending_minutes,
            volunteers: people.len(),
        });
    }
    Ok(out)
}

/// A record's part within one China day: the day, from, to, minutes.
pub type DayPart = (NaiveDate, DateTime<Utc>, DateTime<Utc>, i64);

/// Splits `[start, end)` at China-time midnights: each day's part and
/// its share of `minutes` (a record with no span is one part).
pub fn by_city_day(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    minutes: i64,
) -> ApiResult<Vec<DayPart>> {
    let total = (end - start).num_seconds();
    if total <= 0 {
        return Ok(vec![(
            crate::clock::local_today(start)?,
            start,
            end,
            minutes,
        )]);
    }
    let mut parts = Vec::new();
    let mut at = start;
    let mut given = 0;
    while at < end {
        let day = crate::clock::local_today(at)?;
        let next = crate::clock::local_day_start(day + Duration::days(1))?.min(end);
        let share = if next == end {
            minutes - given
        } else {
            minutes * (next - at).num_seconds() / total
        };
        given += share;
        parts.push((day, at, next, share));
        at = next;
    }
    Ok(parts)
}

/// The export for the city's records system: one row per record and China
/// day (UTF-8 with a BOM, times in China time, text cells formula-safe).
pub async fn export_csv<C: ConnectionTrait>(
    db: &C,
    rows: &[service_hour::Model],
) -> ApiResult<Vec<u8>> {
    let people: Vec<Uuid> = rows.iter().map(|r| r.volunteer_id).collect();
    let users: HashMap<Uuid, user::Model> = user::Entity::find()
        .filter(user::Column::Id.is_in(people))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    let teams: HashMap<Uuid, String> = team::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.id, t.name))
        .collect();
    let codes =
        crate::services::orders::codes_of(db, rows.iter().filter_map(|r| r.order_id).collect())
            .await?;
    let china = chrono::FixedOffset::east_opt(8 * 3600)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("UTC+8 is a valid offset")))?;
    let mut out = "\u{feff}".as_bytes().to_vec();
    {
        let mut w = csv::Writer::from_writer(&mut out);
        w.write_record([
            "date",
            "volunteer_id",
            "name",
            "phone",
            "team",
            "source",
            "reference",
            "started_at",
            "ended_at",
            "minutes",
            "status",
        ])
        .map_err(csv_err)?;
        for r in rows {
            let u = users.get(&r.volunteer_id);
            let reference = match (r.order_id, r.shift_id) {
                (Some(o), _) => codes.get(&o).cloned().unwrap_or_else(|| o.to_string()),
                (_, Some(s)) => s.to_string(),
                _ => String::new(),
            };
            for (day, a, b, minutes) in by_city_day(r.started_at, r.ended_at, i64::from(r.minutes))?
            {
                w.write_record([
                    day.format("%Y-%m-%d").to_string(),
                    r.volunteer_id.to_string(),
                    safe_cell(u.map(|u| u.display_name.as_str()).unwrap_or("")),
                    safe_cell(u.map(|u| u.phone.as_str()).unwrap_or("")),
                    safe_cell(teams.get(&r.team_id).map(String::as_str).unwrap_or("")),
                    r.source.clone(),
                    safe_cell(&reference),
                    a.with_timezone(&china).format("%Y-%m-%d %H:%M").to_string(),
                    b.with_timezone(&china).format("%Y-%m-%d %H:%M").to_string(),
                    minutes.to_string(),
                    r.status.clone(),
                ])
                .map_err(csv_err)?;
            }
        }
        w.flush().map_err(|e| ApiError::Internal(e.into()))?;
    }
    Ok(out)
}

/// Records grouped by volunteer, for certificates and listings.
pub fn by_volunteer(rows: &[service_hour::Model]) -> BTreeMap<Uuid, Vec<&service_hour::Model>> {
    let mut m: BTreeMap<Uuid, Vec<&service_hour::Model>> = BTreeMap::new();
    for r in rows {
        m.entry(r.volunteer_id).or_default().push(r);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn star_levels() {
        assert_eq!(star(0), (0, Some(100)));
        assert_eq!(star(99 * 60 + 59), (0, Some(100)));
        assert_eq!(star(100 * 60), (1, Some(300)));
        assert_eq!(star(999 * 60), (3, Some(1000)));
        assert_eq!(star(1500 * 60), (5, None));
    }

    #[test]
    fn a_record_over_midnight_splits_by_city_day() {
        // 23:00 to 01:00 China time = 15:00 to 17:00 UTC.
        let a = Utc.with_ymd_and_hms(2026, 3, 1, 15, 0, 0).unwrap();
        let b = Utc.with_ymd_and_hms(2026, 3, 1, 17, 0, 0).unwrap();
        let parts = by_city_day(a, b, 120).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].0.to_string(), "2026-03-01");
        assert_eq!(parts[1].0.to_string(), "2026-03-02");
        assert_eq!((parts[0].3, parts[1].3), (60, 60));
        // A corrected record's minutes are shared by the parts' spans.
        let parts = by_city_day(a, b, 90).unwrap();
        assert_eq!(parts.iter().map(|p| p.3).sum::<i64>(), 90);
    }
}
