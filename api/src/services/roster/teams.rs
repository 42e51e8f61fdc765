//! Teams: creation, member counts, coordinators.
use std::collections::HashMap;
use zhongdui_domain::text::phrases as p;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult,
    QueryFilter, QuerySelect,
};
use uuid::Uuid;
use zhongdui_domain::{GeoPoint, TeamId, UserId};

use crate::entities::{team, team_coordinator, volunteer};
use crate::error::{ApiError, ApiResult};
use crate::services::orders::Actor;

/// A validated team.
#[derive(Debug, Clone)]
pub struct TeamSpec {
    /// Unique name.
    pub name: String,
    /// A code from `TEAM_KINDS`.
    pub kind: String,
    /// Area (town, community).
    pub area: Option<String>,
    /// The police station it works with.
    pub station: Option<String>,
    /// Where the team is based (WGS-84), drawn on the coordinator's map.
    pub base: Option<GeoPoint>,
}

/// Creates a team; a duplicate name is a 409.
pub async fn create_team<C: ConnectionTrait>(db: &C, spec: TeamSpec) -> ApiResult<team::Model> {
    if team::Entity::find()
        .filter(team::Column::Name.eq(spec.name.as_str()))
        .one(db)
        .await?
        .is_some()
    {
        return Err(ApiError::conflict(
            p::TEAM_NAME_TAKEN.with("name", &spec.name),
        ));
    }
    let now = crate::clock::wall();
    Ok(team::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(spec.name),
        kind: Set(spec.kind),
        area: Set(spec.area),
        station: Set(spec.station),
        base_lat: Set(spec.base.map(|b| b.lat())),
        base_lon: Set(spec.base.map(|b| b.lon())),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?)
}

/// Member and on-duty counts per team.
#[derive(Debug, Clone, Copy, Default)]
pub struct TeamCounts {
    /// Volunteers in the team.
    pub members: i64,
    /// Of whom on duty.
    pub on_duty: i64,
}

#[derive(FromQueryResult)]
struct CountRow {
    team_id: Uuid,
    members: i64,
    on_duty: i64,
}

/// Counts for every team.
pub async fn team_counts<C: ConnectionTrait>(db: &C) -> ApiResult<HashMap<Uuid, TeamCounts>> {
    let rows = volunteer::Entity::find()
        .select_only()
        .column(volunteer::Column::TeamId)
        .column_as(volunteer::Column::Id.count(), "members")
        .column_as(
            Expr::cust("SUM(CASE WHEN on_duty THEN 1 ELSE 0 END)"),
            "on_duty",
        )
        .group_by(volunteer::Column::TeamId)
        .into_model::<CountRow>()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                r.team_id,
                TeamCounts {
                    members: r.members,
                    on_duty: r.on_duty,
                },
            )
        })
        .collect())
}

/// Makes `user` a coordinator of `team` (idempotent).
pub async fn add_coordinator<C: ConnectionTrait>(
    db: &C,
    team: TeamId,
    user: UserId,
) -> ApiResult<()> {
    let exists = team_coordinator::Entity::find_by_id((team.as_uuid(), user.as_uuid()))
        .one(db)
        .await?
        .is_some();
    if !exists {
        team_coordinator::ActiveModel {
            team_id: Set(team.as_uuid()),
            user_id: Set(user.as_uuid()),
            created_at: Set(crate::clock::wall()),
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

/// Changes to a team; `None` leaves a field as it is.
pub struct TeamChange {
    /// New name (unique).
    pub name: Option<String>,
    /// New kind.
    pub kind: Option<String>,
    /// New area (`Some(None)` clears it).
    pub area: Option<Option<String>>,
    /// New station (`Some(None)` clears it).
    pub station: Option<Option<String>>,
    /// New base (`Some(None)` clears it).
    pub base: Option<Option<GeoPoint>>,
}

/// Applies `change` to team `id` and records it in the audit log.
pub async fn update_team<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
    change: TeamChange,
    actor: Actor,
    now: DateTime<Utc>,
) -> ApiResult<team::Model> {
    let t = team::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(ApiError::NotFound(&p::NOUN_TEAM))?;
    if let Some(n) = &change.name {
        let clash = team::Entity::find()
            .filter(team::Column::Name.eq(n.as_str()))
            .filter(team::Column::Id.ne(id))
            .one(db)
            .await?;
        if clash.is_some() {
            return Err(ApiError::conflict(
                p::TEAM_NAME_TAKEN.with("name", n.as_str()),
            ));
        }
    }
    let TeamChange {
        name,
        kind,
        area,
        station,
        base,
    } = change;
    let base_json = base.map(|b| b.map(|p| serde_json::json!({"lat": p.lat(), "lon": p.lon()})));
    let changes = serde_json::json!({"name": name, "kind": kind, "area": area, "station": station, "base": base_json});
    let mut am: team::ActiveModel = t.into();
    if let Some(n) = name {
        am.name = Set(n);
    }
    if let Some(k) = kind {
        am.kind = Set(k);
    }
    if let Some(a) = area {
        am.area = Set(a);
    }
    if let Some(s) = station {
        am.station = Set(s);
    }
    if let Some(b) = base {
        am.base_lat = Set(b.map(|p| p.lat()));
        am.base_lon = Set(b.map(|p| p.lon()));
    }
    am.updated_at = Set(crate::clock::wall());
    let t = am.update(db).await?;
    crate::services::privacy::audit(db, actor, "team", t.id, "updated", changes, now).await?;
    Ok(t)
}
