//! A volunteer answers: accepts or declines an offer, or grabs an open task.
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;
use zhongdui_domain::text::phrases as p;
use zhongdui_domain::{AssignmentState, ClaimHow, GeoPoint, OrderStatus};

use crate::entities::{assignment, order, volunteer};
use crate::error::{ApiError, ApiResult};
use crate::services::orders::{self, Actor};
use crate::state::AppState;

use super::work::Work;

/// Accepts `offer` (the caller has checked it is the volunteer's own): the
/// claim decides, by conditional update, whether there is room.
pub async fn accept(
    state: &AppState,
    actor: Actor,
    offer: assignment::Model,
) -> ApiResult<order::Model> {
    let now = state.clock.now();
    if offer.state()? != AssignmentState::Offered {
        return Err(ApiError::conflict(
            p::OFFER_IS.with("state", p::word("astate", &offer.state)),
        ));
    }
    if offer.deadline.is_some_and(|d| d <= now) {
        return Err(ApiError::conflict(&p::OFFER_EXPIRED));
    }
    let mut work = Work::begin(state, actor).await?;
    let claim = orders::Claim {
        order_id: offer.order_id,
        volunteer_id: offer.volunteer_id,
        how: ClaimHow::Offer,
        distance_m: offer.distance_m,
        role: match offer.role()? {
            Some(r) => orders::RolePick::Exactly(r),
            None => orders::RolePick::Any,
        },
        known: Some(offer),
        arrival: orders::Arrival::from_settings(&state.settings.dispatch),
    };
    // A replacement offer swaps its volunteer in for the overdue one, when
    // that one is still not there; otherwise it is an ordinary claim.
    let mut trail = work.trail();
    let swapped = match claim.known.as_ref().filter(|a| a.replaces.is_some()) {
        Some(offer) => {
            orders::swap_in(&work.txn, offer, claim.arrival, work.channels(), &mut trail).await?
        }
        None => None,
    };
    let claimed = match swapped {
        Some(c) => c,
        None => orders::claim(&work.txn, claim, work.channels(), trail).await?,
    };
    work.claimed(&claimed);
    work.commit().await?;
    Ok(claimed.order)
}

/// Declines `offer`; when it was the order's last open offer, the order's
/// next wave is due at once.
pub async fn decline(state: &AppState, actor: Actor, offer: assignment::Model) -> ApiResult<()> {
    let mut work = Work::begin(state, actor).await?;
    let now = work.now();
    let mut t = work.trail();
    let event = json!({"volunteer_id": offer.volunteer_id.to_string(), "wave": offer.wave});
    let at = vec![(assignment::Column::RespondedAt, Some(now).into())];
    let declined = orders::move_assignment(
        &work.txn,
        &offer,
        AssignmentState::Declined,
        at,
        ("offer_declined", event),
        &mut t,
    )
    .await?;
    if !declined {
        return Err(ApiError::conflict(
            p::OFFER_IS.with("state", p::word("astate", &offer.state)),
        ));
    }
    // Their record changed: every index re-reads them (reliability).
    work.changed(&[offer.volunteer_id]);
    t.write(&work.txn).await?;
    let open_left = assignment::Entity::find()
        .filter(assignment::Column::OrderId.eq(offer.order_id))
        .filter(assignment::Column::State.eq(AssignmentState::Offered.code()))
        .filter(assignment::Column::Deadline.gt(now))
        .one(&work.txn)
        .await?;
    if open_left.is_none() {
        order::Entity::update_many()
            .col_expr(order::Column::NextActionAt, Expr::value(now))
            .filter(order::Column::Id.eq(offer.order_id))
            .filter(order::Column::Status.eq(OrderStatus::Open.code()))
            .exec(&work.txn)
            .await?;
    }
    work.wake_dispatcher();
    work.commit().await
}

/// The volunteer `actor` takes order `order_id` by grabbing it, if the
/// dispatch rules allow ([`grab_check`]).
pub async fn grab(state: &AppState, actor: Actor, order_id: Uuid) -> ApiResult<order::Model> {
    let me = actor.id.ok_or(ApiError::NotFound(&p::NOUN_VOLUNTEER))?;
    let o = orders::load(&state.db, order_id).await?;
    let v = volunteer::Entity::find_by_id(me)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound(&p::NOUN_VOLUNTEER))?;
    let distance = grab_check(state, &v, &o, state.clock.now()).await?;
    let mut work = Work::begin(state, actor).await?;
    let claim = orders::Claim {
        order_id,
        volunteer_id: me,
        how: ClaimHow::Grab,
        known: None,
        distance_m: Some(distance),
        role: orders::RolePick::Any,
        arrival: orders::Arrival::from_settings(&state.settings.dispatch),
    };
    let claimed = orders::claim(&work.txn, claim, work.channels(), work.trail()).await?;
    work.claimed(&claimed);
    work.commit().await?;
    Ok(claimed.order)
}

/// Whether `v` may take `o` by grabbing it, by the dispatch rules: on duty,
/// a fresh position within the grab radius, the skills (with valid
/// certificates) it needs, and room for another task. Returns the distance.
pub async fn grab_check(
    state: &AppState,
    v: &volunteer::Model,
    o: &order::Model,
    now: DateTime<Utc>,
) -> ApiResult<f64> {
    let d = &state.settings.dispatch;
    if !v.on_duty {
        return Err(ApiError::invalid("on_duty", &p::GO_DUTY_BEFORE_TAKING_TASK));
    }
    let (Some(lat), Some(lon), Some(seen)) = (v.lat, v.lon, v.location_at) else {
        return Err(ApiError::invalid(
            "location",
            &p::REPORT_POSITION_FIRST_PUT_API,
        ));
    };
    if (now - seen).num_seconds() > d.max_location_age_secs {
        let minutes = (now - seen).num_minutes();
        return Err(ApiError::invalid(
            "location",
            p::POSITION_STALE.with("minutes", minutes),
        ));
    }
    let held = orders::valid_skills(&state.db, v.id, now).await?;
    if !o.takes(held)? {
        return Err(ApiError::invalid(
            "skills",
            &p::NOT_HOLD_VALID_CERTIFICATE_SKILLS,
        ));
    }
    if v.active_tasks >= v.capacity {
        let (held, cap) = (v.active_tasks, v.capacity);
        return Err(ApiError::conflict_on(
            "capacity",
            p::CAPACITY_FULL.with("held", held).with("capacity", cap),
        ));
    }
    let distance = GeoPoint::parse(lat, lon)?.distance_m(&o.point()?);
    if distance > d.grab_radius_m {
        let (km, limit) = (distance / 1000.0, d.grab_radius_m / 1000.0);
        return Err(ApiError::invalid(
            "distance_m",
            p::GRAB_TOO_FAR
                .with("km", format!("{km:.1}"))
                .with("limit", format!("{limit:.1}")),
        ));
    }
    Ok(distance)
}
