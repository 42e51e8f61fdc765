//! Placing an order (residents for themselves, staff on someone's behalf).
use actix_web::{HttpResponse, web};
use chrono::Duration;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;
use zhongdui_domain::text::phrases as p;
use zhongdui_domain::{Category, GeoPoint, OrderStatus, Phone, Role, Urgency};

use super::views::{OrderOut, View, one_out};
use crate::auth::AuthUser;
use crate::entities::{order, team};
use crate::error::{ApiError, ApiResult};
use crate::extract::Valid;
use crate::lifecycle;
use crate::routes::parse_id;
use crate::services::orders::{self, NewOrder};
use crate::services::roster::Errors;
use crate::state::AppState;
use crate::wire::{self, trimmed};
use zhongdui_domain::OrderSource;

/// A new order.
#[derive(Debug, Deserialize, ToSchema, Validate)]
pub struct OrderIn {
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
    /// Staff only: offer to these teams first, together (up to 10, after `target_team_id` if both).
    #[validate(custom(function = "wire::team_ids"))]
    #[schema(schema_with = wire::optional_team_ids_schema)]
    pub target_team_ids: Option<Vec<String>>,
    /// A joint incident's roles instead of the category's skills (up to 10,
    /// e.g. 1 × first_aid and 2 × traffic): the headcount is their sum, and
    /// each volunteer fills one role, holding its skill.
    #[validate(custom(function = "wire::roles"))]
    #[schema(schema_with = wire::optional_roles_schema)]
    pub roles: Option<Vec<wire::RoleIn>>,
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
            &p::VOLUNTEERS_PLACE_ORDERS_THROUGH_COORDINA,
        ));
    }
    let asked = Asked::read(body.0, user.role.is_staff())?;
    if asked.staff {
        state.limits.orders_by_staff.check(&user.id.as_uuid())?;
    } else {
        // A duplicate or a capped request creates nothing and spends no quota.
        guard_resident_orders(&state, user.id.as_uuid(), asked.category, asked.at).await?;
        if let Some(ip) = req.peer_addr().map(|a| a.ip()) {
            state.limits.orders_by_address.check(&ip)?;
        }
        state.limits.orders_by_account.check(&user.id.as_uuid())?;
    }
    let new = asked.resolve(&state, &user).await?;
    let o = lifecycle::place(&state, user.actor(), new).await?;
    tracing::info!(order_id = %o.id, code = %o.code, source = %o.source, "order placed");
    let view = if user.role.is_staff() {
        View::Staff
    } else {
        View::Owner
    };
    Ok(HttpResponse::Created().json(one_out(&state.db, &o, view).await?))
}

/// An order as asked for, its fields parsed and the role rules applied;
/// what needs the database (the team, the resident's account) comes next.
struct Asked {
    staff: bool,
    category: Category,
    at: GeoPoint,
    address: String,
    description: String,
    headcount: i32,
    roles: zhongdui_domain::RoleSlots,
    urgency: Urgency,
    source: OrderSource,
    contact_phone: Option<Phone>,
    resident_phone: Option<Phone>,
    station: Option<String>,
    target_team_ids: Vec<Uuid>,
    /// Only `target_team_id` was given (its error keeps its old wording).
    single_team: bool,
}

impl Asked {
    /// Who may set what depends on the caller's role (`staff` or a resident).
    fn read(body: OrderIn, staff: bool) -> ApiResult<Self> {
        let phone_of = |p: Option<&str>| -> ApiResult<Option<Phone>> {
            Ok(match p.filter(|p| !p.trim().is_empty()) {
                Some(p) => Some(Phone::parse(p)?),
                None => None,
            })
        };
        let (category, at) = (body.category.parse()?, GeoPoint::parse(body.lat, body.lon)?);
        let urgency = body.urgency.as_deref().unwrap_or("normal").parse()?;
        let contact_phone = phone_of(body.contact_phone.as_deref())?;
        let resident_phone = phone_of(body.resident_phone.as_deref())?;
        let mut errors = Errors::default();
        let asked = body.source.as_deref().map(str::parse).transpose()?;
        let source = source_for(staff, asked, &mut errors);
        if !staff
            && (body.resident_phone.is_some()
                || body.target_team_id.is_some()
                || body.target_team_ids.is_some()
                || body.station.is_some())
        {
            errors.push("target_team_id", &p::STAFF_FIELDS);
        }
        let roles = wire::role_slots(body.roles.as_deref())?;
        let headcount = i32::try_from(body.headcount.unwrap_or(1)).unwrap_or(1);
        check_headcount(&roles, body.headcount, &mut errors);
        errors.finish()?;
        let mut target_team_ids = Vec::new();
        if let Some(raw) = body.target_team_id.as_deref().filter(|t| !t.is_empty()) {
            target_team_ids.push(parse_id::<Uuid>("target_team_id", raw)?);
        }
        for raw in body.target_team_ids.iter().flatten() {
            let t = parse_id::<Uuid>("target_team_ids", raw)?;
            if !target_team_ids.contains(&t) {
                target_team_ids.push(t);
            }
        }
        Ok(Asked {
            staff,
            category,
            at,
            address: body.address.trim().to_owned(),
            description: body.description.trim().to_owned(),
            headcount,
            roles,
            urgency,
            source,
            contact_phone,
            resident_phone,
            station: trimmed(body.station.as_deref()).filter(|_| staff),
            single_team: body.target_team_ids.is_none(),
            target_team_ids,
        })
    }

    /// The order to place for `user`: the target team must exist, a
    /// resident's phone finds their account, and the contact number falls
    /// back to the resident's.
    async fn resolve(self, state: &AppState, user: &AuthUser) -> ApiResult<NewOrder> {
        match (self.single_team, self.target_team_ids.first()) {
            (true, Some(&t)) => {
                if team::Entity::find_by_id(t).one(&state.db).await?.is_none() {
                    return Err(ApiError::invalid("target_team_id", &p::NO_SUCH_TEAM));
                }
            }
            _ => {
                let ids = &self.target_team_ids;
                orders::ensure_teams_exist(&state.db, ids, "target_team_ids").await?;
            }
        }
        let resident_id = match (&self.resident_phone, self.staff) {
            (_, false) => Some(user.id.as_uuid()),
            (Some(p), true) => crate::services::accounts::find_by_phone(&state.db, p)
                .await?
                .map(|u| u.id),
            (None, true) => None,
        };
        let contact_phone = self
            .contact_phone
            .or(self.resident_phone)
            .map(|p| p.as_str().to_owned())
            .or_else(|| (!self.staff).then(|| user.phone.clone()));
        Ok(NewOrder {
            category: self.category,
            at: self.at,
            address: self.address,
            description: self.description,
            headcount: self.headcount,
            roles: self.roles,
            urgency: self.urgency,
            contact_phone,
            source: self.source,
            resident_id,
            target_team_ids: self.target_team_ids,
            station: self.station,
            slip: None,
            on_behalf_of: None,
        })
    }
}

/// With roles, the headcount is their sum: one given besides must agree.
pub(crate) fn check_headcount(
    roles: &zhongdui_domain::RoleSlots,
    headcount: Option<i64>,
    errors: &mut Errors,
) {
    let sum = roles.headcount();
    if let Some(h) = headcount.filter(|h| !roles.is_empty() && *h != i64::from(sum)) {
        errors.push(
            "headcount",
            p::HEADCOUNT_SUM.with("headcount", h).with("sum", sum),
        );
    }
}

/// The order's source: residents place their own; staff place theirs as
/// coordinators unless they say it is a station's slip.
fn source_for(staff: bool, asked: Option<OrderSource>, errors: &mut Errors) -> OrderSource {
    match (staff, asked) {
        (false, None | Some(OrderSource::Resident)) => OrderSource::Resident,
        (false, Some(_)) => {
            errors.push("source", &p::RESIDENT_SOURCE);
            OrderSource::Resident
        }
        (true, None | Some(OrderSource::Coordinator)) => OrderSource::Coordinator,
        (true, Some(OrderSource::Station)) => OrderSource::Station,
        (true, Some(OrderSource::Resident)) => {
            errors.push("source", p::ONE_OF.with("values", "coordinator, station"));
            OrderSource::Coordinator
        }
    }
}

/// A resident's cap on open orders, and the duplicate check: the same
/// resident, category and place (within `duplicate_radius_m`) within
/// `duplicate_window_secs` of an order still running is a 409 naming it.
pub(super) async fn guard_resident_orders(
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
        return Err(ApiError::conflict(
            p::OPEN_ORDERS_MAX
                .with("count", open.len())
                .with("max", limits.max_open_orders),
        ));
    }
    Ok(())
}
