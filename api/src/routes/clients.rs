//! Machine clients (a station's system): registration by admins, and the
//! OAuth2 client-credentials grant (RFC 6749 §4.4) that gives them tokens.
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;
use zhongdui_domain::text::phrases as p;

use crate::auth::AuthUser;
use crate::entities::client;
use crate::error::{ApiError, ApiResult};
use crate::extract::Valid;
use crate::routes::parse_id;
use crate::services::clients::{self, ClientChange, Issued, NewClient};
use crate::state::AppState;
use crate::wire;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/clients")
            .route(web::get().to(list_clients))
            .route(web::post().to(create_client)),
    )
    .service(
        web::resource("/clients/{id}")
            .route(web::get().to(get_client))
            .route(web::patch().to(update_client))
            .route(web::delete().to(disable_client)),
    )
    .route("/clients/{id}/deliveries", web::get().to(deliveries))
    .route(
        "/clients/{id}/deliveries/{delivery_id}/redeliver",
        web::post().to(redeliver),
    );
}

/// A machine client as admins see it (secrets only when just made).
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientOut {
    /// Row id (for `/clients/{id}`).
    pub id: String,
    /// The OAuth2 `client_id`.
    pub client_id: String,
    /// Name.
    pub name: String,
    /// The station it speaks for.
    pub station: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Where its slips' webhooks go.
    pub webhook_url: Option<String>,
    /// Disabled clients get no tokens and their tokens stop working.
    pub disabled: bool,
    /// Registered.
    pub created_at: DateTime<Utc>,
    /// The client secret: shown once, when made or rotated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// The webhook signing secret (`whsec_…`): shown once, when made or rotated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_secret: Option<String>,
}

fn client_out(c: client::Model) -> ClientOut {
    ClientOut {
        id: c.id.to_string(),
        client_id: c.client_id,
        name: c.name,
        station: c.station,
        scopes: c
            .scopes
            .split(';')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        webhook_url: c.webhook_url,
        disabled: c.disabled,
        created_at: c.created_at,
        client_secret: None,
        webhook_secret: None,
    }
}

impl From<Issued> for ClientOut {
    fn from(i: Issued) -> Self {
        ClientOut {
            client_secret: i.client_secret,
            webhook_secret: i.webhook_secret,
            ..client_out(i.client)
        }
    }
}

/// A new machine client.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct ClientIn {
    /// Name, 1–100 characters.
    #[validate(custom(function = "wire::label"))]
    #[schema(schema_with = wire::label_schema)]
    pub name: String,
    /// The station it speaks for, 1–100 characters.
    #[validate(custom(function = "wire::label"))]
    #[schema(schema_with = wire::label_schema)]
    pub station: String,
    /// Where its slips' webhooks go (http or https); blank for none.
    #[validate(custom(function = "wire::webhook_url_or_blank"))]
    #[schema(schema_with = wire::optional_webhook_url_schema)]
    pub webhook_url: Option<String>,
    /// Scopes: `slips`.
    #[validate(custom(function = "wire::scopes"))]
    #[schema(schema_with = wire::scopes_schema)]
    pub scopes: Vec<String>,
}

/// Register a machine client (admins): its secrets are shown once.
#[utoipa::path(post, path = "/api/v1/clients", tag = "clients", security(("bearer" = [])), request_body = ClientIn,
    responses((status = 201, body = ClientOut), (status = 403, description = "not an admin"), (status = 422, description = "invalid field")))]
pub async fn create_client(
    state: web::Data<AppState>,
    user: AuthUser,
    body: Valid<ClientIn>,
) -> ApiResult<HttpResponse> {
    user.require_admin()?;
    let body = body.0;
    let new = NewClient {
        name: body.name.trim().to_owned(),
        station: body.station.trim().to_owned(),
        scopes: body.scopes,
        webhook_url: body.webhook_url.filter(|u| !u.is_empty()),
    };
    let (actor, now) = (user.actor(), state.clock.now());
    let issued = clients::create(&state.db, &state.sealer, new, actor, now).await?;
    tracing::info!(client = %issued.client.client_id, by = %user.id, "client registered");
    Ok(HttpResponse::Created().json(ClientOut::from(issued)))
}

/// Every machine client (admins).
#[utoipa::path(get, path = "/api/v1/clients", tag = "clients", security(("bearer" = [])),
    responses((status = 200, body = [ClientOut]), (status = 403, description = "not an admin")))]
pub async fn list_clients(state: web::Data<AppState>, user: AuthUser) -> ApiResult<HttpResponse> {
    user.require_admin()?;
    let all = clients::list(&state.db).await?;
    Ok(HttpResponse::Ok().json(all.into_iter().map(client_out).collect::<Vec<_>>()))
}

/// One machine client (admins).
#[utoipa::path(get, path = "/api/v1/clients/{id}", tag = "clients", security(("bearer" = [])),
    responses((status = 200, body = ClientOut), (status = 404, description = "no such client")))]
pub async fn get_client(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    user.require_admin()?;
    let id: Uuid = parse_id("id", &id)?;
    Ok(HttpResponse::Ok().json(client_out(clients::get(&state.db, id).await?)))
}

/// Changes to a machine client; absent fields stay.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct ClientPatch {
    /// New name.
    #[validate(custom(function = "wire::label"))]
    #[schema(schema_with = wire::optional_label_schema)]
    pub name: Option<String>,
    /// New webhook URL; blank removes it.
    #[validate(custom(function = "wire::webhook_url_or_blank"))]
    #[schema(schema_with = wire::optional_webhook_url_schema)]
    pub webhook_url: Option<String>,
    /// New scopes.
    #[validate(custom(function = "wire::scopes"))]
    #[schema(schema_with = wire::optional_scopes_schema)]
    pub scopes: Option<Vec<String>>,
    /// Disable (its tokens stop at once) or re-enable.
    pub disabled: Option<bool>,
    /// Issue a new client secret (shown once; the old one and its tokens stop at once).
    #[serde(default)]
    pub rotate_secret: bool,
    /// Issue a new webhook secret (shown once).
    #[serde(default)]
    pub rotate_webhook_secret: bool,
}

/// Change, rotate the secrets of, or disable a machine client (admins).
#[utoipa::path(patch, path = "/api/v1/clients/{id}", tag = "clients", security(("bearer" = [])), request_body = ClientPatch,
    responses((status = 200, body = ClientOut), (status = 404, description = "no such client"), (status = 422, description = "invalid field")))]
pub async fn update_client(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
    body: Valid<ClientPatch>,
) -> ApiResult<HttpResponse> {
    user.require_admin()?;
    let id: Uuid = parse_id("id", &id)?;
    let body = body.0;
    let change = ClientChange {
        name: body.name.map(|n| n.trim().to_owned()),
        webhook_url: body.webhook_url.map(|u| Some(u).filter(|u| !u.is_empty())),
        scopes: body.scopes,
        disabled: body.disabled,
        rotate_secret: body.rotate_secret,
        rotate_webhook_secret: body.rotate_webhook_secret,
    };
    let (actor, now) = (user.actor(), state.clock.now());
    let issued = clients::update(&state.db, &state.sealer, id, change, actor, now).await?;
    tracing::info!(client = %issued.client.client_id, by = %user.id, "client changed");
    Ok(HttpResponse::Ok().json(ClientOut::from(issued)))
}

/// Disable a machine client (admins): its tokens stop working at once; its
/// slips keep their history.
#[utoipa::path(delete, path = "/api/v1/clients/{id}", tag = "clients", security(("bearer" = [])),
    responses((status = 204, description = "disabled"), (status = 404, description = "no such client")))]
pub async fn disable_client(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    user.require_admin()?;
    let id: Uuid = parse_id("id", &id)?;
    let change = ClientChange {
        disabled: Some(true),
        ..ClientChange::default()
    };
    let (actor, now) = (user.actor(), state.clock.now());
    clients::update(&state.db, &state.sealer, id, change, actor, now).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A token request (RFC 6749 §4.4.2), as a form or as JSON; the client's
/// credentials may come in the body or as HTTP Basic (§2.3.1).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct TokenRequest {
    /// `client_credentials`.
    #[schema(schema_with = grant_type_schema)]
    pub grant_type: String,
    /// The client id (unless sent as HTTP Basic).
    pub client_id: Option<String>,
    /// The client secret (unless sent as HTTP Basic).
    pub client_secret: Option<String>,
    /// Scopes asked for, space-separated (default: all the client holds).
    pub scope: Option<String>,
}

fn grant_type_schema() -> utoipa::openapi::schema::Schema {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::new(
            utoipa::openapi::Type::String,
        ))
        .enum_values(Some(["client_credentials"]))
        .into()
}

/// An access token (RFC 6749 §5.1).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// Send as `Authorization: Bearer <token>`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until it stops working.
    pub expires_in: i64,
    /// The scopes granted, space-separated.
    pub scope: String,
}

/// Get a client token by the client-credentials grant (form-encoded or JSON).
#[utoipa::path(post, path = "/api/v1/oauth/token", tag = "clients", request_body(content = TokenRequest, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, body = TokenResponse), (status = 400, description = "unsupported grant or scope"),
        (status = 401, description = "wrong client id or secret, or a disabled client"), (status = 429, description = "too many attempts")))]
pub async fn token(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    let mut asked = read_token_request(&req, &body)?;
    if let Some((id, secret)) = basic_credentials(&req) {
        asked.client_id = Some(id);
        asked.client_secret = Some(secret);
    }
    if asked.grant_type != "client_credentials" {
        return Err(ApiError::bad_request(Some("grant_type"), &p::GRANT_TYPE));
    }
    let (Some(id), Some(secret)) = (asked.client_id, asked.client_secret) else {
        return Err(ApiError::Unauthorized(&p::CLIENT_ID_CLIENT_SECRET_REQUIRED));
    };
    let c = clients::authenticate(&state.db, &id, &secret)
        .await?
        .ok_or(ApiError::Unauthorized(&p::CLIENT_ID_SECRET_WRONG_CLIENT))?;
    let scope = granted_scope(&c, asked.scope.as_deref())?;
    let issued = state.tokens.issue_client(c.id, &scope, c.token_version)?;
    tracing::info!(client = %c.client_id, scope = %scope, "client token issued");
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(TokenResponse {
            access_token: issued.token,
            token_type: "Bearer",
            expires_in: (issued.expires_at - crate::clock::wall()).num_seconds(),
            scope,
        }))
}

/// The scopes a token for `c` carries: those asked for (space-separated),
/// each held by the client, or all it holds.
fn granted_scope(c: &client::Model, asked: Option<&str>) -> ApiResult<String> {
    let held: Vec<&str> = c.scopes.split(';').filter(|s| !s.is_empty()).collect();
    let granted: Vec<&str> = match asked.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => s.split(' ').filter(|s| !s.is_empty()).collect(),
        None => held.clone(),
    };
    if let Some(bad) = granted.iter().find(|s| !held.contains(s)) {
        return Err(ApiError::bad_request(
            Some("scope"),
            p::SCOPE_NOT_HELD.with("scope", *bad),
        ));
    }
    Ok(granted.join(" "))
}

fn read_token_request(req: &HttpRequest, body: &[u8]) -> ApiResult<TokenRequest> {
    let ct = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if body.is_empty() {
        return Ok(TokenRequest::default());
    }
    if ct.starts_with("application/json") {
        serde_json::from_slice(body).map_err(|e| {
            ApiError::bad_request(None, p::TOKEN_REQUEST.with("reason", e.to_string()))
        })
    } else if ct.starts_with("application/x-www-form-urlencoded") {
        serde_urlencoded::from_bytes(body).map_err(|e| {
            ApiError::bad_request(None, p::TOKEN_REQUEST.with("reason", e.to_string()))
        })
    } else {
        Err(ApiError::UnsupportedMediaType(
            "application/x-www-form-urlencoded",
        ))
    }
}

/// `Authorization: Basic base64(client_id:client_secret)`, each part
/// form-encoded (RFC 6749 §2.3.1).
fn basic_credentials(req: &HttpRequest) -> Option<(String, String)> {
    let h = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, value) = h.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (id, secret) = text.split_once(':')?;
    let decode = |s: &str| {
        form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((decode(id)?, decode(secret)?))
}

/// One webhook message to a client and how its delivery went.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryOut {
    /// Row id (for redelivery).
    pub id: i64,
    /// The `webhook-id` the station receives (the same on every attempt).
    pub message_id: String,
    /// `order.assigned`, `order.arrived`, …
    pub kind: String,
    /// The order.
    pub order_id: String,
    /// `pending`, `delivered` or `failed` (given up).
    pub status: String,
    /// Attempts so far.
    pub attempts: i32,
    /// The HTTP status of the last attempt, if it got one.
    pub last_status: Option<i32>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When it was last tried.
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// When it is tried next (while pending).
    pub next_attempt_at: DateTime<Utc>,
    /// When the station took it.
    pub delivered_at: Option<DateTime<Utc>>,
    /// Queued.
    pub created_at: DateTime<Utc>,
}

impl From<crate::entities::webhook_delivery::Model> for DeliveryOut {
    fn from(d: crate::entities::webhook_delivery::Model) -> Self {
        DeliveryOut {
            id: d.id,
            message_id: d.message_id,
            kind: d.kind,
            order_id: d.order_id.to_string(),
            status: d.status,
            attempts: d.attempts,
            last_status: d.last_status,
            last_error: d.last_error,
            last_attempt_at: d.last_attempt_at,
            next_attempt_at: d.next_attempt_at,
            delivered_at: d.delivered_at,
            created_at: d.created_at,
        }
    }
}

/// A client's webhook deliveries, newest first (admins).
#[utoipa::path(get, path = "/api/v1/clients/{id}/deliveries", tag = "clients", security(("bearer" = [])), params(crate::routes::PageParams),
    responses((status = 200, body = crate::routes::Page<DeliveryOut>), (status = 404, description = "no such client")))]
pub async fn deliveries(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
    paging: crate::extract::Query<crate::routes::PageParams>,
) -> ApiResult<HttpResponse> {
    user.require_admin()?;
    let id: Uuid = parse_id("id", &id)?;
    clients::get(&state.db, id).await?;
    let (page, per_page) = paging.checked()?;
    let (rows, total) = clients::deliveries(&state.db, id, page, per_page).await?;
    Ok(HttpResponse::Ok().json(crate::routes::Page {
        items: rows.into_iter().map(DeliveryOut::from).collect::<Vec<_>>(),
        total,
        page,
        per_page,
    }))
}

/// Send a delivery again now (admins): a given-up or delivered message is
/// queued again with the same `webhook-id`, so the station can drop a repeat.
#[utoipa::path(post, path = "/api/v1/clients/{id}/deliveries/{delivery_id}/redeliver", tag = "clients", security(("bearer" = [])),
    params(("id" = String, Path, description = "The client's id"), ("delivery_id" = i64, Path, description = "The delivery's id")),
    responses((status = 200, body = DeliveryOut), (status = 404, description = "no such delivery")))]
pub async fn redeliver(
    state: web::Data<AppState>,
    user: AuthUser,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    user.require_admin()?;
    let (id, delivery) = path.into_inner();
    let id: Uuid = parse_id("id", &id)?;
    let delivery: i64 = delivery
        .parse()
        .map_err(|_| ApiError::invalid("delivery_id", &p::NOT_DELIVERY_ID))?;
    let d = clients::redeliver(&state.db, id, delivery, user.actor(), state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(DeliveryOut::from(d)))
}
