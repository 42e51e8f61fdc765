//! Orders: creation, the audited status transitions, and claims (accept, grab,
//! manual assign) decided by conditional updates in the database, so that
//! exactly `headcount` volunteers end up on an order whatever the races.
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, Func, OnConflict};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait,
    QueryFilter, QueryOrder, Statement,
};
use serde_json::{Value, json};
use uuid::Uuid;
use zhongdui_domain::{
    AssignmentState, CancelledBy, Category, ClaimHow, GeoPoint, OrderAction, OrderSource,
    OrderStatus, Role, Skill, SkillSet, Urgency,
};

use crate::entities::{assignment, order, order_event, outbox, volunteer, volunteer_skill};
use crate::error::{ApiError, ApiResult};
use crate::messages::Push;

/// `col + n`, for conditional counters.
pub fn col_plus<C: sea_orm::sea_query::IntoColumnRef>(col: C, n: i32) -> Expr {
    sea_orm::sea_query::ExprTrait::add(Expr::col(col), n)
}

/// `a < b` between two columns.
fn col_lt_col<A, B>(a: A, b: B) -> Expr
where
    A: sea_orm::sea_query::IntoColumnRef,
    B: sea_orm::sea_query::IntoColumnRef,
{
    sea_orm::sea_query::ExprTrait::lt(Expr::col(a), Expr::col(b))
}

/// Who did something: a user, or the system (dispatcher).
#[derive(Debug, Clone, Copy)]
pub struct Actor {
    /// The user, if any.
    pub id: Option<Uuid>,
    /// Their role.
    pub role: Option<Role>,
}

impl Actor {
    /// The dispatcher itself.
    pub const SYSTEM: Actor = Actor {
        id: None,
        role: None,
    };

    /// A user.
    pub fn user(id: Uuid, role: Role) -> Self {
        Actor {
            id: Some(id),
            role: Some(role),
        }
    }
}

/// Redis-style channel names (DESIGN.md), with the configured prefix.
#[derive(Debug, Clone, Copy)]
pub struct Channels<'a>(pub &'a str);

impl Channels<'_> {
    /// A volunteer's own channel.
    pub fn volunteer(&self, id: Uuid) -> String {
        format!("{}:volunteer:{id}", self.0)
    }
    /// An order's channel (its resident and staff listen).
    pub fn order(&self, id: Uuid) -> String {
        format!("{}:order:{id}", self.0)
    }
    /// The coordinators' feed.
    pub fn ops(&self) -> String {
        format!("{}:ops", self.0)
    }
}

/// The record of one change: who makes it and when, and the audit events
/// and pushes it writes, collected and then inserted together (one
/// statement per table, not one per row, and none reading anything back).
pub struct Trail {
    actor: Actor,
    now: DateTime<Utc>,
    events: Vec<order_event::ActiveModel>,
    pushes: Vec<outbox::ActiveModel>,
}

impl Trail {
    /// An empty record of a change `actor` makes at `now`.
    pub fn new(actor: Actor, now: DateTime<Utc>) -> Self {
        Trail {
            actor,
            now,
            events: Vec::new(),
            pushes: Vec::new(),
        }
    }

    /// Who makes the change.
    pub fn actor(&self) -> Actor {
        self.actor
    }

    /// When.
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// Adds an order event: what happened to `order_id`, from and to which status.
    pub fn event(
        &mut self,
        order_id: Uuid,
        kind: &str,
        from: Option<OrderStatus>,
        to: Option<OrderStatus>,
        data: Value,
    ) {
        self.event_by(self.actor, order_id, kind, from, to, data);
    }

    /// [`Trail::event`] by another actor than the change's (the dispatcher's
    /// first wave, written with the order that a resident placed).
    pub fn event_by(
        &mut self,
        actor: Actor,
        order_id: Uuid,
        kind: &str,
        from: Option<OrderStatus>,
        to: Option<OrderStatus>,
        data: Value,
    ) {
        let now = self.now;
        self.events.push(order_event::ActiveModel {
            order_id: Set(order_id),
            actor_id: Set(actor.id),
            actor_role: Set(actor.role.map(|r| r.code().to_owned())),
            kind: Set(kind.to_owned()),
            from_status: Set(from.map(|s| s.code().to_owned())),
            to_status: Set(to.map(|s| s.code().to_owned())),
            data: Set((!data.is_null()).then_some(data)),
            created_at: Set(now),
            ..Default::default()
        });
    }

    /// Adds a push, published by the relay once the transaction commits.
    pub fn push(&mut self, channel: String, payload: &Push) {
        self.pushes.push(outbox::ActiveModel {
            channel: Set(channel),
            payload: Set(payload.to_value().to_string()),
            attempts: Set(0),
            created_at: Set(self.now),
            published_at: Set(None),
            ..Default::default()
        });
    }

    /// Inserts what was collected (events first, in the order added), in
    /// statements of at most 300 rows.
    pub async fn write<C: ConnectionTrait>(self, db: &C) -> ApiResult<()> {
        for chunk in self.events.chunks(300) {
            order_event::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(db)
                .await?;
        }
        for chunk in self.pushes.chunks(300) {
            outbox::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(db)
                .await?;
        }
        Ok(())
    }
}

/// Queues a push in the same transaction as the change it announces.
pub async fn push<C: ConnectionTrait>(
    db: &C,
    channel: String,
    payload: Push,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let mut t = Trail::new(Actor::SYSTEM, now);
    t.push(channel, &payload);
    t.write(db).await
}

/// Moves an order through the state machine (409 if illegal or if it changed
/// meanwhile) as `trail`'s actor at its moment, setting `extra` columns,
/// appending an event (`data` its details) and pushing the new status to the
/// order's channel and the ops feed; writes `trail` (with whatever events
/// and pushes the caller put in it first).
pub async fn transition<C: ConnectionTrait>(
    db: &C,
    o: &order::Model,
    action: OrderAction,
    extra: Vec<(order::Column, sea_orm::Value)>,
    data: Value,
    ch: Channels<'_>,
    mut trail: Trail,
) -> ApiResult<order::Model> {
    let now = trail.now();
    let from = o.status()?;
    let to = from.apply(action).map_err(|e| {
        ApiError::Conflict(format!(
            "order {} is {}: cannot {:?}",
            o.code, e.from, e.action
        ))
    })?;
    let mut update = order::Entity::update_many()
        .col_expr(order::Column::Status, Expr::value(to.code()))
        .col_expr(order::Column::Version, Expr::value(o.version + 1))
        .col_expr(order::Column::UpdatedAt, Expr::value(now));
    for (col, value) in extra {
        update = update.col_expr(col, Expr::value(value));
    }
    let Some(updated) = update
        .filter(order::Column::Id.eq(o.id))
        .filter(order::Column::Version.eq(o.version))
        .exec_with_returning(db)
        .await?
        .pop()
    else {
        return Err(ApiError::Conflict(format!(
            "order {} changed meanwhile; reload and retry",
            o.code
        )));
    };
    let kind = match action {
        OrderAction::Escalate => "escalated",
        OrderAction::Redispatch => "redispatched",
        OrderAction::Fill => "filled",
        OrderAction::Unfill => "unfilled",
        OrderAction::Arrive => "in_progress",
        OrderAction::Complete => "completed",
        OrderAction::Confirm => "confirmed",
        OrderAction::AutoClose => "auto_closed",
        OrderAction::Cancel(_) => "cancelled",
    };
    trail.event(o.id, kind, Some(from), Some(to), data.clone());
    // `resident_id` routes the order channel's pushes to the resident's sessions.
    let msg = Push::OrderStatus {
        order_id: o.id,
        code: o.code.clone(),
        status: to.code().to_owned(),
        from: from.code().to_owned(),
        data,
        resident_id: o.resident_id,
    };
    trail.push(ch.order(o.id), &msg);
    trail.push(ch.ops(), &msg);
    trail.write(db).await?;
    Ok(updated)
}

/// An order by id.
pub async fn load<C: ConnectionTrait>(db: &C, id: Uuid) -> ApiResult<order::Model> {
    order::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(ApiError::NotFound("order"))
}

/// The next human-readable code for `now`'s day in the city (China time,
/// like every other day in the product): `ZD-20261123-0042`.
///
/// On PostgreSQL the number comes from a per-day sequence (no row lock, so
/// order creation does not serialise on it; a failed creation may leave a
/// gap). On SQLite, where writes are serialised anyway, from a counter row.
/// Call it outside the order's transaction (a failed `nextval` on a new day
/// would abort a PostgreSQL transaction).
pub async fn next_code<C: ConnectionTrait>(db: &C, now: DateTime<Utc>) -> ApiResult<String> {
    let day = crate::clock::local_today(now)?.format("%Y%m%d").to_string();
    let backend = db.get_database_backend();
    let n: i64 = match backend {
        DbBackend::Postgres => {
            let seq = format!("order_code_{day}");
            let next = Statement::from_string(backend, format!("SELECT nextval('{seq}') AS last"));
            let row = match db.query_one_raw(next.clone()).await {
                Ok(row) => row,
                Err(_) => {
                    // First order of the day (on this database): make the sequence.
                    // Two requests may race here, and PostgreSQL's IF NOT EXISTS
                    // does not stop the loser failing on the catalog's unique
                    // index; the sequence exists either way, so carry on.
                    if let Err(e) = db
                        .execute_unprepared(&format!("CREATE SEQUENCE IF NOT EXISTS {seq}"))
                        .await
                    {
                        tracing::debug!(error = %e, "order code sequence made by another request");
                    }
                    db.query_one_raw(next).await?
                }
            }
            .ok_or_else(|| {
                ApiError::Internal(anyhow::anyhow!("order code sequence returned nothing"))
            })?;
            row.try_get("", "last")?
        }
        _ => {
            let sql = "INSERT INTO order_code_counters (day, last) VALUES (?, 1) \
                       ON CONFLICT (day) DO UPDATE SET last = order_code_counters.last + 1 RETURNING last";
            let row = db
                .query_one_raw(Statement::from_sql_and_values(
                    backend,
                    sql,
                    [day.clone().into()],
                ))
                .await?
                .ok_or_else(|| {
                    ApiError::Internal(anyhow::anyhow!("order code counter returned nothing"))
                })?;
            i64::from(row.try_get::<i32>("", "last")?)
        }
    };
    Ok(format!("ZD-{day}-{n:04}"))
}

/// A validated new order.
#[derive(Debug, Clone)]
pub struct NewOrder {
    /// What it is about.
    pub category: Category,
    /// Where.
    pub at: GeoPoint,
    /// Address text.
    pub address: String,
    /// Description.
    pub description: String,
    /// Volunteers needed.
    pub headcount: i32,
    /// Urgency.
    pub urgency: Urgency,
    /// Phone to call, shown masked until someone accepts.
    pub contact_phone: Option<String>,
    /// resident | coordinator | station.
    pub source: OrderSource,
    /// The resident it is for.
    pub resident_id: Option<Uuid>,
    /// A team to offer it to first (station slips).
    pub target_team_id: Option<Uuid>,
    /// The station sending it.
    pub station: Option<String>,
}

/// A new order (open, waiting for the dispatcher) and the trail announcing
/// it (its `created` event and the ops push), built in memory: the caller
/// may still set its first wave, then inserts it with [`insert_order`] and
/// writes the trail (possibly with the first wave's rows) in the same
/// transaction.
pub fn new_order(
    code: String,
    new: NewOrder,
    actor: Actor,
    now: DateTime<Utc>,
    batch_window: Duration,
    prefix: &str,
) -> (order::Model, Trail) {
    let id = Uuid::now_v7();
    let o = order::Model {
        id,
        code,
        status: OrderStatus::Open.code().to_owned(),
        category: new.category.code().to_owned(),
        required_skills: new.category.required_skills().to_string(),
        tier: i16::from(new.category.tier()),
        urgency: new.urgency.code().to_owned(),
        lat: new.at.lat(),
        lon: new.at.lon(),
        address: new.address,
        description: new.description,
        headcount: new.headcount,
        filled: 0,
        source: new.source.code().to_owned(),
        created_by: actor.id.unwrap_or_default(),
        resident_id: new.resident_id,
        contact_phone: new.contact_phone,
        target_team_id: new.target_team_id,
        station: new.station,
        wave: 0,
        next_action_at: Some(now + batch_window),
        escalated_at: None,
        first_accepted_at: None,
        arrived_at: None,
        completed_at: None,
        closed_at: None,
        cancelled_at: None,
        cancel_reason: None,
        rating: None,
        feedback: None,
        version: 0,
        erased_at: None,
        created_at: now,
        updated_at: now,
    };
    let mut announce = Trail::new(actor, now);
    announce.event(
        id,
        "created",
        None,
        Some(OrderStatus::Open),
        json!({"source": o.source, "category": o.category, "headcount": o.headcount, "urgency": o.urgency}),
    );
    announce.push(
        Channels(prefix).ops(),
        &Push::OrderCreated {
            order_id: id,
            code: o.code.clone(),
            category: o.category.clone(),
            lat: o.lat,
            lon: o.lon,
            urgency: o.urgency.clone(),
            headcount: o.headcount,
        },
    );
    (o, announce)
}

/// Inserts an order built by [`new_order`].
pub async fn insert_order<C: ConnectionTrait>(db: &C, o: &order::Model) -> ApiResult<()> {
    order::Entity::insert(order::ActiveModel::from(o.clone()).reset_all())
        .exec_without_returning(db)
        .await?;
    Ok(())
}

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
        return Err(ApiError::Conflict(format!(
            "order {} is {} and has no free place",
            o.code, o.status
        )));
    };
    // 2. Capacity of the volunteer.
    let Some(volunteer) = volunteer::Entity::update_many()
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
    else {
        return Err(ApiError::Conflict(
            "the volunteer has no free capacity".to_owned(),
        ));
    };
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
            return Err(ApiError::Conflict(
                "the volunteer is already on this order".to_owned(),
            ));
        }
        Some(a) => {
            let mut q = assignment::Entity::update_many()
                .col_expr(
                    assignment::Column::State,
                    Expr::value(AssignmentState::Accepted.code()),
                )
                .col_expr(assignment::Column::RespondedAt, Expr::value(now))
                .col_expr(assignment::Column::UpdatedAt, Expr::value(now))
                .filter(assignment::Column::Id.eq(a.id))
                .filter(assignment::Column::State.eq(a.state.clone()));
            if how != ClaimHow::Offer {
                q = q.col_expr(assignment::Column::How, Expr::value(how.code()));
            }
            if how == ClaimHow::Manual {
                q = q.col_expr(assignment::Column::AssignedBy, Expr::value(actor.id));
            }
            if q.exec(db).await?.rows_affected == 0 {
                return Err(ApiError::Conflict("the offer changed meanwhile".to_owned()));
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
        json!({"volunteer_id": volunteer_id.to_string(), "filled": o.filled, "headcount": o.headcount}),
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
    })
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
        return Err(ApiError::Conflict(format!(
            "this part of the order is {from}; it cannot become {to}"
        )));
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

/// The skills a volunteer holds at `now`: a skill whose catalogue entry
/// needs a certificate counts only with one valid on the city's day (China
/// time); any certificate given counts until the end of its day.
pub async fn valid_skills<C: ConnectionTrait>(
    db: &C,
    volunteer_id: Uuid,
    now: DateTime<Utc>,
) -> ApiResult<SkillSet> {
    let today = crate::clock::local_today(now)?;
    let rows = volunteer_skill::Entity::find()
        .filter(volunteer_skill::Column::VolunteerId.eq(volunteer_id))
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| Some((r.skill.parse::<Skill>().ok()?, r.certified_until)))
        .filter(|(skill, until)| match until {
            Some(d) => *d >= today,
            None => !skill.needs_certificate(),
        })
        .map(|(skill, _)| skill)
        .collect())
}

/// The assignments of an order, oldest first.
pub async fn assignments_of<C: ConnectionTrait>(
    db: &C,
    order_id: Uuid,
) -> ApiResult<Vec<assignment::Model>> {
    Ok(assignment::Entity::find()
        .filter(assignment::Column::OrderId.eq(order_id))
        .order_by_asc(assignment::Column::CreatedAt)
        .order_by_asc(assignment::Column::Id)
        .all(db)
        .await?)
}

/// The events of an order, in order.
pub async fn events_of<C: ConnectionTrait>(
    db: &C,
    order_id: Uuid,
) -> ApiResult<Vec<order_event::Model>> {
    Ok(order_event::Entity::find()
        .filter(order_event::Column::OrderId.eq(order_id))
        .order_by_asc(order_event::Column::Id)
        .all(db)
        .await?)
}
