//! A team's rota (排班): shifts and who is on them, the occurrences of a
//! weekly series, the hours nobody is on duty, and a volunteer's time on
//! duty from the history of duty changes. Switching duty at a shift's
//! start and end is `lifecycle::duty`'s.
use std::collections::HashMap;
use zhongdui_domain::text::phrases as p;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use uuid::Uuid;

use crate::entities::{duty_change, shift, shift_member, user, volunteer};
use crate::error::{ApiError, ApiResult};

/// A shift is on call (`duty`) or service time that counts as hours (`patrol`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShiftKind {
    /// On call: on duty for dispatch, no hours of its own.
    Duty,
    /// Patrol or service: time on duty within it is recorded as hours.
    Patrol,
}

impl ShiftKind {
    /// Its stored code.
    pub fn code(self) -> &'static str {
        match self {
            ShiftKind::Duty => "duty",
            ShiftKind::Patrol => "patrol",
        }
    }

    /// Parses a code.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "duty" => Some(ShiftKind::Duty),
            "patrol" => Some(ShiftKind::Patrol),
            _ => None,
        }
    }
}

/// The longest shift.
pub const MAX_SHIFT_HOURS: i64 = 24;
/// The furthest a weekly series runs (occurrences).
pub const MAX_OCCURRENCES: usize = 53;

/// Shifts to create: one, or one a week at the same time until a day
/// (China time, inclusive).
#[derive(Clone, Debug)]
pub struct NewShifts {
    pub team_id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub kind: ShiftKind,
    pub note: Option<String>,
    pub volunteer_ids: Vec<Uuid>,
    pub repeat_weekly_until: Option<NaiveDate>,
}

/// The spans of a series: the first, then one a week while its start falls
/// on or before `until` (China time).
pub fn occurrences(
    starts: DateTime<Utc>,
    ends: DateTime<Utc>,
    until: Option<NaiveDate>,
) -> ApiResult<Vec<(DateTime<Utc>, DateTime<Utc>)>> {
    let mut out = vec![(starts, ends)];
    if let Some(until) = until {
        let mut k = 1;
        loop {
            let s = starts + Duration::weeks(k);
            if crate::clock::local_today(s)? > until || out.len() >= MAX_OCCURRENCES {
                break;
            }
            out.push((s, ends + Duration::weeks(k)));
            k += 1;
        }
    }
    Ok(out)
}

/// Inserts the shifts of `spec` (every occurrence with every volunteer),
/// after checking that each volunteer is on the team.
pub async fn create<C: ConnectionTrait>(
    db: &C,
    spec: &NewShifts,
    by: Option<Uuid>,
    now: DateTime<Utc>,
) -> ApiResult<Vec<shift::Model>> {
    let on_team: Vec<Uuid> = volunteer::Entity::find()
        .filter(volunteer::Column::Id.is_in(spec.volunteer_ids.clone()))
        .filter(volunteer::Column::TeamId.eq(spec.team_id))
        .all(db)
        .await?
        .into_iter()
        .map(|v| v.id)
        .collect();
    if let Some(stranger) = spec.volunteer_ids.iter().find(|v| !on_team.contains(v)) {
        return Err(ApiError::invalid(
            "volunteer_ids",
            p::NOT_TEAM_MEMBER.with("id", stranger.to_string()),
        ));
    }
    let series = Uuid::new_v4();
    let mut made = Vec::new();
    for (starts_at, ends_at) in occurrences(spec.starts_at, spec.ends_at, spec.repeat_weekly_until)?
    {
        let row = shift::ActiveModel {
            id: Set(Uuid::new_v4()),
            team_id: Set(spec.team_id),
            series_id: Set(series),
            starts_at: Set(starts_at),
            ends_at: Set(ends_at),
            kind: Set(spec.kind.code().to_owned()),
            note: Set(spec.note.clone()),
            created_by: Set(by),
            created_at: Set(now),
        }
        .insert(db)
        .await?;
        let members: Vec<shift_member::ActiveModel> = spec
            .volunteer_ids
            .iter()
            .map(|v| shift_member::ActiveModel {
                shift_id: Set(row.id),
                volunteer_id: Set(*v),
                began_at: Set(None),
                ended_at: Set(None),
                left_at: Set(None),
                leave_reason: Set(None),
            })
            .collect();
        shift_member::Entity::insert_many(members).exec(db).await?;
        made.push(row);
    }
    Ok(made)
}

/// Someone on a shift, with their name.
#[derive(Clone, Debug)]
pub struct Member {
    pub row: shift_member::Model,
    pub display_name: String,
}

/// A shift with who is on it.
#[derive(Clone, Debug)]
pub struct ShiftView {
    pub shift: shift::Model,
    pub members: Vec<Member>,
}

impl ShiftView {
    /// Members who have not left.
    pub fn staying(&self) -> impl Iterator<Item = &Member> {
        self.members.iter().filter(|m| m.row.left_at.is_none())
    }
}

async fn with_members<C: ConnectionTrait>(
    db: &C,
    shifts: Vec<shift::Model>,
) -> ApiResult<Vec<ShiftView>> {
    let ids: Vec<Uuid> = shifts.iter().map(|s| s.id).collect();
    let rows = shift_member::Entity::find()
        .filter(shift_member::Column::ShiftId.is_in(ids))
        .all(db)
        .await?;
    let people: Vec<Uuid> = rows.iter().map(|m| m.volunteer_id).collect();
    let names: HashMap<Uuid, String> = user::Entity::find()
        .filter(user::Column::Id.is_in(people))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.display_name))
        .collect();
    let mut by_shift: HashMap<Uuid, Vec<Member>> = HashMap::new();
    for row in rows {
        let display_name = names.get(&row.volunteer_id).cloned().unwrap_or_default();
        by_shift
            .entry(row.shift_id)
            .or_default()
            .push(Member { row, display_name });
    }
    Ok(shifts
        .into_iter()
        .map(|shift| {
            let mut members = by_shift.remove(&shift.id).unwrap_or_default();
            members.sort_by(|a, b| a.display_name.cmp(&b.display_name));
            ShiftView { shift, members }
        })
        .collect())
}

/// A team's shifts overlapping `[from, to)`, earliest first.
pub async fn of_team<C: ConnectionTrait>(
    db: &C,
    team: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> ApiResult<Vec<ShiftView>> {
    let shifts = shift::Entity::find()
        .filter(shift::Column::TeamId.eq(team))
        .filter(shift::Column::StartsAt.lt(to))
        .filter(shift::Column::EndsAt.gt(from))
        .order_by_asc(shift::Column::StartsAt)
        .all(db)
        .await?;
    with_members(db, shifts).await
}

/// A volunteer's shifts ending after `from` and starting before `to`.
pub async fn of_volunteer<C: ConnectionTrait>(
    db: &C,
    volunteer: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> ApiResult<Vec<ShiftView>> {
    let shifts = shift::Entity::find()
        .filter(
            shift::Column::Id.in_subquery(
                Query::select()
                    .column(shift_member::Column::ShiftId)
                    .from(shift_member::Entity)
                    .and_where(shift_member::Column::VolunteerId.eq(volunteer))
                    .to_owned(),
            ),
        )
        .filter(shift::Column::StartsAt.lt(to))
        .filter(shift::Column::EndsAt.gt(from))
        .order_by_asc(shift::Column::StartsAt)
        .all(db)
        .await?;
    with_members(db, shifts).await
}

/// One shift with its members.
pub async fn load<C: ConnectionTrait>(db: &C, id: Uuid) -> ApiResult<ShiftView> {
    let s = shift::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(ApiError::NotFound(&p::NOUN_SHIFT))?;
    Ok(with_members(db, vec![s]).await?.remove(0))
}

/// The hours of `[from, to)` (whole hours from `from`) in which nobody is
/// on any of `shifts`, merged into spans.
pub fn uncovered(
    shifts: &[ShiftView],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut gaps: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
    let mut h = from;
    while h < to {
        let next = (h + Duration::hours(1)).min(to);
        let covered = shifts.iter().any(|s| {
            s.shift.starts_at < next && s.shift.ends_at > h && s.staying().next().is_some()
        });
        if !covered {
            match gaps.last_mut() {
                Some(last) if last.1 == h => last.1 = next,
                _ => gaps.push((h, next)),
            }
        }
        h = next;
    }
    gaps
}

/// Minutes (to the nearest) `volunteer` was on duty within `[from, to)`,
/// from their duty changes (off before the first one).
pub async fn minutes_on_duty<C: ConnectionTrait>(
    db: &C,
    volunteer: Uuid,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> ApiResult<i64> {
    let before = duty_change::Entity::find()
        .filter(duty_change::Column::VolunteerId.eq(volunteer))
        .filter(duty_change::Column::At.lte(from))
        .order_by_desc(duty_change::Column::At)
        .order_by_desc(duty_change::Column::Id)
        .one(db)
        .await?;
    let during = duty_change::Entity::find()
        .filter(duty_change::Column::VolunteerId.eq(volunteer))
        .filter(duty_change::Column::At.gt(from))
        .filter(duty_change::Column::At.lt(to))
        .order_by_asc(duty_change::Column::At)
        .order_by_asc(duty_change::Column::Id)
        .all(db)
        .await?;
    let mut on = before.is_some_and(|c| c.on_duty);
    let mut since = from;
    let mut secs = 0;
    for c in during {
        if on {
            secs += (c.at - since).num_seconds();
        }
        on = c.on_duty;
        since = c.at;
    }
    if on {
        secs += (to - since).num_seconds();
    }
    Ok((secs.max(0) + 30) / 60)
}
