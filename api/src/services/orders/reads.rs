//! What an order's readers need from the database: a volunteer's valid skills, an order's
//! assignments and events.
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;
use zhongdui_domain::text::phrases as p;
use zhongdui_domain::{AssignmentState, GeoPoint, OrderStatus, Skill, SkillSet};

use crate::entities::{assignment, order, order_event, volunteer_skill};
use crate::error::ApiResult;

/// The skills a volunteer holds at `now`: a skill whose catalogue entry
/// needs a certificate counts only with one valid on the city's day (China
/// time); any certificate given counts until the end of its day.
pub async fn valid_skills<C: ConnectionTrait>(
    db: &C,
    volunteer_id: Uuid,
    now: DateTime<Utc>,
) -> ApiResult<SkillSet> {
    let today = crate::clock::local_today(now)?;
    let rows = volunteer_skill::Entity::find()
        .filter(volunteer_skill::Column::VolunteerId.eq(volunteer_id))
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| Some((r.skill.parse::<Skill>().ok()?, r.certified_until)))
        .filter(|(skill, until)| match until {
            Some(d) => *d >= today,
            None => !skill.needs_certificate(),
        })
        .map(|(skill, _)| skill)
        .collect())
}

/// The assignments of an order, oldest first.
pub async fn assignments_of<C: ConnectionTrait>(
    db: &C,
    order_id: Uuid,
) -> ApiResult<Vec<assignment::Model>> {
    Ok(assignment::Entity::find()
        .filter(assignment::Column::OrderId.eq(order_id))
        .order_by_asc(assignment::Column::CreatedAt)
        .order_by_asc(assignment::Column::Id)
        .all(db)
        .await?)
}

/// The events of an order, in order.
pub async fn events_of<C: ConnectionTrait>(
    db: &C,
    order_id: Uuid,
) -> ApiResult<Vec<order_event::Model>> {
    Ok(order_event::Entity::find()
        .filter(order_event::Column::OrderId.eq(order_id))
        .order_by_asc(order_event::Column::Id)
        .all(db)
        .await?)
}

/// The open or escalated orders within `radius` metres of `here` that the
/// volunteer `me` could take: room left, not already theirs, and skills
/// they hold (with valid certificates on `now`'s day); nearest first, with
/// their distance.
pub async fn nearby<C: ConnectionTrait>(
    db: &C,
    me: Uuid,
    here: GeoPoint,
    radius: f64,
    now: DateTime<Utc>,
) -> ApiResult<Vec<(order::Model, f64)>> {
    let held = valid_skills(db, me, now).await?;
    // A bounding box in SQL, exact distance here.
    let dlat = radius / 111_000.0;
    let dlon = radius / (111_000.0 * here.lat().to_radians().cos().max(0.01));
    let candidates = order::Entity::find()
        .filter(
            order::Column::Status.is_in([OrderStatus::Open.code(), OrderStatus::Escalated.code()]),
        )
        .filter(order::Column::Lat.between(here.lat() - dlat, here.lat() + dlat))
        .filter(order::Column::Lon.between(here.lon() - dlon, here.lon() + dlon))
        .all(db)
        .await?;
    let mine: std::collections::HashSet<Uuid> = assignment::Entity::find()
        .filter(assignment::Column::VolunteerId.eq(me))
        .filter(assignment::Column::State.is_in(AssignmentState::codes(&AssignmentState::ON_ORDER)))
        .all(db)
        .await?
        .into_iter()
        .map(|a| a.order_id)
        .collect();
    let mut out: Vec<(order::Model, f64)> = candidates
        .into_iter()
        .filter(|o| o.filled < o.headcount && !mine.contains(&o.id))
        // A corrupt row is left out (and logged), never offered as needing nothing.
        .filter(|o| {
            o.check()
                .inspect_err(|e| tracing::error!(error = %e, "order skipped"))
                .is_ok()
        })
        .filter(|o| o.takes(held).unwrap_or(false))
        .filter_map(|o| {
            let d = o.point().ok()?.distance_m(&here);
            (d <= radius).then_some((o, d))
        })
        .collect();
    out.sort_by(|a, b| a.1.total_cmp(&b.1));
    Ok(out)
}

/// Whether an order in dispatch (open) lies within `reach` metres of
/// `here`: a new order there could compete with it for the same volunteers.
/// Only the positions are read (a box in SQL, the exact distance here).
pub async fn open_order_within<C: ConnectionTrait>(
    db: &C,
    here: GeoPoint,
    reach: f64,
) -> ApiResult<bool> {
    let dlat = reach / 111_000.0;
    let dlon = reach / (111_000.0 * here.lat().to_radians().cos().max(0.01));
    let near: Vec<(f64, f64)> = order::Entity::find()
        .select_only()
        .column(order::Column::Lat)
        .column(order::Column::Lon)
        .filter(order::Column::Status.eq(OrderStatus::Open.code()))
        .filter(order::Column::Lat.between(here.lat() - dlat, here.lat() + dlat))
        .filter(order::Column::Lon.between(here.lon() - dlon, here.lon() + dlon))
        .limit(64)
        .into_tuple()
        .all(db)
        .await?;
    Ok(near
        .into_iter()
        .any(|(lat, lon)| GeoPoint::parse(lat, lon).is_ok_and(|p| p.distance_m(&here) <= reach)))
}

/// How many volunteers are on each role of those of `orders` that have
/// roles, by (order, role): one query, none when no order has roles.
pub async fn role_fills<C: ConnectionTrait>(
    db: &C,
    orders: &[order::Model],
) -> ApiResult<std::collections::HashMap<(Uuid, zhongdui_domain::Skill), i32>> {
    let ids: Vec<Uuid> = orders
        .iter()
        .filter(|o| o.roles.is_some())
        .map(|o| o.id)
        .collect();
    let mut out = std::collections::HashMap::new();
    for chunk in ids.chunks(300) {
        let rows: Vec<(Uuid, Option<String>)> = assignment::Entity::find()
            .select_only()
            .column(assignment::Column::OrderId)
            .column(assignment::Column::Role)
            .filter(assignment::Column::OrderId.is_in(chunk.to_vec()))
            .filter(
                assignment::Column::State.is_in(AssignmentState::codes(&AssignmentState::ON_ORDER)),
            )
            .into_tuple()
            .all(db)
            .await?;
        for (o, role) in rows {
            if let Some(r) = role.and_then(|r| r.parse().ok()) {
                *out.entry((o, r)).or_insert(0) += 1;
            }
        }
    }
    Ok(out)
}

/// Client `client`'s slip with number `external_id`, if any.
pub async fn slip<C: ConnectionTrait>(
    db: &C,
    client: Uuid,
    external_id: &str,
) -> ApiResult<Option<order::Model>> {
    Ok(order::Entity::find()
        .filter(order::Column::ClientId.eq(client))
        .filter(order::Column::ExternalId.eq(external_id))
        .one(db)
        .await?)
}

/// Every team of `ids` exists, or a 422 naming `field`.
pub async fn ensure_teams_exist<C: ConnectionTrait>(
    db: &C,
    ids: &[Uuid],
    field: &str,
) -> ApiResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let found = crate::entities::team::Entity::find()
        .filter(crate::entities::team::Column::Id.is_in(ids.to_vec()))
        .all(db)
        .await?;
    match ids.iter().find(|id| !found.iter().any(|t| t.id == **id)) {
        Some(missing) => Err(crate::error::ApiError::invalid(
            field,
            p::NO_TEAM_WITH_ID.with("id", missing.to_string()),
        )),
        None => Ok(()),
    }
}

/// The human codes of orders `ids` (missing ids are left out).
pub async fn codes_of<C: ConnectionTrait>(
    db: &C,
    ids: Vec<Uuid>,
) -> ApiResult<std::collections::HashMap<Uuid, String>> {
    Ok(order::Entity::find()
        .filter(order::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|o| (o.id, o.code))
        .collect())
}
