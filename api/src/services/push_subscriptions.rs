//! A volunteer's Web Push subscriptions: one per browser (the endpoint is
//! the browser's), at most [`MAX_PER_USER`] per account (the oldest goes).
use chrono::{DateTime, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::entities::push_subscription;
use crate::error::ApiResult;

/// Subscriptions kept per account.
pub const MAX_PER_USER: u64 = 10;

/// A browser's subscription as it gave it (keys already checked).
pub struct Subscription {
    /// The push service's URL.
    pub endpoint: String,
    /// base64url P-256 public key.
    pub p256dh: String,
    /// base64url authentication secret.
    pub auth: String,
    /// `zh-CN` or `en`.
    pub lang: String,
}

/// Keeps `sub` for `user`: a browser subscribing again (new keys, or
/// another account signed in on it) replaces what it had.
pub async fn subscribe<C: ConnectionTrait>(
    db: &C,
    user: Uuid,
    sub: Subscription,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    push_subscription::Entity::insert(push_subscription::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user),
        endpoint: Set(sub.endpoint),
        p256dh: Set(sub.p256dh),
        auth: Set(sub.auth),
        lang: Set(sub.lang),
        created_at: Set(now),
        last_success_at: Set(None),
    })
    .on_conflict(
        OnConflict::column(push_subscription::Column::Endpoint)
            .update_columns([
                push_subscription::Column::UserId,
                push_subscription::Column::P256dh,
                push_subscription::Column::Auth,
                push_subscription::Column::Lang,
                push_subscription::Column::CreatedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    let extra: Vec<Uuid> = push_subscription::Entity::find()
        .select_only()
        .column(push_subscription::Column::Id)
        .filter(push_subscription::Column::UserId.eq(user))
        .order_by_desc(push_subscription::Column::CreatedAt)
        .offset(MAX_PER_USER)
        .limit(1000)
        .into_tuple()
        .all(db)
        .await?;
    if !extra.is_empty() {
        push_subscription::Entity::delete_many()
            .filter(push_subscription::Column::Id.is_in(extra))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Forgets `user`'s subscription at `endpoint`; false if they had none there.
pub async fn unsubscribe<C: ConnectionTrait>(
    db: &C,
    user: Uuid,
    endpoint: &str,
) -> ApiResult<bool> {
    let gone = push_subscription::Entity::delete_many()
        .filter(push_subscription::Column::UserId.eq(user))
        .filter(push_subscription::Column::Endpoint.eq(endpoint))
        .exec(db)
        .await?;
    Ok(gone.rows_affected > 0)
}
