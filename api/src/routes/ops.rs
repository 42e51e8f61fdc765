//! Health, readiness and metrics.
use actix_web::{HttpResponse, web};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;
use zhongdui_domain::text::phrases as p;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(metrics));
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, description = "alive")))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// The database answers.
#[utoipa::path(get, path = "/readyz", tag = "ops", responses((status = 200, description = "ready"), (status = 503, description = "database unreachable")))]
pub async fn readyz(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let backend = state.db.get_database_backend();
    let probe = tokio::time::timeout(
        std::time::Duration::from_secs(2),
        state
            .db
            .query_one_raw(Statement::from_string(backend, "SELECT 1")),
    )
    .await;
    match probe {
        Ok(Ok(_)) => Ok(HttpResponse::Ok().json(json!({"status": "ready", "database": "ok"}))),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness probe failed");
            Err(ApiError::Unavailable(&p::DATABASE_UNREACHABLE))
        }
        Err(_) => Err(ApiError::Unavailable(&p::DATABASE_DID_NOT_ANSWER_TIME)),
    }
}

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "ops", responses((status = 200, description = "Prometheus text format")))]
pub async fn metrics() -> HttpResponse {
    let body = crate::metrics::handle()
        .map(|h| h.render())
        .unwrap_or_default();
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(body)
}
