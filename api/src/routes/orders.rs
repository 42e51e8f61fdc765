//! Orders (点单) and what people do with them.
use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;
use zhongdui_domain::{
    CancelledBy, Category, GeoPoint, OrderAction, OrderStatus, Phone, Role, Urgency,
};

use crate::auth::AuthUser;
use crate::entities::{assignment, order, order_event, team, user, volunteer};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Query, Valid};
use crate::lifecycle::Work;
use crate::routes::{Page, PageParams, parse_day, parse_id};
use crate::services::orders::{self, Actor, NewOrder};
use crate::services::points;
use crate::services::roster::Errors;
use crate::state::AppState;
use crate::wire::{self, trimmed};
use zhongdui_domain::AssignmentState;
use zhongdui_domain::{ClaimHow, OrderSource};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/orders")
            .route(web::get().to(list_orders))
            .route(web::post().to(create_order)),
    )
    .route("/orders/{id}", web::get().to(get_order))
    .route("/orders/{id}/grab", web::post().to(grab))
    .route("/orders/{id}/arrive", web::post().to(arrive))
    .route("/orders/{id}/complete", web::post().to(complete))
    .route("/orders/{id}/cancel", web::post().to(cancel))
    .route("/orders/{id}/confirm", web::post().to(confirm))
    .route("/orders/{id}/assign", web::post().to(assign))
    .route("/orders/{id}/redispatch", web::post().to(redispatch))
    .route("/escalations", web::get().to(escalations))
    .route("/ops/index/{volunteer_id}", web::get().to(index_entry));
}

/// A volunteer on (or offered) an order.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssignmentOut {
    /// Assignment (offer) id.
    pub id: String,
    /// Volunteer id.
    pub volunteer_id: String,
    /// Volunteer name.
    pub volunteer_name: String,
    /// Their team.
    pub team_name: Option<String>,
    /// Phone: to staff always; to the resident once the volunteer accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volunteer_phone: Option<String>,
    /// offered, accepted, declined, expired, withdrawn, arrived, completed, cancelled, removed.
    pub state: String,
    /// offer, batch, grab or manual.
    pub how: String,
    /// Wave number (offers).
    pub wave: i32,
    /// Distance when offered or grabbed.
    pub distance_m: Option<f64>,
    /// When offered (or taken).
    pub offered_at: DateTime<Utc>,
    /// Answer deadline of an offer.
    pub deadline: Option<DateTime<Utc>>,
    /// Arrived.
    pub arrived_at: Option<DateTime<Utc>>,
    /// Completed.
    pub completed_at: Option<DateTime<Utc>>,
    /// Completion note.
    pub note: Option<String>,
    /// The volunteer's last reported latitude: only while this assignment is
    /// active (accepted or arrived), and only to the resident who placed the
    /// order, staff, and the volunteer themself; otherwise null.
    pub lat: Option<f64>,
    /// The volunteer's last reported longitude (same rule as `lat`).
    pub lon: Option<f64>,
    /// When the volunteer reported that position (same rule as `lat`).
    pub location_at: Option<DateTime<Utc>>,
}

/// One entry of the audit trail.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventOut {
    /// Sequence id.
    pub id: i64,
    /// What happened.
    pub kind: String,
    /// Who (absent: the dispatcher).
    pub actor_id: Option<String>,
    /// Their role.
    pub actor_role: Option<String>,
    /// Status before.
    pub from_status: Option<String>,
    /// Status after.
    pub to_status: Option<String>,
    /// Details.
    #[schema(value_type = Object)]
    pub data: Option<serde_json::Value>,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// An order.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrderOut {
    /// Id.
    pub id: String,
    /// Human-readable code, e.g. ZD-20261123-0042.
    pub code: String,
    /// Status.
    pub status: String,
    /// Category code.
    pub category: String,
    /// Skills needed.
    pub required_skills: Vec<String>,
    /// Difficulty tier.
    pub tier: i16,
    /// Urgency.
    pub urgency: String,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// Address.
    pub address: String,
    /// Description.
    pub description: String,
    /// Volunteers needed.
    pub headcount: i32,
    /// Volunteers on it.
    pub filled: i32,
    /// resident, coordinator or station.
    pub source: String,
    /// Station (slips).
    pub station: Option<String>,
    /// Team asked first (slips).
    pub target_team_id: Option<String>,
    /// Contact phone, masked to volunteers who have not accepted.
    pub contact_phone: Option<String>,
    /// Current wave.
    pub wave: i32,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// First volunteer accepted.
    pub first_accepted_at: Option<DateTime<Utc>>,
    /// Escalated to coordinators.
    pub escalated_at: Option<DateTime<Utc>>,
    /// Completed by the volunteers.
    pub completed_at: Option<DateTime<Utc>>,
    /// Closed (confirmed or auto-closed).
    pub closed_at: Option<DateTime<Utc>>,
    /// Cancelled.
    pub cancelled_at: Option<DateTime<Utc>>,
    /// Why cancelled.
    pub cancel_reason: Option<String>,
    /// Resident's rating 1–5.
    pub rating: Option<i16>,
    /// Resident's feedback.
    pub feedback: Option<String>,
    /// Distance from the caller (nearby tasks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distance_m: Option<f64>,
    /// Volunteers offered / on it (detail view).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignments: Option<Vec<AssignmentOut>>,
    /// Audit trail (detail view, not for volunteers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<EventOut>>,
}

/// How much of an order the caller may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Coordinators and admins.
    Staff,
    /// The resident it belongs to.
    Owner,
    /// A volunteer on it (accepted).
    Assigned,
    /// A volunteer offered it or browsing it.
    Prospect,
}

/// The wire form of an order for a viewer.
pub fn order_out(o: &order::Model, view: View) -> OrderOut {
    let phone = o.contact_phone.as_ref().map(|p| match view {
        View::Prospect => Phone::parse(p)
            .map(|p| p.masked())
            .unwrap_or_else(|_| "***".to_owned()),
        _ => p.clone(),
    });
    OrderOut {
        id: o.id.to_string(),
        code: o.code.clone(),
        status: o.status.clone(),
        category: o.category.clone(),
        required_skills: o
            .required_skills
            .split(';')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        tier: o.tier,
        urgency: o.urgency.clone(),
        lat: o.lat,
        lon: o.lon,
        address: o.address.clone(),
        description: o.description.clone(),
        headcount: o.headcount,
        filled: o.filled,
        source: o.source.clone(),
        station: o.station.clone(),
        target_team_id: o.target_team_id.map(|t| t.to_string()),
        contact_phone: phone,
        wave: o.wave,
        created_at: o.created_at,
        first_accepted_at: o.first_accepted_at,
        escalated_at: o.escalated_at,
        completed_at: o.completed_at,
        closed_at: o.closed_at,
        cancelled_at: o.cancelled_at,
        cancel_reason: o.cancel_reason.clone(),
        rating: o.rating,
        feedback: o.feedback.clone(),
        distance_m: None,
        assignments: None,
        events: None,
    }
}

/// An order with its assignments (and events, for its resident and staff),
/// as `viewer` may see it.
async fn detail(
    state: &AppState,
    o: &order::Model,
    view: View,
    viewer: Uuid,
) -> ApiResult<OrderOut> {
    let mut out = order_out(o, view);
    let rows = orders::assignments_of(&state.db, o.id).await?;
    let ids: Vec<Uuid> = rows.iter().map(|a| a.volunteer_id).collect();
    let users: HashMap<Uuid, user::Model> = user::Entity::find()
        .filter(user::Column::Id.is_in(ids.clone()))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    let vols: HashMap<Uuid, volunteer::Model> = volunteer::Entity::find()
        .filter(volunteer::Column::Id.is_in(ids))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|v| (v.id, v))
        .collect();
    let teams: HashMap<Uuid, String> = team::Entity::find()
        .filter(team::Column::Id.is_in(vols.values().map(|v| v.team_id).collect::<Vec<_>>()))
        .all(&state.db)
        .await?
        .into_iter()
        .map(|t| (t.id, t.name))
        .collect();
    let states = rows
        .iter()
        .map(|a| Ok((a.id, a.state()?)))
        .collect::<ApiResult<HashMap<Uuid, AssignmentState>>>()?;
    let on_it = |a: &assignment::Model| states.get(&a.id).is_some_and(|s| s.is_on_order());
    // Where a volunteer is: while they are on their way or on scene, to the
    // order's resident and staff, and to the volunteer themself.
    let sees_position = |a: &assignment::Model| {
        states.get(&a.id).is_some_and(|s| s.holds_capacity())
            && match view {
                View::Staff | View::Owner => true,
                View::Assigned | View::Prospect => a.volunteer_id == viewer,
            }
    };
    out.assignments = Some(
        rows.iter()
            .filter(|a| match view {
                View::Staff => true,
                // Residents and volunteers see who is coming, not who was asked.
                _ => on_it(a),
            })
            .map(|a| {
                let u = users.get(&a.volunteer_id);
                let v = vols.get(&a.volunteer_id);
                let pos = v
                    .filter(|_| sees_position(a))
                    .and_then(|v| Some((v.lat?, v.lon?, v.location_at)));
                AssignmentOut {
                    id: a.id.to_string(),
                    volunteer_id: a.volunteer_id.to_string(),
                    volunteer_name: u.map(|u| u.display_name.clone()).unwrap_or_default(),
                    team_name: v.and_then(|v| teams.get(&v.team_id)).cloned(),
                    volunteer_phone: match view {
                        View::Staff | View::Owner if on_it(a) || view == View::Staff => {
                            u.map(|u| u.phone.clone())
                        }
                        _ => None,
                    },
                    state: a.state.clone(),
                    how: a.how.clone(),
                    wave: a.wave,
                    distance_m: a.distance_m,
                    offered_at: a.offered_at,
                    deadline: a.deadline,
                    arrived_at: a.arrived_at,
                    completed_at: a.completed_at,
                    note: a.note.clone(),
                    lat: pos.map(|p| p.0),
                    lon: pos.map(|p| p.1),
                    location_at: pos.and_then(|p| p.2),
                }
            })
            .collect(),
    );
    if matches!(view, View::Staff | View::Owner) {
        let events = orders::events_of(&state.db, o.id).await?;
        out.events = Some(events.into_iter().map(event_out).collect());
    }
    Ok(out)
}

fn event_out(e: order_event::Model) -> EventOut {
    EventOut {
        id: e.id,
        kind: e.kind,
        actor_id: e.actor_id.map(|a| a.to_string()),
        actor_role: e.actor_role,
        from_status: e.from_status,
        to_status: e.to_status,
        data: e.data,
        created_at: e.created_at,
    }
}

/// What the caller may see of `o`, or 404 (nothing is revealed about orders
/// the caller has no part in).
async fn view_of(state: &AppState, user: &AuthUser, o: &order::Model) -> ApiResult<View> {
    match user.role {
        Role::Admin | Role::Coordinator => Ok(View::Staff),
        Role::Resident
            if o.resident_id == Some(user.id.as_uuid()) || o.created_by == user.id.as_uuid() =>
        {
            Ok(View::Owner)
        }
        Role::Volunteer => {
            let mine = assignment::Entity::find()
                .filter(assignment::Column::OrderId.eq(o.id))
                .filter(assignment::Column::VolunteerId.eq(user.id.as_uuid()))
                .one(&state.db)
                .await?;
            match mine {
                Some(a) if a.state()?.is_on_order() => Ok(View::Assigned),
                Some(_) => Ok(View::Prospect),
                // An open order they could grab: within the grab radius of
                // their last position (what /tasks/nearby would show them).
                None if (OrderStatus::Open.code() == o.status
                    || OrderStatus::Escalated.code() == o.status)
                    && within_grab_radius(state, user.id.as_uuid(), o).await? =>
                {
                    Ok(View::Prospect)
                }
                None => Err(ApiError::NotFound("order")),
            }
        }
        _ => Err(ApiError::NotFound("order")),
    }
}

async fn within_grab_radius(
    state: &AppState,
    volunteer: Uuid,
    o: &order::Model,
) -> ApiResult<bool> {
    let v = volunteer::Entity::find_by_id(volunteer)
        .one(&state.db)
        .await?;
    let Some((lat, lon)) = v.and_then(|v| Some((v.lat?, v.lon?))) else {
        return Ok(false);
    };
    let d = GeoPoint::parse(lat, lon)?.distance_m(&o.point()?);
    Ok(d <= state.settings.dispatch.grab_radius_m)
}

/// Whether a coordinator may change `o` (cancel it, send it out again):
/// admins any order; a coordinator an escalated order (the city's shared
/// queue), an order sent to one of their teams first, one a volunteer of
/// their teams is on, or one they placed. Everyone on staff may read every order.
async fn may_manage(state: &AppState, user: &AuthUser, o: &order::Model) -> ApiResult<bool> {
    match user.role {
        Role::Admin => return Ok(true),
        Role::Coordinator => {}
        _ => return Ok(false),
    }
    if o.status == OrderStatus::Escalated.code() || o.created_by == user.id.as_uuid() {
        return Ok(true);
    }
    let mine: Vec<Uuid> = user
        .coordinated_teams(state)
        .await?
        .into_iter()
        .map(|t| t.as_uuid())
        .collect();
    if o.target_team_id.is_some_and(|t| mine.contains(&t)) {
        return Ok(true);
    }
    let on_it = assignment::volunteers_where(
        &orders::assignments_of(&state.db, o.id).await?,
        AssignmentState::is_on_order,
    )?;
    if on_it.is_empty() {
        return Ok(false);
    }
    let teams = volunteer::Entity::find()
        .filter(volunteer::Column::Id.is_in(on_it))
        .all(&state.db)
        .await?;
    Ok(teams.iter().any(|v| mine.contains(&v.team_id)))
}

fn not_yours() -> ApiError {
    ApiError::forbidden(
        "coordinators may change escalated orders, orders sent to their teams, orders their \
         teams' volunteers are on, and orders they placed",
    )
}

/// A new order.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct OrderIn {
    /// Category code.
    #[validate(custom(function = "wire::category"))]
    #[schema(schema_with = wire::category_schema)]
    pub category: String,
    /// Latitude.
    #[validate(range(min = -90.0, max = 90.0, message = "latitude must be a number between -90 and 90"))]
    #[schema(minimum = -90, maximum = 90)]
    pub lat: f64,
    /// Longitude.
    #[validate(range(min = -180.0, max = 180.0, message = "longitude must be a number between -180 and 180"))]
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
    #[validate(range(min = 1, max = 20, message = "must be between 1 and 20"))]
    #[schema(minimum = 1, maximum = 20)]
    pub headcount: Option<i64>,
    /// low, normal (default), urgent, critical.
    #[validate(custom(function = "wire::urgency"))]
    #[schema(schema_with = wire::urgency_schema)]
    pub urgency: Option<String>,
    /// Phone to call (default: the resident's); blank for none.
    #[validate(custom(function = "wire::phone_or_blank"))]
    #[schema(schema_with = wire::optional_phone_schema)]
    pub contact_phone: Option<String>,
    /// `resident` (residents' own orders, the default for them); staff:
    /// `coordinator` (on a resident's behalf, their default) or `station` (a dispatch slip).
    #[validate(custom(function = "wire::order_source"))]
    #[schema(schema_with = wire::order_source_schema)]
    pub source: Option<String>,
    /// Staff only: the resident's phone, if they have an account; blank for none.
    #[validate(custom(function = "wire::phone_or_blank"))]
    #[schema(schema_with = wire::optional_phone_schema)]
    pub resident_phone: Option<String>,
    /// Staff only: station name for a slip.
    #[validate(custom(function = "wire::short_text"))]
    #[schema(schema_with = wire::short_text_schema)]
    pub station: Option<String>,
    /// Staff only: offer to this team first; blank for none.
    #[validate(custom(function = "wire::id_or_blank"))]
    #[schema(schema_with = wire::optional_id_schema)]
    pub target_team_id: Option<String>,
}

/// Place an order (residents for themselves; coordinators on a resident's or station's behalf).
#[utoipa::path(post, path = "/api/v1/orders", tag = "orders", security(("bearer" = [])), request_body = OrderIn,
    responses((status = 201, body = OrderOut), (status = 403, description = "volunteers cannot place orders"), (status = 422, description = "invalid field")))]
pub async fn create_order(
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
    user: AuthUser,
    body: Valid<OrderIn>,
) -> ApiResult<HttpResponse> {
    if user.role == Role::Volunteer {
        return Err(ApiError::forbidden(
            "volunteers place orders through a coordinator or a resident account",
        ));
    }
    let body = body.0;
    let category: Category = body.category.parse()?;
    let at = GeoPoint::parse(body.lat, body.lon)?;
    let address = body.address.trim().to_owned();
    let description = body.description.trim().to_owned();
    let headcount = body.headcount.unwrap_or(1);
    let urgency: Urgency = body.urgency.as_deref().unwrap_or("normal").parse()?;
    let phone_of = |p: Option<&str>| -> ApiResult<Option<Phone>> {
        Ok(match p.filter(|p| !p.trim().is_empty()) {
            Some(p) => Some(Phone::parse(p)?),
            None => None,
        })
    };
    let contact_phone = phone_of(body.contact_phone.as_deref())?;
    let resident_phone = phone_of(body.resident_phone.as_deref())?;
    let staff = user.role.is_staff();
    // Who may set what depends on the caller's role.
    let mut errors = Errors::default();
    let asked = body
        .source
        .as_deref()
        .map(str::parse::<OrderSource>)
        .transpose()?;
    let source = match (staff, asked) {
        (false, None | Some(OrderSource::Resident)) => OrderSource::Resident,
        (false, Some(_)) => {
            errors.push("source", "residents place their own orders");
            OrderSource::Resident
        }
        (true, None | Some(OrderSource::Coordinator)) => OrderSource::Coordinator,
        (true, Some(OrderSource::Station)) => OrderSource::Station,
        (true, Some(OrderSource::Resident)) => {
            errors.push("source", "`resident` is not coordinator or station");
            OrderSource::Coordinator
        }
    };
    if !staff
        && (body.resident_phone.is_some()
            || body.target_team_id.is_some()
            || body.station.is_some())
    {
        errors.push(
            "target_team_id",
            "only coordinators may set resident_phone, station or target_team_id",
        );
    }
    errors.finish()?;
    let target_team_id = match body.target_team_id.as_deref().filter(|t| !t.is_empty()) {
        Some(raw) => Some(parse_id::<Uuid>("target_team_id", raw)?),
        None => None,
    };
    let station = trimmed(body.station.as_deref());
    if staff {
        state.limits.orders_by_staff.check(&user.id.as_uuid())?;
    } else {
        // A duplicate or a capped request creates nothing and spends no quota.
        guard_resident_orders(&state, user.id.as_uuid(), category, at).await?;
        if let Some(ip) = req.peer_addr().map(|a| a.ip()) {
            state.limits.orders_by_address.check(&ip)?;
        }
        state.limits.orders_by_account.check(&user.id.as_uuid())?;
    }
    if let Some(t) = target_team_id
        && team::Entity::find_by_id(t).one(&state.db).await?.is_none()
    {
        return Err(ApiError::invalid("target_team_id", "no such team"));
    }
    let resident_id = if staff {
        match &resident_phone {
            Some(p) => crate::services::accounts::find_by_phone(&state.db, p)
                .await?
                .map(|u| u.id),
            None => None,
        }
    } else {
        Some(user.id.as_uuid())
    };
    let contact = contact_phone
        .map(|p| p.as_str().to_owned())
        .or_else(|| resident_phone.map(|p| p.as_str().to_owned()))
        .or_else(|| (!staff).then(|| user.phone.clone()));
    let new = NewOrder {
        category,
        at,
        address,
        description,
        headcount: i32::try_from(headcount).unwrap_or(1),
        urgency,
        contact_phone: contact,
        source,
        resident_id,
        target_team_id,
        station: if staff { station } else { None },
    };
    let o = crate::lifecycle::place(&state, Actor::user(user.id.as_uuid(), user.role), new).await?;
    tracing::info!(order_id = %o.id, code = %o.code, source = %o.source, "order placed");
    let view = if staff { View::Staff } else { View::Owner };
    Ok(HttpResponse::Created().json(order_out(&o, view)))
}

/// A resident's cap on open orders, and the duplicate check: the same
/// resident, category and place (within `duplicate_radius_m`) within
/// `duplicate_window_secs` of an order still running is a 409 naming it.
async fn guard_resident_orders(
    state: &AppState,
    resident: Uuid,
    category: Category,
    at: GeoPoint,
) -> ApiResult<()> {
    let limits = &state.settings.limits;
    let running = OrderStatus::RUNNING.map(OrderStatus::code);
    let open = order::Entity::find()
        .filter(order::Column::ResidentId.eq(resident))
        .filter(order::Column::Status.is_in(running))
        .order_by_desc(order::Column::CreatedAt)
        .all(&state.db)
        .await?;
    let now = state.clock.now();
    if limits.duplicate_window_secs > 0 {
        let since = now - Duration::seconds(limits.duplicate_window_secs);
        let same = open.iter().find(|o| {
            o.category == category.code()
                && o.created_at >= since
                && o.point()
                    .is_ok_and(|p| p.distance_m(&at) <= limits.duplicate_radius_m)
        });
        if let Some(o) = same {
            return Err(ApiError::Duplicate {
                order_id: o.id.to_string(),
                code: o.code.clone(),
            });
        }
    }
    if limits.max_open_orders > 0 && open.len() >= limits.max_open_orders as usize {
        return Err(ApiError::Conflict(format!(
            "you have {} requests still running (at most {}); wait for one to finish or cancel one",
            open.len(),
            limits.max_open_orders
        )));
    }
    Ok(())
}

/// Filters for the order list (all optional, combined with AND; empty means absent).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrderQuery {
    /// Only this status.
    pub status: Option<String>,
    /// Only this category.
    pub category: Option<String>,
    /// Code or address contains this text (case-insensitive, up to 100 characters).
    pub q: Option<String>,
    /// Only this urgency: low, normal, urgent, critical.
    pub urgency: Option<String>,
    /// Only this source: resident, coordinator, station.
    pub source: Option<String>,
    /// Only orders of this team: a member of it is (or was, to completion) on
    /// the order (accepted, arrived or completed), or the order was sent to it
    /// first (`target_team_id`).
    pub team_id: Option<String>,
    /// Placed on or after this day, `YYYY-MM-DD` (China time).
    #[param(value_type = Option<String>, format = Date)]
    pub from: Option<String>,
    /// Placed on or before this day, `YYYY-MM-DD` (China time).
    #[param(value_type = Option<String>, format = Date)]
    pub to: Option<String>,
}

/// Order sources a list may be filtered by.
const SOURCES: [&str; 3] = ["resident", "coordinator", "station"];

/// `%text%` for LIKE, with the wildcards in `text` escaped by `\`.
fn contains_pattern(text: &str) -> String {
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// The list filters as conditions on orders (422 naming each bad parameter).
async fn order_filters(state: &AppState, query: &OrderQuery) -> ApiResult<Condition> {
    let mut errors = Errors::default();
    let mut cond = Condition::all();
    let given = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    if let Some(s) = given(&query.status) {
        match s.parse::<OrderStatus>() {
            Ok(status) => cond = cond.add(order::Column::Status.eq(status.code())),
            Err(e) => errors.push("status", e.message),
        }
    }
    if let Some(c) = given(&query.category) {
        match c.parse::<Category>() {
            Ok(category) => cond = cond.add(order::Column::Category.eq(category.code())),
            Err(e) => errors.push("category", e.message),
        }
    }
    if let Some(u) = given(&query.urgency) {
        match u.parse::<Urgency>() {
            Ok(urgency) => cond = cond.add(order::Column::Urgency.eq(urgency.code())),
            Err(e) => errors.push("urgency", e.message),
        }
    }
    if let Some(src) = given(&query.source) {
        if SOURCES.contains(&src.as_str()) {
            cond = cond.add(order::Column::Source.eq(src));
        } else {
            errors.push(
                "source",
                format!("`{src}` is not resident, coordinator or station"),
            );
        }
    }
    if let Some(q) = given(&query.q) {
        if q.chars().count() > 100 {
            errors.push("q", "must be at most 100 characters");
        } else {
            let pattern = contains_pattern(&q.to_lowercase());
            let lower = |c: order::Column| Expr::expr(Func::lower(Expr::col(c)));
            cond = cond.add(
                Condition::any()
                    .add(
                        lower(order::Column::Code)
                            .like(LikeExpr::new(pattern.clone()).escape('\\')),
                    )
                    .add(lower(order::Column::Address).like(LikeExpr::new(pattern).escape('\\'))),
            );
        }
    }
    let from = parse_day("from", query.from.as_deref(), &mut errors);
    let to = parse_day("to", query.to.as_deref(), &mut errors);
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        errors.push("from", "must not be after to");
    }
    let team_id = match given(&query.team_id) {
        Some(raw) => parse_id::<Uuid>("team_id", &raw)
            .map_err(|_| errors.push("team_id", format!("`{raw}` is not a valid id")))
            .ok(),
        None => None,
    };
    errors.finish()?;
    if let Some(f) = from {
        cond = cond.add(order::Column::CreatedAt.gte(crate::clock::local_day_start(f)?));
    }
    if let Some(t) = to {
        cond = cond.add(
            order::Column::CreatedAt.lt(crate::clock::local_day_start(t + Duration::days(1))?),
        );
    }
    if let Some(t) = team_id {
        if team::Entity::find_by_id(t).one(&state.db).await?.is_none() {
            return Err(ApiError::invalid("team_id", "no such team"));
        }
        let members_on = sea_orm::sea_query::Query::select()
            .column((assignment::Entity, assignment::Column::OrderId))
            .from(assignment::Entity)
            .inner_join(
                volunteer::Entity,
                Expr::col((volunteer::Entity, volunteer::Column::Id))
                    .equals((assignment::Entity, assignment::Column::VolunteerId)),
            )
            .and_where(Expr::col((volunteer::Entity, volunteer::Column::TeamId)).eq(t))
            .and_where(
                Expr::col((assignment::Entity, assignment::Column::State))
                    .is_in(AssignmentState::codes(&AssignmentState::ON_ORDER)),
            )
            .to_owned();
        cond = cond.add(
            Condition::any()
                .add(order::Column::TargetTeamId.eq(t))
                .add(order::Column::Id.in_subquery(members_on)),
        );
    }
    Ok(cond)
}

/// Orders the caller may see (residents their own, volunteers those they are
/// on, staff all), newest first, narrowed by the filters.
#[utoipa::path(get, path = "/api/v1/orders", tag = "orders", security(("bearer" = [])), params(PageParams, OrderQuery),
    responses((status = 200, body = Page<OrderOut>), (status = 422, description = "a bad filter value (names the parameter)")))]
pub async fn list_orders(
    state: web::Data<AppState>,
    user: AuthUser,
    paging: Query<PageParams>,
    query: Query<OrderQuery>,
) -> ApiResult<HttpResponse> {
    let (page, per_page) = paging.checked()?;
    let mut select = order::Entity::find();
    let view = match user.role {
        Role::Admin | Role::Coordinator => View::Staff,
        Role::Resident => {
            select = select.filter(order::Column::ResidentId.eq(user.id.as_uuid()));
            View::Owner
        }
        Role::Volunteer => {
            let mine: Vec<Uuid> = assignment::Entity::find()
                .filter(assignment::Column::VolunteerId.eq(user.id.as_uuid()))
                .filter(
                    assignment::Column::State
                        .is_in(AssignmentState::codes(&AssignmentState::ON_ORDER)),
                )
                .all(&state.db)
                .await?
                .into_iter()
                .map(|a| a.order_id)
                .collect();
            select = select.filter(order::Column::Id.is_in(mine));
            View::Assigned
        }
    };
    select = select.filter(order_filters(&state, &query).await?);
    let paginator = select
        .order_by_desc(order::Column::CreatedAt)
        .order_by_desc(order::Column::Id)
        .paginate(&state.db, per_page);
    let total = paginator.num_items().await?;
    let rows = paginator.fetch_page(page - 1).await?;
    Ok(HttpResponse::Ok().json(Page {
        items: rows.iter().map(|o| order_out(o, view)).collect::<Vec<_>>(),
        total,
        page,
        per_page,
    }))
}

/// One order with its assignments and (for the resident and staff) its audit trail.
#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "orders", security(("bearer" = [])),
    responses((status = 200, body = OrderOut), (status = 404, description = "no such order, or not yours")))]
pub async fn get_order(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id: Uuid = parse_id("id", &id)?;
    let o = orders::load(&state.db, id).await?;
    let view = view_of(&state, &user, &o).await?;
    Ok(HttpResponse::Ok().json(detail(&state, &o, view, user.id.as_uuid()).await?))
}

fn require_volunteer(user: &AuthUser) -> ApiResult<()> {
    if user.role == Role::Volunteer {
        Ok(())
    } else {
        Err(ApiError::forbidden("only volunteers may do this"))
    }
}

/// Take an open task directly (volunteers holding the skills it needs).
#[utoipa::path(post, path = "/api/v1/orders/{id}/grab", tag = "tasks", security(("bearer" = [])),
    responses((status = 200, body = OrderOut), (status = 409, description = "already full, or no capacity"), (status = 422, description = "missing skills")))]
pub async fn grab(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    require_volunteer(&user)?;
    let id: Uuid = parse_id("id", &id)?;
    let now = state.clock.now();
    let o = orders::load(&state.db, id).await?;
    let v = volunteer::Entity::find_by_id(user.id.as_uuid())
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound("volunteer"))?;
    let distance = grab_check(&state, &v, &o, now).await?;
    let distance = Some(distance);
    let mut work = Work::begin(&state, Actor::user(user.id.as_uuid(), user.role)).await?;
    let claimed = orders::claim(
        &work.txn,
        orders::Claim {
            order_id: id,
            volunteer_id: user.id.as_uuid(),
            how: ClaimHow::Grab,
            known: None,
            distance_m: distance,
        },
        work.channels(),
        work.trail(),
    )
    .await?;
    work.claimed(&claimed);
    work.commit().await?;
    let o = claimed.order;
    Ok(HttpResponse::Ok().json(detail(&state, &o, View::Assigned, user.id.as_uuid()).await?))
}

/// Whether `v` may take `o` by grabbing it, by the dispatch rules: on duty,
/// a fresh position within the grab radius, the skills (with valid
/// certificates) it needs, and room for another task. Returns the distance.
async fn grab_check(
    state: &AppState,
    v: &volunteer::Model,
    o: &order::Model,
    now: DateTime<Utc>,
) -> ApiResult<f64> {
    let d = &state.settings.dispatch;
    if !v.on_duty {
        return Err(ApiError::invalid(
            "on_duty",
            "go on duty before taking a task",
        ));
    }
    let (Some(lat), Some(lon), Some(seen)) = (v.lat, v.lon, v.location_at) else {
        return Err(ApiError::invalid(
            "location",
            "report your position first (PUT /api/v1/me/location)",
        ));
    };
    if (now - seen).num_seconds() > d.max_location_age_secs {
        return Err(ApiError::invalid(
            "location",
            format!(
                "your last position is {} minutes old; report where you are first",
                (now - seen).num_minutes()
            ),
        ));
    }
    let held = orders::valid_skills(&state.db, v.id, now).await?;
    if !held.contains_all(o.required()?) {
        return Err(ApiError::invalid(
            "skills",
            "you do not hold (a valid certificate for) the skills this task needs",
        ));
    }
    if v.active_tasks >= v.capacity {
        return Err(ApiError::conflict_on(
            "capacity",
            format!(
                "you already have {} of {} tasks in hand",
                v.active_tasks, v.capacity
            ),
        ));
    }
    let distance = GeoPoint::parse(lat, lon)?.distance_m(&o.point()?);
    if distance > d.grab_radius_m {
        return Err(ApiError::invalid(
            "distance_m",
            format!(
                "the task is {:.1} km away; you may take tasks within {:.1} km",
                distance / 1000.0,
                d.grab_radius_m / 1000.0
            ),
        ));
    }
    Ok(distance)
}

/// A position report.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct PositionIn {
    /// Latitude.
    #[validate(range(min = -90.0, max = 90.0, message = "latitude must be a number between -90 and 90"))]
    #[schema(minimum = -90, maximum = 90)]
    pub lat: f64,
    /// Longitude.
    #[validate(range(min = -180.0, max = 180.0, message = "longitude must be a number between -180 and 180"))]
    #[schema(minimum = -180, maximum = 180)]
    pub lon: f64,
}

async fn my_assignment(
    state: &AppState,
    order_id: Uuid,
    volunteer_id: Uuid,
) -> ApiResult<assignment::Model> {
    assignment::Entity::find()
        .filter(assignment::Column::OrderId.eq(order_id))
        .filter(assignment::Column::VolunteerId.eq(volunteer_id))
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound("order"))
}

/// Check in on scene; must be within the configured distance of the order.
#[utoipa::path(post, path = "/api/v1/orders/{id}/arrive", tag = "tasks", security(("bearer" = [])), request_body = PositionIn,
    responses((status = 200, body = OrderOut), (status = 422, description = "too far from the order")))]
pub async fn arrive(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
    body: Valid<PositionIn>,
) -> ApiResult<HttpResponse> {
    require_volunteer(&user)?;
    let id: Uuid = parse_id("id", &id)?;
    let here = GeoPoint::parse(body.0.lat, body.0.lon)?;
    let now = state.clock.now();
    let o = orders::load(&state.db, id).await?;
    let a = my_assignment(&state, id, user.id.as_uuid()).await?;
    if a.state()? != AssignmentState::Accepted {
        return Err(ApiError::Conflict(format!(
            "your part in this order is {}, not accepted",
            a.state
        )));
    }
    // The server's own knowledge decides: the position must follow from the
    // last report at a plausible speed, and is then recorded as a report.
    let v = volunteer::Entity::find_by_id(user.id.as_uuid())
        .one(&state.db)
        .await?
        .ok_or(ApiError::NotFound("volunteer"))?;
    let (Some(lat), Some(lon), Some(seen)) = (v.lat, v.lon, v.location_at) else {
        return Err(ApiError::invalid(
            "location",
            "share your position on the way (PUT /api/v1/me/location) before checking in",
        ));
    };
    let moved = GeoPoint::parse(lat, lon)?.distance_m(&here);
    let secs = ((now - seen).num_milliseconds() as f64 / 1000.0).max(1.0);
    let max_speed = state.settings.dispatch.max_speed_mps;
    if moved / secs > max_speed {
        return Err(ApiError::invalid(
            "lat",
            format!(
                "this position is {:.1} km from your last report {:.0} s ago, faster than {max_speed:.0} m/s; \
                 share your position on the way first",
                moved / 1000.0,
                secs
            ),
        ));
    }
    crate::location::record(&state, user.id.as_uuid(), here).await?;
    let distance = here.distance_m(&o.point()?);
    let limit = state.settings.dispatch.arrive_radius_m;
    if distance > limit {
        return Err(ApiError::invalid(
            "lat",
            format!("you are {distance:.0} m from the order; check in within {limit:.0} m"),
        ));
    }
    let work = Work::begin(&state, Actor::user(user.id.as_uuid(), user.role)).await?;
    let mut t = work.trail();
    let arrived = orders::move_assignment(
        &work.txn,
        &a,
        AssignmentState::Arrived,
        vec![(assignment::Column::ArrivedAt, Some(now).into())],
        (
            "arrived",
            json!({"volunteer_id": user.id.to_string(), "distance_m": distance.round()}),
        ),
        &mut t,
    )
    .await?;
    if !arrived {
        return Err(ApiError::Conflict(
            "your assignment changed meanwhile".to_owned(),
        ));
    }
    let o = orders::load(&work.txn, id).await?;
    let o = if o.status()? == OrderStatus::Assigned {
        orders::transition(
            &work.txn,
            &o,
            OrderAction::Arrive,
            vec![(order::Column::ArrivedAt, Some(work.now()).into())],
            json!({}),
            work.channels(),
            t,
        )
        .await?
    } else if o.status()? == OrderStatus::InProgress {
        t.write(&work.txn).await?;
        o
    } else {
        return Err(ApiError::Conflict(format!(
            "order {} is {}; check-in is for assigned orders",
            o.code, o.status
        )));
    };
    work.commit().await?;
    Ok(HttpResponse::Ok().json(detail(&state, &o, View::Assigned, user.id.as_uuid()).await?))
}

/// Completion note.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct CompleteIn {
    /// What was done (up to 2000 characters).
    #[validate(custom(function = "wire::note"))]
    #[schema(schema_with = wire::note_schema)]
    pub note: Option<String>,
}

/// Report the task done (after checking in).
#[utoipa::path(post, path = "/api/v1/orders/{id}/complete", tag = "tasks", security(("bearer" = [])), request_body = CompleteIn,
    responses((status = 200, body = OrderOut), (status = 409, description = "not checked in")))]
pub async fn complete(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
    body: Valid<CompleteIn>,
) -> ApiResult<HttpResponse> {
    require_volunteer(&user)?;
    let id: Uuid = parse_id("id", &id)?;
    let note = trimmed(body.0.note.as_deref());
    let now = state.clock.now();
    let a = my_assignment(&state, id, user.id.as_uuid()).await?;
    if a.state()? != AssignmentState::Arrived {
        return Err(ApiError::Conflict(format!(
            "check in first (your part is {})",
            a.state
        )));
    }
    let mut work = Work::begin(&state, Actor::user(user.id.as_uuid(), user.role)).await?;
    let txn = &work.txn;
    let mut t = work.trail();
    let completed = orders::move_assignment(
        txn,
        &a,
        AssignmentState::Completed,
        vec![
            (assignment::Column::CompletedAt, Some(now).into()),
            (assignment::Column::Note, note.clone().into()),
        ],
        (
            "volunteer_completed",
            json!({"volunteer_id": user.id.to_string(), "note": note}),
        ),
        &mut t,
    )
    .await?;
    if !completed {
        return Err(ApiError::Conflict(
            "your assignment changed meanwhile".to_owned(),
        ));
    }
    orders::release_capacity(txn, user.id.as_uuid(), now).await?;
    t.write(txn).await?;
    let still_on: u64 = assignment::Entity::find()
        .filter(assignment::Column::OrderId.eq(id))
        .filter(assignment::Column::State.is_in(AssignmentState::codes(&AssignmentState::HOLDING)))
        .count(txn)
        .await?;
    let mut o = orders::load(txn, id).await?;
    if still_on == 0 && o.status()? == OrderStatus::InProgress {
        o = orders::transition(
            txn,
            &o,
            OrderAction::Complete,
            vec![(order::Column::CompletedAt, Some(now).into())],
            json!({}),
            work.channels(),
            work.trail(),
        )
        .await?;
    }
    work.changed(&[user.id.as_uuid()]);
    work.commit().await?;
    Ok(HttpResponse::Ok().json(detail(&state, &o, View::Assigned, user.id.as_uuid()).await?))
}

/// A cancellation.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct CancelIn {
    /// Why (required for coordinators), up to 500 characters.
    #[validate(custom(function = "wire::cancel_reason"))]
    #[schema(schema_with = wire::cancel_reason_schema)]
    pub reason: Option<String>,
}

/// Cancel: the resident before anyone arrives, or a coordinator with a reason.
#[utoipa::path(post, path = "/api/v1/orders/{id}/cancel", tag = "orders", security(("bearer" = [])), request_body = CancelIn,
    responses((status = 200, body = OrderOut), (status = 409, description = "too late to cancel"), (status = 422, description = "reason missing")))]
pub async fn cancel(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
    body: Valid<CancelIn>,
) -> ApiResult<HttpResponse> {
    let id: Uuid = parse_id("id", &id)?;
    let o = orders::load(&state.db, id).await?;
    let view = view_of(&state, &user, &o).await?;
    let reason = trimmed(body.0.reason.as_deref());
    let by = match view {
        View::Staff => {
            if !may_manage(&state, &user, &o).await? {
                return Err(not_yours());
            }
            if reason.is_none() {
                return Err(ApiError::invalid(
                    "reason",
                    "coordinators must give a reason",
                ));
            }
            CancelledBy::Staff
        }
        View::Owner => CancelledBy::Resident,
        _ => {
            return Err(ApiError::forbidden(
                "only the resident or a coordinator may cancel",
            ));
        }
    };
    let released = assignment::volunteers_where(
        &orders::assignments_of(&state.db, id).await?,
        AssignmentState::holds_capacity,
    )?;
    let mut work = Work::begin(&state, Actor::user(user.id.as_uuid(), user.role)).await?;
    let (o, withdrawn) =
        orders::cancel(&work.txn, &o, by, reason, work.channels(), work.trail()).await?;
    work.released(&withdrawn);
    work.changed(&released);
    work.commit().await?;
    Ok(HttpResponse::Ok().json(detail(&state, &o, view, user.id.as_uuid()).await?))
}

/// The resident's confirmation.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct ConfirmIn {
    /// 1 to 5 stars.
    #[serde(deserialize_with = "wire::integer")]
    #[validate(range(min = 1, max = 5, message = "must be 1 to 5"))]
    #[schema(minimum = 1, maximum = 5)]
    pub rating: i64,
    /// Comments (up to 1000 characters).
    #[validate(custom(function = "wire::feedback"))]
    #[schema(schema_with = wire::feedback_schema)]
    pub feedback: Option<String>,
}

/// Confirm completion and rate it (the resident); volunteers earn their points.
#[utoipa::path(post, path = "/api/v1/orders/{id}/confirm", tag = "orders", security(("bearer" = [])), request_body = ConfirmIn,
    responses((status = 200, body = OrderOut), (status = 409, description = "not completed"), (status = 422, description = "rating out of range")))]
pub async fn confirm(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
    body: Valid<ConfirmIn>,
) -> ApiResult<HttpResponse> {
    let id: Uuid = parse_id("id", &id)?;
    let o = orders::load(&state.db, id).await?;
    let view = view_of(&state, &user, &o).await?;
    if view != View::Owner {
        return Err(ApiError::forbidden(
            "only the resident who placed the order confirms it",
        ));
    }
    let body = body.0;
    let feedback = trimmed(body.feedback.as_deref());
    let rating = i16::try_from(body.rating).unwrap_or(5);
    let mut work = Work::begin(&state, Actor::user(user.id.as_uuid(), user.role)).await?;
    let now = work.now();
    let o = orders::transition(
        &work.txn,
        &o,
        OrderAction::Confirm,
        vec![
            (order::Column::Rating, Some(rating).into()),
            (order::Column::Feedback, feedback.clone().into()),
            (order::Column::ClosedAt, Some(now).into()),
        ],
        json!({"rating": rating}),
        work.channels(),
        work.trail(),
    )
    .await?;
    let credits = points::award_for_order(
        &work.txn,
        &state.settings.points,
        &o,
        now,
        &state.settings.redis_prefix,
    )
    .await?;
    work.credited(credits);
    work.commit().await?;
    Ok(HttpResponse::Ok().json(detail(&state, &o, View::Owner, user.id.as_uuid()).await?))
}

/// A manual assignment.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct AssignIn {
    /// The volunteer to put on the order.
    #[validate(custom(function = "wire::id"))]
    #[schema(schema_with = wire::id_schema)]
    pub volunteer_id: String,
    /// Take this volunteer off the order first (reassign); blank for none.
    #[validate(custom(function = "wire::id_or_blank"))]
    #[schema(schema_with = wire::optional_id_schema)]
    pub replace_volunteer_id: Option<String>,
}

/// Assign or reassign a volunteer by hand (admins; coordinators for their own teams' volunteers).
#[utoipa::path(post, path = "/api/v1/orders/{id}/assign", tag = "orders", security(("bearer" = [])), request_body = AssignIn,
    responses((status = 200, body = OrderOut), (status = 403, description = "not your volunteer"), (status = 409, description = "full or no capacity")))]
pub async fn assign(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
    body: Valid<AssignIn>,
) -> ApiResult<HttpResponse> {
    user.require_staff()?;
    let id: Uuid = parse_id("id", &id)?;
    let body = body.0;
    let vid: Uuid = parse_id("volunteer_id", &body.volunteer_id)?;
    let replace: Option<Uuid> = match body
        .replace_volunteer_id
        .as_deref()
        .filter(|s| !s.is_empty())
    {
        Some(r) => Some(parse_id("replace_volunteer_id", r)?),
        None => None,
    };
    let v = volunteer::Entity::find_by_id(vid)
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::invalid("volunteer_id", "no such volunteer"))?;
    user.ensure_manages_team(&state, zhongdui_domain::TeamId(v.team_id))
        .await?;
    // Taking someone off an order is a change to their work: the caller must
    // manage their team too.
    if let Some(old) = replace {
        let team = volunteer::Entity::find_by_id(old)
            .one(&state.db)
            .await?
            .map(|v| v.team_id)
            .ok_or_else(|| ApiError::invalid("replace_volunteer_id", "no such volunteer"))?;
        user.ensure_manages_team(&state, zhongdui_domain::TeamId(team))
            .await
            .map_err(|_| {
                ApiError::forbidden("you may only take volunteers of your own teams off an order")
            })?;
    }
    let now = state.clock.now();
    let o = orders::load(&state.db, id).await?;
    let held = orders::valid_skills(&state.db, vid, now).await?;
    if !held.contains_all(o.required()?) {
        return Err(ApiError::invalid(
            "volunteer_id",
            "this volunteer lacks (a valid certificate for) the required skills",
        ));
    }
    let mut work = Work::begin(&state, Actor::user(user.id.as_uuid(), user.role)).await?;
    let txn = &work.txn;
    let ch = work.channels();
    if let Some(old) = replace {
        let a = assignment::Entity::find()
            .filter(assignment::Column::OrderId.eq(id))
            .filter(assignment::Column::VolunteerId.eq(old))
            .filter(assignment::Column::State.eq(AssignmentState::Accepted.code()))
            .one(txn)
            .await?
            .ok_or_else(|| {
                ApiError::invalid(
                    "replace_volunteer_id",
                    "that volunteer is not on this order (or already on scene)",
                )
            })?;
        // Taken off: the removal's event follows the order's unfill.
        let mut removal = work.trail();
        let removed = orders::move_assignment(
            txn,
            &a,
            AssignmentState::Removed,
            vec![],
            (
                "volunteer_removed",
                json!({"volunteer_id": old.to_string()}),
            ),
            &mut removal,
        )
        .await?;
        if !removed {
            return Err(ApiError::Conflict(
                "that volunteer's part changed meanwhile; reload and retry".to_owned(),
            ));
        }
        orders::release_capacity(txn, old, now).await?;
        order::Entity::update_many()
            .col_expr(
                order::Column::Filled,
                orders::col_plus(order::Column::Filled, -1),
            )
            .filter(order::Column::Id.eq(id))
            .exec(txn)
            .await?;
        let cur = orders::load(txn, id).await?;
        if cur.status()? == OrderStatus::Assigned {
            orders::transition(
                txn,
                &cur,
                OrderAction::Unfill,
                vec![],
                json!({"removed": old.to_string()}),
                ch,
                work.trail(),
            )
            .await?;
        }
        removal.push(
            ch.volunteer(old),
            &crate::messages::Push::AssignmentRemoved { order_id: id },
        );
        removal.write(txn).await?;
    }
    let claimed = orders::claim(
        txn,
        orders::Claim {
            order_id: id,
            volunteer_id: vid,
            how: ClaimHow::Manual,
            known: None,
            distance_m: None,
        },
        ch,
        work.trail(),
    )
    .await?;
    let o = claimed.order.clone();
    let mut told = work.trail();
    told.push(
        ch.volunteer(vid),
        &crate::messages::Push::Assigned {
            order_id: id,
            code: o.code.clone(),
        },
    );
    told.write(txn).await?;
    // The claim changed the assignee's task count; a removal the other's.
    work.released(&claimed.withdrawn);
    let mut touched = vec![vid];
    touched.extend(replace);
    work.changed(&touched);
    work.commit().await?;
    Ok(HttpResponse::Ok().json(detail(&state, &o, View::Staff, user.id.as_uuid()).await?))
}

/// Send an escalated order out again from the first wave (staff).
#[utoipa::path(post, path = "/api/v1/orders/{id}/redispatch", tag = "orders", security(("bearer" = [])),
    responses((status = 200, body = OrderOut), (status = 409, description = "not escalated")))]
pub async fn redispatch(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    user.require_staff()?;
    let id: Uuid = parse_id("id", &id)?;
    let o = orders::load(&state.db, id).await?;
    if !may_manage(&state, &user, &o).await? {
        return Err(not_yours());
    }
    let mut work = Work::begin(&state, Actor::user(user.id.as_uuid(), user.role)).await?;
    let now = work.now();
    let o = orders::transition(
        &work.txn,
        &o,
        OrderAction::Redispatch,
        vec![
            (order::Column::Wave, 0.into()),
            (order::Column::NextActionAt, Some(now).into()),
            (
                order::Column::EscalatedAt,
                Option::<DateTime<Utc>>::None.into(),
            ),
        ],
        json!({}),
        work.channels(),
        work.trail(),
    )
    .await?;
    work.wake_dispatcher();
    work.commit().await?;
    Ok(HttpResponse::Ok().json(detail(&state, &o, View::Staff, user.id.as_uuid()).await?))
}

/// The escalation queue: orders nobody took, oldest first (staff).
#[utoipa::path(get, path = "/api/v1/escalations", tag = "orders", security(("bearer" = [])),
    responses((status = 200, body = [OrderOut])))]
pub async fn escalations(state: web::Data<AppState>, user: AuthUser) -> ApiResult<HttpResponse> {
    user.require_staff()?;
    let rows = order::Entity::find()
        .filter(order::Column::Status.eq(OrderStatus::Escalated.code()))
        .order_by_asc(order::Column::EscalatedAt)
        .all(&state.db)
        .await?;
    Ok(HttpResponse::Ok().json(
        rows.iter()
            .map(|o| order_out(o, View::Staff))
            .collect::<Vec<_>>(),
    ))
}

/// What this process's dispatch index holds for a volunteer (admins): its
/// position, task count and capacity, and the offers it counts towards the
/// hourly cap; for checking that every process follows the same volunteers.
#[utoipa::path(get, path = "/api/v1/ops/index/{volunteer_id}", tag = "ops", security(("bearer" = [])),
    responses((status = 200, description = "indexed position, task count, capacity and offers in the last hour, if any")))]
pub async fn index_entry(
    state: web::Data<AppState>,
    user: AuthUser,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    user.require_admin()?;
    let id: Uuid = parse_id("volunteer_id", &id)?;
    let pos = crate::location::indexed_position(&state, id);
    let tasks = state.dispatcher.tasks_of(id);
    Ok(HttpResponse::Ok().json(json!({
        "volunteer_id": id.to_string(),
        "process": state.bus.origin.to_string(),
        "indexed_volunteers": state.dispatcher.indexed(),
        "lat": pos.map(|p| p.0),
        "lon": pos.map(|p| p.1),
        "active_tasks": tasks.map(|t| t.0),
        "capacity": tasks.map(|t| t.1),
        "offers_last_hour": state.dispatcher.offers_of(id, state.clock.now().timestamp()),
    })))
}
