//! An order's own row: creating it, loading it, its code, and moving it through the status
//! machine.
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, Statement,
};
use serde_json::{Value, json};
use uuid::Uuid;
use zhongdui_domain::text::phrases as p;
use zhongdui_domain::{Category, GeoPoint, OrderAction, OrderSource, OrderStatus, Urgency};

use super::trail::{Actor, Channels, Trail};
use crate::entities::order;
use crate::error::{ApiError, ApiResult};
use crate::messages::Push;

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
        ApiError::conflict(
            p::ORDER_CANNOT
                .with("code", &o.code)
                .with("status", p::word("status", e.from.code()))
                .with("action", action_word(e.action)),
        )
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
        return Err(ApiError::conflict(p::ORDER_CHANGED.with("code", &o.code)));
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
        .ok_or(ApiError::NotFound(&p::NOUN_ORDER))
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
    /// Volunteers needed (the roles' sum when there are roles).
    pub headcount: i32,
    /// The roles of a joint incident (empty: the category's skills from everyone).
    pub roles: zhongdui_domain::RoleSlots,
    /// Urgency.
    pub urgency: Urgency,
    /// Phone to call, shown masked until someone accepts.
    pub contact_phone: Option<String>,
    /// resident | coordinator | station.
    pub source: OrderSource,
    /// The resident it is for.
    pub resident_id: Option<Uuid>,
    /// Teams offered it first, together (station slips, staff).
    pub target_team_ids: Vec<Uuid>,
    /// The station sending it.
    pub station: Option<String>,
    /// A station system's slip: the client and its slip number.
    pub slip: Option<(Uuid, String)>,
    /// The account that answers for it when it is not the actor's own
    /// (a client's slip: the admin who registered the client).
    pub on_behalf_of: Option<Uuid>,
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
    ch: Channels<'_>,
) -> (order::Model, Trail) {
    let id = Uuid::now_v7();
    let (headcount, required_skills, roles) = if new.roles.is_empty() {
        (
            new.headcount,
            new.category.required_skills().to_string(),
            None,
        )
    } else {
        let r = &new.roles;
        (r.headcount(), r.skills().to_string(), Some(r.spec()))
    };
    let o = order::Model {
        id,
        code,
        status: OrderStatus::Open.code().to_owned(),
        category: new.category.code().to_owned(),
        required_skills,
        tier: i16::from(new.category.tier()),
        urgency: new.urgency.code().to_owned(),
        lat: new.at.lat(),
        lon: new.at.lon(),
        address: new.address,
        description: new.description,
        headcount,
        filled: 0,
        source: new.source.code().to_owned(),
        created_by: new.on_behalf_of.or(actor.id).unwrap_or_default(),
        resident_id: new.resident_id,
        contact_phone: new.contact_phone,
        target_team_id: new.target_team_ids.first().copied(),
        target_team_ids: (new.target_team_ids.len() > 1).then(|| {
            let ids: Vec<String> = new.target_team_ids.iter().map(Uuid::to_string).collect();
            ids.join(";")
        }),
        client_id: new.slip.as_ref().map(|s| s.0),
        external_id: new.slip.map(|s| s.1),
        roles,
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
        json!({"source": o.source, "category": o.category, "headcount": o.headcount, "urgency": o.urgency,
               "roles": o.roles}),
    );
    announce.push(
        ch.ops(),
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

/// The word for what an order was asked to do, for a person.
fn action_word(action: OrderAction) -> &'static zhongdui_domain::text::Phrase {
    match action {
        OrderAction::Escalate => &p::ACTION_ESCALATE,
        OrderAction::Redispatch => &p::ACTION_REDISPATCH,
        OrderAction::Fill => &p::ACTION_FILL,
        OrderAction::Unfill => &p::ACTION_UNFILL,
        OrderAction::Arrive => &p::ACTION_ARRIVE,
        OrderAction::Complete => &p::ACTION_COMPLETE,
        OrderAction::Confirm => &p::ACTION_CONFIRM,
        OrderAction::AutoClose => &p::ACTION_AUTO_CLOSE,
        OrderAction::Cancel(_) => &p::ACTION_CANCEL,
    }
}
