//! Registration, login and the caller's own account.
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;
use zhongdui_domain::text::phrases as p;
use zhongdui_domain::{Phone, Role, UserId};

use crate::auth::AuthUser;
use crate::entities::user;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Json, Valid};
use crate::routes::parse_id;
use crate::routes::volunteers::VolunteerOut;
use crate::services::{accounts, roster};
use crate::state::AppState;
use crate::wire;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/auth/register", web::post().to(register))
        .service(
            web::resource("/me")
                .route(web::get().to(me))
                .route(web::delete().to(delete_me)),
        )
        .route("/audit", web::get().to(audit_log))
        .service(web::resource("/coordinators").route(web::post().to(create_coordinator)));
}

/// A user as others may see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserOut {
    /// Account id.
    pub id: String,
    /// Phone number.
    pub phone: String,
    /// Name shown to others.
    pub display_name: String,
    /// resident, volunteer, coordinator or admin.
    pub role: String,
    /// When the account was made.
    pub created_at: DateTime<Utc>,
}

impl From<&user::Model> for UserOut {
    fn from(u: &user::Model) -> Self {
        UserOut {
            id: u.id.to_string(),
            phone: u.phone.clone(),
            display_name: u.display_name.clone(),
            role: u.role.clone(),
            created_at: u.created_at,
        }
    }
}

/// Registration of a resident.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct RegisterRequest {
    /// Mainland mobile number.
    #[validate(custom(function = "wire::phone"))]
    #[schema(schema_with = wire::phone_schema)]
    pub phone: String,
    /// 8 to 128 characters.
    #[validate(custom(function = "wire::password"))]
    #[schema(schema_with = wire::password_schema)]
    pub password: String,
    /// 1 to 50 characters.
    #[validate(custom(function = "wire::display_name"))]
    #[schema(schema_with = wire::display_name_schema)]
    pub display_name: String,
}

/// Register a resident account.
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth", request_body = RegisterRequest,
    responses((status = 201, body = UserOut), (status = 409, description = "phone taken"), (status = 422, description = "invalid field"), (status = 429, description = "too many registrations from this address")))]
pub async fn register(
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
    body: Valid<RegisterRequest>,
) -> ApiResult<HttpResponse> {
    // Each registration costs an argon2 hash: limited per client address.
    if let Some(ip) = req.peer_addr().map(|a| a.ip()) {
        state.limits.registrations.check(&ip)?;
    }
    let body = body.0;
    let phone = Phone::parse(&body.phone)?;
    let name = body.display_name.trim();
    let u = accounts::create_user(&state.db, &phone, body.password, name, Role::Resident).await?;
    tracing::info!(user_id = %u.id, "resident registered");
    Ok(HttpResponse::Created().json(UserOut::from(&u)))
}

/// Login with phone and password.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    /// Mainland mobile number.
    pub phone: String,
    /// The password.
    pub password: String,
}

/// A bearer token and who it belongs to.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// When the token stops working.
    pub expires_at: DateTime<Utc>,
    /// The account.
    pub user: UserOut,
}

/// Log in. Rate-limited per client address.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, description = "wrong phone or password"), (status = 429, description = "too many attempts")))]
pub async fn login(
    state: web::Data<AppState>,
    body: Json<LoginRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.0;
    let u = accounts::authenticate(&state.db, &body.phone, body.password).await?;
    let role: Role = u.role.parse()?;
    let issued = state.tokens.issue(UserId(u.id), role, u.token_version)?;
    tracing::info!(user_id = %u.id, role = %role, "login");
    Ok(HttpResponse::Ok().json(LoginResponse {
        token: issued.token,
        token_type: "Bearer",
        expires_at: issued.expires_at,
        user: UserOut::from(&u),
    }))
}

/// The caller's account, with their volunteer record or coordinated teams.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeOut {
    /// The account.
    #[serde(flatten)]
    pub user: UserOut,
    /// For volunteers: their roster record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volunteer: Option<VolunteerOut>,
    /// For coordinators: the teams they manage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team_ids: Option<Vec<String>>,
}

/// Who am I.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = MeOut), (status = 401, description = "no or bad token")))]
pub async fn me(state: web::Data<AppState>, user: AuthUser) -> ApiResult<HttpResponse> {
    let row = user::Entity::find_by_id(user.id.as_uuid())
        .one(&state.db)
        .await?
        .ok_or(ApiError::Unauthorized(&p::ACCOUNT_NO_LONGER_EXISTS))?;
    let volunteer = if user.role == Role::Volunteer {
        Some(VolunteerOut::from(
            roster::get_volunteer(&state.db, user.id.as_uuid()).await?,
        ))
    } else {
        None
    };
    let team_ids = if user.role == Role::Coordinator {
        Some(
            user.coordinated_teams(&state)
                .await?
                .into_iter()
                .map(|t| t.to_string())
                .collect(),
        )
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(MeOut {
        user: UserOut::from(&row),
        volunteer,
        team_ids,
    }))
}

/// A coordinator (station officer) account and the teams they manage.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct CoordinatorRequest {
    /// Mainland mobile number.
    #[validate(custom(function = "wire::phone"))]
    #[schema(schema_with = wire::phone_schema)]
    pub phone: String,
    /// 1 to 50 characters.
    #[validate(custom(function = "wire::display_name"))]
    #[schema(schema_with = wire::display_name_schema)]
    pub display_name: String,
    /// Needed for a new account (8 to 128 characters); ignored for an existing coordinator.
    #[validate(custom(function = "wire::password"))]
    #[schema(schema_with = wire::optional_password_schema)]
    pub password: Option<String>,
    /// Teams to coordinate (added to any they already have).
    #[validate(custom(function = "wire::ids"))]
    #[schema(schema_with = wire::ids_schema)]
    pub team_ids: Vec<String>,
}

/// Create a coordinator, or give an existing coordinator more teams. Admins only.
#[utoipa::path(post, path = "/api/v1/coordinators", tag = "roster", security(("bearer" = [])), request_body = CoordinatorRequest,
    responses((status = 201, body = UserOut), (status = 403, description = "not an admin")))]
pub async fn create_coordinator(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Valid<CoordinatorRequest>,
) -> ApiResult<HttpResponse> {
    user.require_admin()?;
    let body = body.0;
    let phone = Phone::parse(&body.phone)?;
    let name = body.display_name.trim().to_owned();
    let teams = body
        .team_ids
        .iter()
        .map(|raw| parse_id::<Uuid>("team_ids", raw))
        .collect::<ApiResult<Vec<_>>>()?;
    let appointment = accounts::Appointment {
        phone,
        name,
        password: body.password,
        teams,
    };
    let account =
        accounts::appoint_coordinator(&state.db, appointment, user.actor(), state.clock.now())
            .await?;
    Ok(HttpResponse::Created().json(UserOut::from(&account)))
}

use sea_orm::EntityTrait;

/// Delete my account (residents): my requests keep their history without my
/// identity or contact phone; I can no longer log in. Volunteers are deleted
/// by their coordinator (`DELETE /api/v1/volunteers/{id}`).
#[utoipa::path(delete, path = "/api/v1/me", tag = "auth", security(("bearer" = [])),
    responses((status = 204, description = "deleted"), (status = 403, description = "not a resident"),
        (status = 409, description = "requests still running")))]
pub async fn delete_me(state: web::Data<AppState>, user: AuthUser) -> ApiResult<HttpResponse> {
    if user.role != Role::Resident {
        return Err(ApiError::forbidden(&p::ONLY_RESIDENTS_DELETE_THEIR_OWN));
    }
    let u = user::Entity::find_by_id(user.id.as_uuid())
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound(&p::NOUN_ACCOUNT))?;
    let txn = crate::db::begin_write(&state.db).await?;
    crate::services::privacy::delete_resident(&txn, u, state.clock.now()).await?;
    txn.commit().await?;
    tracing::info!(user_id = %user.id, "resident account deleted");
    Ok(HttpResponse::NoContent().finish())
}

/// Audit filter.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only this kind of thing: volunteer, team, account, coordinator, points, roster.
    pub entity: Option<String>,
    /// Only this one (its id).
    pub entity_id: Option<String>,
}

/// One audit entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditOut {
    /// Sequence number.
    pub id: i64,
    /// Who (absent: the system).
    pub actor_id: Option<String>,
    /// Their role.
    pub actor_role: Option<String>,
    /// What kind of thing.
    pub entity: String,
    /// Which one.
    pub entity_id: String,
    /// What happened.
    pub action: String,
    /// What changed.
    #[schema(value_type = Object)]
    pub data: Option<serde_json::Value>,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl From<crate::entities::audit_entry::Model> for AuditOut {
    fn from(r: crate::entities::audit_entry::Model) -> Self {
        AuditOut {
            id: r.id,
            actor_id: r.actor_id.map(|a| a.to_string()),
            actor_role: r.actor_role,
            entity: r.entity,
            entity_id: r.entity_id,
            action: r.action,
            data: r.data,
            created_at: r.created_at,
        }
    }
}

/// The audit of roster, team, account and points changes, newest first (admins).
#[utoipa::path(get, path = "/api/v1/audit", tag = "auth", security(("bearer" = [])),
    params(crate::routes::PageParams, AuditQuery),
    responses((status = 200, body = crate::routes::Page<AuditOut>)))]
pub async fn audit_log(
    state: web::Data<AppState>,
    user: AuthUser,
    paging: crate::extract::Query<crate::routes::PageParams>,
    query: crate::extract::Query<AuditQuery>,
) -> ApiResult<HttpResponse> {
    use crate::entities::audit_entry;
    use sea_orm::{ColumnTrait, PaginatorTrait, QueryFilter, QueryOrder};
    user.require_admin()?;
    let (page, per_page) = paging.checked()?;
    let mut q = audit_entry::Entity::find();
    if let Some(e) = query.entity.as_deref().filter(|e| !e.is_empty()) {
        q = q.filter(audit_entry::Column::Entity.eq(e));
    }
    if let Some(e) = query.entity_id.as_deref().filter(|e| !e.is_empty()) {
        q = q.filter(audit_entry::Column::EntityId.eq(e));
    }
    let pages = q
        .order_by_desc(audit_entry::Column::Id)
        .paginate(&state.db, per_page);
    let total = pages.num_items().await?;
    let rows = pages.fetch_page(page - 1).await?;
    Ok(HttpResponse::Ok().json(crate::routes::Page {
        items: rows.into_iter().map(AuditOut::from).collect::<Vec<_>>(),
        total,
        page,
        per_page,
    }))
}
