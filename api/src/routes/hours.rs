//! Service hours (志愿服务时长): a volunteer's own and, for staff, their
//! volunteers', the records awaiting review, team and city totals, the CSV
//! export for the city's records system, the PDF 志愿服务证明 and its
//! public verification.
use std::collections::HashMap;
use zhongdui_domain::text::phrases as p;

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;
use zhongdui_domain::{Role, TeamId};

use crate::auth::AuthUser;
use crate::entities::{service_hour, team, user};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Query, Valid};
use crate::routes::parse_id;
use crate::services::roster;
use crate::services::{hours, hours_certificate};
use crate::state::AppState;
use crate::wire;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/me/hours", web::get().to(my_hours))
        .route("/volunteers/{id}/hours", web::get().to(volunteer_hours))
        .route(
            "/volunteers/{id}/hours/certificate",
            web::get().to(certificate),
        )
        .route("/hours", web::get().to(list_hours))
        .route("/hours/totals", web::get().to(totals))
        .route("/hours/export", web::get().to(export))
        .route("/hours/{id}/review", web::post().to(review))
        .route("/certificates/verify/{code}", web::get().to(verify));
}

/// Which days (China time), and for staff which team.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HoursQuery {
    /// First day (YYYY-MM-DD; default: a year before `to`).
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<String>,
    /// Last day, inclusive (default today).
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<String>,
    /// One team (staff listings; a coordinator's own teams only).
    #[param(value_type = Option<String>, format = Uuid)]
    pub team_id: Option<String>,
}

/// Which records of a listing.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReviewFilter {
    /// `pending` (awaiting review) or `counted`; absent: both.
    #[param(pattern = "^(pending|counted)?$")]
    pub review: Option<String>,
}

struct Period {
    from_day: NaiveDate,
    to_day: NaiveDate,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    team: Option<Uuid>,
}

fn period(state: &AppState, q: &HoursQuery) -> ApiResult<Period> {
    let (from_day, to_day, team) = crate::routes::period_and_team(
        state,
        q.from.as_deref(),
        q.to.as_deref(),
        q.team_id.as_deref(),
        365,
    )?;
    if (to_day - from_day).num_days() > 3660 {
        return Err(ApiError::invalid("from", &p::PERIOD_TEN_YEARS));
    }
    let (from, to) = crate::clock::local_days(from_day, to_day)?;
    Ok(Period {
        from_day,
        to_day,
        from,
        to,
        team,
    })
}

/// A service record.
#[derive(Debug, Serialize, ToSchema)]
pub struct HourItem {
    /// The record.
    pub id: String,
    /// The volunteer.
    pub volunteer_id: String,
    /// Their name (staff listings).
    pub display_name: Option<String>,
    /// The order served (source `order`).
    pub order_id: Option<String>,
    /// The order's code.
    pub order_code: Option<String>,
    /// The shift (source `shift`).
    pub shift_id: Option<String>,
    /// From (check-in, or the shift's start).
    pub started_at: DateTime<Utc>,
    /// To (completion, or the shift's end).
    pub ended_at: DateTime<Utc>,
    /// Minutes that count (after a correction).
    pub minutes: i32,
    /// Minutes as recorded.
    pub recorded_minutes: i32,
    /// `order` (check-in to completion) or `shift` (on duty in a patrol shift).
    pub source: String,
    /// `confirmed`, `pending` (awaiting the coordinator; not counted) or `corrected`.
    pub status: String,
    /// The coordinator's reason for a correction.
    pub reason: Option<String>,
}

/// A volunteer's hours in a period.
#[derive(Debug, Serialize, ToSchema)]
pub struct HoursOut {
    /// The volunteer.
    pub volunteer_id: String,
    /// First day.
    #[schema(value_type = String, format = Date)]
    pub from: NaiveDate,
    /// Last day.
    #[schema(value_type = String, format = Date)]
    pub to: NaiveDate,
    /// Counted minutes in the period.
    pub total_minutes: i64,
    /// Minutes awaiting review in the period.
    pub pending_minutes: i64,
    /// Counted minutes ever (the star level's measure).
    pub lifetime_minutes: i64,
    /// Star level 0–5 (一星 at 100 h, 300, 600, 1,000, 五星 at 1,500 h).
    pub star_level: u8,
    /// Hours the next level needs (none at five stars).
    pub next_star_hours: Option<i64>,
    /// The records, earliest first.
    pub items: Vec<HourItem>,
}

async fn items(
    state: &AppState,
    rows: &[service_hour::Model],
    with_names: bool,
) -> ApiResult<Vec<HourItem>> {
    let codes = crate::services::orders::codes_of(
        &state.db,
        rows.iter().filter_map(|r| r.order_id).collect(),
    )
    .await?;
    let names: HashMap<Uuid, String> = if with_names {
        let people: Vec<Uuid> = rows.iter().map(|r| r.volunteer_id).collect();
        user::Entity::find()
            .filter(user::Column::Id.is_in(people))
            .all(&state.db)
            .await?
            .into_iter()
            .map(|u| (u.id, u.display_name))
            .collect()
    } else {
        HashMap::new()
    };
    Ok(rows
        .iter()
        .map(|r| HourItem {
            id: r.id.to_string(),
            volunteer_id: r.volunteer_id.to_string(),
            display_name: names.get(&r.volunteer_id).cloned(),
            order_id: r.order_id.map(|o| o.to_string()),
            order_code: r.order_id.and_then(|o| codes.get(&o).cloned()),
            shift_id: r.shift_id.map(|s| s.to_string()),
            started_at: r.started_at,
            ended_at: r.ended_at,
            minutes: r.minutes,
            recorded_minutes: r.recorded_minutes,
            source: r.source.clone(),
            status: r.status.clone(),
            reason: r.reason.clone(),
        })
        .collect())
}

async fn hours_of(state: &AppState, volunteer: Uuid, q: &HoursQuery) -> ApiResult<HoursOut> {
    let p = period(state, q)?;
    let rows = hours::records(&state.db, Some(volunteer), None, Some(p.from), Some(p.to)).await?;
    let (total_minutes, pending_minutes) = hours::sums(&rows);
    let all = hours::records(&state.db, Some(volunteer), None, None, None).await?;
    let lifetime_minutes = hours::sums(&all).0;
    let (star_level, next_star_hours) = hours::star(lifetime_minutes);
    Ok(HoursOut {
        volunteer_id: volunteer.to_string(),
        from: p.from_day,
        to: p.to_day,
        total_minutes,
        pending_minutes,
        lifetime_minutes,
        star_level,
        next_star_hours,
        items: items(state, &rows, false).await?,
    })
}

/// My service hours in a period, with my star level.
#[utoipa::path(get, path = "/api/v1/me/hours", tag = "volunteer", security(("bearer" = [])), params(HoursQuery),
    responses((status = 200, body = HoursOut), (status = 403, description = "not a volunteer")))]
pub async fn my_hours(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<HoursQuery>,
) -> ApiResult<HttpResponse> {
    if user.role != Role::Volunteer {
        return Err(ApiError::forbidden(
            &p::ONLY_VOLUNTEERS_RECORD_SERVICE_HOURS,
        ));
    }
    Ok(HttpResponse::Ok().json(hours_of(&state, user.id.as_uuid(), &query).await?))
}

/// Refuses unless `user` is the volunteer `id`, an admin, or a
/// coordinator of their team.
async fn may_see(state: &AppState, user: &AuthUser, id: Uuid) -> ApiResult<roster::VolunteerView> {
    crate::routes::staff_or_self(user, id, &p::NOUN_SERVICE_HOURS)?;
    let v = roster::get_volunteer(&state.db, id).await?;
    if user.id.as_uuid() != id {
        user.ensure_manages_team(state, TeamId(v.volunteer.team_id))
            .await?;
    }
    Ok(v)
}

/// A volunteer's service hours in a period (the volunteer, their team's
/// coordinators, admins).
#[utoipa::path(get, path = "/api/v1/volunteers/{id}/hours", tag = "roster", security(("bearer" = [])), params(HoursQuery),
    responses((status = 200, body = HoursOut), (status = 403, description = "not theirs to see"), (status = 404, description = "no such volunteer")))]
pub async fn volunteer_hours(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
    query: Query<HoursQuery>,
) -> ApiResult<HttpResponse> {
    let id: Uuid = parse_id("id", &id)?;
    may_see(&state, &user, id).await?;
    Ok(HttpResponse::Ok().json(hours_of(&state, id, &query).await?))
}

/// The teams a staff query covers: one (which the caller must manage), or
/// all the caller's (`None`: every team, for an admin).
async fn scope(
    state: &AppState,
    user: &AuthUser,
    team: Option<Uuid>,
) -> ApiResult<Option<Vec<Uuid>>> {
    user.require_staff()?;
    match team {
        Some(t) => {
            team::Entity::find_by_id(t)
                .one(&state.db)
                .await?
                .ok_or(ApiError::NotFound(&p::NOUN_TEAM))?;
            user.ensure_manages_team(state, TeamId(t)).await?;
            Ok(Some(vec![t]))
        }
        None => Ok(user
            .team_scope(state)
            .await?
            .map(|ts| ts.into_iter().map(|t| t.0).collect())),
    }
}

/// Records for the desk.
#[derive(Debug, Serialize, ToSchema)]
pub struct HourList {
    /// The records, earliest first.
    pub items: Vec<HourItem>,
}

/// Service records of the caller's teams in a period, e.g. the patrol
/// shifts awaiting review (`review=pending`) (staff).
#[utoipa::path(get, path = "/api/v1/hours", tag = "roster", security(("bearer" = [])), params(HoursQuery, ReviewFilter),
    responses((status = 200, body = HourList), (status = 403, description = "not staff")))]
pub async fn list_hours(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<HoursQuery>,
    filter: Query<ReviewFilter>,
) -> ApiResult<HttpResponse> {
    let p = period(&state, &query)?;
    let teams = scope(&state, &user, p.team).await?;
    let mut rows =
        hours::records(&state.db, None, teams.as_deref(), Some(p.from), Some(p.to)).await?;
    match filter
        .review
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => {}
        Some("pending") => rows.retain(|r| !hours::counts(r)),
        Some("counted") => rows.retain(hours::counts),
        Some(_) => return Err(ApiError::invalid("review", &p::MUST_PENDING_COUNTED)),
    }
    rows.truncate(2000);
    Ok(HttpResponse::Ok().json(HourList {
        items: items(&state, &rows, true).await?,
    }))
}

/// A team's hours.
#[derive(Debug, Serialize, ToSchema)]
pub struct TeamHours {
    /// The team.
    pub team_id: String,
    /// Its name.
    pub team_name: String,
    /// Counted minutes.
    pub minutes: i64,
    /// Minutes awaiting review.
    pub pending_minutes: i64,
    /// Volunteers with counted time.
    pub volunteers: usize,
}

/// Totals for a period.
#[derive(Debug, Serialize, ToSchema)]
pub struct TotalsOut {
    /// First day.
    #[schema(value_type = String, format = Date)]
    pub from: NaiveDate,
    /// Last day.
    #[schema(value_type = String, format = Date)]
    pub to: NaiveDate,
    /// Counted minutes over the teams shown (the city's, for an admin).
    pub total_minutes: i64,
    /// Minutes awaiting review.
    pub pending_minutes: i64,
    /// Per team, by name.
    pub teams: Vec<TeamHours>,
}

/// Team totals and their sum — the city's for an admin, a coordinator's
/// teams' for a coordinator (staff).
#[utoipa::path(get, path = "/api/v1/hours/totals", tag = "stats", security(("bearer" = [])), params(HoursQuery),
    responses((status = 200, body = TotalsOut), (status = 403, description = "not staff")))]
pub async fn totals(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<HoursQuery>,
) -> ApiResult<HttpResponse> {
    let p = period(&state, &query)?;
    let teams = scope(&state, &user, p.team).await?;
    let rows = hours::records(&state.db, None, teams.as_deref(), Some(p.from), Some(p.to)).await?;
    let (total_minutes, pending_minutes) = hours::sums(&rows);
    let per_team = hours::team_totals(&state.db, teams.as_deref(), &rows).await?;
    Ok(HttpResponse::Ok().json(TotalsOut {
        from: p.from_day,
        to: p.to_day,
        total_minutes,
        pending_minutes,
        teams: per_team
            .into_iter()
            .map(|t| TeamHours {
                team_id: t.team_id.to_string(),
                team_name: t.team_name,
                minutes: t.minutes,
                pending_minutes: t.pending_minutes,
                volunteers: t.volunteers,
            })
            .collect(),
    }))
}

/// The period's records as CSV for the city's records system: one row per
/// record and China-time day (a record over midnight splits), times in
/// China time, text cells formula-safe (staff; a coordinator's teams).
#[utoipa::path(get, path = "/api/v1/hours/export", tag = "stats", security(("bearer" = [])), params(HoursQuery),
    responses((status = 200, description = "text/csv", content_type = "text/csv"), (status = 403, description = "not staff")))]
pub async fn export(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<HoursQuery>,
) -> ApiResult<HttpResponse> {
    let p = period(&state, &query)?;
    let teams = scope(&state, &user, p.team).await?;
    let rows = hours::records(&state.db, None, teams.as_deref(), Some(p.from), Some(p.to)).await?;
    let csv = hours::export_csv(&state.db, &rows).await?;
    let name = format!("service-hours-{}-{}.csv", p.from_day, p.to_day);
    Ok(crate::routes::csv_download(&name, csv))
}

/// A review of a record.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct ReviewIn {
    /// The minutes that count (absent: confirm as recorded), 0–1440.
    #[serde(default, deserialize_with = "wire::optional_integer")]
    #[validate(range(min = 0, max = 1440))]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 1440)]
    pub minutes: Option<i64>,
    /// Why, 1–500 characters (needed with `minutes`).
    #[validate(custom(function = "wire::reason"))]
    #[schema(schema_with = wire::optional_reason_schema)]
    pub reason: Option<String>,
}

/// Confirms a record as recorded, or corrects its minutes with a reason
/// (the record's team's coordinators and admins; audited).
#[utoipa::path(post, path = "/api/v1/hours/{id}/review", tag = "roster", security(("bearer" = [])), request_body = ReviewIn,
    responses((status = 200, body = HourItem), (status = 400, description = "bad minutes or no reason"), (status = 404, description = "no such record"), (status = 409, description = "already reviewed")))]
pub async fn review(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
    body: Valid<ReviewIn>,
) -> ApiResult<HttpResponse> {
    user.require_staff()?;
    let id: Uuid = parse_id("id", &id)?;
    let r = service_hour::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound(&p::NOUN_RECORD))?;
    user.ensure_manages_team(&state, TeamId(r.team_id)).await?;
    let reason = wire::trimmed(body.0.reason.as_deref());
    if body.0.minutes.is_some() && reason.is_none() {
        return Err(ApiError::invalid("reason", &p::CORRECTION_NEEDS_REASON));
    }
    let now = state.clock.now();
    let txn = crate::db::begin_write(&state.db).await?;
    let minutes = body.0.minutes.map(|m| i32::try_from(m).unwrap_or(i32::MAX));
    let done = hours::review(&txn, &r, user.actor(), minutes, reason, now).await?;
    txn.commit().await?;
    let out = items(&state, &[done], true).await?;
    Ok(HttpResponse::Ok().json(out.into_iter().next()))
}

/// Renders a volunteer's 志愿服务证明 for a period as a PDF, with a
/// verification code kept for `GET /api/v1/certificates/verify/{code}`
/// (the volunteer, their team's coordinators, admins). Counted records only.
#[utoipa::path(get, path = "/api/v1/volunteers/{id}/hours/certificate", tag = "roster", security(("bearer" = [])), params(HoursQuery),
    responses((status = 200, description = "application/pdf", content_type = "application/pdf"), (status = 403, description = "not theirs"), (status = 404, description = "no such volunteer"), (status = 429, description = "too many")))]
pub async fn certificate(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
    query: Query<HoursQuery>,
) -> ApiResult<HttpResponse> {
    let id: Uuid = parse_id("id", &id)?;
    let v = may_see(&state, &user, id).await?;
    let p = period(&state, &query)?;
    state.limits.certificates.check(&user.id.as_uuid())?;
    let font = hours_certificate::font(&state.settings.hours.font_path)?;
    let mut rows = hours::records(&state.db, Some(id), None, Some(p.from), Some(p.to)).await?;
    rows.retain(hours::counts);
    let listed = items(&state, &rows, false).await?;
    let mut services = Vec::new();
    for (r, item) in rows.iter().zip(&listed) {
        let day = crate::clock::local_today(r.started_at)?;
        let what = hours_certificate::service_label(r, item.order_code.as_deref());
        services.push((day, what, i64::from(r.minutes)));
    }
    let now = state.clock.now();
    let code = hours_certificate::new_code();
    let c = hours_certificate::Certificate {
        verify_url: format!(
            "{}/api/v1/certificates/verify/{code}",
            state.settings.web.public_url.trim_end_matches('/')
        ),
        code,
        name: v.user.display_name.clone(),
        team: v.team_name.clone(),
        from: p.from_day,
        to: p.to_day,
        total_minutes: hours::sums(&rows).0,
        services,
        issuer: state.settings.hours.issuer.clone(),
        issued_on: crate::clock::local_today(now)?,
    };
    let pdf = {
        let c = c.clone();
        tokio::task::spawn_blocking(move || hours_certificate::render(&c, &font))
            .await
            .map_err(|e| ApiError::Internal(e.into()))??
    };
    hours_certificate::keep(&state.db, &c, id, Some(user.id.as_uuid()), now).await?;
    tracing::info!(volunteer_id = %id, minutes = c.total_minutes, "service certificate issued");
    Ok(HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"certificate-{}.pdf\"", c.code),
        ))
        .body(pdf))
}

/// What a verification confirms.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerifiedOut {
    /// Always true (an unknown code is a 404).
    pub valid: bool,
    /// The code.
    pub code: String,
    /// The volunteer's name, masked beyond its first character.
    pub name: String,
    /// Their team.
    pub team: String,
    /// First day.
    #[schema(value_type = String, format = Date)]
    pub from: NaiveDate,
    /// Last day.
    #[schema(value_type = String, format = Date)]
    pub to: NaiveDate,
    /// Counted minutes certified.
    pub total_minutes: i32,
    /// Services listed.
    pub services: i32,
    /// The issuing organisation.
    pub issuer: String,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
}

/// Confirms a 志愿服务证明 by its verification code (anyone; limited per
/// address). The name is masked: the paper shows it in full.
#[utoipa::path(get, path = "/api/v1/certificates/verify/{code}", tag = "roster",
    responses((status = 200, body = VerifiedOut), (status = 404, description = "no certificate has this code"), (status = 429, description = "too many")))]
pub async fn verify(
    state: web::Data<AppState>,
    req: HttpRequest,
    code: web::Path<String>,
) -> ApiResult<HttpResponse> {
    if let Some(ip) = req.peer_addr().map(|a| a.ip()) {
        state.limits.verifications.check(&ip)?;
    }
    let code = hours_certificate::normalise_code(&code)
        .ok_or_else(|| ApiError::invalid("code", &p::VERIFICATION_CODE_16_LETTERS_DIGITS))?;
    let c = hours_certificate::find(&state.db, &code)
        .await?
        .ok_or(ApiError::NotFound(&p::NOUN_CERTIFICATE))?;
    let v = roster::get_volunteer(&state.db, c.volunteer_id).await;
    let (name, team) = match v {
        Ok(v) => (v.user.display_name, v.team_name),
        Err(_) => (String::new(), String::new()),
    };
    let mut chars = name.chars();
    let masked = match chars.next() {
        Some(first) => std::iter::once(first).chain(chars.map(|_| '*')).collect(),
        None => String::new(),
    };
    Ok(HttpResponse::Ok().json(VerifiedOut {
        valid: true,
        code: c.code,
        name: masked,
        team,
        from: c.from_day,
        to: c.to_day,
        total_minutes: c.total_minutes,
        services: c.services,
        issuer: state.settings.hours.issuer.clone(),
        issued_at: c.issued_at,
    }))
}
