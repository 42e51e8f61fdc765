//! Webhooks to station systems: which order changes a station hears of,
//! the message each becomes (queued in the transaction of the change, like
//! a push), and its Standard Webhooks signature. Delivery is `crate::webhooks`.
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
};
use serde_json::{Value, json};
use sha2::Sha256;
use uuid::Uuid;
use zhongdui_domain::OrderStatus;

use crate::entities::{order, webhook_delivery};
use crate::error::ApiResult;

/// The webhook type of a change of an order to `to`, if stations hear of it.
pub fn kind_of(to: OrderStatus) -> Option<&'static str> {
    Some(match to {
        OrderStatus::Assigned => "order.assigned",
        OrderStatus::InProgress => "order.arrived",
        OrderStatus::Completed => "order.completed",
        OrderStatus::Closed => "order.confirmed",
        OrderStatus::Escalated => "order.escalated",
        OrderStatus::Cancelled => "order.cancelled",
        _ => return None,
    })
}

/// A status change that may concern a station: the order, the event kind,
/// the new status, the event's data.
pub struct Change {
    /// The order.
    pub order_id: Uuid,
    /// The event kind (`accepted`, `auto_closed`, …).
    pub event: String,
    /// The new status.
    pub to: OrderStatus,
    /// The event's data.
    pub data: Value,
}

/// Queues a message for every change of a slip (an order a client sent):
/// one statement to find the slips among the orders, one to insert. Orders
/// that are not slips cost the one lookup.
pub async fn enqueue<C: ConnectionTrait>(
    db: &C,
    changes: Vec<Change>,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let changes: Vec<(Change, &'static str)> = changes
        .into_iter()
        .filter_map(|c| kind_of(c.to).map(|k| (c, k)))
        .collect();
    if changes.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = changes.iter().map(|(c, _)| c.order_id).collect();
    let slips = order::Entity::find()
        .filter(order::Column::Id.is_in(ids))
        .filter(order::Column::ClientId.is_not_null())
        .all(db)
        .await?;
    if slips.is_empty() {
        return Ok(());
    }
    let rows: Vec<webhook_delivery::ActiveModel> = changes
        .into_iter()
        .filter_map(|(c, kind)| {
            let o = slips.iter().find(|o| o.id == c.order_id)?;
            let mut data = match c.data {
                Value::Object(m) => Value::Object(m),
                Value::Null => json!({}),
                other => json!({ "value": other }),
            };
            data["event"] = json!(c.event);
            delivery(o, kind, c.to.code(), data, now)
        })
        .collect();
    if !rows.is_empty() {
        webhook_delivery::Entity::insert_many(rows)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Queues `order.message` for a new message in a slip's thread (nothing
/// for an order no client sent).
pub async fn enqueue_message<C: ConnectionTrait>(
    db: &C,
    o: &order::Model,
    data: Value,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    if let Some(row) = delivery(o, "order.message", &o.status, data, now) {
        row.insert(db).await?;
    }
    Ok(())
}

/// The delivery row of a `kind` message about slip `o` (None for an order
/// no client sent): the body is what the station receives.
fn delivery(
    o: &order::Model,
    kind: &str,
    status: &str,
    data: Value,
    now: DateTime<Utc>,
) -> Option<webhook_delivery::ActiveModel> {
    let body = json!({
        "type": kind,
        "order_id": o.id,
        "external_id": o.external_id,
        "code": o.code,
        "status": status,
        "occurred_at": now.to_rfc3339(),
        "data": data,
    });
    Some(webhook_delivery::ActiveModel {
        client_id: Set(o.client_id?),
        order_id: Set(o.id),
        message_id: Set(format!("msg_{}", Uuid::now_v7().simple())),
        kind: Set(kind.to_owned()),
        payload: Set(body.to_string()),
        status: Set("pending".to_owned()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        last_status: Set(None),
        last_error: Set(None),
        last_attempt_at: Set(None),
        delivered_at: Set(None),
        created_at: Set(now),
        ..Default::default()
    })
}

/// The Standard Webhooks signature header value for `body`: `v1,` and the
/// base64 HMAC-SHA256 of `{id}.{timestamp}.{body}` under the key that
/// follows `whsec_` (base64).
pub fn signature(secret: &str, id: &str, timestamp: i64, body: &str) -> anyhow::Result<String> {
    let key = STANDARD.decode(secret.strip_prefix("whsec_").unwrap_or(secret))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key)?;
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks specification.
    #[test]
    fn signs_the_published_example() {
        let got = signature(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            r#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(got, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }
}
