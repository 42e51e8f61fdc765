//! A volunteer's work on an order in the field: grabbing it, checking in, reporting it done.
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;
use zhongdui_domain::text::phrases as p;
use zhongdui_domain::{GeoPoint, Role};

use super::views::{OrderOut, View, detail};
use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::Valid;
use crate::lifecycle;
use crate::routes::parse_id;
use crate::state::AppState;
use crate::wire::{self, trimmed};

pub(super) fn require_volunteer(user: &AuthUser) -> ApiResult<()> {
    if user.role == Role::Volunteer {
        Ok(())
    } else {
        Err(ApiError::forbidden(&p::ONLY_VOLUNTEERS))
    }
}

/// Take an open task directly (volunteers holding the skills it needs).
#[utoipa::path(post, path = "/api/v1/orders/{id}/grab", tag = "tasks", security(("bearer" = [])),
    responses((status = 200, body = OrderOut), (status = 409, description = "already full, or no capacity"), (status = 422, description = "missing skills")))]
pub async fn grab(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    require_volunteer(&user)?;
    let id: Uuid = parse_id("id", &id)?;
    let o = lifecycle::grab(&state, user.actor(), id).await?;
    Ok(HttpResponse::Ok().json(detail(&state, &o, View::Assigned, user.id.as_uuid()).await?))
}

/// A position report.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct PositionIn {
    /// Latitude.
    #[validate(range(min = -90.0, max = 90.0))]
    #[schema(minimum = -90, maximum = 90)]
    pub lat: f64,
    /// Longitude.
    #[validate(range(min = -180.0, max = 180.0))]
    #[schema(minimum = -180, maximum = 180)]
    pub lon: f64,
}

/// Check in on scene; must be within the configured distance of the order.
#[utoipa::path(post, path = "/api/v1/orders/{id}/arrive", tag = "tasks", security(("bearer" = [])), request_body = PositionIn,
    responses((status = 200, body = OrderOut), (status = 422, description = "too far from the order")))]
pub async fn arrive(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
    body: Valid<PositionIn>,
) -> ApiResult<HttpResponse> {
    require_volunteer(&user)?;
    let id: Uuid = parse_id("id", &id)?;
    let here = GeoPoint::parse(body.0.lat, body.0.lon)?;
    let o = lifecycle::arrive(&state, user.actor(), id, here).await?;
    Ok(HttpResponse::Ok().json(detail(&state, &o, View::Assigned, user.id.as_uuid()).await?))
}

/// Completion note.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct CompleteIn {
    /// What was done (up to 2000 characters).
    #[validate(custom(function = "wire::note"))]
    #[schema(schema_with = wire::note_schema)]
    pub note: Option<String>,
}

/// Report the task done (after checking in).
#[utoipa::path(post, path = "/api/v1/orders/{id}/complete", tag = "tasks", security(("bearer" = [])), request_body = CompleteIn,
    responses((status = 200, body = OrderOut), (status = 409, description = "not checked in")))]
pub async fn complete(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
    body: Valid<CompleteIn>,
) -> ApiResult<HttpResponse> {
    require_volunteer(&user)?;
    let id: Uuid = parse_id("id", &id)?;
    let note = trimmed(body.0.note.as_deref());
    let o = lifecycle::complete(&state, user.actor(), id, note).await?;
    Ok(HttpResponse::Ok().json(detail(&state, &o, View::Assigned, user.id.as_uuid()).await?))
}

/// Why a volunteer withdraws.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct WithdrawIn {
    /// Why (1–500 characters): the resident and coordinators are told.
    #[validate(custom(function = "wire::reason"))]
    #[schema(schema_with = wire::reason_schema)]
    pub reason: String,
}

/// Withdraw from an order before completing it (a volunteer on it): the
/// place reopens and dispatch resumes with its next wave.
#[utoipa::path(post, path = "/api/v1/orders/{id}/withdraw", tag = "tasks", security(("bearer" = [])), request_body = WithdrawIn,
    responses((status = 200, body = OrderOut), (status = 404, description = "not your order"),
        (status = 409, description = "not on it, already completed, or the only one on scene")))]
pub async fn withdraw(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
    body: Valid<WithdrawIn>,
) -> ApiResult<HttpResponse> {
    require_volunteer(&user)?;
    let id: Uuid = parse_id("id", &id)?;
    let reason = trimmed(Some(&body.0.reason));
    let o = lifecycle::withdraw(&state, user.actor(), id, reason).await?;
    Ok(HttpResponse::Ok().json(detail(&state, &o, View::Prospect, user.id.as_uuid()).await?))
}
