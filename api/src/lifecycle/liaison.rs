//! A message in an order's liaison thread: kept with the order, pushed to
//! everyone on the thread, and sent to the station for a slip, all in one
//! transaction (so a message is never announced without being kept, nor
//! kept without being announced).
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait};
use serde_json::json;
use uuid::Uuid;
use zhongdui_domain::AssignmentState;
use zhongdui_domain::text::phrases as p;

use crate::entities::{assignment, order, order_message};
use crate::error::{ApiError, ApiResult};
use crate::messages::Push;
use crate::services::orders::{self, Actor};
use crate::services::webhooks;
use crate::state::AppState;

use super::work::Work;

/// Writes `text` by `actor` (named `author_name`) into order `order_id`'s
/// thread. Refused (409) once the order's personal data was erased.
pub async fn post_message(
    state: &AppState,
    actor: Actor,
    author_name: String,
    order_id: Uuid,
    text: String,
) -> ApiResult<order_message::Model> {
    let work = Work::begin(state, actor).await?;
    let o = order::Entity::find_by_id(order_id)
        .one(&work.txn)
        .await?
        .ok_or(ApiError::NotFound(&p::NOUN_ORDER))?;
    if o.erased_at.is_some() {
        return Err(ApiError::conflict(&p::ORDERS_RECORDS_WERE_ERASED_AFTER));
    }
    let row = order_message::ActiveModel {
        order_id: Set(o.id),
        author_id: Set(actor.id.unwrap_or_default()),
        author_role: Set(actor.role_code().unwrap_or_default()),
        text: Set(text),
        created_at: Set(work.now()),
        ..Default::default()
    }
    .insert(&work.txn)
    .await?;
    let on_it = assignment::volunteers_where(
        &orders::assignments_of(&work.txn, o.id).await?,
        AssignmentState::is_on_order,
    )?;
    let push = Push::OrderMessage {
        order_id: o.id,
        code: o.code.clone(),
        message_id: row.id,
        author_role: row.author_role.clone(),
        author_name: author_name.clone(),
        text: row.text.clone(),
        created_at: row.created_at.to_rfc3339(),
        resident_id: o.resident_id,
    };
    let ch = work.channels();
    let mut told = work.trail();
    told.push(ch.order(o.id), &push);
    told.push(ch.ops(), &push);
    for v in on_it {
        told.push(ch.volunteer(v), &push);
    }
    told.write(&work.txn).await?;
    let data = json!({
        "event": "message",
        "message_id": row.id,
        "author_role": row.author_role,
        "author_name": author_name,
        "text": row.text,
    });
    webhooks::enqueue_message(&work.txn, &o, data, work.now()).await?;
    work.commit().await?;
    Ok(row)
}
