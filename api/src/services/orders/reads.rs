//! What an order's readers need from the database: a volunteer's valid skills, an order's
//! assignments and events.
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;
use zhongdui_domain::{Skill, SkillSet};

use crate::entities::{assignment, order_event, volunteer_skill};
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
