//! A volunteer's own day: duty, position, offers, nearby tasks, points.
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use zhongdui_domain::text::phrases as p;
use zhongdui_domain::{GeoPoint, Role};

use crate::auth::AuthUser;
use crate::entities::{assignment, volunteer};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Query, Valid};
use crate::lifecycle;
use crate::routes::orders::{OrderOut, PositionIn, View, one_out, orders_out};
use crate::routes::parse_id;
use crate::services::orders::{self};
use crate::services::points;
use crate::state::AppState;
use zhongdui_domain::AssignmentState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/me/location", web::put().to(put_location))
        .route("/me/duty", web::put().to(put_duty))
        .route("/me/offers", web::get().to(my_offers))
        .route("/me/points", web::get().to(my_points))
        .route("/me/reliability", web::get().to(my_reliability))
        .route("/offers/{id}/accept", web::post().to(accept))
        .route("/offers/{id}/decline", web::post().to(decline))
        .route("/tasks/nearby", web::get().to(nearby));
}

fn volunteer_only(user: &AuthUser) -> ApiResult<Uuid> {
    if user.role == Role::Volunteer {
        Ok(user.id.as_uuid())
    } else {
        Err(ApiError::forbidden(
            &p::ONLY_VOLUNTEERS_OFFERS_DUTY_POSITION,
        ))
    }
}

/// Report where I am (while on duty).
#[utoipa::path(put, path = "/api/v1/me/location", tag = "volunteer", security(("bearer" = [])), request_body = PositionIn,
    responses((status = 204, description = "stored"), (status = 422, description = "not a position")))]
pub async fn put_location(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Valid<PositionIn>,
) -> ApiResult<HttpResponse> {
    let id = volunteer_only(&user)?;
    let at = GeoPoint::parse(body.0.lat, body.0.lon)?;
    if !crate::location::report(&state, id, at).await? {
        return Err(ApiError::TooManyRequests {
            retry_after_secs: 1,
        });
    }
    Ok(HttpResponse::NoContent().finish())
}

/// Duty switch.
#[derive(Debug, Deserialize, ToSchema)]
pub struct DutyIn {
    /// On duty (true) or off (false).
    pub on_duty: bool,
}

/// Go on or off duty.
#[utoipa::path(put, path = "/api/v1/me/duty", tag = "volunteer", security(("bearer" = [])), request_body = DutyIn,
    responses((status = 200, description = "the new state")))]
pub async fn put_duty(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Json<DutyIn>,
) -> ApiResult<HttpResponse> {
    volunteer_only(&user)?;
    lifecycle::set_duty(&state, user.actor(), body.0.on_duty).await?;
    Ok(HttpResponse::Ok().json(json!({"on_duty": body.0.on_duty})))
}

/// An offer to me.
#[derive(Debug, Serialize, ToSchema)]
pub struct OfferOut {
    /// Offer id (accept/decline it).
    pub id: String,
    /// The order.
    pub order_id: String,
    /// Answer by then.
    pub deadline: Option<DateTime<Utc>>,
    /// How far the order was when offered.
    pub distance_m: Option<f64>,
    /// Wave number.
    pub wave: i32,
    /// The role offered (a skill code), on an order with roles.
    pub role: Option<String>,
    /// The order (contact phone masked).
    pub order: OrderOut,
}

/// My open offers, soonest deadline first.
#[utoipa::path(get, path = "/api/v1/me/offers", tag = "volunteer", security(("bearer" = [])),
    responses((status = 200, body = [OfferOut])))]
pub async fn my_offers(state: web::Data<AppState>, user: AuthUser) -> ApiResult<HttpResponse> {
    let id = volunteer_only(&user)?;
    let now = state.clock.now();
    let rows = assignment::Entity::find()
        .filter(assignment::Column::VolunteerId.eq(id))
        .filter(assignment::Column::State.eq(AssignmentState::Offered.code()))
        .filter(assignment::Column::Deadline.gt(now))
        .order_by_asc(assignment::Column::Deadline)
        .all(&state.db)
        .await?;
    let mut out = Vec::new();
    for a in rows {
        let o = orders::load(&state.db, a.order_id).await?;
        out.push(OfferOut {
            id: a.id.to_string(),
            order_id: a.order_id.to_string(),
            deadline: a.deadline,
            distance_m: a.distance_m,
            wave: a.wave,
            role: a.role.clone(),
            order: one_out(&state.db, &o, View::Prospect).await?,
        });
    }
    Ok(HttpResponse::Ok().json(out))
}

async fn my_offer(state: &AppState, offer: &str, volunteer: Uuid) -> ApiResult<assignment::Model> {
    let id: Uuid = parse_id("id", offer)?;
    assignment::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .filter(|a| a.volunteer_id == volunteer)
        .ok_or(ApiError::NotFound(&p::NOUN_OFFER))
}

/// Accept an offer. Exactly `headcount` volunteers get the order; the rest get 409.
#[utoipa::path(post, path = "/api/v1/offers/{id}/accept", tag = "volunteer", security(("bearer" = [])),
    responses((status = 200, body = OrderOut), (status = 404, description = "not your offer"), (status = 409, description = "expired, withdrawn or already full")))]
pub async fn accept(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let me = volunteer_only(&user)?;
    let a = my_offer(&state, &id, me).await?;
    let o = lifecycle::accept(&state, user.actor(), a).await?;
    Ok(HttpResponse::Ok().json(one_out(&state.db, &o, View::Assigned).await?))
}

/// Decline an offer; when nobody is left to answer, the next wave starts at once.
#[utoipa::path(post, path = "/api/v1/offers/{id}/decline", tag = "volunteer", security(("bearer" = [])),
    responses((status = 204, description = "declined"), (status = 409, description = "no longer open")))]
pub async fn decline(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let me = volunteer_only(&user)?;
    let a = my_offer(&state, &id, me).await?;
    lifecycle::decline(&state, user.actor(), a).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Search radius for nearby tasks.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NearbyQuery {
    /// Metres (100–50,000; default 3,000).
    pub radius_m: Option<f64>,
}

/// Open tasks near me that match my skills, nearest first, with distance.
#[utoipa::path(get, path = "/api/v1/tasks/nearby", tag = "volunteer", security(("bearer" = [])), params(NearbyQuery),
    responses((status = 200, body = [OrderOut]), (status = 422, description = "no position reported yet, or bad radius")))]
pub async fn nearby(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<NearbyQuery>,
) -> ApiResult<HttpResponse> {
    let me = volunteer_only(&user)?;
    let radius = query.radius_m.unwrap_or(3000.0);
    if !(100.0..=50_000.0).contains(&radius) {
        return Err(ApiError::invalid(
            "radius_m",
            p::RANGE.with("min", 100).with("max", 50000),
        ));
    }
    let v = volunteer::Entity::find_by_id(me)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound(&p::NOUN_VOLUNTEER))?;
    let here = match (v.lat, v.lon) {
        (Some(lat), Some(lon)) => GeoPoint::parse(lat, lon)?,
        _ => {
            return Err(ApiError::invalid(
                "location",
                &p::REPORT_POSITION_FIRST_PUT_API,
            ));
        }
    };
    let found = orders::nearby(&state.db, me, here, radius, state.clock.now()).await?;
    let (rows, distances): (Vec<_>, Vec<f64>) = found.into_iter().unzip();
    let mut out: Vec<OrderOut> = orders_out(&state.db, &rows, View::Prospect).await?;
    for (o, d) in out.iter_mut().zip(distances) {
        o.distance_m = Some(d.round());
    }
    Ok(HttpResponse::Ok().json(out))
}

/// A ledger row.
#[derive(Debug, Serialize, ToSchema)]
pub struct PointsEntryOut {
    /// earn, bonus, adjustment or redemption.
    pub kind: String,
    /// Points (negative for deductions).
    pub amount: i32,
    /// The order it was for.
    pub order_id: Option<String>,
    /// Why, in the language of `Accept-Language` for the system's own
    /// reasons (a task, a rating); a coordinator's words as written.
    pub reason: Option<String>,
    /// The phrase code of a system reason (`points.reason.task`,
    /// `points.reason.rated`); absent for a coordinator's words.
    pub reason_code: Option<String>,
    /// Its parameters (`code`, `minutes`, `rating`).
    #[schema(value_type = Option<Object>)]
    pub reason_params: Option<serde_json::Value>,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// Balance, rank and recent history.
#[derive(Debug, Serialize, ToSchema)]
pub struct PointsOut {
    /// Sum of the ledger.
    pub balance: i64,
    /// All-time rank among volunteers.
    pub rank: Option<u32>,
    /// Newest first.
    pub history: Vec<PointsEntryOut>,
}

/// Points of one volunteer.
pub async fn points_of(state: &AppState, volunteer_id: Uuid) -> ApiResult<PointsOut> {
    let history = points::history(&state.db, volunteer_id, 100).await?;
    Ok(PointsOut {
        balance: points::balance(&state.db, volunteer_id).await?,
        rank: points::rank_of(&state.db, volunteer_id).await?,
        history: history
            .into_iter()
            .map(|e| {
                let params = points::reason_params(&e);
                PointsEntryOut {
                    reason: points::reason_of(&e, params.as_ref()),
                    reason_params: params.map(serde_json::Value::Object),
                    kind: e.kind,
                    amount: e.amount,
                    order_id: e.order_id.map(|o| o.to_string()),
                    reason_code: e.reason_code,
                    created_at: e.created_at,
                }
            })
            .collect(),
    })
}

/// My reliability: the record coordinators see, and that breaks ties
/// among near-equal candidates for an offer.
#[utoipa::path(get, path = "/api/v1/me/reliability", tag = "volunteer", security(("bearer" = [])),
    responses((status = 200, body = crate::dispatch::reliability::Reliability)))]
pub async fn my_reliability(state: web::Data<AppState>, user: AuthUser) -> ApiResult<HttpResponse> {
    let me = volunteer_only(&user)?;
    let days = state.settings.dispatch.reliability_days.max(1);
    let r = crate::dispatch::reliability::one(&state.db, me, days, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(r))
}

/// My points: balance, rank, history.
#[utoipa::path(get, path = "/api/v1/me/points", tag = "volunteer", security(("bearer" = [])),
    responses((status = 200, body = PointsOut)))]
pub async fn my_points(state: web::Data<AppState>, user: AuthUser) -> ApiResult<HttpResponse> {
    let me = volunteer_only(&user)?;
    Ok(HttpResponse::Ok().json(points_of(&state, me).await?))
}
