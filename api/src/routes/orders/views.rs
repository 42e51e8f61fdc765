//! What an order looks like to each kind of reader, and who may see or change it.
use std::collections::{BTreeMap, HashMap, HashSet};
use zhongdui_domain::text::phrases as p;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;
use zhongdui_domain::{GeoPoint, OrderStatus, Phone, Role, Skill};

use crate::auth::AuthUser;
use crate::entities::{assignment, order, order_event, team, user, volunteer};
use crate::error::{ApiError, ApiResult};
use crate::services::orders::{self};
use crate::state::AppState;
use zhongdui_domain::AssignmentState;

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
    /// The role offered or filled (a skill code), on an order with roles.
    pub role: Option<String>,
    /// The volunteer's last reported latitude: only while this assignment is
    /// active (accepted or arrived), and only to the resident who placed the
    /// order, staff, and the volunteer themself; otherwise null.
    pub lat: Option<f64>,
    /// The volunteer's last reported longitude (same rule as `lat`).
    pub lon: Option<f64>,
    /// When the volunteer reported that position (same rule as `lat`).
    pub location_at: Option<DateTime<Utc>>,
    /// When a volunteer on the order is expected on scene (from the distance
    /// at `dispatch.arrival_speed_mps`, plus the slack).
    pub expected_by: Option<DateTime<Utc>>,
}

/// A role of a joint incident and how many fill it.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoleOut {
    /// The skill code every volunteer in the role holds.
    pub skill: String,
    /// Volunteers the role needs.
    pub count: i32,
    /// Volunteers on it now.
    pub filled: i32,
}

/// How many volunteers are on each role, by (order, role).
pub type RoleFills = HashMap<(Uuid, Skill), i32>;

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
    /// The actor's display name (staff only; absent: the dispatcher, a
    /// machine client, or a caller who may not see it).
    pub actor_name: Option<String>,
    /// The display names of the people and teams `data` names by id (staff
    /// only), so that the trail reads as sentences without ids.
    pub names: BTreeMap<String, String>,
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
    /// A joint incident's roles with how many fill each (empty: everyone on
    /// it needs `required_skills`).
    pub roles: Vec<RoleOut>,
    /// resident, coordinator or station.
    pub source: String,
    /// Station (slips).
    pub station: Option<String>,
    /// Team asked first (slips).
    pub target_team_id: Option<String>,
    /// Every team offered it first (`target_team_id` is the first).
    pub target_team_ids: Vec<String>,
    /// A station system's slip number (slips only).
    pub external_id: Option<String>,
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

/// The wire forms of `rows` for a viewer, with how many fill each role.
pub async fn orders_out(
    db: &DatabaseConnection,
    rows: &[order::Model],
    view: View,
) -> ApiResult<Vec<OrderOut>> {
    let fills = orders::role_fills(db, rows).await?;
    Ok(rows.iter().map(|o| order_out(o, view, &fills)).collect())
}

/// The wire form of one order for a viewer (see [`orders_out`]).
pub async fn one_out(db: &DatabaseConnection, o: &order::Model, view: View) -> ApiResult<OrderOut> {
    let fills = orders::role_fills(db, std::slice::from_ref(o)).await?;
    Ok(order_out(o, view, &fills))
}

/// The wire form of an order for a viewer; `fills` has its roles' counts.
fn order_out(o: &order::Model, view: View, fills: &RoleFills) -> OrderOut {
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
        // The orders readers get have been read whole; a corrupt roles
        // column shows as no roles here (and is an error where it counts).
        roles: o
            .roles()
            .unwrap_or_default()
            .iter()
            .map(|r| RoleOut {
                skill: r.skill.code().to_owned(),
                count: r.count,
                filled: fills.get(&(o.id, r.skill)).copied().unwrap_or(0),
            })
            .collect(),
        source: o.source.clone(),
        station: o.station.clone(),
        target_team_id: o.target_team_id.map(|t| t.to_string()),
        target_team_ids: o
            .target_teams()
            .unwrap_or_default()
            .iter()
            .map(Uuid::to_string)
            .collect(),
        external_id: o.external_id.clone(),
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
pub async fn detail(
    state: &AppState,
    o: &order::Model,
    view: View,
    viewer: Uuid,
) -> ApiResult<OrderOut> {
    let rows = orders::assignments_of(&state.db, o.id).await?;
    let people = People::of(&state.db, &rows).await?;
    let states = rows
        .iter()
        .map(|a| Ok((a.id, a.state()?)))
        .collect::<ApiResult<HashMap<Uuid, AssignmentState>>>()?;
    let on_it = |a: &assignment::Model| states.get(&a.id).is_some_and(|s| s.is_on_order());
    let mut fills = RoleFills::new();
    for a in rows.iter().filter(|a| on_it(a)) {
        if let Some(r) = a.role()? {
            *fills.entry((o.id, r)).or_insert(0) += 1;
        }
    }
    let mut out = order_out(o, view, &fills);
    // Where a volunteer is: while they are on their way or on scene, to the
    // order's resident and staff, and to the volunteer themself.
    let sees_position = |a: &assignment::Model| {
        states.get(&a.id).is_some_and(|s| s.holds_capacity())
            && match view {
                View::Staff | View::Owner => true,
                View::Assigned | View::Prospect => a.volunteer_id == viewer,
            }
    };
    // Residents and volunteers see who is coming, not who was asked; the
    // phone goes to staff, and to the resident for those on the order.
    let shown = rows.iter().filter(|a| view == View::Staff || on_it(a));
    let parts = shown.map(|a| {
        let phone = view == View::Staff || (view == View::Owner && on_it(a));
        people.assignment_out(a, sees_position(a), phone)
    });
    out.assignments = Some(parts.collect());
    if matches!(view, View::Staff | View::Owner) {
        let events = orders::events_of(&state.db, o.id).await?;
        let mut events: Vec<EventOut> = events.into_iter().map(event_out).collect();
        if view == View::Staff {
            name_events(&state.db, &mut events).await?;
        }
        out.events = Some(events);
    }
    Ok(out)
}

/// The volunteers of an order's assignments, their accounts and team names.
struct People {
    users: HashMap<Uuid, user::Model>,
    volunteers: HashMap<Uuid, volunteer::Model>,
    teams: HashMap<Uuid, String>,
}

impl People {
    async fn of(db: &DatabaseConnection, rows: &[assignment::Model]) -> ApiResult<Self> {
        let ids: Vec<Uuid> = rows.iter().map(|a| a.volunteer_id).collect();
        let users = user::Entity::find()
            .filter(user::Column::Id.is_in(ids.clone()))
            .all(db)
            .await?
            .into_iter()
            .map(|u| (u.id, u))
            .collect();
        let volunteers: HashMap<Uuid, volunteer::Model> = volunteer::Entity::find()
            .filter(volunteer::Column::Id.is_in(ids))
            .all(db)
            .await?
            .into_iter()
            .map(|v| (v.id, v))
            .collect();
        let team_ids: Vec<Uuid> = volunteers.values().map(|v| v.team_id).collect();
        let teams = team::Entity::find()
            .filter(team::Column::Id.is_in(team_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|t| (t.id, t.name))
            .collect();
        Ok(People {
            users,
            volunteers,
            teams,
        })
    }

    /// `a` as a reader sees it: with the volunteer's position and phone
    /// only when they may.
    fn assignment_out(&self, a: &assignment::Model, position: bool, phone: bool) -> AssignmentOut {
        let u = self.users.get(&a.volunteer_id);
        let v = self.volunteers.get(&a.volunteer_id);
        let pos = v
            .filter(|_| position)
            .and_then(|v| Some((v.lat?, v.lon?, v.location_at)));
        AssignmentOut {
            id: a.id.to_string(),
            volunteer_id: a.volunteer_id.to_string(),
            volunteer_name: u.map(|u| u.display_name.clone()).unwrap_or_default(),
            team_name: v.and_then(|v| self.teams.get(&v.team_id)).cloned(),
            volunteer_phone: u.filter(|_| phone).map(|u| u.phone.clone()),
            state: a.state.clone(),
            how: a.how.clone(),
            wave: a.wave,
            distance_m: a.distance_m,
            offered_at: a.offered_at,
            deadline: a.deadline,
            arrived_at: a.arrived_at,
            completed_at: a.completed_at,
            note: a.note.clone(),
            role: a.role.clone(),
            lat: pos.map(|p| p.0),
            lon: pos.map(|p| p.1),
            location_at: pos.and_then(|p| p.2),
            expected_by: a.expected_by,
        }
    }
}

pub(super) fn event_out(e: order_event::Model) -> EventOut {
    EventOut {
        id: e.id,
        kind: e.kind,
        actor_id: e.actor_id.map(|a| a.to_string()),
        actor_role: e.actor_role,
        from_status: e.from_status,
        to_status: e.to_status,
        data: e.data,
        created_at: e.created_at,
        actor_name: None,
        names: BTreeMap::new(),
    }
}

/// The keys of event data that hold the ids of people or teams.
const NAMED_KEYS: [&str; 7] = [
    "volunteer_id",
    "by",
    "replaces",
    "offered",
    "volunteers",
    "team_only",
    "team_ids",
];

/// The ids an event's data names (one or a list under [`NAMED_KEYS`]).
fn named_ids(data: &serde_json::Value) -> Vec<Uuid> {
    let mut out = Vec::new();
    for key in NAMED_KEYS {
        let one = |v: &serde_json::Value| v.as_str().and_then(|s| s.parse::<Uuid>().ok());
        match data.get(key) {
            Some(serde_json::Value::Array(items)) => out.extend(items.iter().filter_map(one)),
            Some(v) => out.extend(one(v)),
            None => {}
        }
    }
    out
}

/// Fills each event's `actor_name` and `names` with two lookups (users,
/// teams) for the whole trail.
async fn name_events(db: &DatabaseConnection, events: &mut [EventOut]) -> ApiResult<()> {
    let mut ids: HashSet<Uuid> = HashSet::new();
    for e in events.iter() {
        ids.extend(e.actor_id.as_deref().and_then(|a| a.parse::<Uuid>().ok()));
        ids.extend(e.data.as_ref().map(named_ids).unwrap_or_default());
    }
    if ids.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = ids.into_iter().collect();
    let mut known: HashMap<Uuid, String> = user::Entity::find()
        .filter(user::Column::Id.is_in(ids.clone()))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.display_name))
        .collect();
    let teams = team::Entity::find()
        .filter(team::Column::Id.is_in(ids))
        .all(db)
        .await?;
    known.extend(teams.into_iter().map(|t| (t.id, t.name)));
    for e in events.iter_mut() {
        let actor = e.actor_id.as_deref().and_then(|a| a.parse::<Uuid>().ok());
        e.actor_name = actor.and_then(|a| known.get(&a).cloned());
        for id in e.data.as_ref().map(named_ids).unwrap_or_default() {
            if let Some(name) = known.get(&id) {
                e.names.insert(id.to_string(), name.clone());
            }
        }
    }
    Ok(())
}

/// What the caller may see of `o`, or 404 (nothing is revealed about orders
/// the caller has no part in).
pub(super) async fn view_of(
    state: &AppState,
    user: &AuthUser,
    o: &order::Model,
) -> ApiResult<View> {
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
                None => Err(ApiError::NotFound(&p::NOUN_ORDER)),
            }
        }
        _ => Err(ApiError::NotFound(&p::NOUN_ORDER)),
    }
}

pub(super) async fn within_grab_radius(
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
pub(super) async fn may_manage(
    state: &AppState,
    user: &AuthUser,
    o: &order::Model,
) -> ApiResult<bool> {
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
    if o.target_teams()?.iter().any(|t| mine.contains(t)) {
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

pub(super) fn not_yours() -> ApiError {
    ApiError::forbidden(&p::COORDINATOR_ORDER_SCOPE)
}
