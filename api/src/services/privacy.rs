//! Personal data (个人信息保护法): the audit of roster, team, account and
//! points changes; erasing what closed orders no longer need once the
//! retention period is over; and deleting accounts while keeping the
//! history (orders, the audit trail, points sums) without the identity.
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::{Value, json};
use uuid::Uuid;
use zhongdui_domain::text::phrases as p;
use zhongdui_domain::{AssignmentState, OrderStatus, Role};

use crate::auth::UNUSABLE_PASSWORD;
use crate::entities::{
    assignment, audit_entry, idempotency_key, live_session, notification, order, order_message,
    push_subscription, sms_message, user, volunteer, volunteer_skill,
};
use crate::error::{ApiError, ApiResult};
use crate::services::orders::{self, Actor};

/// Appends an audit entry: `actor` did `action` to `entity` `id`; `data`
/// says what changed.
pub async fn audit<C: ConnectionTrait>(
    db: &C,
    actor: Actor,
    entity: &str,
    id: impl ToString,
    action: &str,
    data: Value,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    audit_entry::ActiveModel {
        actor_id: Set(actor.id),
        actor_role: Set(actor.role_code()),
        entity: Set(entity.to_owned()),
        entity_id: Set(id.to_string()),
        action: Set(action.to_owned()),
        data: Set(Some(data)),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// The phone a deleted account is left with: not a phone number, unique,
/// never reachable by a login.
fn deleted_phone(id: Uuid) -> String {
    let hex = id.simple().to_string();
    format!("del-{}", &hex[hex.len() - 16..])
}

/// Whether an account was deleted.
pub fn is_deleted(u: &user::Model) -> bool {
    u.phone.starts_with("del-")
}

/// Removes a person's identity from their account: phone, name and
/// password go, the account is disabled and its tokens revoked; the row
/// (and so the orders, the audit trail and the points ledger that name it)
/// stays under its anonymous id.
async fn anonymise<C: ConnectionTrait>(
    db: &C,
    u: user::Model,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let id = u.id;
    let version = u.token_version + 1;
    // How to reach them goes with who they were.
    push_subscription::Entity::delete_many()
        .filter(push_subscription::Column::UserId.eq(id))
        .exec(db)
        .await?;
    notification::Entity::delete_many()
        .filter(notification::Column::UserId.eq(id))
        .exec(db)
        .await?;
    sms_message::Entity::delete_many()
        .filter(sms_message::Column::UserId.eq(id))
        .exec(db)
        .await?;
    let mut am: user::ActiveModel = u.into();
    am.phone = Set(deleted_phone(id));
    am.display_name = Set("已注销用户".to_owned());
    am.password_hash = Set(UNUSABLE_PASSWORD.to_owned());
    am.disabled = Set(true);
    am.token_version = Set(version);
    am.updated_at = Set(now);
    am.update(db).await?;
    Ok(())
}

/// A resident deletes their account: running orders are refused (cancel
/// them first); their orders keep their history without the contact phone.
pub async fn delete_resident<C: ConnectionTrait>(
    db: &C,
    u: user::Model,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let running = order::Entity::find()
        .filter(order::Column::ResidentId.eq(u.id))
        .filter(order::Column::Status.is_in(OrderStatus::RUNNING.map(OrderStatus::code)))
        .count(db)
        .await?;
    if running > 0 {
        return Err(ApiError::conflict(
            p::REQUESTS_RUNNING.with("count", running),
        ));
    }
    order::Entity::update_many()
        .col_expr(
            order::Column::ContactPhone,
            Expr::value(Option::<String>::None),
        )
        .filter(order::Column::ResidentId.eq(u.id))
        .exec(db)
        .await?;
    let id = u.id;
    anonymise(db, u, now).await?;
    audit(
        db,
        Actor::user(id, Role::Resident),
        "account",
        id,
        "deleted",
        json!({}),
        now,
    )
    .await
}

/// A coordinator (or admin) deletes a volunteer: refused while they hold a
/// task; their skills, positions and identity go, their points stay summed
/// under the anonymous id.
pub async fn delete_volunteer<C: ConnectionTrait>(
    db: &C,
    u: user::Model,
    actor: Actor,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let v = volunteer::Entity::find_by_id(u.id)
        .one(db)
        .await?
        .ok_or(ApiError::NotFound(&p::NOUN_VOLUNTEER))?;
    if v.active_tasks > 0 {
        return Err(ApiError::conflict(
            p::VOLUNTEER_TASKS_IN_HAND.with("count", v.active_tasks),
        ));
    }
    // Open offers go back to dispatch.
    assignment::Entity::update_many()
        .col_expr(
            assignment::Column::State,
            Expr::value(AssignmentState::Withdrawn.code()),
        )
        .col_expr(assignment::Column::UpdatedAt, Expr::value(now))
        .filter(assignment::Column::VolunteerId.eq(u.id))
        .filter(assignment::Column::State.eq(AssignmentState::Offered.code()))
        .exec(db)
        .await?;
    volunteer_skill::Entity::delete_many()
        .filter(volunteer_skill::Column::VolunteerId.eq(u.id))
        .exec(db)
        .await?;
    let team = v.team_id;
    let mut am: volunteer::ActiveModel = v.into();
    am.on_duty = Set(false);
    am.duty_source = Set(None);
    am.lat = Set(None);
    am.lon = Set(None);
    am.location_at = Set(None);
    am.home_lat = Set(None);
    am.home_lon = Set(None);
    am.is_leader = Set(false);
    am.updated_at = Set(now);
    am.update(db).await?;
    let id = u.id;
    anonymise(db, u, now).await?;
    audit(
        db,
        actor,
        "volunteer",
        id,
        "deleted",
        json!({"team_id": team.to_string()}),
        now,
    )
    .await
}

/// Orders erased per call of [`erase_expired`].
pub const ERASE_BATCH: u64 = 500;

/// Erases what closed orders older than `retention_days` no longer need:
/// address, description, notes, feedback, the liaison thread and the contact phone go, the
/// position is rounded to 0.01° (about 1 km); the statistics and the audit
/// of who did what stay. Each order gets a `personal_data_erased` event.
/// Team broadcasts older than the period go too.
/// Returns how many orders were erased (at most [`ERASE_BATCH`] per call).
pub async fn erase_expired(
    db: &DatabaseConnection,
    retention_days: i64,
    now: DateTime<Utc>,
) -> ApiResult<usize> {
    if retention_days <= 0 {
        return Ok(0);
    }
    let cutoff = now - Duration::days(retention_days);
    crate::services::liaison::erase_broadcasts_before(db, cutoff).await?;
    let finished = [
        OrderStatus::Confirmed,
        OrderStatus::Closed,
        OrderStatus::Cancelled,
    ]
    .map(OrderStatus::code);
    let due: Vec<order::Model> = order::Entity::find()
        .filter(order::Column::ErasedAt.is_null())
        .filter(order::Column::Status.is_in(finished))
        .filter(
            sea_orm::Condition::any()
                .add(order::Column::ClosedAt.lt(cutoff))
                .add(order::Column::CancelledAt.lt(cutoff)),
        )
        .order_by_asc(order::Column::CreatedAt)
        .limit(ERASE_BATCH)
        .all(db)
        .await?;
    let round = |x: f64| (x * 100.0).round() / 100.0;
    for o in &due {
        let txn = crate::db::begin_write(db).await?;
        order::Entity::update_many()
            .col_expr(order::Column::Address, Expr::value("（已按保留期限清除）"))
            .col_expr(order::Column::Description, Expr::value(""))
            .col_expr(
                order::Column::ContactPhone,
                Expr::value(Option::<String>::None),
            )
            .col_expr(order::Column::Feedback, Expr::value(Option::<String>::None))
            .col_expr(
                order::Column::CancelReason,
                Expr::value(Option::<String>::None),
            )
            .col_expr(order::Column::Lat, Expr::value(round(o.lat)))
            .col_expr(order::Column::Lon, Expr::value(round(o.lon)))
            .col_expr(order::Column::ErasedAt, Expr::value(now))
            .filter(order::Column::Id.eq(o.id))
            .filter(order::Column::ErasedAt.is_null())
            .exec(&txn)
            .await?;
        assignment::Entity::update_many()
            .col_expr(
                assignment::Column::Note,
                Expr::value(Option::<String>::None),
            )
            .filter(assignment::Column::OrderId.eq(o.id))
            .exec(&txn)
            .await?;
        let messages = order_message::Entity::delete_many()
            .filter(order_message::Column::OrderId.eq(o.id))
            .exec(&txn)
            .await?
            .rows_affected;
        let mut t = orders::Trail::new(Actor::SYSTEM, now);
        t.event(
            o.id,
            "personal_data_erased",
            None,
            None,
            json!({"retention_days": retention_days, "messages": messages}),
        );
        t.write(&txn).await?;
        txn.commit().await?;
    }
    Ok(due.len())
}

/// Forgets the `Idempotency-Key` answers older than `ttl_hours`.
pub async fn erase_idempotency_keys(
    db: &DatabaseConnection,
    ttl_hours: i64,
    now: DateTime<Utc>,
) -> ApiResult<u64> {
    Ok(idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::CreatedAt.lt(now - Duration::hours(ttl_hours)))
        .exec(db)
        .await?
        .rows_affected)
}

/// Forgets notifications and the record of texts older than `keep_days`
/// (the retention period), and `live_sessions` rows of processes that
/// died (not refreshed for an hour).
pub async fn erase_notifications(
    db: &DatabaseConnection,
    keep_days: i64,
    now: DateTime<Utc>,
) -> ApiResult<u64> {
    live_session::Entity::delete_many()
        .filter(live_session::Column::SeenAt.lt(crate::clock::wall() - Duration::hours(1)))
        .exec(db)
        .await?;
    if keep_days <= 0 {
        return Ok(0);
    }
    let cutoff = now - Duration::days(keep_days);
    let n = notification::Entity::delete_many()
        .filter(notification::Column::CreatedAt.lt(cutoff))
        .exec(db)
        .await?
        .rows_affected;
    Ok(n + sms_message::Entity::delete_many()
        .filter(sms_message::Column::CreatedAt.lt(cutoff))
        .exec(db)
        .await?
        .rows_affected)
}

/// Erases expired personal data once a day (and once at start), until shutdown.
pub async fn run_retention(
    state: crate::state::AppState,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(24 * 3600));
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            _ = every.tick() => {}
        }
        let ttl = state.settings.idempotency.ttl_hours;
        if let Err(e) = erase_idempotency_keys(&state.db, ttl, state.clock.now()).await {
            tracing::warn!(error = %e, "expired idempotency keys not erased; retried tomorrow");
        }
        let days = state.settings.privacy.retention_days;
        if let Err(e) = erase_notifications(&state.db, days, state.clock.now()).await {
            tracing::warn!(error = %e, "old notifications not erased; retried tomorrow");
        }
        loop {
            match erase_expired(&state.db, days, state.clock.now()).await {
                Ok(n) if n as u64 == ERASE_BATCH => continue,
                Ok(n) => {
                    if n > 0 {
                        tracing::info!(
                            orders = n,
                            "personal data erased after the retention period"
                        );
                    }
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "retention job failed; retried tomorrow");
                    break;
                }
            }
        }
    }
}
