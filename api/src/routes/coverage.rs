//! What the desk sees of readiness: certificates about to run out and,
//! for a skill, where the city is covered by available volunteers now.
use actix_web::{HttpResponse, web};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use zhongdui_domain::Skill;
use zhongdui_domain::text::phrases as p;

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::Query;
use crate::services::{certificates, coverage};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/certificates/expiring", web::get().to(expiring))
        .route("/coverage", web::get().to(coverage_now));
}

/// Which certificates.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExpiringQuery {
    /// Days ahead, 1–365 (default 30).
    #[param(minimum = 1, maximum = 365)]
    pub within_days: Option<i64>,
}

/// A certificate running out.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExpiringOut {
    /// The volunteer.
    pub volunteer_id: String,
    /// Their name.
    pub display_name: String,
    /// Their team.
    pub team_id: String,
    /// Its name.
    pub team_name: String,
    /// The skill (code).
    pub skill: String,
    /// Its last valid day (China time).
    #[schema(value_type = String, format = Date)]
    pub certified_until: NaiveDate,
    /// Days from today.
    pub days_left: i64,
}

/// The list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExpiringList {
    /// The window asked for.
    pub within_days: i64,
    /// Soonest first.
    pub items: Vec<ExpiringOut>,
}

/// Certificates still valid that run out within `within_days` (staff; a
/// coordinator sees their teams' volunteers only). Volunteers and the
/// desk are also alerted 30 and 7 days before.
#[utoipa::path(get, path = "/api/v1/certificates/expiring", tag = "roster", security(("bearer" = [])), params(ExpiringQuery),
    responses((status = 200, body = ExpiringList), (status = 403, description = "not staff")))]
pub async fn expiring(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<ExpiringQuery>,
) -> ApiResult<HttpResponse> {
    user.require_staff()?;
    let within = query.within_days.unwrap_or(30);
    if !(1..=365).contains(&within) {
        return Err(ApiError::invalid(
            "within_days",
            p::RANGE.with("min", 1).with("max", 365),
        ));
    }
    let scope: Option<Vec<uuid::Uuid>> = user
        .team_scope(&state)
        .await?
        .map(|teams| teams.into_iter().map(|t| t.0).collect());
    let today = crate::clock::local_today(state.clock.now())?;
    let items = certificates::expiring(&state.db, scope.as_deref(), within, today).await?;
    Ok(HttpResponse::Ok().json(ExpiringList {
        within_days: within,
        items: items
            .into_iter()
            .map(|e| ExpiringOut {
                volunteer_id: e.volunteer_id.to_string(),
                display_name: e.display_name,
                team_id: e.team_id.to_string(),
                team_name: e.team_name,
                skill: e.skill.code().to_owned(),
                certified_until: e.certified_until,
                days_left: e.days_left,
            })
            .collect(),
    }))
}

/// For which skill, how far.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CoverageQuery {
    /// The skills an order would need, comma-separated catalogue codes
    /// (none: any volunteer).
    pub skill: Option<String>,
    /// How far a volunteer may be from a cell's centre, 100–10,000 m (default 1,000).
    #[param(minimum = 100, maximum = 10000)]
    pub radius_m: Option<f64>,
}

/// One cell.
#[derive(Debug, Serialize, ToSchema)]
pub struct CellOut {
    /// Centre.
    pub lat: f64,
    /// Centre.
    pub lon: f64,
    /// Available qualified volunteers within the radius of the centre now.
    pub available: u32,
    /// The fewest qualified volunteers on a rota shift within the radius in
    /// any of the next 24 hours.
    pub fewest_ahead: u32,
}

/// An hour ahead, from the rota.
#[derive(Debug, Serialize, ToSchema)]
pub struct HourOut {
    /// The hour's start.
    pub starts_at: chrono::DateTime<chrono::Utc>,
    /// Qualified volunteers on a shift during it, anywhere.
    pub on_shift: u32,
}

/// A named place with nobody qualified on the rota within the radius.
#[derive(Debug, Serialize, ToSchema)]
pub struct GapOut {
    /// The place (a team area).
    pub place: String,
    /// Where (the centre of its teams' volunteers).
    pub lat: f64,
    /// Where.
    pub lon: f64,
    /// From.
    pub from: chrono::DateTime<chrono::Utc>,
    /// Until.
    pub to: chrono::DateTime<chrono::Utc>,
}

/// The grid.
#[derive(Debug, Serialize, ToSchema)]
pub struct CoverageOut {
    /// The skills asked for (codes; empty: any volunteer).
    pub skills: Vec<String>,
    /// The radius asked for.
    pub radius_m: f64,
    /// A cell's side (the radius, or more to keep within 2,500 cells).
    pub cell_m: f64,
    /// Grid rows (south to north).
    pub rows: usize,
    /// Grid columns (west to east).
    pub cols: usize,
    /// Row by row from the south-west.
    pub cells: Vec<CellOut>,
    /// Cells where nobody is available.
    pub gaps: usize,
    /// Volunteers available for the skill now, anywhere.
    pub available: u32,
    /// The next 24 hours from the rota, hour by hour.
    pub ahead: Vec<HourOut>,
    /// Places and spans of the next 24 hours with nobody qualified on the
    /// rota within the radius (e.g. no valid first-aider within 1 km of 白沙
    /// from 02:00 to 06:00), soonest first.
    pub gaps_ahead: Vec<GapOut>,
}

/// Where the city is covered for `skill` now: for a grid over the
/// roster's positions, how many on-duty, free volunteers holding the
/// skills (with valid certificates) are within `radius_m` of each cell's
/// centre; and from the rota, for the next 24 hours, the volunteers on
/// shift hour by hour, each cell's fewest, and the team areas left with
/// nobody (staff).
#[utoipa::path(get, path = "/api/v1/coverage", tag = "stats", security(("bearer" = [])), params(CoverageQuery),
    responses((status = 200, body = CoverageOut), (status = 403, description = "not staff")))]
pub async fn coverage_now(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<CoverageQuery>,
) -> ApiResult<HttpResponse> {
    user.require_staff()?;
    let mut skills: Vec<Skill> = Vec::new();
    for code in query
        .skill
        .as_deref()
        .unwrap_or("")
        .split(',')
        .filter(|c| !c.is_empty())
    {
        let s: Skill = code
            .parse()
            .map_err(|_| ApiError::invalid("skill", &p::UNKNOWN_SKILL_ANY))?;
        if !skills.contains(&s) {
            skills.push(s);
        }
    }
    let radius = query.radius_m.unwrap_or(1000.0);
    if !(radius.is_finite() && (100.0..=10_000.0).contains(&radius)) {
        return Err(ApiError::invalid(
            "radius_m",
            p::RANGE.with("min", 100).with("max", 10000),
        ));
    }
    let max_age = state.settings.dispatch.max_location_age_secs;
    let now = state.clock.now();
    let c = coverage::coverage(&state.db, &skills, radius, max_age, now).await?;
    let gaps = c.cells.iter().filter(|x| x.available == 0).count();
    let ahead = coverage::ahead(&state.db, &skills, radius, &c.cells, now).await?;
    Ok(HttpResponse::Ok().json(CoverageOut {
        skills: skills.iter().map(|s| s.code().to_owned()).collect(),
        radius_m: radius,
        cell_m: c.cell_m,
        rows: c.rows,
        cols: c.cols,
        cells: c
            .cells
            .into_iter()
            .zip(ahead.fewest)
            .map(|(x, fewest_ahead)| CellOut {
                lat: x.lat,
                lon: x.lon,
                available: x.available,
                fewest_ahead,
            })
            .collect(),
        gaps,
        available: c.available,
        ahead: ahead
            .hours
            .into_iter()
            .map(|(starts_at, on_shift)| HourOut {
                starts_at,
                on_shift,
            })
            .collect(),
        gaps_ahead: ahead
            .gaps
            .into_iter()
            .map(|g| GapOut {
                place: g.place,
                lat: g.lat,
                lon: g.lon,
                from: g.from,
                to: g.to,
            })
            .collect(),
    }))
}
