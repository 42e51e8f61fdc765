//! A coordinator's announcements to their team's volunteers: sent (pushed
//! live as `broadcast`), listed for the team's staff, and kept for the
//! volunteers who were offline (`GET /me/broadcasts`).
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use sea_orm::EntityTrait;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;
use zhongdui_domain::text::phrases as p;
use zhongdui_domain::{Role, TeamId};

use crate::auth::AuthUser;
use crate::entities::{broadcast, team, volunteer};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Query, Valid};
use crate::routes::{Page, PageParams, parse_id};
use crate::services::liaison;
use crate::state::AppState;
use crate::wire;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/teams/{id}/broadcasts")
            .route(web::get().to(team_broadcasts))
            .route(web::post().to(send_broadcast)),
    )
    .route("/me/broadcasts", web::get().to(my_broadcasts));
}

/// An announcement to a team.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct BroadcastIn {
    /// The text, 1–1000 characters; line breaks allowed.
    #[validate(custom(function = "wire::message"))]
    #[schema(schema_with = wire::message_schema)]
    pub text: String,
}

/// An announcement sent to a team.
#[derive(Debug, Serialize, ToSchema)]
pub struct BroadcastOut {
    /// Id.
    pub id: String,
    /// The team.
    pub team_id: String,
    /// Its name.
    pub team_name: String,
    /// Who sent it.
    pub author_name: String,
    /// The text.
    pub text: String,
    /// Volunteers of the team when it was sent.
    pub recipients: i32,
    /// When.
    pub created_at: DateTime<Utc>,
}

fn broadcast_out(b: broadcast::Model, author_name: String, team_name: &str) -> BroadcastOut {
    BroadcastOut {
        id: b.id.to_string(),
        team_id: b.team_id.to_string(),
        team_name: team_name.to_owned(),
        author_name,
        text: b.text,
        recipients: b.recipients,
        created_at: b.created_at,
    }
}

async fn team_of(state: &AppState, raw: &str) -> ApiResult<team::Model> {
    let id: Uuid = parse_id("id", raw)?;
    team::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound(&p::NOUN_TEAM))
}

/// A page of team `t`'s broadcasts, newest first.
async fn page_of(
    state: &AppState,
    t: &team::Model,
    paging: &PageParams,
) -> ApiResult<HttpResponse> {
    let (page, per_page) = paging.checked()?;
    let (rows, total) = liaison::broadcasts(&state.db, t.id, page, per_page).await?;
    Ok(HttpResponse::Ok().json(Page {
        items: rows
            .into_iter()
            .map(|(b, n)| broadcast_out(b, n, &t.name))
            .collect(),
        total,
        page,
        per_page,
    }))
}

/// Announce something to a team's volunteers (the team's coordinators and
/// admins): pushed live to each (`broadcast`) and kept for `GET /me/broadcasts`.
#[utoipa::path(post, path = "/api/v1/teams/{id}/broadcasts", tag = "roster", security(("bearer" = [])), request_body = BroadcastIn,
    responses((status = 201, body = BroadcastOut), (status = 403, description = "not a coordinator of this team"), (status = 404, description = "no such team")))]
pub async fn send_broadcast(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
    body: Valid<BroadcastIn>,
) -> ApiResult<HttpResponse> {
    user.require_staff()?;
    let t = team_of(&state, &id).await?;
    user.ensure_manages_team(&state, TeamId(t.id)).await?;
    state.limits.broadcasts.check(&user.id.as_uuid())?;
    let text = body.0.text.trim().to_owned();
    let author = (user.actor(), user.display_name.clone());
    let now = state.clock.now();
    let b = liaison::broadcast(&state.db, state.channels(), author, &t, text, now).await?;
    tracing::info!(team_id = %t.id, recipients = b.recipients, "broadcast sent");
    Ok(HttpResponse::Created().json(broadcast_out(b, user.display_name.clone(), &t.name)))
}

/// A team's broadcasts, newest first (the team's coordinators and admins).
#[utoipa::path(get, path = "/api/v1/teams/{id}/broadcasts", tag = "roster", security(("bearer" = [])), params(PageParams),
    responses((status = 200, body = Page<BroadcastOut>), (status = 403, description = "not a coordinator of this team"), (status = 404, description = "no such team")))]
pub async fn team_broadcasts(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
    paging: Query<PageParams>,
) -> ApiResult<HttpResponse> {
    user.require_staff()?;
    let t = team_of(&state, &id).await?;
    user.ensure_manages_team(&state, TeamId(t.id)).await?;
    page_of(&state, &t, &paging).await
}

/// My team's broadcasts, newest first (volunteers).
#[utoipa::path(get, path = "/api/v1/me/broadcasts", tag = "volunteer", security(("bearer" = [])), params(PageParams),
    responses((status = 200, body = Page<BroadcastOut>), (status = 403, description = "not a volunteer")))]
pub async fn my_broadcasts(
    state: web::Data<AppState>,
    user: AuthUser,
    paging: Query<PageParams>,
) -> ApiResult<HttpResponse> {
    if user.role != Role::Volunteer {
        return Err(ApiError::forbidden(
            &p::ONLY_VOLUNTEERS_RECEIVE_TEAM_BROADCASTS,
        ));
    }
    let v = volunteer::Entity::find_by_id(user.id.as_uuid())
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound(&p::NOUN_VOLUNTEER))?;
    let t = team::Entity::find_by_id(v.team_id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound(&p::NOUN_TEAM))?;
    page_of(&state, &t, &paging).await
}
