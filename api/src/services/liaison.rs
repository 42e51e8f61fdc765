//! Who said what: an order's liaison thread (its resident, the volunteers
//! on it, staff and the station that sent it) and coordinators' broadcasts
//! to a team. Messages are written by `lifecycle::post_message`; this is
//! the reading, the authors' names, and the broadcasts.
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::entities::{broadcast, client, order_message, team, user, volunteer};
use crate::error::ApiResult;
use crate::messages::{Channels, Push};
use crate::services::orders::{Actor, Trail};

/// The name shown for each author among `ids`: an account's display name
/// (a deleted account's reads as deleted), a client's station name.
pub async fn author_names<C: ConnectionTrait>(
    db: &C,
    ids: &[Uuid],
) -> ApiResult<HashMap<Uuid, String>> {
    let mut names: HashMap<Uuid, String> = user::Entity::find()
        .filter(user::Column::Id.is_in(ids.to_vec()))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.display_name))
        .collect();
    for c in client::Entity::find()
        .filter(client::Column::Id.is_in(ids.to_vec()))
        .all(db)
        .await?
    {
        names.insert(c.id, c.station);
    }
    Ok(names)
}

/// A page of an order's thread, oldest first, with the authors' names, and
/// how many messages it has.
pub async fn thread<C: ConnectionTrait>(
    db: &C,
    order_id: Uuid,
    page: u64,
    per_page: u64,
) -> ApiResult<(Vec<(order_message::Model, String)>, u64)> {
    let q = order_message::Entity::find().filter(order_message::Column::OrderId.eq(order_id));
    let total = q.clone().count(db).await?;
    let rows = q
        .order_by_asc(order_message::Column::Id)
        .offset((page - 1) * per_page)
        .limit(per_page)
        .all(db)
        .await?;
    let ids: Vec<Uuid> = rows.iter().map(|m| m.author_id).collect();
    let names = author_names(db, &ids).await?;
    Ok((rows.into_iter().map(|m| named(m, &names)).collect(), total))
}

fn named<T: Authored>(row: T, names: &HashMap<Uuid, String>) -> (T, String) {
    let name = names.get(&row.author()).cloned().unwrap_or_default();
    (row, name)
}

trait Authored {
    fn author(&self) -> Uuid;
}

impl Authored for order_message::Model {
    fn author(&self) -> Uuid {
        self.author_id
    }
}

impl Authored for broadcast::Model {
    fn author(&self) -> Uuid {
        self.author_id
    }
}

/// Sends `text` from `author` to every volunteer of `t`: kept, and pushed
/// to each one's channel in the same transaction.
pub async fn broadcast(
    db: &sea_orm::DatabaseConnection,
    channels: Channels<'_>,
    author: (Actor, String),
    t: &team::Model,
    text: String,
    now: DateTime<Utc>,
) -> ApiResult<broadcast::Model> {
    let (actor, author_name) = author;
    let txn = crate::db::begin_write(db).await?;
    let members: Vec<Uuid> = volunteer::Entity::find()
        .select_only()
        .column(volunteer::Column::Id)
        .filter(volunteer::Column::TeamId.eq(t.id))
        .into_tuple()
        .all(&txn)
        .await?;
    let row = broadcast::ActiveModel {
        id: Set(Uuid::now_v7()),
        team_id: Set(t.id),
        author_id: Set(actor.id.unwrap_or_default()),
        text: Set(text),
        recipients: Set(i32::try_from(members.len()).unwrap_or(i32::MAX)),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let push = Push::Broadcast {
        broadcast_id: row.id,
        team_id: t.id,
        team_name: t.name.clone(),
        author_name,
        text: row.text.clone(),
        created_at: now.to_rfc3339(),
    };
    let mut trail = Trail::new(actor, now);
    for v in &members {
        trail.push(channels.volunteer(*v), &push);
    }
    trail.write(&txn).await?;
    txn.commit().await?;
    Ok(row)
}

/// A page of a team's broadcasts, newest first, with the authors' names,
/// and how many there are.
pub async fn broadcasts<C: ConnectionTrait>(
    db: &C,
    team_id: Uuid,
    page: u64,
    per_page: u64,
) -> ApiResult<(Vec<(broadcast::Model, String)>, u64)> {
    let q = broadcast::Entity::find().filter(broadcast::Column::TeamId.eq(team_id));
    let total = q.clone().count(db).await?;
    let rows = q
        .order_by_desc(broadcast::Column::CreatedAt)
        .order_by_desc(broadcast::Column::Id)
        .offset((page - 1) * per_page)
        .limit(per_page)
        .all(db)
        .await?;
    let ids: Vec<Uuid> = rows.iter().map(|b| b.author_id).collect();
    let names = author_names(db, &ids).await?;
    Ok((rows.into_iter().map(|b| named(b, &names)).collect(), total))
}

/// Forgets the broadcasts older than `cutoff` (the retention period).
pub async fn erase_broadcasts_before<C: ConnectionTrait>(
    db: &C,
    cutoff: DateTime<Utc>,
) -> ApiResult<u64> {
    Ok(broadcast::Entity::delete_many()
        .filter(broadcast::Column::CreatedAt.lt(cutoff))
        .exec(db)
        .await?
        .rows_affected)
}
