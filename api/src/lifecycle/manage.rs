//! Coordinators and residents changing an order's course: assignment by
//! hand, cancellation, redispatch, confirmation.
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;
use zhongdui_domain::text::phrases as p;
use zhongdui_domain::{AssignmentState, CancelledBy, ClaimHow, OrderAction, OrderStatus};

use crate::auth::AuthUser;
use crate::entities::{assignment, order, volunteer};
use crate::error::{ApiError, ApiResult};
use crate::services::orders::{self, Actor};
use crate::services::points;
use crate::state::AppState;

use super::work::Work;

/// A coordinator's assignment: `volunteer_id` onto `order_id`, taking
/// `replace` off first. The caller must manage both volunteers' teams, and
/// the new one must hold the skills the order needs.
pub async fn assign_checked(
    state: &AppState,
    user: &AuthUser,
    order_id: Uuid,
    volunteer_id: Uuid,
    replace: Option<Uuid>,
    reason: Option<String>,
) -> ApiResult<order::Model> {
    let team_of = |id: Uuid, field: &'static str| async move {
        volunteer::Entity::find_by_id(id)
            .one(&state.db)
            .await?
            .map(|v| zhongdui_domain::TeamId(v.team_id))
            .ok_or_else(|| ApiError::invalid(field, &p::NO_SUCH_VOLUNTEER))
    };
    let team = team_of(volunteer_id, "volunteer_id").await?;
    user.ensure_manages_team(state, team).await?;
    // Taking someone off an order is a change to their work: the caller must
    // manage their team too.
    if let Some(old) = replace {
        let team = team_of(old, "replace_volunteer_id").await?;
        user.ensure_manages_team(state, team)
            .await
            .map_err(|_| ApiError::forbidden(&p::ONLY_TAKE_VOLUNTEERS_OWN_TEAMS))?;
    }
    let o = orders::load(&state.db, order_id).await?;
    let held = orders::valid_skills(&state.db, volunteer_id, state.clock.now()).await?;
    if !o.takes(held)? {
        return Err(ApiError::invalid(
            "volunteer_id",
            &p::VOLUNTEER_LACKS_VALID_CERTIFICATE_REQUIR,
        ));
    }
    assign(state, user.actor(), order_id, volunteer_id, replace, reason).await
}

/// Cancels `o` (the caller has decided who may and `by` whom), withdrawing
/// its offers and freeing the volunteers on it.
pub async fn cancel(
    state: &AppState,
    actor: Actor,
    o: &order::Model,
    by: CancelledBy,
    reason: Option<String>,
) -> ApiResult<order::Model> {
    let released = assignment::volunteers_where(
        &orders::assignments_of(&state.db, o.id).await?,
        AssignmentState::holds_capacity,
    )?;
    let mut work = Work::begin(state, actor).await?;
    let (o, withdrawn) =
        orders::cancel(&work.txn, o, by, reason, work.channels(), work.trail()).await?;
    work.released(&withdrawn);
    work.changed(&released);
    work.commit().await?;
    Ok(o)
}

/// The resident confirms `o` with a rating and feedback; the volunteers on
/// it earn their points.
pub async fn confirm(
    state: &AppState,
    actor: Actor,
    o: &order::Model,
    rating: i16,
    feedback: Option<String>,
) -> ApiResult<order::Model> {
    let mut work = Work::begin(state, actor).await?;
    let now = work.now();
    let set = vec![
        (order::Column::Rating, Some(rating).into()),
        (order::Column::Feedback, feedback.into()),
        (order::Column::ClosedAt, Some(now).into()),
    ];
    let (action, ch, t) = (OrderAction::Confirm, work.channels(), work.trail());
    let event = json!({"rating": rating});
    let o = orders::transition(&work.txn, o, action, set, event, ch, t).await?;
    let rules = &state.settings.points;
    let credits = points::award_for_order(&work.txn, rules, &o, now, ch).await?;
    work.credited(credits);
    work.commit().await?;
    Ok(o)
}

/// Sends an escalated order out again from the first wave.
pub async fn redispatch(
    state: &AppState,
    actor: Actor,
    o: &order::Model,
) -> ApiResult<order::Model> {
    let mut work = Work::begin(state, actor).await?;
    let now = work.now();
    let set = vec![
        (order::Column::Wave, 0.into()),
        (order::Column::NextActionAt, Some(now).into()),
        (
            order::Column::EscalatedAt,
            Option::<DateTime<Utc>>::None.into(),
        ),
    ];
    let (action, ch, t) = (OrderAction::Redispatch, work.channels(), work.trail());
    let o = orders::transition(&work.txn, o, action, set, json!({}), ch, t).await?;
    work.wake_dispatcher();
    work.commit().await?;
    Ok(o)
}

/// Puts a volunteer on an order by hand (a coordinator's assignment), first
/// taking `replace` off it when given (only while they have not arrived):
/// the removal, the order's unfill, the claim and both volunteers' pushes in
/// one change. The caller has checked who may do it and the skills.
pub async fn assign(
    state: &AppState,
    actor: Actor,
    order_id: Uuid,
    volunteer_id: Uuid,
    replace: Option<Uuid>,
    reason: Option<String>,
) -> ApiResult<order::Model> {
    let mut work = Work::begin(state, actor).await?;
    let (id, vid, now) = (order_id, volunteer_id, work.now());
    let txn = &work.txn;
    let ch = work.channels();
    // The newcomer takes the role of the one they replace, where they can.
    let mut role = orders::RolePick::Any;
    if let Some(old) = replace {
        let a = assignment::Entity::find()
            .filter(assignment::Column::OrderId.eq(id))
            .filter(assignment::Column::VolunteerId.eq(old))
            .filter(assignment::Column::State.eq(AssignmentState::Accepted.code()))
            .one(txn)
            .await?
            .ok_or_else(|| {
                ApiError::invalid("replace_volunteer_id", &p::THAT_VOLUNTEER_NOT_ORDER_ALREADY)
            })?;
        if let Some(r) = a.role()? {
            role = orders::RolePick::Prefer(r);
        }
        // Taken off: the removal's event follows the order's unfill.
        let mut removal = work.trail();
        let removed = orders::move_assignment(
            txn,
            &a,
            AssignmentState::Removed,
            vec![],
            (
                "volunteer_removed",
                json!({"volunteer_id": old.to_string(), "reason": reason}),
            ),
            &mut removal,
        )
        .await?;
        if !removed {
            return Err(ApiError::conflict(
                &p::THAT_VOLUNTEERS_PART_CHANGED_MEANWHILE,
            ));
        }
        let cur = orders::free_place(txn, id, old, now, None).await?;
        if cur.status()? == OrderStatus::Assigned {
            orders::transition(
                txn,
                &cur,
                OrderAction::Unfill,
                vec![],
                json!({"removed": old.to_string()}),
                ch,
                work.trail(),
            )
            .await?;
        }
        removal.push(
            ch.volunteer(old),
            &crate::messages::Push::AssignmentRemoved { order_id: id },
        );
        removal.write(txn).await?;
    }
    let claimed = orders::claim(
        txn,
        orders::Claim {
            order_id: id,
            volunteer_id: vid,
            how: ClaimHow::Manual,
            known: None,
            distance_m: None,
            role,
            arrival: orders::Arrival::from_settings(&state.settings.dispatch),
        },
        ch,
        work.trail(),
    )
    .await?;
    let o = claimed.order.clone();
    let mut told = work.trail();
    told.push(
        ch.volunteer(vid),
        &crate::messages::Push::Assigned {
            order_id: id,
            code: o.code.clone(),
        },
    );
    told.write(txn).await?;
    // The claim changed the assignee's task count; a removal the other's.
    work.released(&claimed.withdrawn);
    let mut touched = vec![vid];
    touched.extend(replace);
    work.changed(&touched);
    work.commit().await?;
    Ok(o)
}
