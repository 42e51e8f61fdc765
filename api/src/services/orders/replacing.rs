//! Replacing a volunteer who is not on scene when expected: a replacement
//! offer names the overdue assignment (`replaces`); accepting it swaps the
//! two under the order row's lock, so the order's count never moves.
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;
use zhongdui_domain::text::phrases as p;
use zhongdui_domain::{AssignmentState, OrderStatus};

use super::claims::{Arrival, Claimed, release_capacity, take_capacity};
use super::status::load;
use super::trail::{Actor, Channels, Trail, col_plus};
use crate::entities::{assignment, order};
use crate::error::{ApiError, ApiResult};
use crate::messages::Push;

/// Accepts replacement `offer`: the overdue volunteer it replaces is taken
/// off (if they are still not on scene) and the offer's volunteer put on in
/// their role, under the order row's lock, so the order's count never moves.
/// None when there is nobody to replace any more (they arrived or left).
pub async fn swap_in<C: ConnectionTrait>(
    db: &C,
    offer: &assignment::Model,
    arrival: Option<Arrival>,
    ch: Channels<'_>,
    trail: &mut Trail,
) -> ApiResult<Option<Claimed>> {
    let now = trail.now();
    let Some(replaces) = offer.replaces else {
        return Ok(None);
    };
    let running = OrderStatus::RUNNING.map(OrderStatus::code);
    let Some(o) = order::Entity::update_many()
        .col_expr(order::Column::Version, col_plus(order::Column::Version, 1))
        .col_expr(order::Column::UpdatedAt, Expr::value(now))
        .filter(order::Column::Id.eq(offer.order_id))
        .filter(order::Column::Status.is_in(running))
        .exec_with_returning(db)
        .await?
        .pop()
    else {
        let o = load(db, offer.order_id).await?;
        return Err(ApiError::conflict(
            p::ORDER_IS
                .with("code", &o.code)
                .with("status", p::word("status", &o.status)),
        ));
    };
    let Some(old) = assignment::Entity::update_many()
        .col_expr(
            assignment::Column::State,
            Expr::value(AssignmentState::Removed.code()),
        )
        .col_expr(assignment::Column::UpdatedAt, Expr::value(now))
        .filter(assignment::Column::Id.eq(replaces))
        .filter(assignment::Column::State.eq(AssignmentState::Accepted.code()))
        .filter(assignment::Column::OverdueAt.is_not_null())
        .exec_with_returning(db)
        .await?
        .pop()
    else {
        return Ok(None);
    };
    release_capacity(db, old.volunteer_id, now).await?;
    let volunteer = take_capacity(db, offer.volunteer_id, now).await?;
    let expected_by = arrival.and_then(|r| r.expected(&volunteer, &o, now));
    let took = assignment::Entity::update_many()
        .col_expr(
            assignment::Column::State,
            Expr::value(AssignmentState::Accepted.code()),
        )
        .col_expr(assignment::Column::RespondedAt, Expr::value(now))
        .col_expr(assignment::Column::UpdatedAt, Expr::value(now))
        .col_expr(assignment::Column::ExpectedBy, Expr::value(expected_by))
        .col_expr(assignment::Column::Role, Expr::value(old.role.clone()))
        .filter(assignment::Column::Id.eq(offer.id))
        .filter(assignment::Column::State.eq(AssignmentState::Offered.code()))
        .exec(db)
        .await?;
    if took.rows_affected == 0 {
        return Err(ApiError::conflict(&p::OFFER_CHANGED_MEANWHILE));
    }
    let withdrawn = withdraw_replacements(db, &o, replaces, now, ch).await?;
    trail.event(
        o.id,
        "volunteer_replaced",
        None,
        None,
        json!({"volunteer_id": old.volunteer_id.to_string(), "by": offer.volunteer_id.to_string(),
               "reason": "no_show", "role": old.role}),
    );
    trail.event(
        o.id,
        "offer_accepted",
        None,
        None,
        json!({"volunteer_id": offer.volunteer_id.to_string(), "filled": o.filled,
               "headcount": o.headcount, "role": old.role,
               "replaces": old.volunteer_id.to_string()}),
    );
    trail.push(
        ch.volunteer(old.volunteer_id),
        &Push::AssignmentRemoved { order_id: o.id },
    );
    trail.push(
        ch.order(o.id),
        &Push::VolunteerAssigned {
            order_id: o.id,
            volunteer_id: offer.volunteer_id,
            filled: o.filled,
            headcount: o.headcount,
            resident_id: o.resident_id,
        },
    );
    let mut t = Trail::new(trail.actor(), now);
    std::mem::swap(&mut t, trail);
    t.write(db).await?;
    Ok(Some(Claimed {
        order: o,
        volunteer,
        withdrawn,
        replaced: Some(old.volunteer_id),
    }))
}

/// Withdraws the replacement offers still open for the overdue assignment
/// `replaces` of order `o` (it was replaced, or its volunteer arrived).
pub async fn withdraw_replacements<C: ConnectionTrait>(
    db: &C,
    o: &order::Model,
    replaces: Uuid,
    now: DateTime<Utc>,
    ch: Channels<'_>,
) -> ApiResult<Vec<Uuid>> {
    let open = assignment::Entity::update_many()
        .col_expr(
            assignment::Column::State,
            Expr::value(AssignmentState::Withdrawn.code()),
        )
        .col_expr(assignment::Column::UpdatedAt, Expr::value(now))
        .filter(assignment::Column::Replaces.eq(replaces))
        .filter(assignment::Column::State.eq(AssignmentState::Offered.code()))
        .exec_with_returning(db)
        .await?;
    let mut t = Trail::new(Actor::SYSTEM, now);
    for a in &open {
        t.push(
            ch.volunteer(a.volunteer_id),
            &Push::OfferWithdrawn {
                offer_id: a.id,
                order_id: o.id,
                reason: "filled".to_owned(),
            },
        );
    }
    t.write(db).await?;
    Ok(open.into_iter().map(|a| a.volunteer_id).collect())
}
