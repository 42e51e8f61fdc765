//! The route table and the wire types shared by several routes.
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use zhongdui_domain::text::phrases as p;

use crate::error::{ApiError, ApiResult};
use crate::services::roster::Errors;

pub mod auth;
pub mod broadcasts;
pub mod clients;
pub mod coverage;
pub mod docs;
pub mod hours;
pub mod me;
pub mod ops;
pub mod orders;
pub mod places;
pub mod points;
pub mod push;
pub mod roster;
pub mod rota;
pub mod skills;
pub mod slips;
pub mod stats;
pub mod teams;
pub mod volunteers;
pub mod web_app;

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.configure(ops::configure)
        .configure(docs::configure)
        .service(
            web::scope("/api/v1")
                .configure(auth::configure)
                .configure(teams::configure)
                .configure(volunteers::configure)
                .configure(skills::configure)
                .configure(roster::configure)
                .configure(orders::configure)
                .configure(me::configure)
                .configure(points::configure)
                .configure(stats::configure)
                .configure(clients::configure)
                .configure(slips::configure)
                .configure(broadcasts::configure)
                .configure(push::configure)
                .configure(coverage::configure)
                .configure(rota::configure)
                .configure(hours::configure)
                .configure(places::configure)
                .configure(crate::ws::configure)
                .default_service(web::to(not_found)),
        )
        .configure(web_app::configure);
}

/// Refuses anyone but staff and the volunteer `id` themself (`what` names
/// what they may only see of their own).
pub fn staff_or_self(
    user: &crate::auth::AuthUser,
    id: uuid::Uuid,
    what: &'static zhongdui_domain::text::Phrase,
) -> ApiResult<()> {
    if user.role.is_staff() || user.id.as_uuid() == id {
        Ok(())
    } else {
        Err(ApiError::forbidden(p::OWN_ONLY.with("what", what)))
    }
}

/// Unknown API routes answer problem+json too.
pub async fn not_found() -> ApiResult<HttpResponse> {
    Err(ApiError::NotFound(&p::NOUN_ROUTE))
}

/// A CSV file to download as `filename`.
pub fn csv_download(filename: &str, data: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{filename}\""),
        ))
        .body(data)
}

/// The highest page number a listing accepts.
pub const MAX_PAGE: u64 = 100_000;

/// Paging parameters: `page` 1–100,000, `per_page` 1–500 (default 50).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Page number, from 1.
    #[param(minimum = 1, maximum = 100_000)]
    pub page: Option<u64>,
    /// Items per page, 1 to 500.
    #[param(minimum = 1, maximum = 500)]
    pub per_page: Option<u64>,
}

impl PageParams {
    /// Checked (page, per_page).
    pub fn checked(&self) -> ApiResult<(u64, u64)> {
        let page = self.page.unwrap_or(1);
        let per_page = self.per_page.unwrap_or(50);
        if !(1..=MAX_PAGE).contains(&page) {
            return Err(ApiError::invalid(
                "page",
                p::RANGE.with("min", 1).with("max", MAX_PAGE),
            ));
        }
        if !(1..=500).contains(&per_page) {
            return Err(ApiError::invalid(
                "per_page",
                p::RANGE.with("min", 1).with("max", 500),
            ));
        }
        Ok((page, per_page))
    }
}

/// A page of a listing.
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    /// The items on this page.
    pub items: Vec<T>,
    /// Items matching in all.
    pub total: u64,
    /// This page's number.
    pub page: u64,
    /// Page size.
    pub per_page: u64,
}

/// Parses an id from a path or query string, naming the field when it is not a UUID.
pub fn parse_id<T: std::str::FromStr>(field: &'static str, raw: &str) -> ApiResult<T> {
    raw.parse()
        .map_err(|_| ApiError::invalid(field, p::ID_FORMAT.with("value", raw)))
}

/// Parses an optional `YYYY-MM-DD` query parameter (empty counts as absent),
/// recording a problem under `field`. Years run from 1000 to 9999, so that
/// a period computed back from a day is still a four-digit date.
pub fn parse_day(
    field: &'static str,
    raw: Option<&str>,
    errors: &mut Errors,
) -> Option<chrono::NaiveDate> {
    use chrono::Datelike;
    let raw = raw.map(str::trim).filter(|r| !r.is_empty())?;
    chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .filter(|d| (1000..=9999).contains(&d.year()) && raw.len() == 10)
        .or_else(|| {
            errors.push(field, p::DATE_FORMAT.with("value", raw));
            None
        })
}

/// A period of China days and an optional team, from query strings: `to`
/// defaults to today, `from` to `default_days` before `to`; every bad field
/// is named, and `from` after `to` is refused.
pub fn period_and_team(
    state: &crate::state::AppState,
    from: Option<&str>,
    to: Option<&str>,
    team_id: Option<&str>,
    default_days: i64,
) -> ApiResult<(chrono::NaiveDate, chrono::NaiveDate, Option<uuid::Uuid>)> {
    let mut errors = crate::services::roster::Errors::default();
    let from = parse_day("from", from, &mut errors);
    let to = parse_day("to", to, &mut errors);
    let team_id = match team_id.map(str::trim).filter(|t| !t.is_empty()) {
        Some(raw) => parse_id::<uuid::Uuid>("team_id", raw)
            .map_err(|_| errors.push("team_id", p::ID_FORMAT.with("value", raw)))
            .ok(),
        None => None,
    };
    errors.finish()?;
    let to = match to {
        Some(t) => t,
        None => crate::clock::local_today(state.clock.now())?,
    };
    let from = from.unwrap_or(to - chrono::Duration::days(default_days));
    if from > to {
        return Err(ApiError::invalid("from", &p::NOT_AFTER_TO));
    }
    Ok((from, to, team_id))
}
