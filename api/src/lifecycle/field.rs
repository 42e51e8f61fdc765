//! A volunteer on an order: checking in on scene, reporting it done, or
//! withdrawing before that.
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;
use zhongdui_domain::text::phrases as p;
use zhongdui_domain::{AssignmentState, GeoPoint, OrderAction, OrderStatus};

use crate::entities::{assignment, order, volunteer};
use crate::error::{ApiError, ApiResult};
use crate::services::orders::{self, Actor};
use crate::state::AppState;

use super::work::Work;

/// The volunteer's own part in an order (any state).
pub async fn my_assignment(
    state: &AppState,
    order_id: Uuid,
    volunteer_id: Uuid,
) -> ApiResult<assignment::Model> {
    assignment::Entity::find()
        .filter(assignment::Column::OrderId.eq(order_id))
        .filter(assignment::Column::VolunteerId.eq(volunteer_id))
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound(&p::NOUN_ORDER))
}

/// Checks the volunteer `actor` in on scene at `here`: their part must be
/// accepted, `here` must follow from their last report at a plausible speed
/// (it is then recorded as a report) and lie within the arrival radius. The
/// first check-in moves the order to in progress.
pub async fn arrive(
    state: &AppState,
    actor: Actor,
    order_id: Uuid,
    here: GeoPoint,
) -> ApiResult<order::Model> {
    let me = actor.id.ok_or(ApiError::NotFound(&p::NOUN_VOLUNTEER))?;
    let o = orders::load(&state.db, order_id).await?;
    let a = my_assignment(state, order_id, me).await?;
    if a.state()? != AssignmentState::Accepted {
        return Err(ApiError::conflict(
            p::PART_NOT_ACCEPTED.with("state", p::word("astate", &a.state)),
        ));
    }
    plausible_move(state, me, here).await?;
    crate::location::record(state, me, here).await?;
    let distance = here.distance_m(&o.point()?);
    let limit = state.settings.dispatch.arrive_radius_m;
    if distance > limit {
        return Err(ApiError::invalid(
            "lat",
            p::TOO_FAR_TO_CHECK_IN
                .with("distance", format!("{distance:.0}"))
                .with("limit", format!("{limit:.0}")),
        ));
    }
    let mut work = Work::begin(state, actor).await?;
    let mut t = work.trail();
    let at = vec![(assignment::Column::ArrivedAt, Some(work.now()).into())];
    let event = json!({"volunteer_id": me.to_string(), "distance_m": distance.round()});
    let moved = AssignmentState::Arrived;
    if !orders::move_assignment(&work.txn, &a, moved, at, ("arrived", event), &mut t).await? {
        return Err(ApiError::conflict(&p::ASSIGNMENT_CHANGED_MEANWHILE));
    }
    if a.overdue_at.is_some() {
        // Late but here: nobody need replace them.
        let o = orders::load(&work.txn, order_id).await?;
        let freed =
            orders::withdraw_replacements(&work.txn, &o, a.id, work.now(), work.channels()).await?;
        work.released(&freed);
    }
    let o = orders::load(&work.txn, order_id).await?;
    let o = match o.status()? {
        OrderStatus::Assigned => {
            let at = vec![(order::Column::ArrivedAt, Some(work.now()).into())];
            let (action, ch) = (OrderAction::Arrive, work.channels());
            orders::transition(&work.txn, &o, action, at, json!({}), ch, t).await?
        }
        OrderStatus::InProgress => {
            t.write(&work.txn).await?;
            o
        }
        _ => {
            return Err(ApiError::conflict(
                p::ORDER_NOT_ASSIGNED
                    .with("code", &o.code)
                    .with("status", p::word("status", &o.status)),
            ));
        }
    };
    work.commit().await?;
    Ok(o)
}

/// The server's own knowledge decides a check-in: `here` must follow from
/// the volunteer's last report at no more than the configured speed.
async fn plausible_move(state: &AppState, me: Uuid, here: GeoPoint) -> ApiResult<()> {
    let v = volunteer::Entity::find_by_id(me)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound(&p::NOUN_VOLUNTEER))?;
    let (Some(lat), Some(lon), Some(seen)) = (v.lat, v.lon, v.location_at) else {
        return Err(ApiError::invalid(
            "location",
            &p::SHARE_POSITION_WAY_PUT_API,
        ));
    };
    let moved = GeoPoint::parse(lat, lon)?.distance_m(&here);
    let secs = ((state.clock.now() - seen).num_milliseconds() as f64 / 1000.0).max(1.0);
    let max_speed = state.settings.dispatch.max_speed_mps;
    if moved / secs > max_speed {
        return Err(ApiError::invalid(
            "lat",
            p::TOO_FAST
                .with("km", format!("{:.1}", moved / 1000.0))
                .with("seconds", format!("{secs:.0}"))
                .with("speed", format!("{max_speed:.0}")),
        ));
    }
    Ok(())
}

/// The volunteer `actor` reports their part of `order_id` done (after
/// checking in), with an optional note; the last part done completes the
/// order.
pub async fn complete(
    state: &AppState,
    actor: Actor,
    order_id: Uuid,
    note: Option<String>,
) -> ApiResult<order::Model> {
    let me = actor.id.ok_or(ApiError::NotFound(&p::NOUN_VOLUNTEER))?;
    let a = my_assignment(state, order_id, me).await?;
    if a.state()? != AssignmentState::Arrived {
        return Err(ApiError::conflict(
            p::CHECK_IN_FIRST.with("state", p::word("astate", &a.state)),
        ));
    }
    let mut work = Work::begin(state, actor).await?;
    let (txn, now) = (&work.txn, work.now());
    let mut t = work.trail();
    let at = vec![
        (assignment::Column::CompletedAt, Some(now).into()),
        (assignment::Column::Note, note.clone().into()),
    ];
    let event = json!({"volunteer_id": me.to_string(), "note": note});
    let done = AssignmentState::Completed;
    let kind = "volunteer_completed";
    if !orders::move_assignment(txn, &a, done, at, (kind, event), &mut t).await? {
        return Err(ApiError::conflict(&p::ASSIGNMENT_CHANGED_MEANWHILE));
    }
    orders::release_capacity(txn, me, now).await?;
    if let (Some(arrived), Some(v)) = (
        a.arrived_at,
        volunteer::Entity::find_by_id(me).one(txn).await?,
    ) {
        crate::services::hours::record_order(txn, &v, order_id, arrived, now).await?;
    }
    t.write(txn).await?;
    let still_on: u64 = assignment::Entity::find()
        .filter(assignment::Column::OrderId.eq(order_id))
        .filter(assignment::Column::State.is_in(AssignmentState::codes(&AssignmentState::HOLDING)))
        .count(txn)
        .await?;
    let mut o = orders::load(txn, order_id).await?;
    if still_on == 0 && o.status()? == OrderStatus::InProgress {
        let at = vec![(order::Column::CompletedAt, Some(now).into())];
        let (action, ch, t) = (OrderAction::Complete, work.channels(), work.trail());
        o = orders::transition(txn, &o, action, at, json!({}), ch, t).await?;
    }
    work.changed(&[me]);
    work.commit().await?;
    Ok(o)
}

/// The volunteer `actor` withdraws from order `order_id` before completing
/// it, saying why: their place reopens at once (an assigned order is open
/// again) and the dispatcher's next wave is due now; they are not asked
/// again (they have a part in it). The resident and coordinators are told.
/// Someone checked in may withdraw only while another volunteer is still
/// on the order (else a coordinator takes them off and reassigns).
pub async fn withdraw(
    state: &AppState,
    actor: Actor,
    order_id: Uuid,
    reason: Option<String>,
) -> ApiResult<order::Model> {
    let me = actor.id.ok_or(ApiError::NotFound(&p::NOUN_VOLUNTEER))?;
    let a = my_assignment(state, order_id, me).await?;
    let part = a.state()?;
    if !part.holds_capacity() {
        return Err(ApiError::conflict(
            p::PART_NOT_WITHDRAWABLE.with("state", p::word("astate", &a.state)),
        ));
    }
    let mut work = Work::begin(state, actor).await?;
    let (txn, now) = (&work.txn, work.now());
    if part == AssignmentState::Arrived {
        let others: u64 = assignment::Entity::find()
            .filter(assignment::Column::OrderId.eq(order_id))
            .filter(assignment::Column::VolunteerId.ne(me))
            .filter(
                assignment::Column::State.is_in(AssignmentState::codes(&AssignmentState::HOLDING)),
            )
            .count(txn)
            .await?;
        if others == 0 {
            return Err(ApiError::conflict(&p::ONLY_ONE_ON_SCENE));
        }
    }
    let mut t = work.trail();
    let event = json!({"volunteer_id": me.to_string(), "reason": reason});
    let left = AssignmentState::Left;
    if !orders::move_assignment(txn, &a, left, vec![], ("volunteer_withdrew", event), &mut t)
        .await?
    {
        return Err(ApiError::conflict(&p::PART_CHANGED_MEANWHILE_RELOAD_RETRY));
    }
    let mut o = orders::free_place(txn, order_id, me, now, Some(now)).await?;
    let push = crate::messages::Push::VolunteerWithdrew {
        order_id,
        code: o.code.clone(),
        volunteer_id: me,
        reason,
        filled: o.filled,
        headcount: o.headcount,
        resident_id: o.resident_id,
    };
    let ch = work.channels();
    t.push(ch.order(order_id), &push);
    t.push(ch.ops(), &push);
    t.write(txn).await?;
    if o.status()? == OrderStatus::Assigned {
        let data = json!({"withdrew": me.to_string()});
        o = orders::transition(txn, &o, OrderAction::Unfill, vec![], data, ch, work.trail())
            .await?;
    }
    work.changed(&[me]);
    work.wake_dispatcher();
    work.commit().await?;
    Ok(o)
}
