//! Changing an order's course: cancel, confirm, assign or reassign, redispatch.
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;
use zhongdui_domain::CancelledBy;
use zhongdui_domain::text::phrases as p;

use super::views::{OrderOut, View, detail, may_manage, not_yours, view_of};
use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::Valid;
use crate::lifecycle;
use crate::routes::parse_id;
use crate::services::orders::{self};
use crate::state::AppState;
use crate::wire::{self, trimmed};

/// A cancellation.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct CancelIn {
    /// Why (required for coordinators), up to 500 characters.
    #[validate(custom(function = "wire::cancel_reason"))]
    #[schema(schema_with = wire::cancel_reason_schema)]
    pub reason: Option<String>,
}

/// Cancel: the resident before anyone arrives, or a coordinator with a reason.
#[utoipa::path(post, path = "/api/v1/orders/{id}/cancel", tag = "orders", security(("bearer" = [])), request_body = CancelIn,
    responses((status = 200, body = OrderOut), (status = 409, description = "too late to cancel"), (status = 422, description = "reason missing")))]
pub async fn cancel(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
    body: Valid<CancelIn>,
) -> ApiResult<HttpResponse> {
    let id: Uuid = parse_id("id", &id)?;
    let o = orders::load(&state.db, id).await?;
    let view = view_of(&state, &user, &o).await?;
    let reason = trimmed(body.0.reason.as_deref());
    let by = match view {
        View::Staff => {
            if !may_manage(&state, &user, &o).await? {
                return Err(not_yours());
            }
            if reason.is_none() {
                return Err(ApiError::invalid(
                    "reason",
                    &p::COORDINATORS_MUST_GIVE_REASON,
                ));
            }
            CancelledBy::Staff
        }
        View::Owner => CancelledBy::Resident,
        _ => {
            return Err(ApiError::forbidden(&p::ONLY_RESIDENT_COORDINATOR_CANCEL));
        }
    };
    let o = lifecycle::cancel(&state, user.actor(), &o, by, reason).await?;
    Ok(HttpResponse::Ok().json(detail(&state, &o, view, user.id.as_uuid()).await?))
}

/// The resident's confirmation.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct ConfirmIn {
    /// 1 to 5 stars.
    #[serde(deserialize_with = "wire::integer")]
    #[validate(range(min = 1, max = 5))]
    #[schema(minimum = 1, maximum = 5)]
    pub rating: i64,
    /// Comments (up to 1000 characters).
    #[validate(custom(function = "wire::feedback"))]
    #[schema(schema_with = wire::feedback_schema)]
    pub feedback: Option<String>,
}

/// Confirm completion and rate it (the resident); volunteers earn their points.
#[utoipa::path(post, path = "/api/v1/orders/{id}/confirm", tag = "orders", security(("bearer" = [])), request_body = ConfirmIn,
    responses((status = 200, body = OrderOut), (status = 409, description = "not completed"), (status = 422, description = "rating out of range")))]
pub async fn confirm(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
    body: Valid<ConfirmIn>,
) -> ApiResult<HttpResponse> {
    let id: Uuid = parse_id("id", &id)?;
    let o = orders::load(&state.db, id).await?;
    let view = view_of(&state, &user, &o).await?;
    if view != View::Owner {
        return Err(ApiError::forbidden(&p::ONLY_RESIDENT_WHO_PLACED_ORDER));
    }
    let feedback = trimmed(body.0.feedback.as_deref());
    let rating = i16::try_from(body.0.rating).unwrap_or(5);
    let o = lifecycle::confirm(&state, user.actor(), &o, rating, feedback).await?;
    Ok(HttpResponse::Ok().json(detail(&state, &o, View::Owner, user.id.as_uuid()).await?))
}

/// A manual assignment.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct AssignIn {
    /// The volunteer to put on the order.
    #[validate(custom(function = "wire::id"))]
    #[schema(schema_with = wire::id_schema)]
    pub volunteer_id: String,
    /// Take this volunteer off the order first (reassign); blank for none.
    #[validate(custom(function = "wire::id_or_blank"))]
    #[schema(schema_with = wire::optional_id_schema)]
    pub replace_volunteer_id: Option<String>,
    /// Why the replaced volunteer is taken off (kept in the audit trail),
    /// up to 500 characters; the desk asks for it.
    #[validate(custom(function = "wire::cancel_reason"))]
    #[schema(schema_with = wire::optional_cancel_reason_schema)]
    pub reason: Option<String>,
}

/// Assign or reassign a volunteer by hand (admins; coordinators for their own teams' volunteers).
#[utoipa::path(post, path = "/api/v1/orders/{id}/assign", tag = "orders", security(("bearer" = [])), request_body = AssignIn,
    responses((status = 200, body = OrderOut), (status = 403, description = "not your volunteer"), (status = 409, description = "full or no capacity")))]
pub async fn assign(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
    body: Valid<AssignIn>,
) -> ApiResult<HttpResponse> {
    user.require_staff()?;
    let id: Uuid = parse_id("id", &id)?;
    let body = body.0;
    let vid: Uuid = parse_id("volunteer_id", &body.volunteer_id)?;
    let replace: Option<Uuid> = match body
        .replace_volunteer_id
        .as_deref()
        .filter(|s| !s.is_empty())
    {
        Some(r) => Some(parse_id("replace_volunteer_id", r)?),
        None => None,
    };
    let reason = wire::trimmed(body.reason.as_deref());
    let o = lifecycle::assign_checked(&state, &user, id, vid, replace, reason).await?;
    Ok(HttpResponse::Ok().json(detail(&state, &o, View::Staff, user.id.as_uuid()).await?))
}

/// Send an escalated order out again from the first wave (staff).
#[utoipa::path(post, path = "/api/v1/orders/{id}/redispatch", tag = "orders", security(("bearer" = [])),
    responses((status = 200, body = OrderOut), (status = 409, description = "not escalated")))]
pub async fn redispatch(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    user.require_staff()?;
    let id: Uuid = parse_id("id", &id)?;
    let o = orders::load(&state.db, id).await?;
    if !may_manage(&state, &user, &o).await? {
        return Err(not_yours());
    }
    let o = lifecycle::redispatch(&state, user.actor(), &o).await?;
    Ok(HttpResponse::Ok().json(detail(&state, &o, View::Staff, user.id.as_uuid()).await?))
}
