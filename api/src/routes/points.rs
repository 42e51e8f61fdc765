//! Leaderboards, adjustments and the points export.
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::openapi::Type;
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, SchemaType};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;
use zhongdui_domain::TeamId;
use zhongdui_domain::text::phrases as p;

use crate::auth::AuthUser;
use crate::entities::volunteer;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Query, Valid};
use crate::lifecycle;
use crate::routes::me::{PointsOut, points_of};
use crate::routes::parse_id;
use crate::services::points::{self, LeaderRow, Period};
use crate::state::AppState;
use crate::wire::{self};
use sea_orm::EntityTrait;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/leaderboard", web::get().to(leaderboard))
        .route("/points/adjustments", web::post().to(adjust))
        .route("/points/export", web::get().to(export))
        .route("/volunteers/{id}/points", web::get().to(volunteer_points));
}

/// Which leaderboard.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BoardQuery {
    /// volunteers (default) or teams.
    pub scope: Option<String>,
    /// week, month or all (default).
    pub period: Option<String>,
    /// How many rows (1–500, default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<usize>,
}

/// A leaderboard.
#[derive(Debug, Serialize, ToSchema)]
pub struct BoardOut {
    /// volunteers or teams.
    pub scope: String,
    /// week, month or all.
    pub period: String,
    /// Rows, best first.
    pub items: Vec<LeaderRow>,
}

/// Leaderboard by week, month or all time, of volunteers or teams (any signed-in user).
#[utoipa::path(get, path = "/api/v1/leaderboard", tag = "points", security(("bearer" = [])), params(BoardQuery),
    responses((status = 200, body = BoardOut)))]
pub async fn leaderboard(
    state: web::Data<AppState>,
    _user: AuthUser,
    query: Query<BoardQuery>,
) -> ApiResult<HttpResponse> {
    // An empty value counts as absent, like the other list filters.
    fn given(v: &Option<String>) -> Option<&str> {
        v.as_deref().map(str::trim).filter(|v| !v.is_empty())
    }
    let teams = match given(&query.scope).unwrap_or("volunteers") {
        "volunteers" => false,
        "teams" => true,
        other => {
            return Err(ApiError::invalid(
                "scope",
                p::BOARD_SCOPE.with("value", other),
            ));
        }
    };
    let period = Period::parse(given(&query.period).unwrap_or("all"))?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid(
            "limit",
            p::RANGE.with("min", 1).with("max", 500),
        ));
    }
    let items = points::cache::leaderboard(&state, teams, period, limit).await?;
    Ok(HttpResponse::Ok().json(BoardOut {
        scope: if teams { "teams" } else { "volunteers" }.to_owned(),
        period: period.code().to_owned(),
        items,
    }))
}

/// A points adjustment by a coordinator.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct AdjustIn {
    /// The volunteer.
    #[validate(custom(function = "wire::id"))]
    #[schema(schema_with = wire::id_schema)]
    pub volunteer_id: String,
    /// Points to add (negative to deduct), −1000…1000, not 0.
    #[serde(deserialize_with = "wire::integer")]
    #[validate(custom(function = "amount"))]
    #[schema(schema_with = amount_schema)]
    pub amount: i64,
    /// Why (required), 1–500 characters.
    #[validate(custom(function = "wire::reason"))]
    #[schema(schema_with = wire::reason_schema)]
    pub reason: String,
    /// `adjustment` (default) or `redemption` (a negative amount spent on a benefit).
    #[validate(custom(function = "adjustment_kind"))]
    #[schema(schema_with = adjustment_kind_schema)]
    pub kind: Option<String>,
}

fn amount(v: i64) -> Result<(), validator::ValidationError> {
    if v == 0 || !(-1000..=1000).contains(&v) {
        Err(validator::ValidationError::new(p::POINTS_AMOUNT.code))
    } else {
        Ok(())
    }
}

fn amount_schema() -> Schema {
    let band = |min: i64, max: i64| {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(min))
            .maximum(Some(max))
    };
    OneOfBuilder::new()
        .item(band(-1000, -1))
        .item(band(1, 1000))
        .into()
}

const ADJUSTMENT_KINDS: [&str; 2] = ["adjustment", "redemption"];

fn adjustment_kind(v: &str) -> Result<(), validator::ValidationError> {
    if ADJUSTMENT_KINDS.contains(&v) {
        Ok(())
    } else {
        Err(validator::ValidationError::new(p::POINTS_KIND.code))
    }
}

fn adjustment_kind_schema() -> Schema {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .enum_values(Some(ADJUSTMENT_KINDS))
        .into()
}

/// One ledger row.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntryOut {
    /// Row id.
    pub id: i64,
    /// Kind.
    pub kind: String,
    /// Amount.
    pub amount: i32,
    /// Reason.
    pub reason: Option<String>,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// Adjust a volunteer's points with a reason (admins; coordinators of their team).
/// Send an `Idempotency-Key` header to make retries harmless.
#[utoipa::path(post, path = "/api/v1/points/adjustments", tag = "points", security(("bearer" = [])), request_body = AdjustIn,
    responses((status = 201, body = EntryOut), (status = 403, description = "not your volunteer"), (status = 422, description = "invalid field")))]
pub async fn adjust(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    body: Valid<AdjustIn>,
) -> ApiResult<HttpResponse> {
    user.require_staff()?;
    let body = body.0;
    let vid: Uuid = parse_id("volunteer_id", &body.volunteer_id)?;
    let reason = body.reason.trim().to_owned();
    let kind = body.kind.as_deref().unwrap_or("adjustment");
    if kind == "redemption" && body.amount > 0 {
        return Err(ApiError::invalid(
            "amount",
            &p::REDEMPTION_SPENDS_POINTS_USE_NEGATIVE,
        ));
    }
    let v = volunteer::Entity::find_by_id(vid)
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::invalid("volunteer_id", &p::NO_SUCH_VOLUNTEER))?;
    user.ensure_manages_team(&state, TeamId(v.team_id)).await?;
    let key = idempotency_key(&req, kind, &user)?;
    let amount = i32::try_from(body.amount).unwrap_or(0);
    let adjustment = points::Adjustment {
        volunteer_id: vid,
        kind,
        amount,
        reason,
        key,
    };
    let (e, new) = lifecycle::adjust_points(&state, user.actor(), adjustment).await?;
    if new {
        tracing::info!(volunteer_id = %vid, amount, by = %user.id, "points adjusted");
    }
    Ok(HttpResponse::Created().json(EntryOut {
        id: e.id,
        kind: e.kind,
        amount: e.amount,
        reason: e.reason,
        created_at: e.created_at,
    }))
}

/// The booking's key: the caller's `Idempotency-Key` (1–100 characters),
/// scoped to them and the kind, or a fresh one.
fn idempotency_key(req: &HttpRequest, kind: &str, user: &AuthUser) -> ApiResult<String> {
    match req
        .headers()
        .get("Idempotency-Key")
        .and_then(|h| h.to_str().ok())
    {
        Some(k) if !k.is_empty() && k.len() <= 100 => Ok(format!("{kind}:{}:{k}", user.id)),
        Some(_) => Err(ApiError::invalid(
            "Idempotency-Key",
            p::TEXT_REQUIRED.with("max", 100),
        )),
        None => Ok(format!("{kind}:{}", Uuid::now_v7())),
    }
}

/// Export period.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// First day (YYYY-MM-DD, China time, inclusive; empty: no bound).
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<String>,
    /// Last day (YYYY-MM-DD, China time, inclusive; empty: no bound).
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<String>,
}

/// Points per volunteer as CSV, for the city's residency-points scheme (staff).
#[utoipa::path(get, path = "/api/v1/points/export", tag = "points", security(("bearer" = [])), params(ExportQuery),
    responses((status = 200, description = "text/csv", content_type = "text/csv", body = String)))]
pub async fn export(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<ExportQuery>,
) -> ApiResult<HttpResponse> {
    user.require_staff()?;
    // Days are the city's (China time), like the leaderboards.
    let mut errors = crate::services::roster::Errors::default();
    let from_day = crate::routes::parse_day("from", query.from.as_deref(), &mut errors);
    let to_day = crate::routes::parse_day("to", query.to.as_deref(), &mut errors);
    errors.finish()?;
    let from = from_day.map(crate::clock::local_day_start).transpose()?;
    let to = to_day
        .map(|d| crate::clock::local_day_start(d + chrono::Duration::days(1)))
        .transpose()?;
    if let (Some(f), Some(t)) = (from, to)
        && f >= t
    {
        return Err(ApiError::invalid("to", &p::NOT_BEFORE_FROM));
    }
    // Coordinators export their own teams' volunteers; admins everyone.
    let teams: Option<Vec<Uuid>> = user
        .team_scope(&state)
        .await?
        .map(|ts| ts.into_iter().map(|t| t.as_uuid()).collect());
    let data = points::export_csv(&state.db, from, to, teams.as_deref()).await?;
    Ok(crate::routes::csv_download("zhongdui-points.csv", data))
}

/// A volunteer's points (staff, or the volunteer).
#[utoipa::path(get, path = "/api/v1/volunteers/{id}/points", tag = "points", security(("bearer" = [])),
    responses((status = 200, body = PointsOut)))]
pub async fn volunteer_points(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id: Uuid = parse_id("id", &id)?;
    crate::routes::staff_or_self(&user, id, &p::NOUN_POINTS)?;
    Ok(HttpResponse::Ok().json(points_of(&state, id).await?))
}
