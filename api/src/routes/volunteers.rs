//! Volunteers: list with filters, read, create and update.
use std::collections::BTreeMap;
use zhongdui_domain::text::phrases as p;

use actix_web::{HttpResponse, web};
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::EntityTrait;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;
use zhongdui_domain::{Phone, SkillSet, TeamId};

use crate::auth::AuthUser;
use crate::entities::user;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Query, Valid};
use crate::lifecycle;
use crate::routes::{Page, PageParams, parse_id};
use crate::services::roster::{self, Errors, VolunteerFilter, VolunteerSpec, VolunteerView};
use crate::state::AppState;
use crate::wire::{self};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/volunteers")
            .route(web::get().to(list_volunteers))
            .route(web::post().to(create_volunteer)),
    )
    .service(
        web::resource("/volunteers/{id}")
            .route(web::get().to(get_volunteer))
            .route(web::patch().to(update_volunteer))
            .route(web::delete().to(delete_volunteer)),
    )
    .route(
        "/volunteers/{id}/reliability",
        web::get().to(volunteer_reliability),
    );
}

/// A volunteer's reliability over the last `dispatch.reliability_days`:
/// offers accepted, declined and let run out, withdrawals and no-shows, and
/// the score (0–100) that breaks ties among near-equal candidates (staff,
/// or the volunteer themself).
#[utoipa::path(get, path = "/api/v1/volunteers/{id}/reliability", tag = "roster", security(("bearer" = [])),
    responses((status = 200, body = crate::dispatch::reliability::Reliability), (status = 404, description = "no such volunteer")))]
pub async fn volunteer_reliability(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id: Uuid = parse_id("id", &id)?;
    crate::routes::staff_or_self(&user, id, &p::NOUN_VOLUNTEER_RECORD)?;
    roster::get_volunteer(&state.db, id).await?;
    let days = state.settings.dispatch.reliability_days.max(1);
    let r = crate::dispatch::reliability::one(&state.db, id, days, state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(r))
}

/// A skill certificate.
#[derive(Debug, Serialize, ToSchema)]
pub struct CertificateOut {
    /// Skill code.
    pub skill: String,
    /// Valid until (inclusive).
    pub certified_until: NaiveDate,
}

/// A volunteer as the roster shows them.
#[derive(Debug, Serialize, ToSchema)]
pub struct VolunteerOut {
    /// Volunteer id (same as the account id).
    pub id: String,
    /// Phone number.
    pub phone: String,
    /// Name.
    pub display_name: String,
    /// Team id.
    pub team_id: String,
    /// Team name.
    pub team_name: String,
    /// Skill codes.
    pub skills: Vec<String>,
    /// Certificates with expiry.
    pub certificates: Vec<CertificateOut>,
    /// Concurrent tasks allowed.
    pub capacity: i32,
    /// Tasks in hand.
    pub active_tasks: i32,
    /// On duty now.
    pub on_duty: bool,
    /// Why: `manual` (their switch) or `shift` (a rota shift); none when off.
    pub duty_source: Option<String>,
    /// Team leader.
    pub is_leader: bool,
    /// Base latitude.
    pub home_lat: Option<f64>,
    /// Base longitude.
    pub home_lon: Option<f64>,
    /// Last reported latitude.
    pub lat: Option<f64>,
    /// Last reported longitude.
    pub lon: Option<f64>,
    /// When the position was reported.
    pub location_at: Option<DateTime<Utc>>,
    /// Joined.
    pub created_at: DateTime<Utc>,
    /// A generated first password, shown once when none was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initial_password: Option<String>,
}

impl From<VolunteerView> for VolunteerOut {
    fn from(v: VolunteerView) -> Self {
        VolunteerOut {
            id: v.user.id.to_string(),
            phone: v.user.phone,
            display_name: v.user.display_name,
            team_id: v.volunteer.team_id.to_string(),
            team_name: v.team_name,
            skills: v.skills.iter().map(|s| s.skill.clone()).collect(),
            certificates: v
                .skills
                .iter()
                .filter_map(|s| {
                    s.certified_until.map(|d| CertificateOut {
                        skill: s.skill.clone(),
                        certified_until: d,
                    })
                })
                .collect(),
            capacity: v.volunteer.capacity,
            active_tasks: v.volunteer.active_tasks,
            on_duty: v.volunteer.on_duty,
            duty_source: v.volunteer.duty_source.clone(),
            is_leader: v.volunteer.is_leader,
            home_lat: v.volunteer.home_lat,
            home_lon: v.volunteer.home_lon,
            lat: v.volunteer.lat,
            lon: v.volunteer.lon,
            location_at: v.volunteer.location_at,
            created_at: v.volunteer.created_at,
            initial_password: None,
        }
    }
}

/// Filters for the volunteer list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VolunteerQuery {
    /// Only this team.
    pub team_id: Option<String>,
    /// Only holders of this skill (comma-separated for several).
    pub skill: Option<String>,
    /// Only on (true) or off (false) duty.
    pub on_duty: Option<bool>,
    /// Name or phone contains.
    pub q: Option<String>,
    /// Only volunteers last seen inside this box, as
    /// `min_lon,min_lat,max_lon,max_lat` (WGS-84 degrees; what a map shows).
    pub bbox: Option<String>,
}

/// Reads `bbox` as `min_lon,min_lat,max_lon,max_lat`: four numbers, or a 422.
/// A box is two corners: given in either order they are sorted, and each
/// degree is held to the Earth's range (what a map past the antimeridian or
/// a pole would send).
fn parse_bbox(raw: &str) -> ApiResult<[f64; 4]> {
    let bad = || ApiError::invalid("bbox", &p::BBOX_FORMAT);
    let parts: Vec<f64> = raw
        .split(',')
        .map(|p| {
            p.trim()
                .parse::<f64>()
                .ok()
                .filter(|x| !x.is_nan())
                .ok_or_else(bad)
        })
        .collect::<ApiResult<_>>()?;
    let [lon_a, lat_a, lon_b, lat_b] = <[f64; 4]>::try_from(parts).map_err(|_| bad())?;
    let lon = |x: f64| x.clamp(-180.0, 180.0);
    let lat = |x: f64| x.clamp(-90.0, 90.0);
    Ok([
        lon(lon_a.min(lon_b)),
        lat(lat_a.min(lat_b)),
        lon(lon_a.max(lon_b)),
        lat(lat_a.max(lat_b)),
    ])
}

/// List volunteers (coordinators and admins).
#[utoipa::path(get, path = "/api/v1/volunteers", tag = "roster", security(("bearer" = [])), params(PageParams, VolunteerQuery),
    responses((status = 200, body = Page<VolunteerOut>), (status = 403, description = "not staff"),
        (status = 422, description = "a bad filter (`bbox`, `team_id`, `skill`)")))]
pub async fn list_volunteers(
    state: web::Data<AppState>,
    user: AuthUser,
    paging: Query<PageParams>,
    query: Query<VolunteerQuery>,
) -> ApiResult<HttpResponse> {
    user.require_staff()?;
    let (page, per_page) = paging.checked()?;
    let team = match query.team_id.as_deref().filter(|t| !t.is_empty()) {
        Some(raw) => Some(TeamId(parse_id::<Uuid>("team_id", raw)?)),
        None => None,
    };
    let skills = match query.skill.as_deref() {
        Some(raw) => {
            SkillSet::parse_list(raw).map_err(|e| ApiError::invalid("skill", e.message))?
        }
        None => SkillSet::EMPTY,
    };
    let filter = VolunteerFilter {
        team,
        skills,
        on_duty: query.on_duty,
        q: query.q.clone(),
        bbox: match query.bbox.as_deref().filter(|b| !b.is_empty()) {
            Some(raw) => Some(parse_bbox(raw)?),
            None => None,
        },
    };
    let (views, total) = roster::list_volunteers(&state.db, &filter, page, per_page).await?;
    Ok(HttpResponse::Ok().json(Page {
        items: views
            .into_iter()
            .map(VolunteerOut::from)
            .collect::<Vec<_>>(),
        total,
        page,
        per_page,
    }))
}

/// One volunteer (staff, or the volunteer themself).
#[utoipa::path(get, path = "/api/v1/volunteers/{id}", tag = "roster", security(("bearer" = [])),
    responses((status = 200, body = VolunteerOut), (status = 404, description = "no such volunteer")))]
pub async fn get_volunteer(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id: Uuid = parse_id("id", &id)?;
    crate::routes::staff_or_self(&user, id, &p::NOUN_VOLUNTEER_RECORD)?;
    let v = roster::get_volunteer(&state.db, id).await?;
    Ok(HttpResponse::Ok().json(VolunteerOut::from(v)))
}

/// A new volunteer.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct VolunteerIn {
    /// Mainland mobile number (also the login).
    #[validate(custom(function = "wire::phone"))]
    #[schema(schema_with = wire::phone_schema)]
    pub phone: String,
    /// Name, 1–50 characters.
    #[validate(custom(function = "wire::display_name"))]
    #[schema(schema_with = wire::display_name_schema)]
    pub display_name: String,
    /// First password (8 to 128 characters); generated and returned once when absent.
    #[validate(custom(function = "wire::password"))]
    #[schema(schema_with = wire::optional_password_schema)]
    pub password: Option<String>,
    /// Team id.
    #[validate(custom(function = "wire::id"))]
    #[schema(schema_with = wire::id_schema)]
    pub team_id: String,
    /// Skill codes.
    #[serde(default)]
    #[validate(custom(function = "wire::skills"))]
    #[schema(schema_with = wire::skills_schema)]
    pub skills: Vec<String>,
    /// Certificate expiry by skill code (each skill also in `skills`), e.g. `{"first_aid": "2027-06-30"}`.
    #[serde(default)]
    #[validate(custom(function = "wire::certificates"))]
    #[schema(schema_with = wire::certificates_schema)]
    pub certificates: BTreeMap<String, NaiveDate>,
    /// Concurrent tasks allowed (0–10, default 1).
    #[serde(default, deserialize_with = "wire::optional_integer")]
    #[validate(range(min = 0, max = 10))]
    #[schema(minimum = 0, maximum = 10)]
    pub capacity: Option<i64>,
    /// Team leader.
    pub is_leader: Option<bool>,
    /// Base latitude (with `home_lon`).
    #[validate(range(min = -90.0, max = 90.0))]
    #[schema(minimum = -90, maximum = 90)]
    pub home_lat: Option<f64>,
    /// Base longitude (with `home_lat`).
    #[validate(range(min = -180.0, max = 180.0))]
    #[schema(minimum = -180, maximum = 180)]
    pub home_lon: Option<f64>,
    /// Admins only: when the phone belongs to a resident account, make that
    /// account this volunteer (it keeps its password; `password` is ignored
    /// and none is generated). Without it an existing account is a 409.
    #[serde(default)]
    pub promote: bool,
}

/// Create a volunteer (admins, or coordinators of the team).
#[utoipa::path(post, path = "/api/v1/volunteers", tag = "roster", security(("bearer" = [])), request_body = VolunteerIn,
    responses((status = 201, body = VolunteerOut), (status = 403, description = "not your team"), (status = 409, description = "phone taken"), (status = 422, description = "invalid field")))]
pub async fn create_volunteer(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Valid<VolunteerIn>,
) -> ApiResult<HttpResponse> {
    user.require_staff()?;
    let body = body.0;
    let spec = spec_of(&body)?;
    user.ensure_manages_team(&state, spec.team_id).await?;
    if body.promote {
        user.require_admin()?;
    }
    let (id, password) =
        lifecycle::create_volunteer(&state, user.actor(), &spec, body.password, body.promote)
            .await?;
    tracing::info!(volunteer_id = %id, team_id = %spec.team_id, by = %user.id, "volunteer created");
    let mut out = VolunteerOut::from(roster::get_volunteer(&state.db, id).await?);
    out.initial_password = password;
    Ok(HttpResponse::Created().json(out))
}

/// The new volunteer's data, with the rules across fields: certificates for
/// listed skills, both coordinates or neither.
fn spec_of(body: &VolunteerIn) -> ApiResult<VolunteerSpec> {
    let mut errors = Errors::default();
    let skills = roster::parse_skills(&body.skills, &body.certificates, &mut errors);
    let home = roster::parse_home(
        body.home_lat,
        body.home_lon,
        ("home_lat", "home_lon"),
        &mut errors,
    );
    errors.finish()?;
    Ok(VolunteerSpec {
        phone: Phone::parse(&body.phone)?,
        display_name: body.display_name.trim().to_owned(),
        team_id: TeamId(parse_id::<Uuid>("team_id", &body.team_id)?),
        skills,
        capacity: capacity_of(body.capacity.unwrap_or(1)),
        is_leader: body.is_leader.unwrap_or(false),
        home,
    })
}

/// A capacity already checked to be 0–10.
fn capacity_of(c: i64) -> i32 {
    i32::try_from(c.clamp(0, 10)).unwrap_or(1)
}

/// Changes to a volunteer; absent fields stay.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct VolunteerPatch {
    /// New name.
    #[validate(custom(function = "wire::display_name"))]
    #[schema(schema_with = wire::optional_display_name_schema)]
    pub display_name: Option<String>,
    /// Move to another team (you must manage both).
    #[validate(custom(function = "wire::id"))]
    #[schema(schema_with = wire::nullable_id_schema)]
    pub team_id: Option<String>,
    /// Replace the skills.
    #[validate(custom(function = "wire::skills"))]
    #[schema(schema_with = wire::optional_skills_schema)]
    pub skills: Option<Vec<String>>,
    /// Replace the certificates (with `skills`, or on the current skills).
    #[validate(custom(function = "wire::certificates"))]
    #[schema(schema_with = wire::optional_certificates_schema)]
    pub certificates: Option<BTreeMap<String, NaiveDate>>,
    /// New capacity (0–10).
    #[serde(default, deserialize_with = "wire::optional_integer")]
    #[validate(range(min = 0, max = 10))]
    #[schema(minimum = 0, maximum = 10)]
    pub capacity: Option<i64>,
    /// Leader flag.
    pub is_leader: Option<bool>,
    /// New base latitude (with `home_lon`).
    #[validate(range(min = -90.0, max = 90.0))]
    #[schema(minimum = -90, maximum = 90)]
    pub home_lat: Option<f64>,
    /// New base longitude (with `home_lat`).
    #[validate(range(min = -180.0, max = 180.0))]
    #[schema(minimum = -180, maximum = 180)]
    pub home_lon: Option<f64>,
    /// Set a new password, 8 to 128 characters (revokes the volunteer's tokens).
    #[validate(custom(function = "wire::password"))]
    #[schema(schema_with = wire::optional_password_schema)]
    pub password: Option<String>,
    /// Disable or re-enable the account.
    pub disabled: Option<bool>,
}

/// Update a volunteer (admins, or coordinators of their team).
#[utoipa::path(patch, path = "/api/v1/volunteers/{id}", tag = "roster", security(("bearer" = [])), request_body = VolunteerPatch,
    responses((status = 200, body = VolunteerOut), (status = 403, description = "not your team"), (status = 422, description = "invalid field")))]
pub async fn update_volunteer(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
    body: Valid<VolunteerPatch>,
) -> ApiResult<HttpResponse> {
    user.require_staff()?;
    let id: Uuid = parse_id("id", &id)?;
    live_account(&state, id).await?;
    let current = roster::load_spec(&state.db, id)
        .await?
        .ok_or(ApiError::NotFound(&p::NOUN_VOLUNTEER))?;
    user.ensure_manages_team(&state, current.team_id).await?;
    let body = body.0;
    let spec = patched(&current, &body)?;
    if spec.team_id != current.team_id {
        user.ensure_manages_team(&state, spec.team_id).await?;
    }
    let change = lifecycle::VolunteerChange {
        id,
        fields: body.given(),
        current,
        spec,
        password: body.password,
        disabled: body.disabled,
    };
    lifecycle::update_volunteer(&state, user.actor(), change).await?;
    tracing::info!(volunteer_id = %id, by = %user.id, "volunteer updated");
    let v = roster::get_volunteer(&state.db, id).await?;
    Ok(HttpResponse::Ok().json(VolunteerOut::from(v)))
}

/// The account `id`, unless it does not exist or was deleted.
async fn live_account(state: &AppState, id: Uuid) -> ApiResult<user::Model> {
    user::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .filter(|u| !crate::services::privacy::is_deleted(u))
        .ok_or(ApiError::NotFound(&p::NOUN_VOLUNTEER))
}

/// `current` with the patch applied, with the rules across fields:
/// certificates for listed skills, both coordinates or neither.
fn patched(current: &VolunteerSpec, body: &VolunteerPatch) -> ApiResult<VolunteerSpec> {
    let mut spec = current.clone();
    if let Some(n) = &body.display_name {
        spec.display_name = n.trim().to_owned();
    }
    if let Some(raw) = &body.team_id {
        spec.team_id = TeamId(parse_id::<Uuid>("team_id", raw)?);
    }
    if let Some(c) = body.capacity {
        spec.capacity = capacity_of(c);
    }
    if let Some(l) = body.is_leader {
        spec.is_leader = l;
    }
    let mut errors = Errors::default();
    if body.skills.is_some() || body.certificates.is_some() {
        let codes = body
            .skills
            .clone()
            .unwrap_or_else(|| current.skills.keys().map(|s| s.code().to_owned()).collect());
        let certs = body.certificates.clone().unwrap_or_else(|| {
            current
                .skills
                .iter()
                .filter_map(|(s, d)| d.map(|d| (s.code().to_owned(), d)))
                .collect()
        });
        spec.skills = roster::parse_skills(&codes, &certs, &mut errors);
    }
    if body.home_lat.is_some() || body.home_lon.is_some() {
        let names = ("home_lat", "home_lon");
        spec.home = roster::parse_home(body.home_lat, body.home_lon, names, &mut errors);
    }
    errors.finish()?;
    Ok(spec)
}

impl VolunteerPatch {
    /// The roster fields given (never the password itself).
    fn given(&self) -> Vec<&'static str> {
        [
            ("display_name", self.display_name.is_some()),
            ("team_id", self.team_id.is_some()),
            ("skills", self.skills.is_some()),
            ("certificates", self.certificates.is_some()),
            ("capacity", self.capacity.is_some()),
            ("is_leader", self.is_leader.is_some()),
            ("home", self.home_lat.is_some() || self.home_lon.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, given)| given.then_some(name))
        .collect()
    }
}

/// Delete a volunteer (admins, or coordinators of their team): refused while
/// they hold a task; their open offers are withdrawn, their skills,
/// positions and identity removed; their points stay summed under the
/// anonymous id, and the orders they served keep their history.
#[utoipa::path(delete, path = "/api/v1/volunteers/{id}", tag = "roster", security(("bearer" = [])),
    responses((status = 204, description = "deleted"), (status = 403, description = "not your team"),
        (status = 404, description = "no such volunteer"), (status = 409, description = "holds a task")))]
pub async fn delete_volunteer(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    user.require_staff()?;
    let id: Uuid = parse_id("id", &id)?;
    let v = crate::entities::volunteer::Entity::find_by_id(id)
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound(&p::NOUN_VOLUNTEER))?;
    user.ensure_manages_team(&state, TeamId(v.team_id)).await?;
    let u = live_account(&state, id).await?;
    lifecycle::delete_volunteer(&state, user.actor(), u).await?;
    tracing::info!(volunteer_id = %id, by = %user.id, "volunteer deleted");
    Ok(HttpResponse::NoContent().finish())
}
