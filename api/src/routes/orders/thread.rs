//! An order's liaison thread: its resident, the volunteers on it, staff and
//! the station system that sent it read and write it; everyone else is told
//! there is no such order.
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;
use zhongdui_domain::text::phrases as p;

use super::views::{View, may_manage, view_of};
use crate::auth::Caller;
use crate::entities::{order, order_message};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Query, Valid};
use crate::lifecycle;
use crate::routes::{Page, PageParams, parse_id};
use crate::services::{liaison, orders};
use crate::state::AppState;
use crate::wire;

/// A message to an order's thread.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct MessageIn {
    /// The text, 1–1000 characters; line breaks allowed.
    #[validate(custom(function = "wire::message"))]
    #[schema(schema_with = wire::message_schema)]
    pub text: String,
}

/// A message of an order's thread.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageOut {
    /// Its number in the thread (increasing).
    pub id: i64,
    /// The order.
    pub order_id: String,
    /// The author: a user's id, or a station client's.
    pub author_id: String,
    /// The author's name (the station's name for a client).
    pub author_name: String,
    /// resident, volunteer, coordinator, admin or client.
    pub author_role: String,
    /// The text.
    pub text: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

fn message_out(m: order_message::Model, author_name: String) -> MessageOut {
    MessageOut {
        id: m.id,
        order_id: m.order_id.to_string(),
        author_id: m.author_id.to_string(),
        author_name,
        author_role: m.author_role,
        text: m.text,
        created_at: m.created_at,
    }
}

/// The order `raw` if `caller` is on its thread, and whether they may
/// write to it (staff outside the order's teams read only); 404 otherwise.
async fn thread_of(
    state: &AppState,
    caller: &Caller,
    raw: &str,
) -> ApiResult<(order::Model, bool)> {
    if let Caller::Client(c) = caller {
        c.require_scope("slips")?;
    }
    let id: Uuid = parse_id("id", raw)?;
    let o = orders::load(&state.db, id).await?;
    let writes = match caller {
        Caller::Client(c) if o.client_id == Some(c.client.id) => true,
        Caller::Client(_) => return Err(ApiError::NotFound(&p::NOUN_ORDER)),
        Caller::User(u) => match view_of(state, u, &o).await? {
            View::Staff => may_manage(state, u, &o).await?,
            View::Owner | View::Assigned => true,
            View::Prospect => return Err(ApiError::NotFound(&p::NOUN_ORDER)),
        },
    };
    Ok((o, writes))
}

/// An order's liaison thread, oldest first (its resident, the volunteers on
/// it, staff, and the station client that sent it).
#[utoipa::path(get, path = "/api/v1/orders/{id}/messages", tag = "orders", security(("bearer" = [])),
    params(PageParams),
    responses((status = 200, body = Page<MessageOut>), (status = 404, description = "no such order, or not on its thread")))]
pub async fn list_messages(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    paging: Query<PageParams>,
) -> ApiResult<HttpResponse> {
    let (page, per_page) = paging.checked()?;
    let (o, _) = thread_of(&state, &caller, &id).await?;
    let (rows, total) = liaison::thread(&state.db, o.id, page, per_page).await?;
    Ok(HttpResponse::Ok().json(Page {
        items: rows.into_iter().map(|(m, n)| message_out(m, n)).collect(),
        total,
        page,
        per_page,
    }))
}

/// Write to an order's thread: pushed live (`order_message`) to everyone
/// on it, and sent to the station as `order.message` for a slip.
#[utoipa::path(post, path = "/api/v1/orders/{id}/messages", tag = "orders", security(("bearer" = [])), request_body = MessageIn,
    responses((status = 201, body = MessageOut), (status = 403, description = "a coordinator outside the order's teams reads only"),
        (status = 404, description = "no such order, or not on its thread"), (status = 409, description = "the order's records were erased")))]
pub async fn post_message(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: Valid<MessageIn>,
) -> ApiResult<HttpResponse> {
    let (o, writes) = thread_of(&state, &caller, &id).await?;
    if !writes {
        return Err(super::views::not_yours());
    }
    let actor = caller.actor();
    state.limits.messages.check(&actor.id.unwrap_or_default())?;
    let name = match &caller {
        Caller::User(u) => u.display_name.clone(),
        Caller::Client(c) => c.client.station.clone(),
    };
    let text = body.0.text.trim().to_owned();
    let m = lifecycle::post_message(&state, actor, name.clone(), o.id, text).await?;
    Ok(HttpResponse::Created().json(message_out(m, name)))
}
