//! Machine clients: a station's system registered by an admin, with an
//! OAuth2 client id and secret (stored as a SHA-256 hash: secrets are 256
//! random bits, so a slow hash adds nothing), a webhook URL and its sealed
//! `whsec_` secret. Disabling a client or rotating its secret moves its
//! token version on, so every token it holds stops working at once.
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use rand::RngCore;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;
use zhongdui_domain::text::phrases as p;

use crate::auth::Sealer;
use crate::entities::{client, webhook_delivery};
use crate::error::{ApiError, ApiResult};
use crate::services::orders::Actor;

/// A client as asked for.
pub struct NewClient {
    /// Shown to staff.
    pub name: String,
    /// The station it speaks for (its slips carry this name).
    pub station: String,
    /// Granted scopes (from [`crate::wire::CLIENT_SCOPES`]).
    pub scopes: Vec<String>,
    /// Where its slips' webhooks go.
    pub webhook_url: Option<String>,
}

/// A client with the secrets shown once.
pub struct Issued {
    /// The stored client.
    pub client: client::Model,
    /// The client secret, when it was just made.
    pub client_secret: Option<String>,
    /// The webhook secret (`whsec_…`), when it was just made.
    pub webhook_secret: Option<String>,
}

fn random(n: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; n];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

fn hash(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn new_secret() -> String {
    format!("zds_{}", URL_SAFE_NO_PAD.encode(random(32)))
}

fn new_webhook_secret() -> String {
    format!("whsec_{}", STANDARD.encode(random(32)))
}

/// Registers a client by `actor`.
pub async fn create<C: ConnectionTrait>(
    db: &C,
    sealer: &Sealer,
    new: NewClient,
    actor: Actor,
    now: DateTime<Utc>,
) -> ApiResult<Issued> {
    let (secret, webhook_secret) = (new_secret(), new_webhook_secret());
    let row = client::ActiveModel {
        id: Set(Uuid::now_v7()),
        client_id: Set(format!("zdc_{}", URL_SAFE_NO_PAD.encode(random(12)))),
        name: Set(new.name),
        station: Set(new.station),
        scopes: Set(new.scopes.join(";")),
        webhook_url: Set(new.webhook_url),
        secret_hash: Set(hash(&secret)),
        webhook_secret: Set(sealer.seal(&webhook_secret)?),
        token_version: Set(0),
        disabled: Set(false),
        created_by: Set(actor.id.unwrap_or_default()),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    let data = serde_json::json!({"name": row.name, "station": row.station, "scopes": row.scopes});
    crate::services::privacy::audit(db, actor, "client", row.id, "created", data, now).await?;
    Ok(Issued {
        client: row,
        client_secret: Some(secret),
        webhook_secret: Some(webhook_secret),
    })
}

/// Every client, newest first.
pub async fn list<C: ConnectionTrait>(db: &C) -> ApiResult<Vec<client::Model>> {
    Ok(client::Entity::find()
        .order_by_desc(client::Column::CreatedAt)
        .all(db)
        .await?)
}

/// The client `id`.
pub async fn get<C: ConnectionTrait>(db: &C, id: Uuid) -> ApiResult<client::Model> {
    client::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(ApiError::NotFound(&p::NOUN_CLIENT))
}

/// Changes to a client; `None` leaves a field as it is.
#[derive(Default)]
pub struct ClientChange {
    /// New name.
    pub name: Option<String>,
    /// New webhook URL (`Some(None)` removes it).
    pub webhook_url: Option<Option<String>>,
    /// New scopes.
    pub scopes: Option<Vec<String>>,
    /// Disable (its tokens stop at once) or enable.
    pub disabled: Option<bool>,
    /// Issue a new client secret (the old one and its tokens stop at once).
    pub rotate_secret: bool,
    /// Issue a new webhook secret.
    pub rotate_webhook_secret: bool,
}

/// Applies `change` to client `id` by `actor`.
pub async fn update<C: ConnectionTrait>(
    db: &C,
    sealer: &Sealer,
    id: Uuid,
    change: ClientChange,
    actor: Actor,
    now: DateTime<Utc>,
) -> ApiResult<Issued> {
    let current = get(db, id).await?;
    let data = serde_json::json!({
        "name": change.name, "webhook_url": change.webhook_url, "scopes": change.scopes,
        "disabled": change.disabled, "rotate_secret": change.rotate_secret,
        "rotate_webhook_secret": change.rotate_webhook_secret,
    });
    let ends_tokens = change.rotate_secret
        || change.disabled == Some(true)
        || change
            .scopes
            .as_ref()
            .is_some_and(|s| s.join(";") != current.scopes);
    let version = current.token_version + i32::from(ends_tokens);
    let mut am: client::ActiveModel = current.into();
    if let Some(n) = change.name {
        am.name = Set(n);
    }
    if let Some(u) = change.webhook_url {
        am.webhook_url = Set(u);
    }
    if let Some(s) = change.scopes {
        am.scopes = Set(s.join(";"));
    }
    if let Some(d) = change.disabled {
        am.disabled = Set(d);
    }
    let secret = change.rotate_secret.then(new_secret);
    if let Some(s) = &secret {
        am.secret_hash = Set(hash(s));
    }
    let webhook_secret = change.rotate_webhook_secret.then(new_webhook_secret);
    if let Some(s) = &webhook_secret {
        am.webhook_secret = Set(sealer.seal(s)?);
    }
    am.token_version = Set(version);
    am.updated_at = Set(now);
    let row = am.update(db).await?;
    crate::services::privacy::audit(db, actor, "client", row.id, "updated", data, now).await?;
    Ok(Issued {
        client: row,
        client_secret: secret,
        webhook_secret,
    })
}

/// The enabled client with `client_id` whose secret is `secret`, if any.
/// The comparison is of hashes, in constant time.
pub async fn authenticate<C: ConnectionTrait>(
    db: &C,
    client_id: &str,
    secret: &str,
) -> ApiResult<Option<client::Model>> {
    let Some(c) = client::Entity::find()
        .filter(client::Column::ClientId.eq(client_id))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let given = hash(secret);
    let same = given.len() == c.secret_hash.len()
        && given
            .bytes()
            .zip(c.secret_hash.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    Ok((same && !c.disabled).then_some(c))
}

/// A page of client `id`'s webhook deliveries, newest first, and the total.
pub async fn deliveries<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
    page: u64,
    per_page: u64,
) -> ApiResult<(Vec<webhook_delivery::Model>, u64)> {
    use sea_orm::PaginatorTrait;
    let pages = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::ClientId.eq(id))
        .order_by_desc(webhook_delivery::Column::Id)
        .paginate(db, per_page);
    let total = pages.num_items().await?;
    Ok((pages.fetch_page(page - 1).await?, total))
}

/// Queues delivery `delivery` of client `id` again, due now, by `actor`.
pub async fn redeliver<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
    delivery: i64,
    actor: Actor,
    now: DateTime<Utc>,
) -> ApiResult<webhook_delivery::Model> {
    let d = webhook_delivery::Entity::find_by_id(delivery)
        .one(db)
        .await?
        .filter(|d| d.client_id == id)
        .ok_or(ApiError::NotFound(&p::NOUN_DELIVERY))?;
    let mut am: webhook_delivery::ActiveModel = d.into();
    am.status = Set("pending".to_owned());
    am.next_attempt_at = Set(now);
    // A redelivery gets a fresh retry period.
    am.created_at = Set(now);
    let d = am.update(db).await?;
    let data = serde_json::json!({"delivery_id": d.id, "message_id": d.message_id});
    crate::services::privacy::audit(db, actor, "client", id, "redelivered", data, now).await?;
    Ok(d)
}
