//! No-shows: a volunteer on an order who has not checked in by the time
//! they were expected (`assignments.expected_by`: when they took it, plus
//! the distance at `dispatch.arrival_speed_mps`, plus
//! `dispatch.arrival_slack_secs`) is flagged overdue once — the order's
//! trail records it, the coordinators' feed and the volunteer are told —
//! and replacement offers go out (the next nearest available volunteers in
//! the same role, within the widest radius, never someone already asked).
//! The overdue volunteer keeps the place: accepting a replacement offer
//! swaps them out in one transaction (`services::orders::claims`), and if
//! they check in first the open replacement offers are withdrawn. When a
//! round of replacement offers runs out unanswered, the next pass asks the
//! next ones.
use std::collections::HashSet;
use zhongdui_domain::text::phrases as p;

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use serde_json::json;
use uuid::Uuid;
use zhongdui_domain::{AssignmentState, OrderStatus, SkillSet, VolunteerId};
use zhongdui_matcher::{Exclude, Query};

use super::index::Dispatcher;
use super::waves::{TickReport, offer_push, offer_row, wave_factor};
use crate::entities::{assignment, order};
use crate::error::{ApiError, ApiResult};
use crate::lifecycle::Work;
use crate::messages::Push;
use crate::services::orders::{self, Actor};
use crate::state::AppState;

impl Dispatcher {
    /// Flags newly overdue volunteers and asks for replacements of those
    /// still overdue with no replacement offer open.
    pub(super) async fn chase_no_shows(
        &self,
        state: &AppState,
        now: DateTime<Utc>,
        report: &mut TickReport,
    ) -> ApiResult<()> {
        if orders::Arrival::from_settings(&state.settings.dispatch).is_none() {
            return Ok(());
        }
        let late = assignment::Entity::find()
            .filter(assignment::Column::State.eq(AssignmentState::Accepted.code()))
            .filter(assignment::Column::OverdueAt.is_null())
            .filter(assignment::Column::ExpectedBy.lt(now))
            .limit(200)
            .all(&state.db)
            .await?;
        for a in late {
            if flag_overdue(state, &a, now).await? {
                report.overdue += 1;
            }
        }
        let waiting = assignment::Entity::find()
            .filter(assignment::Column::State.eq(AssignmentState::Accepted.code()))
            .filter(assignment::Column::OverdueAt.is_not_null())
            .limit(200)
            .all(&state.db)
            .await?;
        if waiting.is_empty() {
            return Ok(());
        }
        let open: Vec<(Uuid, Option<Uuid>)> = assignment::Entity::find()
            .select_only()
            .column(assignment::Column::VolunteerId)
            .column(assignment::Column::Replaces)
            .filter(assignment::Column::State.eq(AssignmentState::Offered.code()))
            .filter(assignment::Column::Deadline.gt(now))
            .into_tuple()
            .all(&state.db)
            .await?;
        let replacing: HashSet<Uuid> = open.iter().filter_map(|(_, r)| *r).collect();
        let mut busy: HashSet<VolunteerId> = open.iter().map(|(v, _)| VolunteerId(*v)).collect();
        for a in waiting.into_iter().filter(|a| !replacing.contains(&a.id)) {
            match self.offer_replacements(state, &a, now, &mut busy).await {
                Ok(n) => report.offers += n,
                Err(e) => tracing::warn!(order_id = %a.order_id, error = %e, "replacement skipped"),
            }
        }
        Ok(())
    }

    /// One round of replacement offers for overdue assignment `a`; returns
    /// how many went out.
    async fn offer_replacements(
        &self,
        state: &AppState,
        a: &assignment::Model,
        now: DateTime<Utc>,
        busy: &mut HashSet<VolunteerId>,
    ) -> ApiResult<usize> {
        let d = &state.settings.dispatch;
        let o = orders::load(&state.db, a.order_id).await?;
        if !OrderStatus::RUNNING.contains(&o.status()?) {
            return Ok(0);
        }
        let asked: HashSet<VolunteerId> = assignment::Entity::find()
            .select_only()
            .column(assignment::Column::VolunteerId)
            .filter(assignment::Column::OrderId.eq(o.id))
            .into_tuple::<Uuid>()
            .all(&state.db)
            .await?
            .into_iter()
            .map(VolunteerId)
            .collect();
        let role = a.role()?;
        let skills = match role {
            Some(r) => SkillSet::from(r),
            None => o.required()?,
        };
        let radius = d.radii_m.iter().copied().fold(0.0, f64::max);
        let ts = now.timestamp();
        let picks = {
            let skip = |id: VolunteerId| busy.contains(&id) || asked.contains(&id);
            let index = self
                .index
                .lock()
                .map_err(|_| ApiError::Internal(anyhow::anyhow!("index lock poisoned")))?;
            index.nearest_available(
                &Query::new(o.point()?, skills, wave_factor(d, &o), ts)
                    .within_m(radius)
                    .excluding(Exclude::Predicate(&skip)),
            )
        };
        if picks.is_empty() {
            return Ok(0);
        }
        let deadline = now + Duration::seconds(d.offer_timeout_secs);
        let ch = state.channels();
        let txn = crate::db::begin_write(&state.db).await?;
        let mut t = orders::Trail::new(Actor::SYSTEM, now);
        let mut rows = Vec::new();
        for c in &picks {
            let (id, row) = offer_row(
                &o,
                c.id,
                c.distance_m,
                role,
                (o.wave, "offer"),
                now,
                deadline,
                Some(a.id),
            );
            rows.push(row);
            t.push(
                ch.volunteer(c.id.as_uuid()),
                &offer_push(&o, id, c.distance_m, deadline, role),
            );
        }
        t.event(
            o.id,
            "replacement_offered",
            None,
            None,
            json!({"replaces": a.volunteer_id.to_string(), "radius_m": radius,
                   "offered": picks.iter().map(|c| c.id.to_string()).collect::<Vec<_>>(),
                   "role": role.map(|r| r.code()), "deadline": deadline.to_rfc3339()}),
        );
        assignment::Entity::insert_many(rows)
            .exec_without_returning(&txn)
            .await?;
        t.write(&txn).await?;
        txn.commit().await?;
        let ids: Vec<VolunteerId> = picks.iter().map(|c| c.id).collect();
        busy.extend(ids.iter().copied());
        self.note_picks(&ids, ts);
        Ok(ids.len())
    }
}

/// Flags `a` overdue (once, if it is still as read) and tells the
/// coordinators and the volunteer.
async fn flag_overdue(
    state: &AppState,
    a: &assignment::Model,
    now: DateTime<Utc>,
) -> ApiResult<bool> {
    let mut work = Work::begin_at(state, Actor::SYSTEM, now).await?;
    let flagged = assignment::Entity::update_many()
        .col_expr(assignment::Column::OverdueAt, Expr::value(now))
        .filter(assignment::Column::Id.eq(a.id))
        .filter(assignment::Column::State.eq(AssignmentState::Accepted.code()))
        .filter(assignment::Column::OverdueAt.is_null())
        .exec(&work.txn)
        .await?
        .rows_affected
        == 1;
    if !flagged {
        work.rollback().await?;
        return Ok(false);
    }
    let o = order::Entity::find_by_id(a.order_id)
        .one(&work.txn)
        .await?
        .ok_or(ApiError::NotFound(&p::NOUN_ORDER))?;
    let expected_by = a.expected_by.unwrap_or(now);
    let late_min = (now - expected_by).num_minutes().max(0);
    let ch = state.channels();
    let mut t = work.trail();
    t.event(
        o.id,
        "volunteer_overdue",
        None,
        None,
        json!({"volunteer_id": a.volunteer_id.to_string(), "expected_by": expected_by.to_rfc3339(),
               "minutes_late": late_min}),
    );
    let push = Push::VolunteerOverdue {
        order_id: o.id,
        code: o.code.clone(),
        volunteer_id: a.volunteer_id,
        expected_by: expected_by.to_rfc3339(),
    };
    t.push(ch.ops(), &push);
    t.push(ch.volunteer(a.volunteer_id), &push);
    t.write(&work.txn).await?;
    // Their record changed: every index re-reads them (reliability).
    work.changed(&[a.volunteer_id]);
    work.commit().await?;
    Ok(true)
}
