//! Teams: list, read, create (admins), update (admins and the team's coordinators).
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;
use zhongdui_domain::text::phrases as p;
use zhongdui_domain::{Role, TeamId};

use crate::auth::AuthUser;
use crate::entities::team;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Query, Valid};
use crate::routes::{Page, PageParams, parse_id};
use crate::services::roster::{self, TeamChange, TeamCounts, TeamSpec};
use crate::state::AppState;
use crate::wire::{self, trimmed};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/teams")
            .route(web::get().to(list_teams))
            .route(web::post().to(create_team)),
    )
    .service(
        web::resource("/teams/{id}")
            .route(web::get().to(get_team))
            .route(web::patch().to(update_team)),
    );
}

/// A team.
#[derive(Debug, Serialize, ToSchema)]
pub struct TeamOut {
    /// Team id.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// Kind code (see `GET /api/v1/skills`, `team_kinds`).
    pub kind: String,
    /// Area.
    pub area: Option<String>,
    /// Police station it works with.
    pub station: Option<String>,
    /// Where the team is based (WGS-84), if set.
    pub base: Option<BaseIn>,
    /// Volunteers in the team.
    pub member_count: i64,
    /// Of whom on duty now.
    pub on_duty_count: i64,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A place as latitude and longitude (WGS-84 degrees).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
pub struct BaseIn {
    /// Latitude.
    #[schema(minimum = -90, maximum = 90)]
    pub lat: f64,
    /// Longitude.
    #[schema(minimum = -180, maximum = 180)]
    pub lon: f64,
}

/// `base` as a checked point; a bad one is a 422 naming `base.lat` or `base.lon`.
fn base_point(b: BaseIn) -> ApiResult<zhongdui_domain::GeoPoint> {
    zhongdui_domain::GeoPoint::parse(b.lat, b.lon)
        .map_err(|e| ApiError::invalid(format!("base.{}", e.field), e.message))
}

/// A field that may be absent (leave it), `null` (clear it) or a value.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

fn team_out(t: team::Model, counts: TeamCounts) -> TeamOut {
    let base = t
        .base_lat
        .zip(t.base_lon)
        .map(|(lat, lon)| BaseIn { lat, lon });
    TeamOut {
        base,
        id: t.id.to_string(),
        name: t.name,
        kind: t.kind,
        area: t.area,
        station: t.station,
        member_count: counts.members,
        on_duty_count: counts.on_duty,
        created_at: t.created_at,
        updated_at: t.updated_at,
    }
}

/// Filters for the team list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TeamQuery {
    /// Only this kind.
    pub kind: Option<String>,
    /// Name contains.
    pub q: Option<String>,
}

fn may_read_roster(user: &AuthUser) -> ApiResult<()> {
    match user.role {
        Role::Resident => Err(ApiError::forbidden(&p::RESIDENTS_CANNOT_SEE_ROSTER)),
        _ => Ok(()),
    }
}

/// List teams (staff and volunteers).
#[utoipa::path(get, path = "/api/v1/teams", tag = "roster", security(("bearer" = [])), params(PageParams, TeamQuery),
    responses((status = 200, body = Page<TeamOut>), (status = 403, description = "residents")))]
pub async fn list_teams(
    state: web::Data<AppState>,
    user: AuthUser,
    paging: Query<PageParams>,
    query: Query<TeamQuery>,
) -> ApiResult<HttpResponse> {
    may_read_roster(&user)?;
    let (page, per_page) = paging.checked()?;
    let mut select = team::Entity::find();
    if let Some(kind) = query.kind.as_deref().filter(|k| !k.is_empty()) {
        select = select.filter(team::Column::Kind.eq(kind));
    }
    if let Some(q) = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        select = select.filter(team::Column::Name.contains(q));
    }
    let paginator = select
        .order_by_asc(team::Column::Name)
        .paginate(&state.db, per_page);
    let total = paginator.num_items().await?;
    let rows = paginator.fetch_page(page - 1).await?;
    let counts = roster::team_counts(&state.db).await?;
    let items = rows
        .into_iter()
        .map(|t| {
            let c = counts.get(&t.id).copied().unwrap_or_default();
            team_out(t, c)
        })
        .collect();
    Ok(HttpResponse::Ok().json(Page {
        items,
        total,
        page,
        per_page,
    }))
}

/// One team.
#[utoipa::path(get, path = "/api/v1/teams/{id}", tag = "roster", security(("bearer" = [])),
    responses((status = 200, body = TeamOut), (status = 404, description = "no such team")))]
pub async fn get_team(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    may_read_roster(&user)?;
    let id: Uuid = parse_id("id", &id)?;
    let t = team::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound(&p::NOUN_TEAM))?;
    let counts = roster::team_counts(&state.db).await?;
    let c = counts.get(&t.id).copied().unwrap_or_default();
    Ok(HttpResponse::Ok().json(team_out(t, c)))
}

/// A new team.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct TeamIn {
    /// Unique name, 1–100 characters.
    #[validate(custom(function = "wire::team_name"))]
    #[schema(schema_with = wire::team_name_schema)]
    pub name: String,
    /// A team kind code.
    #[validate(custom(function = "wire::team_kind"))]
    #[schema(schema_with = wire::team_kind_schema)]
    pub kind: String,
    /// Area, up to 100 characters.
    #[validate(custom(function = "wire::short_text"))]
    #[schema(schema_with = wire::short_text_schema)]
    pub area: Option<String>,
    /// Police station, up to 100 characters.
    #[validate(custom(function = "wire::short_text"))]
    #[schema(schema_with = wire::short_text_schema)]
    pub station: Option<String>,
    /// Where the team is based (WGS-84), drawn on the coordinator's map.
    pub base: Option<BaseIn>,
}

/// Create a team (admins).
#[utoipa::path(post, path = "/api/v1/teams", tag = "roster", security(("bearer" = [])), request_body = TeamIn,
    responses((status = 201, body = TeamOut), (status = 403, description = "not an admin"), (status = 409, description = "name taken")))]
pub async fn create_team(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Valid<TeamIn>,
) -> ApiResult<HttpResponse> {
    user.require_admin()?;
    let body = body.0;
    let spec = TeamSpec {
        name: body.name.trim().to_owned(),
        kind: body.kind,
        area: trimmed(body.area.as_deref()),
        station: trimmed(body.station.as_deref()),
        base: body.base.map(base_point).transpose()?,
    };
    let t = roster::create_team(&state.db, spec).await?;
    crate::services::privacy::audit(
        &state.db,
        crate::services::orders::Actor::user(user.id.as_uuid(), user.role),
        "team",
        t.id,
        "created",
        serde_json::json!({"name": t.name, "kind": t.kind, "area": t.area, "station": t.station,
            "base": t.base_lat.zip(t.base_lon).map(|(lat, lon)| serde_json::json!({"lat": lat, "lon": lon}))}),
        state.clock.now(),
    )
    .await?;
    tracing::info!(team_id = %t.id, by = %user.id, "team created");
    Ok(HttpResponse::Created().json(team_out(t, TeamCounts::default())))
}

/// Changes to a team; absent fields stay.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct TeamPatch {
    /// New name.
    #[validate(custom(function = "wire::team_name"))]
    #[schema(schema_with = wire::optional_team_name_schema)]
    pub name: Option<String>,
    /// New kind.
    #[validate(custom(function = "wire::team_kind"))]
    #[schema(schema_with = wire::optional_team_kind_schema)]
    pub kind: Option<String>,
    /// New area (empty string clears).
    #[validate(custom(function = "wire::short_text"))]
    #[schema(schema_with = wire::short_text_schema)]
    pub area: Option<String>,
    /// New station (empty string clears).
    #[validate(custom(function = "wire::short_text"))]
    #[schema(schema_with = wire::short_text_schema)]
    pub station: Option<String>,
    /// New base (`null` clears it).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<BaseIn>, nullable)]
    pub base: Option<Option<BaseIn>>,
}

/// Update a team (admins, or its coordinators).
#[utoipa::path(patch, path = "/api/v1/teams/{id}", tag = "roster", security(("bearer" = [])), request_body = TeamPatch,
    responses((status = 200, body = TeamOut), (status = 403, description = "not your team")))]
pub async fn update_team(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
    body: Valid<TeamPatch>,
) -> ApiResult<HttpResponse> {
    let id: Uuid = parse_id("id", &id)?;
    user.ensure_manages_team(&state, TeamId(id)).await?;
    let body = body.0;
    let change = TeamChange {
        name: body.name.as_deref().map(|n| n.trim().to_owned()),
        kind: body.kind,
        area: body.area.as_deref().map(|a| trimmed(Some(a))),
        station: body.station.as_deref().map(|s| trimmed(Some(s))),
        base: match body.base {
            Some(Some(b)) => Some(Some(base_point(b)?)),
            Some(None) => Some(None),
            None => None,
        },
    };
    let t = roster::update_team(&state.db, id, change, user.actor(), state.clock.now()).await?;
    let counts = roster::team_counts(&state.db).await?;
    let c = counts.get(&t.id).copied().unwrap_or_default();
    Ok(HttpResponse::Ok().json(team_out(t, c)))
}
