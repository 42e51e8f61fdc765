//! Volunteers on orders: claims decided by conditional updates, moves of a volunteer's
//! part, withdrawals and cancellation.
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, Func, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
};
use serde_json::{Value, json};
use uuid::Uuid;
use zhongdui_domain::text::phrases as p;
use zhongdui_domain::{AssignmentState, CancelledBy, ClaimHow, OrderAction, OrderStatus, Skill};

use super::status::{load, transition};
use super::trail::{Actor, Channels, Trail, col_lt_col, col_plus, push};
use crate::entities::{assignment, order, volunteer};
use crate::error::{ApiError, ApiResult};
use crate::messages::Push;

/// A volunteer to put on an order (see [`claim`]).
pub struct Claim {
    /// The order.
    pub order_id: Uuid,
    /// The volunteer.
    pub volunteer_id: Uuid,
    /// How (offer, grab, manual).
    pub how: ClaimHow,
    /// The volunteer's assignment row on the order, when the caller read it.
    pub known: Option<assignment::Model>,
    /// How far away they are, when known.
    pub distance_m: Option<f64>,
    /// Which role they fill, on an order with roles.
    pub role: RolePick,
    /// When they are expected on scene, by distance (None: not chased).
    pub arrival: Option<Arrival>,
}

/// The rule of a volunteer's expected arrival: `slack_secs` after they take
/// the order, plus the distance at `speed_mps`.
#[derive(Debug, Clone, Copy)]
pub struct Arrival {
    /// Metres per second.
    pub speed_mps: f64,
    /// Seconds.
    pub slack_secs: i64,
}

impl Arrival {
    /// The configured rule, or None when no-show alerts are off.
    pub fn from_settings(d: &crate::settings::DispatchSettings) -> Option<Self> {
        (d.arrival_slack_secs > 0 && d.arrival_speed_mps > 0.0).then_some(Arrival {
            speed_mps: d.arrival_speed_mps,
            slack_secs: d.arrival_slack_secs,
        })
    }

    /// When a volunteer at `from` who takes an order at `to` at `now` is expected there.
    pub(super) fn expected(
        self,
        v: &volunteer::Model,
        o: &order::Model,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let here = zhongdui_domain::GeoPoint::parse(v.lat?, v.lon?).ok()?;
        let there = o.point().ok()?;
        let travel = here.distance_m(&there) / self.speed_mps;
        let secs = self
            .slack_secs
            .saturating_add(travel.ceil().min(86_400.0) as i64);
        Some(now + chrono::Duration::seconds(secs))
    }
}

/// Which role a claim fills on an order with roles (ignored on others).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RolePick {
    /// The first of the order's roles, in its order, that the volunteer
    /// holds the skill of and that has a free place.
    Any,
    /// This role if it has room and they hold it, else as [`RolePick::Any`].
    Prefer(Skill),
    /// This role or none (an offer names its role).
    Exactly(Skill),
}

/// What a claim changed.
pub struct Claimed {
    /// The order afterwards.
    pub order: order::Model,
    /// The volunteer afterwards (one more active task).
    pub volunteer: volunteer::Model,
    /// Volunteers whose open offers on the order were withdrawn (it filled):
    /// free for other offers once this commits (`location::released`).
    pub withdrawn: Vec<Uuid>,
    /// The overdue volunteer this claim replaced (one task fewer).
    pub replaced: Option<Uuid>,
}

/// Puts `volunteer` on the order, if a place is free and the volunteer has
/// capacity: decided by conditional updates, so concurrent claims (in any
/// number of processes) can never overfill an order. Must run in a
/// transaction. `known` is the volunteer's assignment row on this order when
/// the caller has read it (an offer being accepted); it is updated only if
/// its state is still the one read.
pub async fn claim<C: ConnectionTrait>(
    db: &C,
    want: Claim,
    ch: Channels<'_>,
    mut trail: Trail,
) -> ApiResult<Claimed> {
    let Claim {
        order_id,
        volunteer_id,
        how,
        known,
        distance_m,
        role,
        arrival,
    } = want;
    let (actor, now) = (trail.actor(), trail.now());
    // 1. A place on the order (this also locks the order row on PostgreSQL).
    let Some(o) = order::Entity::update_many()
        .col_expr(order::Column::Filled, col_plus(order::Column::Filled, 1))
        .col_expr(order::Column::Version, col_plus(order::Column::Version, 1))
        .col_expr(order::Column::UpdatedAt, Expr::value(now))
        .col_expr(
            order::Column::FirstAcceptedAt,
            Expr::expr(Func::coalesce([
                Expr::col(order::Column::FirstAcceptedAt),
                Expr::value(now),
            ])),
        )
        .filter(order::Column::Id.eq(order_id))
        .filter(col_lt_col(order::Column::Filled, order::Column::Headcount))
        .filter(
            order::Column::Status.is_in([OrderStatus::Open.code(), OrderStatus::Escalated.code()]),
        )
        .exec_with_returning(db)
        .await?
        .pop()
    else {
        let o = load(db, order_id).await?;
        return Err(ApiError::conflict(
            p::ORDER_FULL
                .with("code", &o.code)
                .with("status", p::word("status", &o.status)),
        ));
    };
    // 1b. A place in a role (counted under the order row's lock, so two
    // claims can never both take the last place of a role).
    let role = fill_role(db, &o, volunteer_id, role, now).await?;
    // 2. Capacity of the volunteer.
    let volunteer = take_capacity(db, volunteer_id, now).await?;
    let expected_by = arrival.and_then(|r| r.expected(&volunteer, &o, now));
    // 3. The assignment row: an offer becomes accepted; otherwise a new row.
    let existing = match known {
        Some(a) => Some(a),
        None => {
            assignment::Entity::find()
                .filter(assignment::Column::OrderId.eq(order_id))
                .filter(assignment::Column::VolunteerId.eq(volunteer_id))
                .one(db)
                .await?
        }
    };
    match existing {
        Some(a) if a.state()?.is_on_order() => {
            return Err(ApiError::conflict(&p::VOLUNTEER_ALREADY_ORDER));
        }
        Some(a) => {
            let mut q = assignment::Entity::update_many()
                .col_expr(
                    assignment::Column::State,
                    Expr::value(AssignmentState::Accepted.code()),
                )
                .col_expr(assignment::Column::RespondedAt, Expr::value(now))
                .col_expr(assignment::Column::UpdatedAt, Expr::value(now))
                .col_expr(assignment::Column::ExpectedBy, Expr::value(expected_by))
                .col_expr(
                    assignment::Column::OverdueAt,
                    Expr::value(Option::<DateTime<Utc>>::None),
                )
                .filter(assignment::Column::Id.eq(a.id))
                .filter(assignment::Column::State.eq(a.state.clone()));
            if how != ClaimHow::Offer {
                q = q.col_expr(assignment::Column::How, Expr::value(how.code()));
            }
            if how == ClaimHow::Manual {
                q = q.col_expr(assignment::Column::AssignedBy, Expr::value(actor.id));
            }
            if let Some(r) = role {
                q = q.col_expr(assignment::Column::Role, Expr::value(r.code()));
            }
            if q.exec(db).await?.rows_affected == 0 {
                return Err(ApiError::conflict(&p::OFFER_CHANGED_MEANWHILE));
            }
        }
        None => {
            let row = assignment::ActiveModel {
                id: Set(Uuid::now_v7()),
                order_id: Set(order_id),
                volunteer_id: Set(volunteer_id),
                state: Set(AssignmentState::Accepted.code().to_owned()),
                how: Set(how.code().to_owned()),
                wave: Set(0),
                distance_m: Set(distance_m),
                offered_at: Set(now),
                deadline: Set(None),
                responded_at: Set(Some(now)),
                arrived_at: Set(None),
                completed_at: Set(None),
                note: Set(None),
                assigned_by: Set(if how == ClaimHow::Manual {
                    actor.id
                } else {
                    None
                }),
                role: Set(role.map(|r| r.code().to_owned())),
                expected_by: Set(expected_by),
                overdue_at: Set(None),
                replaces: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
            };
            assignment::Entity::insert(row)
                .on_conflict(
                    OnConflict::columns([
                        assignment::Column::OrderId,
                        assignment::Column::VolunteerId,
                    ])
                    .do_nothing()
                    .to_owned(),
                )
                .exec_without_returning(db)
                .await?;
        }
    }
    let kind = match how {
        ClaimHow::Offer => "offer_accepted",
        ClaimHow::Grab => "grabbed",
        ClaimHow::Manual => "assigned",
    };
    trail.event(
        order_id,
        kind,
        None,
        None,
        json!({"volunteer_id": volunteer_id.to_string(), "filled": o.filled, "headcount": o.headcount,
               "role": role.map(Skill::code)}),
    );
    trail.push(
        ch.order(order_id),
        &Push::VolunteerAssigned {
            order_id,
            volunteer_id,
            filled: o.filled,
            headcount: o.headcount,
            resident_id: o.resident_id,
        },
    );
    if o.filled < o.headcount {
        trail.write(db).await?;
        return Ok(Claimed {
            order: o,
            volunteer,
            withdrawn: Vec::new(),
            replaced: None,
        });
    }
    let o = transition(
        db,
        &o,
        OrderAction::Fill,
        vec![(
            order::Column::NextActionAt,
            Option::<DateTime<Utc>>::None.into(),
        )],
        json!({"filled": o.filled}),
        ch,
        trail,
    )
    .await?;
    let withdrawn = withdraw_open_offers(db, order_id, "filled", now, ch).await?;
    Ok(Claimed {
        order: o,
        volunteer,
        withdrawn,
        replaced: None,
    })
}

/// The role `volunteer` fills on `o` by `pick` (None on an order without
/// roles): one whose skill they hold (with a valid certificate) and that has
/// fewer volunteers on it than it needs. Must run after the order row is
/// locked by the claim's update, so that the count is of committed claims.
async fn fill_role<C: ConnectionTrait>(
    db: &C,
    o: &order::Model,
    volunteer: Uuid,
    pick: RolePick,
    now: DateTime<Utc>,
) -> ApiResult<Option<Skill>> {
    let roles = o.roles()?;
    if roles.is_empty() {
        return Ok(None);
    }
    let mut order: Vec<Skill> = roles.iter().map(|r| r.skill).collect();
    match pick {
        RolePick::Any => {}
        RolePick::Prefer(r) => {
            order.retain(|s| *s != r);
            order.insert(0, r);
        }
        RolePick::Exactly(r) => order = vec![r],
    }
    let held = super::valid_skills(db, volunteer, now).await?;
    let on_it = AssignmentState::codes(&AssignmentState::ON_ORDER);
    let mut full = Vec::new();
    for skill in order {
        let Some(slot) = roles.get(skill) else {
            continue;
        };
        if !held.contains(skill) {
            continue;
        }
        let taken = assignment::Entity::find()
            .filter(assignment::Column::OrderId.eq(o.id))
            .filter(assignment::Column::Role.eq(skill.code()))
            .filter(assignment::Column::State.is_in(on_it.clone()))
            .filter(assignment::Column::VolunteerId.ne(volunteer))
            .count(db)
            .await?;
        if taken < u64::try_from(slot.count).unwrap_or(0) {
            return Ok(Some(skill));
        }
        full.push(skill.code());
    }
    if full.is_empty() {
        let needed: Vec<&str> = roles.iter().map(|r| r.skill.code()).collect();
        return Err(ApiError::invalid(
            "role",
            p::ROLES_NOT_HELD.with("roles", needed.join(", ")),
        ));
    }
    Err(ApiError::conflict_on(
        "role",
        p::ROLE_FULL
            .with("roles", full.join(", "))
            .with("code", &o.code),
    ))
}

/// Withdraws every offer still open on an order, telling each volunteer.
pub async fn withdraw_open_offers<C: ConnectionTrait>(
    db: &C,
    order_id: Uuid,
    why: &str,
    now: DateTime<Utc>,
    ch: Channels<'_>,
) -> ApiResult<Vec<Uuid>> {
    let mut open = assignment::Entity::update_many()
        .col_expr(
            assignment::Column::State,
            Expr::value(AssignmentState::Withdrawn.code()),
        )
        .col_expr(assignment::Column::UpdatedAt, Expr::value(now))
        .filter(assignment::Column::OrderId.eq(order_id))
        .filter(assignment::Column::State.eq(AssignmentState::Offered.code()))
        .exec_with_returning(db)
        .await?;
    if open.is_empty() {
        return Ok(Vec::new());
    }
    // Offers in the order they were made (ids are time-ordered).
    open.sort_unstable_by_key(|a| a.id);
    let mut trail = Trail::new(Actor::SYSTEM, now);
    let ids: Vec<Uuid> = open.iter().map(|a| a.volunteer_id).collect();
    trail.event(
        order_id,
        "offers_withdrawn",
        None,
        None,
        json!({"reason": why, "volunteers": ids.iter().map(Uuid::to_string).collect::<Vec<_>>()}),
    );
    for a in &open {
        trail.push(
            ch.volunteer(a.volunteer_id),
            &Push::OfferWithdrawn {
                offer_id: a.id,
                order_id,
                reason: why.to_owned(),
            },
        );
    }
    trail.write(db).await?;
    Ok(ids)
}

/// Moves a volunteer's part `a` from the state it was read in to `to` (a
/// legal move, else 409), setting `extra` columns, if nothing changed the
/// row meanwhile; then records the event `(kind, data)` in `trail`. Returns
/// whether it moved (false: another request or pass moved it first, and
/// nothing was written).
pub async fn move_assignment<C: ConnectionTrait>(
    db: &C,
    a: &assignment::Model,
    to: AssignmentState,
    extra: Vec<(assignment::Column, sea_orm::Value)>,
    event: (&str, Value),
    trail: &mut Trail,
) -> ApiResult<bool> {
    let from = a.state()?;
    if !from.may_become(to) {
        return Err(ApiError::conflict(
            p::PART_CANNOT_BECOME
                .with("from", p::word("astate", from.code()))
                .with("to", p::word("astate", to.code())),
        ));
    }
    let mut q = assignment::Entity::update_many()
        .col_expr(assignment::Column::State, Expr::value(to.code()))
        .col_expr(assignment::Column::UpdatedAt, Expr::value(trail.now()));
    for (col, value) in extra {
        q = q.col_expr(col, Expr::value(value));
    }
    let moved = q
        .filter(assignment::Column::Id.eq(a.id))
        .filter(assignment::Column::State.eq(from.code()))
        .exec(db)
        .await?
        .rows_affected
        == 1;
    if moved {
        let (kind, data) = event;
        trail.event(a.order_id, kind, None, None, data);
    }
    Ok(moved)
}

/// Takes one place of `volunteer_id`'s capacity (a conditional update:
/// 409 when they have none free); returns the row afterwards.
pub(super) async fn take_capacity<C: ConnectionTrait>(
    db: &C,
    volunteer_id: Uuid,
    now: DateTime<Utc>,
) -> ApiResult<volunteer::Model> {
    volunteer::Entity::update_many()
        .col_expr(
            volunteer::Column::ActiveTasks,
            col_plus(volunteer::Column::ActiveTasks, 1),
        )
        .col_expr(volunteer::Column::UpdatedAt, Expr::value(now))
        .filter(volunteer::Column::Id.eq(volunteer_id))
        .filter(col_lt_col(
            volunteer::Column::ActiveTasks,
            volunteer::Column::Capacity,
        ))
        .exec_with_returning(db)
        .await?
        .pop()
        .ok_or_else(|| ApiError::conflict(&p::VOLUNTEER_NO_FREE_CAPACITY))
}

/// Releases a volunteer's capacity (task over or cancelled).
pub async fn release_capacity<C: ConnectionTrait>(
    db: &C,
    volunteer_id: Uuid,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    volunteer::Entity::update_many()
        .col_expr(
            volunteer::Column::ActiveTasks,
            col_plus(volunteer::Column::ActiveTasks, -1),
        )
        .col_expr(volunteer::Column::IdleSince, Expr::value(now))
        .col_expr(volunteer::Column::UpdatedAt, Expr::value(now))
        .filter(volunteer::Column::Id.eq(volunteer_id))
        .filter(volunteer::Column::ActiveTasks.gt(0))
        .exec(db)
        .await?;
    Ok(())
}

/// A volunteer's place on an order is freed (taken off, or withdrew): their
/// capacity back, one fewer on the order, and — with `due` — the
/// dispatcher's next look at it then. Returns the order afterwards; the
/// caller moves an assigned order back to open.
pub async fn free_place<C: ConnectionTrait>(
    db: &C,
    order_id: Uuid,
    volunteer_id: Uuid,
    now: DateTime<Utc>,
    due: Option<DateTime<Utc>>,
) -> ApiResult<order::Model> {
    release_capacity(db, volunteer_id, now).await?;
    let mut q = order::Entity::update_many()
        .col_expr(order::Column::Filled, col_plus(order::Column::Filled, -1));
    if let Some(at) = due {
        q = q.col_expr(order::Column::NextActionAt, Expr::value(at));
    }
    q.filter(order::Column::Id.eq(order_id))
        .filter(order::Column::Filled.gt(0))
        .exec(db)
        .await?;
    load(db, order_id).await
}

/// Cancels an order: open offers withdrawn, volunteers on it released and
/// told. Returns the order and the volunteers whose offers were withdrawn.
pub async fn cancel<C: ConnectionTrait>(
    db: &C,
    o: &order::Model,
    by: CancelledBy,
    reason: Option<String>,
    ch: Channels<'_>,
    trail: Trail,
) -> ApiResult<(order::Model, Vec<Uuid>)> {
    let now = trail.now();
    let updated = transition(
        db,
        o,
        OrderAction::Cancel(by),
        vec![
            (order::Column::CancelledAt, Some(now).into()),
            (order::Column::CancelReason, reason.clone().into()),
            (
                order::Column::NextActionAt,
                Option::<DateTime<Utc>>::None.into(),
            ),
        ],
        json!({"reason": reason}),
        ch,
        trail,
    )
    .await?;
    let withdrawn = withdraw_open_offers(db, o.id, "cancelled", now, ch).await?;
    let on_it = assignment::Entity::find()
        .filter(assignment::Column::OrderId.eq(o.id))
        .filter(assignment::Column::State.is_in(AssignmentState::codes(&AssignmentState::HOLDING)))
        .all(db)
        .await?;
    for a in on_it {
        assignment::Entity::update_many()
            .col_expr(
                assignment::Column::State,
                Expr::value(AssignmentState::Cancelled.code()),
            )
            .col_expr(assignment::Column::UpdatedAt, Expr::value(now))
            .filter(assignment::Column::Id.eq(a.id))
            .exec(db)
            .await?;
        release_capacity(db, a.volunteer_id, now).await?;
        push(
            db,
            ch.volunteer(a.volunteer_id),
            Push::OrderCancelled {
                order_id: o.id,
                code: o.code.clone(),
                reason: reason.clone(),
            },
            now,
        )
        .await?;
    }
    Ok((updated, withdrawn))
}
