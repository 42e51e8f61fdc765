//! A volunteer going on or off duty: by their own switch, or because a
//! rota shift they are on begins or ends. Each switch is a duty change
//! with its source; every index re-reads the volunteer.
//!
//! The rules: a shift's start puts a member on duty (source `shift`) unless
//! they already are; its end takes them off only if the shift put them on
//! and no other shift of theirs is running. The manual switch always wins
//! until the next boundary (a volunteer on a shift who switches off is
//! off). Each boundary is applied once per member by a conditional update,
//! whichever process's pass gets there first, so restarts and several
//! processes neither miss nor repeat one.
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect, Set,
};
use serde_json::json;
use uuid::Uuid;
use zhongdui_domain::text::phrases as p;

use crate::entities::{duty_change, shift, shift_member, volunteer};
use crate::error::{ApiError, ApiResult};
use crate::messages::Push;
use crate::services::orders::Actor;
use crate::services::{hours, privacy, rota};
use crate::state::AppState;

use super::work::Work;

/// Why a volunteer's duty changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DutySource {
    /// Their own switch.
    Manual,
    /// A rota shift began or ended.
    Shift,
}

impl DutySource {
    /// Its stored code.
    pub fn code(self) -> &'static str {
        match self {
            DutySource::Manual => "manual",
            DutySource::Shift => "shift",
        }
    }
}

/// Puts the volunteer `actor` on or off duty by their own switch; every
/// index re-reads them and the coordinators' live map is told.
pub async fn set_duty(state: &AppState, actor: Actor, on_duty: bool) -> ApiResult<()> {
    let id = actor.id.ok_or(ApiError::NotFound(&p::NOUN_VOLUNTEER))?;
    let mut work = Work::begin(state, actor).await?;
    switch(&mut work, id, on_duty, DutySource::Manual, None).await?;
    work.commit().await
}

/// Writes a duty switch in `work`: the volunteer's state and its source,
/// the duty change, the pushes, and every index told.
async fn switch(
    work: &mut Work<'_>,
    id: Uuid,
    on_duty: bool,
    source: DutySource,
    shift_id: Option<Uuid>,
) -> ApiResult<()> {
    let now = work.now();
    let updated = volunteer::Entity::update_many()
        .col_expr(volunteer::Column::OnDuty, Expr::value(on_duty))
        .col_expr(
            volunteer::Column::DutySource,
            Expr::value(on_duty.then(|| source.code().to_owned())),
        )
        .col_expr(volunteer::Column::UpdatedAt, Expr::value(now))
        .filter(volunteer::Column::Id.eq(id))
        .exec(&work.txn)
        .await?;
    if updated.rows_affected == 0 {
        return Err(ApiError::NotFound(&p::NOUN_VOLUNTEER));
    }
    duty_change::ActiveModel {
        volunteer_id: Set(id),
        on_duty: Set(on_duty),
        source: Set(source.code().to_owned()),
        shift_id: Set(shift_id),
        at: Set(now),
        ..Default::default()
    }
    .insert(&work.txn)
    .await?;
    let mut told = work.trail();
    let push = Push::VolunteerDuty {
        volunteer_id: id,
        on_duty,
        source: source.code().to_owned(),
        shift_id,
    };
    told.push(work.channels().ops(), &push);
    if source == DutySource::Shift {
        told.push(work.channels().volunteer(id), &push);
    }
    told.write(&work.txn).await?;
    work.changed(&[id]);
    Ok(())
}

/// The ids of the shifts meeting every one of `conds`, for an `IN (…)` filter.
fn shifts_where<const N: usize>(
    conds: [sea_orm::sea_query::SimpleExpr; N],
) -> sea_orm::sea_query::SelectStatement {
    let mut q = Query::select();
    q.column(shift::Column::Id).from(shift::Entity);
    for c in conds {
        q.and_where(c);
    }
    q.to_owned()
}

/// Applies the shift boundaries due at `now`: members of shifts that have
/// begun go on duty, members of shifts that have ended (or that they left
/// or that were removed) go off, and a patrol shift's time on duty is
/// recorded for review. Returns how many members were switched or closed.
pub async fn turn_shifts(state: &AppState, now: DateTime<Utc>) -> ApiResult<usize> {
    let mut n = 0;
    let starting = shift_member::Entity::find()
        .filter(shift_member::Column::BeganAt.is_null())
        .filter(shift_member::Column::LeftAt.is_null())
        .filter(shift_member::Column::ShiftId.in_subquery(shifts_where([
            shift::Column::StartsAt.lte(now),
            shift::Column::EndsAt.gt(now),
        ])))
        .limit(500)
        .all(&state.db)
        .await?;
    for m in starting {
        let mut work = Work::begin_at(state, Actor::SYSTEM, now).await?;
        let claimed = shift_member::Entity::update_many()
            .col_expr(shift_member::Column::BeganAt, Expr::value(now))
            .filter(shift_member::Column::ShiftId.eq(m.shift_id))
            .filter(shift_member::Column::VolunteerId.eq(m.volunteer_id))
            .filter(shift_member::Column::BeganAt.is_null())
            .filter(shift_member::Column::LeftAt.is_null())
            .exec(&work.txn)
            .await?;
        if claimed.rows_affected == 0 {
            work.rollback().await?;
            continue;
        }
        let v = volunteer::Entity::find_by_id(m.volunteer_id)
            .one(&work.txn)
            .await?;
        if v.is_some_and(|v| !v.on_duty) {
            switch(
                &mut work,
                m.volunteer_id,
                true,
                DutySource::Shift,
                Some(m.shift_id),
            )
            .await?;
        }
        work.commit().await?;
        n += 1;
    }
    let ending = shift_member::Entity::find()
        .filter(shift_member::Column::BeganAt.is_not_null())
        .filter(shift_member::Column::EndedAt.is_null())
        .filter(
            shift_member::Column::ShiftId
                .in_subquery(shifts_where([shift::Column::EndsAt.lte(now)])),
        )
        .limit(500)
        .all(&state.db)
        .await?;
    for m in ending {
        // The shift row only (its members' names are not needed here).
        let Some(s) = shift::Entity::find_by_id(m.shift_id).one(&state.db).await? else {
            continue;
        };
        let mut work = Work::begin_at(state, Actor::SYSTEM, now).await?;
        if end_member(&mut work, &s, m.volunteer_id, s.ends_at).await? {
            work.commit().await?;
            n += 1;
        } else {
            work.rollback().await?;
        }
    }
    Ok(n)
}

/// Closes `volunteer`'s part in a begun shift at `until` (its end, or
/// earlier when they leave or it is removed): off duty if the shift put
/// them on and no other shift of theirs runs on, and a patrol shift's time
/// on duty recorded. False when another process closed it first.
async fn end_member(
    work: &mut Work<'_>,
    s: &shift::Model,
    volunteer: Uuid,
    until: DateTime<Utc>,
) -> ApiResult<bool> {
    let now = work.now();
    let closed = shift_member::Entity::update_many()
        .col_expr(shift_member::Column::EndedAt, Expr::value(now))
        .filter(shift_member::Column::ShiftId.eq(s.id))
        .filter(shift_member::Column::VolunteerId.eq(volunteer))
        .filter(shift_member::Column::BeganAt.is_not_null())
        .filter(shift_member::Column::EndedAt.is_null())
        .exec(&work.txn)
        .await?;
    if closed.rows_affected == 0 {
        return Ok(false);
    }
    let others_running = shift_member::Entity::find()
        .filter(shift_member::Column::VolunteerId.eq(volunteer))
        .filter(shift_member::Column::ShiftId.ne(s.id))
        .filter(shift_member::Column::BeganAt.is_not_null())
        .filter(shift_member::Column::EndedAt.is_null())
        .filter(shift_member::Column::LeftAt.is_null())
        .filter(
            shift_member::Column::ShiftId
                .in_subquery(shifts_where([shift::Column::EndsAt.gt(now)])),
        )
        .count(&work.txn)
        .await?;
    let v = volunteer::Entity::find_by_id(volunteer)
        .one(&work.txn)
        .await?;
    let Some(v) = v else { return Ok(true) };
    if v.on_duty
        && v.duty_source.as_deref() == Some(DutySource::Shift.code())
        && others_running == 0
    {
        switch(work, volunteer, false, DutySource::Shift, Some(s.id)).await?;
    }
    if rota::ShiftKind::parse(&s.kind) == Some(rota::ShiftKind::Patrol) {
        let until = until.min(s.ends_at).max(s.starts_at);
        let minutes = rota::minutes_on_duty(&work.txn, volunteer, s.starts_at, until).await?;
        if minutes > 0 {
            hours::record_shift(&work.txn, &v, s, until, minutes, now).await?;
        }
    }
    Ok(true)
}

/// The volunteer `actor` leaves shift `shift_id` before its end, saying
/// why; the coordinators' feed is told and the leaving audited. If the
/// shift had begun, their part closes now (off duty if it put them on).
pub async fn leave_shift(
    state: &AppState,
    actor: Actor,
    shift_id: Uuid,
    reason: String,
) -> ApiResult<rota::ShiftView> {
    let me = actor.id.ok_or(ApiError::NotFound(&p::NOUN_VOLUNTEER))?;
    let view = rota::load(&state.db, shift_id).await?;
    let mine = view
        .members
        .iter()
        .find(|m| m.row.volunteer_id == me)
        .ok_or(ApiError::NotFound(&p::NOUN_SHIFT))?;
    let mut work = Work::begin(state, actor).await?;
    let now = work.now();
    if view.shift.ends_at <= now {
        return Err(ApiError::conflict(&p::SHIFT_ALREADY_ENDED));
    }
    let left = shift_member::Entity::update_many()
        .col_expr(shift_member::Column::LeftAt, Expr::value(now))
        .col_expr(
            shift_member::Column::LeaveReason,
            Expr::value(reason.clone()),
        )
        .filter(shift_member::Column::ShiftId.eq(shift_id))
        .filter(shift_member::Column::VolunteerId.eq(me))
        .filter(shift_member::Column::LeftAt.is_null())
        .exec(&work.txn)
        .await?;
    if left.rows_affected == 0 {
        return Err(ApiError::conflict(&p::ALREADY_LEFT_SHIFT));
    }
    end_member(&mut work, &view.shift, me, now).await?;
    let data = json!({"shift_id": shift_id.to_string(), "reason": reason});
    privacy::audit(&work.txn, actor, "shift", shift_id, "left", data, now).await?;
    let mut told = work.trail();
    told.push(
        work.channels().ops(),
        &Push::ShiftLeft {
            shift_id,
            team_id: view.shift.team_id,
            volunteer_id: me,
            display_name: mine.display_name.clone(),
            starts_at: view.shift.starts_at.to_rfc3339(),
            reason,
        },
    );
    told.write(&work.txn).await?;
    work.commit().await?;
    rota::load(&state.db, shift_id).await
}

/// Removes shift `shift_id` (and, with `later`, the rest of its weekly
/// series from it on) by a coordinator of its team: members of a shift
/// that has begun go off duty as at its end. A shift that has ended stays,
/// as the record of who was on it.
pub async fn remove_shift(
    state: &AppState,
    actor: Actor,
    s: &rota::ShiftView,
    later: bool,
) -> ApiResult<usize> {
    let mut work = Work::begin(state, actor).await?;
    let now = work.now();
    if s.shift.ends_at <= now {
        return Err(ApiError::conflict(&p::SHIFT_ENDED_STAYS_RECORD_WHO));
    }
    let mut doomed = vec![s.shift.clone()];
    if later {
        doomed = shift::Entity::find()
            .filter(shift::Column::SeriesId.eq(s.shift.series_id))
            .filter(shift::Column::StartsAt.gte(s.shift.starts_at))
            .all(&work.txn)
            .await?;
    }
    for d in &doomed {
        let begun = shift_member::Entity::find()
            .filter(shift_member::Column::ShiftId.eq(d.id))
            .filter(shift_member::Column::BeganAt.is_not_null())
            .all(&work.txn)
            .await?;
        for m in begun {
            end_member(&mut work, d, m.volunteer_id, now).await?;
        }
        shift_member::Entity::delete_many()
            .filter(shift_member::Column::ShiftId.eq(d.id))
            .exec(&work.txn)
            .await?;
        shift::Entity::delete_by_id(d.id).exec(&work.txn).await?;
        let data = json!({"team_id": d.team_id.to_string(), "starts_at": d.starts_at.to_rfc3339(),
                          "ends_at": d.ends_at.to_rfc3339()});
        privacy::audit(&work.txn, actor, "shift", d.id, "removed", data, now).await?;
    }
    work.commit().await?;
    Ok(doomed.len())
}
