//! The browser front-end, embedded in the binary from `web/static`.
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use rust_embed::RustEmbed;
use zhongdui_domain::text::phrases as p;

use crate::state::AppState;

#[derive(RustEmbed)]
#[folder = "../web/static"]
struct Assets;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/docs", web::get().to(docs_redirect))
        .route("/app-config.json", web::get().to(app_config))
        .default_service(web::to(serve));
}

async fn docs_redirect() -> HttpResponse {
    HttpResponse::Found()
        .insert_header((header::LOCATION, "/api/docs/"))
        .finish()
}

/// What the pages need to know about this deployment (public, no secrets).
async fn app_config(state: web::Data<AppState>) -> HttpResponse {
    let d = &state.settings.dispatch;
    let w = &state.settings.web;
    let tiles = w.tiles();
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .json(serde_json::json!({
            "tile_url": tiles.url,
            "tile_overlay_url": tiles.overlay_url,
            "tile_attribution": tiles.attribution,
            "tile_crs": tiles.crs,
            "tile_subdomains": tiles.subdomains,
            "map_center": w.map_center,
            "offer_timeout_secs": d.offer_timeout_secs,
            "arrive_radius_m": d.arrive_radius_m,
            "location_min_interval_ms": d.location_min_interval_ms,
            "radii_m": d.radii_m,
        }))
}

async fn serve(req: HttpRequest) -> HttpResponse {
    let path = req.path().trim_start_matches('/');
    if path.starts_with("api/") {
        return actix_web::ResponseError::error_response(&crate::error::ApiError::NotFound(
            &p::NOUN_ROUTE,
        ));
    }
    let path = if path.is_empty() { "index.html" } else { path };
    match Assets::get(path) {
        Some(file) => {
            let mime = mime_guess::from_path(path).first_or_octet_stream();
            // Pages, the service worker and the manifest are checked on
            // every load, so a new version reaches installed apps at once.
            let cache =
                if path.ends_with(".html") || path == "sw.js" || path == "manifest.webmanifest" {
                    "no-cache"
                } else {
                    "public, max-age=3600"
                };
            HttpResponse::Ok()
                .content_type(mime.as_ref())
                .insert_header((header::CACHE_CONTROL, cache))
                .body(file.data.into_owned())
        }
        None => actix_web::ResponseError::error_response(&crate::error::ApiError::NotFound(
            &p::NOUN_PAGE,
        )),
    }
}
