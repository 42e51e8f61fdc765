//! Station slips (警单) from a station's system, by client token: placed
//! once per slip number, read back, and closed by the station (双向闭环).
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;
use zhongdui_domain::text::phrases as p;
use zhongdui_domain::{GeoPoint, OrderSource, Phone};

use crate::auth::ClientAuth;
use crate::error::{ApiError, ApiResult};
use crate::extract::Valid;
use crate::lifecycle;
use crate::routes::orders::{OrderOut, View};
use crate::routes::parse_id;
use crate::services::orders::{self, NewOrder};
use crate::state::AppState;
use crate::wire::{self, trimmed};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/slips", web::post().to(create_slip))
        .route("/slips/{external_id}", web::get().to(get_slip))
        .route("/slips/{external_id}/close", web::post().to(close_slip));
}

/// A slip from a station's system.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct SlipIn {
    /// The station's own slip number (警单号), unique per client: the same number again returns the same order.
    #[validate(custom(function = "wire::slip_number"))]
    #[schema(schema_with = wire::slip_number_schema)]
    pub external_id: String,
    /// Category code.
    #[validate(custom(function = "wire::category"))]
    #[schema(schema_with = wire::category_schema)]
    pub category: String,
    /// Latitude.
    #[validate(range(min = -90.0, max = 90.0))]
    #[schema(minimum = -90, maximum = 90)]
    pub lat: f64,
    /// Longitude.
    #[validate(range(min = -180.0, max = 180.0))]
    #[schema(minimum = -180, maximum = 180)]
    pub lon: f64,
    /// Address, 1–200 characters.
    #[validate(custom(function = "wire::address"))]
    #[schema(schema_with = wire::address_schema)]
    pub address: String,
    /// What is needed, 1–2000 characters.
    #[validate(custom(function = "wire::description"))]
    #[schema(schema_with = wire::description_schema)]
    pub description: String,
    /// Volunteers needed (1–20, default 1).
    #[serde(default, deserialize_with = "wire::optional_integer")]
    #[validate(range(min = 1, max = 20))]
    #[schema(minimum = 1, maximum = 20)]
    pub headcount: Option<i64>,
    /// low, normal (default), urgent, critical.
    #[validate(custom(function = "wire::urgency"))]
    #[schema(schema_with = wire::urgency_schema)]
    pub urgency: Option<String>,
    /// Phone to call on scene; blank for none.
    #[validate(custom(function = "wire::phone_or_blank"))]
    #[schema(schema_with = wire::optional_phone_schema)]
    pub contact_phone: Option<String>,
    /// Teams offered the slip first, together (up to 10); then everyone nearby.
    #[validate(custom(function = "wire::team_ids"))]
    #[schema(schema_with = wire::optional_team_ids_schema)]
    pub target_team_ids: Option<Vec<String>>,
    /// A joint incident's roles (up to 10, e.g. 1 × first_aid and 2 × traffic):
    /// the headcount is their sum, each volunteer fills one role.
    #[validate(custom(function = "wire::roles"))]
    #[schema(schema_with = wire::optional_roles_schema)]
    pub roles: Option<Vec<wire::RoleIn>>,
}

/// Post a slip (client token with scope `slips`): 201 with the new order,
/// or 200 with the order already placed for this slip number.
#[utoipa::path(post, path = "/api/v1/slips", tag = "slips", security(("bearer" = [])), request_body = SlipIn,
    responses((status = 201, body = OrderOut), (status = 200, body = OrderOut, description = "this slip number was placed before: the same order"),
        (status = 401, description = "not a client token"), (status = 403, description = "no `slips` scope"), (status = 422, description = "invalid field")))]
pub async fn create_slip(
    state: web::Data<AppState>,
    client: ClientAuth,
    body: Valid<SlipIn>,
) -> ApiResult<HttpResponse> {
    client.require_scope("slips")?;
    let c = &client.client;
    let body = body.0;
    // A repeat is answered before any limit: it creates nothing.
    if let Some(o) = orders::slip(&state.db, c.id, &body.external_id).await? {
        let out = crate::routes::orders::detail(&state, &o, View::Staff, c.id).await?;
        return Ok(HttpResponse::Ok().json(out));
    }
    state.limits.orders_by_staff.check(&c.id)?;
    let new = new_slip(&state, c, body).await?;
    let (o, placed) = lifecycle::place_slip(&state, client.actor(), new).await?;
    let out = crate::routes::orders::detail(&state, &o, View::Staff, c.id).await?;
    if placed {
        tracing::info!(order_id = %o.id, code = %o.code, client = %c.client_id, "slip placed");
        Ok(HttpResponse::Created().json(out))
    } else {
        Ok(HttpResponse::Ok().json(out))
    }
}

/// The order to place for slip `body` of client `c`: its teams must exist.
async fn new_slip(
    state: &AppState,
    c: &crate::entities::client::Model,
    body: SlipIn,
) -> ApiResult<NewOrder> {
    let mut teams: Vec<Uuid> = Vec::new();
    for raw in body.target_team_ids.unwrap_or_default() {
        let t: Uuid = parse_id("target_team_ids", &raw)?;
        if !teams.contains(&t) {
            teams.push(t);
        }
    }
    orders::ensure_teams_exist(&state.db, &teams, "target_team_ids").await?;
    let contact_phone = match body
        .contact_phone
        .as_deref()
        .filter(|p| !p.trim().is_empty())
    {
        Some(p) => Some(Phone::parse(p)?.as_str().to_owned()),
        None => None,
    };
    let roles = wire::role_slots(body.roles.as_deref())?;
    let mut errors = crate::services::roster::Errors::default();
    crate::routes::orders::check_headcount(&roles, body.headcount, &mut errors);
    errors.finish()?;
    Ok(NewOrder {
        roles,
        category: body.category.parse()?,
        at: GeoPoint::parse(body.lat, body.lon)?,
        address: body.address.trim().to_owned(),
        description: body.description.trim().to_owned(),
        headcount: i32::try_from(body.headcount.unwrap_or(1)).unwrap_or(1),
        urgency: body.urgency.as_deref().unwrap_or("normal").parse()?,
        contact_phone,
        source: OrderSource::Station,
        resident_id: None,
        target_team_ids: teams,
        station: Some(c.station.clone()),
        slip: Some((c.id, body.external_id)),
        on_behalf_of: Some(c.created_by),
    })
}

/// A slip this client posted, with its assignments and audit trail.
#[utoipa::path(get, path = "/api/v1/slips/{external_id}", tag = "slips", security(("bearer" = [])),
    responses((status = 200, body = OrderOut), (status = 404, description = "no slip with this number from this client")))]
pub async fn get_slip(
    state: web::Data<AppState>,
    client: ClientAuth,
    external_id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    client.require_scope("slips")?;
    let c = &client.client;
    let o = orders::slip(&state.db, c.id, &external_id)
        .await?
        .ok_or(ApiError::NotFound(&p::NOUN_SLIP))?;
    let out = crate::routes::orders::detail(&state, &o, View::Staff, c.id).await?;
    Ok(HttpResponse::Ok().json(out))
}

/// The station's closing of a slip.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct CloseIn {
    /// resolved, referred, unfounded or withdrawn.
    #[validate(custom(function = "wire::slip_outcome"))]
    #[schema(schema_with = wire::slip_outcome_schema)]
    pub outcome: String,
    /// The station's note, up to 2000 characters.
    #[validate(custom(function = "wire::note"))]
    #[schema(schema_with = wire::note_schema)]
    pub note: Option<String>,
}

/// Close the loop on a slip (双向闭环): the station's outcome and note go
/// into the order's audit trail, once.
#[utoipa::path(post, path = "/api/v1/slips/{external_id}/close", tag = "slips", security(("bearer" = [])), request_body = CloseIn,
    responses((status = 200, body = OrderOut), (status = 404, description = "no such slip"), (status = 409, description = "closed already")))]
pub async fn close_slip(
    state: web::Data<AppState>,
    client: ClientAuth,
    external_id: web::Path<String>,
    body: Valid<CloseIn>,
) -> ApiResult<HttpResponse> {
    client.require_scope("slips")?;
    let c = &client.client;
    let o = orders::slip(&state.db, c.id, &external_id)
        .await?
        .ok_or(ApiError::NotFound(&p::NOUN_SLIP))?;
    let note = trimmed(body.0.note.as_deref());
    let o = lifecycle::close_slip(&state, client.actor(), &o, &body.0.outcome, note).await?;
    let out = crate::routes::orders::detail(&state, &o, View::Staff, c.id).await?;
    Ok(HttpResponse::Ok().json(out))
}
