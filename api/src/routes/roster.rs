//! Roster CSV import and export.
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;
use zhongdui_domain::TeamId;
use zhongdui_domain::text::phrases as p;

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::Query;
use crate::routes::parse_id;
use crate::services::csv_roster::{self, ImportReport};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/roster/import", web::post().to(import))
        .route("/roster/export", web::get().to(export));
}

/// Import volunteers from CSV (`text/csv`). Coordinators may import only into
/// their own teams. Re-importing the same file changes nothing.
#[utoipa::path(post, path = "/api/v1/roster/import", tag = "roster", security(("bearer" = [])),
    request_body(content = String, content_type = "text/csv",
        description = "header: phone,display_name,team,skills,certificates,capacity,is_leader,lat,lon[,password]"),
    responses((status = 200, body = ImportReport), (status = 415, description = "not text/csv"), (status = 422, description = "bad header")))]
pub async fn import(
    state: web::Data<AppState>,
    user: AuthUser,
    req: HttpRequest,
    body: web::Payload,
) -> ApiResult<HttpResponse> {
    user.require_staff()?;
    let bytes = crate::extract::csv_body(&req, body, state.settings.http.max_csv_bytes).await?;
    let scope = user.team_scope(&state).await?;
    let report = csv_roster::import(&state.db, &bytes, &scope, state.clock.now()).await?;
    let counts = serde_json::json!({"lines": report.total, "created": report.created, "updated": report.updated,
                                    "unchanged": report.unchanged, "failed": report.failed});
    let (actor, now) = (user.actor(), state.clock.now());
    crate::services::privacy::audit(
        &state.db, actor, "roster", "import", "imported", counts, now,
    )
    .await?;
    if report.created + report.updated > 0 {
        state
            .dispatcher
            .reload(&state.db, &state.settings.dispatch, state.clock.now())
            .await?;
    }
    tracing::info!(
        by = %user.id,
        created = report.created,
        updated = report.updated,
        failed = report.failed,
        "roster imported"
    );
    Ok(HttpResponse::Ok().json(report))
}

/// Export filter.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// Only this team.
    pub team_id: Option<String>,
}

/// Export the roster as CSV (the import format).
#[utoipa::path(get, path = "/api/v1/roster/export", tag = "roster", security(("bearer" = [])), params(ExportQuery),
    responses((status = 200, description = "text/csv", content_type = "text/csv", body = String),
        (status = 403, description = "not staff, or a team you do not coordinate")))]
pub async fn export(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<ExportQuery>,
) -> ApiResult<HttpResponse> {
    user.require_staff()?;
    let team = match query.team_id.as_deref().filter(|t| !t.is_empty()) {
        Some(raw) => Some(TeamId(parse_id::<Uuid>("team_id", raw)?)),
        None => None,
    };
    // The export holds full phone numbers: coordinators get their own teams.
    let scope = user.team_scope(&state).await?;
    if let (Some(mine), Some(t)) = (&scope, team)
        && !mine.contains(&t)
    {
        return Err(ApiError::forbidden(&p::EXPORT_ONLY_TEAMS_COORDINATE));
    }
    let data = csv_roster::export(&state.db, team, &scope).await?;
    Ok(crate::routes::csv_download("zhongdui-roster.csv", data))
}
