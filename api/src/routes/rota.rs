//! A team's rota (排班): its coordinators plan shifts (once or weekly), a
//! volunteer sees theirs and may leave one with a reason; members are on
//! duty for a shift's span (`lifecycle::duty`).
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::EntityTrait;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;
use zhongdui_domain::text::phrases as p;
use zhongdui_domain::{Role, TeamId};

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Query, Valid};
use crate::lifecycle;
use crate::routes::{parse_day, parse_id};
use crate::services::roster::Errors;
use crate::services::rota::{self, ShiftKind, ShiftView};
use crate::state::AppState;
use crate::wire;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/teams/{id}/shifts")
            .route(web::get().to(team_shifts))
            .route(web::post().to(create_shifts)),
    )
    .route("/shifts/{id}", web::delete().to(delete_shift))
    .route("/shifts/{id}/leave", web::post().to(leave_shift))
    .route("/me/shifts", web::get().to(my_shifts));
}

/// Shifts to plan.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct ShiftIn {
    /// Start (RFC 3339).
    #[schema(value_type = String, format = DateTime)]
    pub starts_at: DateTime<Utc>,
    /// End (RFC 3339), after the start and at most 24 hours later.
    #[schema(value_type = String, format = DateTime)]
    pub ends_at: DateTime<Utc>,
    /// Volunteers of the team on the shift (1–200).
    #[validate(length(min = 1, max = 200), custom(function = "wire::ids"))]
    #[schema(schema_with = volunteer_ids_schema)]
    pub volunteer_ids: Vec<String>,
    /// Repeat every week at the same time until this day (China time,
    /// inclusive; at most a year on).
    #[schema(value_type = Option<String>, format = Date)]
    pub repeat_weekly_until: Option<String>,
    /// `duty` (on call, the default) or `patrol` (service time counted as hours).
    #[validate(custom(function = "shift_kind"))]
    #[schema(schema_with = shift_kind_schema)]
    pub kind: Option<String>,
    /// A note (place, task), up to 100 characters.
    #[validate(custom(function = "wire::short_text"))]
    #[schema(schema_with = wire::optional_short_text_schema)]
    pub note: Option<String>,
}

fn volunteer_ids_schema() -> utoipa::openapi::schema::Schema {
    match wire::ids_schema() {
        utoipa::openapi::schema::Schema::Array(mut a) => {
            a.min_items = Some(1);
            a.max_items = Some(200);
            utoipa::openapi::schema::Schema::Array(a)
        }
        other => other,
    }
}

fn shift_kind(v: &str) -> Result<(), validator::ValidationError> {
    if ShiftKind::parse(v).is_some() {
        Ok(())
    } else {
        Err(validator::ValidationError::new(p::SHIFT_KIND.code))
    }
}

fn shift_kind_schema() -> utoipa::openapi::schema::Schema {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            utoipa::openapi::schema::Type::String,
            utoipa::openapi::schema::Type::Null,
        ]))
        .enum_values(Some(["duty", "patrol"]))
        .into()
}

/// Someone on a shift.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberOut {
    /// The volunteer.
    pub volunteer_id: String,
    /// Their name.
    pub display_name: String,
    /// When they left the shift, if they did.
    pub left_at: Option<DateTime<Utc>>,
    /// Why (staff and the volunteer themself).
    pub leave_reason: Option<String>,
    /// The shift has put its start to them and not yet its end.
    pub on_shift: bool,
}

/// A shift.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShiftOut {
    /// Id.
    pub id: String,
    /// The team.
    pub team_id: String,
    /// The weekly series it belongs to (its own id's series when single).
    pub series_id: String,
    /// Start.
    pub starts_at: DateTime<Utc>,
    /// End.
    pub ends_at: DateTime<Utc>,
    /// `duty` or `patrol`.
    pub kind: String,
    /// The note.
    pub note: Option<String>,
    /// Who is on it.
    pub members: Vec<MemberOut>,
}

fn shift_out(v: &ShiftView, reasons_of: Option<Uuid>) -> ShiftOut {
    ShiftOut {
        id: v.shift.id.to_string(),
        team_id: v.shift.team_id.to_string(),
        series_id: v.shift.series_id.to_string(),
        starts_at: v.shift.starts_at,
        ends_at: v.shift.ends_at,
        kind: v.shift.kind.clone(),
        note: v.shift.note.clone(),
        members: v
            .members
            .iter()
            .map(|m| MemberOut {
                volunteer_id: m.row.volunteer_id.to_string(),
                display_name: m.display_name.clone(),
                left_at: m.row.left_at,
                leave_reason: match reasons_of {
                    Some(me) if me != m.row.volunteer_id => None,
                    _ => m.row.leave_reason.clone(),
                },
                on_shift: m.row.began_at.is_some() && m.row.ended_at.is_none(),
            })
            .collect(),
    }
}

/// Shifts created.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedShifts {
    /// The series they belong to.
    pub series_id: String,
    /// Each occurrence.
    pub shifts: Vec<ShiftOut>,
}

/// A span of time.
#[derive(Debug, Serialize, ToSchema)]
pub struct Span {
    /// Start.
    pub starts_at: DateTime<Utc>,
    /// End.
    pub ends_at: DateTime<Utc>,
}

/// A team's rota over a period.
#[derive(Debug, Serialize, ToSchema)]
pub struct RotaOut {
    /// The team.
    pub team_id: String,
    /// The period's start (00:00 China time of `from`).
    pub from: DateTime<Utc>,
    /// The period's end (00:00 China time after `to`).
    pub to: DateTime<Utc>,
    /// Shifts overlapping the period, earliest first.
    pub shifts: Vec<ShiftOut>,
    /// Hours of the period with nobody on any shift.
    pub uncovered: Vec<Span>,
}

/// A volunteer's shifts.
#[derive(Debug, Serialize, ToSchema)]
pub struct MyShifts {
    /// Shifts from the period, earliest first.
    pub shifts: Vec<ShiftOut>,
}

/// Which days.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeriodQuery {
    /// First day (China time, YYYY-MM-DD; default today).
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<String>,
    /// Last day, inclusive (default six days after `from`; at most 62 days).
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<String>,
}

/// `[from, to)` of a period query (at most 62 days).
fn period(state: &AppState, q: &PeriodQuery) -> ApiResult<(DateTime<Utc>, DateTime<Utc>)> {
    let mut errors = Errors::default();
    let from = parse_day("from", q.from.as_deref(), &mut errors);
    let to = parse_day("to", q.to.as_deref(), &mut errors);
    errors.finish()?;
    let from = match from {
        Some(d) => d,
        None => crate::clock::local_today(state.clock.now())?,
    };
    let to = to.unwrap_or(from + Duration::days(6));
    if to < from {
        return Err(ApiError::invalid("to", &p::NOT_BEFORE_FROM));
    }
    if (to - from).num_days() > 61 {
        return Err(ApiError::invalid("to", &p::PERIOD_62_DAYS));
    }
    crate::clock::local_days(from, to)
}

async fn managed_team(state: &AppState, user: &AuthUser, raw: &str) -> ApiResult<Uuid> {
    user.require_staff()?;
    let id: Uuid = parse_id("id", raw)?;
    crate::entities::team::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound(&p::NOUN_TEAM))?;
    user.ensure_manages_team(state, TeamId(id)).await?;
    Ok(id)
}

/// A team's rota for a period, with the hours nobody is on (the team's
/// coordinators and admins).
#[utoipa::path(get, path = "/api/v1/teams/{id}/shifts", tag = "roster", security(("bearer" = [])), params(PeriodQuery),
    responses((status = 200, body = RotaOut), (status = 403, description = "not a coordinator of this team"), (status = 404, description = "no such team")))]
pub async fn team_shifts(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
    query: Query<PeriodQuery>,
) -> ApiResult<HttpResponse> {
    let team = managed_team(&state, &user, &id).await?;
    let (from, to) = period(&state, &query)?;
    let shifts = rota::of_team(&state.db, team, from, to).await?;
    let uncovered = rota::uncovered(&shifts, from, to);
    Ok(HttpResponse::Ok().json(RotaOut {
        team_id: team.to_string(),
        from,
        to,
        shifts: shifts.iter().map(|s| shift_out(s, None)).collect(),
        uncovered: uncovered
            .into_iter()
            .map(|(starts_at, ends_at)| Span { starts_at, ends_at })
            .collect(),
    }))
}

/// Plans a shift, or one a week until a day, for volunteers of the team
/// (its coordinators and admins). Members are on duty for each span.
#[utoipa::path(post, path = "/api/v1/teams/{id}/shifts", tag = "roster", security(("bearer" = [])), request_body = ShiftIn,
    responses((status = 201, body = CreatedShifts), (status = 400, description = "bad span or volunteers"), (status = 403, description = "not a coordinator of this team")))]
pub async fn create_shifts(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
    body: Valid<ShiftIn>,
) -> ApiResult<HttpResponse> {
    let team = managed_team(&state, &user, &id).await?;
    let b = body.0;
    let now = state.clock.now();
    if b.ends_at <= b.starts_at {
        return Err(ApiError::invalid("ends_at", &p::AFTER_STARTS_AT));
    }
    if b.ends_at - b.starts_at > Duration::hours(rota::MAX_SHIFT_HOURS) {
        return Err(ApiError::invalid("ends_at", &p::SHIFT_LASTS_AT_MOST_24));
    }
    if b.ends_at <= now {
        return Err(ApiError::invalid("ends_at", &p::MUST_BE_FUTURE));
    }
    let until = match b.repeat_weekly_until.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => Some(NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| {
            ApiError::invalid("repeat_weekly_until", p::DATE_FORMAT.with("value", raw))
        })?),
    };
    if let Some(until) = until {
        let first = crate::clock::local_today(b.starts_at)?;
        if until < first || until > first + Duration::days(366) {
            return Err(ApiError::invalid(
                "repeat_weekly_until",
                &p::MUST_FROM_FIRST_SHIFTS_DAY,
            ));
        }
    }
    let mut volunteer_ids: Vec<Uuid> = Vec::new();
    for raw in &b.volunteer_ids {
        let v: Uuid = parse_id("volunteer_ids", raw)?;
        if !volunteer_ids.contains(&v) {
            volunteer_ids.push(v);
        }
    }
    let spec = rota::NewShifts {
        team_id: team,
        starts_at: b.starts_at,
        ends_at: b.ends_at,
        kind: b
            .kind
            .as_deref()
            .and_then(ShiftKind::parse)
            .unwrap_or(ShiftKind::Duty),
        note: wire::trimmed(b.note.as_deref()),
        volunteer_ids,
        repeat_weekly_until: until,
    };
    let made = rota::create(&state.db, &spec, Some(user.id.as_uuid()), now).await?;
    let mut shifts = Vec::new();
    for s in &made {
        shifts.push(shift_out(&rota::load(&state.db, s.id).await?, None));
    }
    tracing::info!(team_id = %team, shifts = made.len(), "shifts planned");
    Ok(HttpResponse::Created().json(CreatedShifts {
        series_id: made
            .first()
            .map(|s| s.series_id.to_string())
            .unwrap_or_default(),
        shifts,
    }))
}

/// Whether to remove the rest of the series too.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteQuery {
    /// Also every later shift of its weekly series.
    pub later: Option<bool>,
}

/// How many shifts went.
#[derive(Debug, Serialize, ToSchema)]
pub struct Removed {
    /// Shifts removed.
    pub removed: usize,
}

/// Removes a shift that has not ended (and with `later=true` the rest of
/// its series); members of a running shift go off duty (the team's
/// coordinators and admins).
#[utoipa::path(delete, path = "/api/v1/shifts/{id}", tag = "roster", security(("bearer" = [])), params(DeleteQuery),
    responses((status = 200, body = Removed), (status = 403, description = "not a coordinator of this team"), (status = 404, description = "no such shift"), (status = 409, description = "the shift has ended")))]
pub async fn delete_shift(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
    query: Query<DeleteQuery>,
) -> ApiResult<HttpResponse> {
    user.require_staff()?;
    let id: Uuid = parse_id("id", &id)?;
    let s = rota::load(&state.db, id).await?;
    user.ensure_manages_team(&state, TeamId(s.shift.team_id))
        .await?;
    let removed =
        lifecycle::remove_shift(&state, user.actor(), &s, query.later.unwrap_or(false)).await?;
    Ok(HttpResponse::Ok().json(Removed { removed }))
}

/// Why a volunteer leaves a shift.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct LeaveIn {
    /// 1–500 characters.
    #[validate(custom(function = "wire::reason"))]
    #[schema(schema_with = wire::reason_schema)]
    pub reason: String,
}

/// Leaves one of my shifts before it ends, saying why; the team's
/// coordinators are told (`shift_left`).
#[utoipa::path(post, path = "/api/v1/shifts/{id}/leave", tag = "volunteer", security(("bearer" = [])), request_body = LeaveIn,
    responses((status = 200, body = ShiftOut), (status = 404, description = "not a shift of mine"), (status = 409, description = "ended or already left")))]
pub async fn leave_shift(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
    body: Valid<LeaveIn>,
) -> ApiResult<HttpResponse> {
    if user.role != Role::Volunteer {
        return Err(ApiError::forbidden(&p::ONLY_VOLUNTEERS_SHIFTS));
    }
    let id: Uuid = parse_id("id", &id)?;
    let reason = body.0.reason.trim().to_owned();
    let s = lifecycle::leave_shift(&state, user.actor(), id, reason).await?;
    Ok(HttpResponse::Ok().json(shift_out(&s, Some(user.id.as_uuid()))))
}

/// My shifts in a period (default: the next seven days from today).
#[utoipa::path(get, path = "/api/v1/me/shifts", tag = "volunteer", security(("bearer" = [])), params(PeriodQuery),
    responses((status = 200, body = MyShifts), (status = 403, description = "not a volunteer")))]
pub async fn my_shifts(
    state: web::Data<AppState>,
    user: AuthUser,
    query: Query<PeriodQuery>,
) -> ApiResult<HttpResponse> {
    if user.role != Role::Volunteer {
        return Err(ApiError::forbidden(&p::ONLY_VOLUNTEERS_SHIFTS));
    }
    let (from, to) = period(&state, &query)?;
    let me = user.id.as_uuid();
    let shifts = rota::of_volunteer(&state.db, me, from, to).await?;
    Ok(HttpResponse::Ok().json(MyShifts {
        shifts: shifts.iter().map(|s| shift_out(s, Some(me))).collect(),
    }))
}
