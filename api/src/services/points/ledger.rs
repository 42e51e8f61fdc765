//! The ledger: balances, history, adjustments and redemptions, the CSV export.
use std::collections::HashMap;
use zhongdui_domain::text::phrases as p;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use crate::entities::{points_entry, team, user, volunteer};
use crate::error::{ApiError, ApiResult};

use super::board::sums;

/// Inserts ledger rows, skipping any whose idempotency key is booked
/// already (a retry, or a racing process, changes nothing).
pub(super) async fn insert_once<C: ConnectionTrait>(
    db: &C,
    rows: Vec<points_entry::ActiveModel>,
) -> ApiResult<()> {
    points_entry::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::column(points_entry::Column::IdempotencyKey)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// A volunteer's balance: the sum of their ledger.
pub async fn balance<C: ConnectionTrait>(db: &C, volunteer_id: Uuid) -> ApiResult<i64> {
    let sum: Option<Option<i64>> = points_entry::Entity::find()
        .select_only()
        .column_as(points_entry::Column::Amount.sum(), "total")
        .filter(points_entry::Column::VolunteerId.eq(volunteer_id))
        .into_tuple()
        .one(db)
        .await?;
    Ok(sum.flatten().unwrap_or(0))
}

/// A volunteer's ledger, newest first.
pub async fn history<C: ConnectionTrait>(
    db: &C,
    volunteer_id: Uuid,
    limit: u64,
) -> ApiResult<Vec<points_entry::Model>> {
    Ok(points_entry::Entity::find()
        .filter(points_entry::Column::VolunteerId.eq(volunteer_id))
        .order_by_desc(points_entry::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// Why a row was booked, for the reader: the system's own reasons (a task,
/// a rating) in the request's language from their phrase code, or the
/// words a coordinator wrote.
/// `params` are the row's `reason_params`, read once by the caller
/// ([`reason_params`]).
pub fn reason_of(
    e: &points_entry::Model,
    params: Option<&serde_json::Map<String, serde_json::Value>>,
) -> Option<String> {
    let phrase = e
        .reason_code
        .as_deref()
        .and_then(zhongdui_domain::text::phrase);
    let Some(phrase) = phrase else {
        return e.reason.clone();
    };
    let mut text = zhongdui_domain::text::Text::from(phrase);
    for (k, v) in params.into_iter().flatten() {
        text = text.with(k.clone(), crate::error::json_arg(v));
    }
    Some(text.render(crate::lang::current()))
}

/// A row's `reason_params`, parsed (none when absent or unreadable).
pub fn reason_params(
    e: &points_entry::Model,
) -> Option<serde_json::Map<String, serde_json::Value>> {
    e.reason_params
        .as_deref()
        .and_then(|s| serde_json::from_str(s).ok())
}

/// A points adjustment or redemption to book.
pub struct Adjustment<'a> {
    /// Whose points.
    pub volunteer_id: Uuid,
    /// `adjustment` or `redemption`.
    pub kind: &'a str,
    /// Points added (negative: taken).
    pub amount: i32,
    /// Why.
    pub reason: String,
    /// Makes retries harmless: a second booking with the key returns the first.
    pub key: String,
}

/// Books an adjustment or redemption by `by` at `now`: returns the row and
/// whether this call wrote it (false: its key was booked before).
pub async fn adjust<C: ConnectionTrait>(
    db: &C,
    a: Adjustment<'_>,
    by: Uuid,
    now: DateTime<Utc>,
) -> ApiResult<(points_entry::Model, bool)> {
    let Adjustment {
        volunteer_id,
        kind,
        amount,
        reason,
        key,
    } = a;
    let v = volunteer::Entity::find_by_id(volunteer_id)
        .one(db)
        .await?
        .ok_or_else(|| ApiError::invalid("volunteer_id", &p::NO_SUCH_VOLUNTEER))?;
    if let Some(existing) = points_entry::Entity::find()
        .filter(points_entry::Column::IdempotencyKey.eq(key.as_str()))
        .one(db)
        .await?
    {
        return Ok((existing, false));
    }
    let row = points_entry::ActiveModel {
        volunteer_id: Set(volunteer_id),
        team_id: Set(Some(v.team_id)),
        kind: Set(kind.to_owned()),
        amount: Set(amount),
        order_id: Set(None),
        reason: Set(Some(reason)),
        idempotency_key: Set(key.clone()),
        created_by: Set(Some(by)),
        created_at: Set(now),
        ..Default::default()
    };
    insert_once(db, vec![row]).await?;
    points_entry::Entity::find()
        .filter(points_entry::Column::IdempotencyKey.eq(key))
        .one(db)
        .await?
        .map(|e| (e, true))
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("adjustment vanished")))
}

/// Points per volunteer for the residency-points scheme, as CSV:
/// `phone,display_name,team,points_in_period,balance`.
/// `teams` limits the rows to volunteers of those teams (a coordinator's).
pub async fn export_csv<C: ConnectionTrait>(
    db: &C,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    teams_only: Option<&[Uuid]>,
) -> ApiResult<Vec<u8>> {
    let period: HashMap<Uuid, i64> = sums(db, false, from, to).await?.into_iter().collect();
    let all: HashMap<Uuid, i64> = sums(db, false, None, None).await?.into_iter().collect();
    let users: HashMap<Uuid, user::Model> = user::Entity::find()
        .filter(user::Column::Id.is_in(all.keys().copied().collect::<Vec<_>>()))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    let vols: HashMap<Uuid, Uuid> = volunteer::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|v| (v.id, v.team_id))
        .collect();
    let teams: HashMap<Uuid, String> = team::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.id, t.name))
        .collect();
    let mut rows: Vec<(String, String, String, i64, i64)> = all
        .iter()
        .filter(|(id, _)| {
            teams_only.is_none_or(|only| vols.get(*id).is_some_and(|t| only.contains(t)))
        })
        .filter_map(|(id, bal)| {
            let u = users.get(id)?;
            let team = vols
                .get(id)
                .and_then(|t| teams.get(t))
                .cloned()
                .unwrap_or_default();
            Some((
                u.phone.clone(),
                u.display_name.clone(),
                team,
                period.get(id).copied().unwrap_or(0),
                *bal,
            ))
        })
        .collect();
    rows.sort();
    let mut out = "\u{feff}".as_bytes().to_vec();
    {
        let mut w = csv::Writer::from_writer(&mut out);
        let err =
            |e: csv::Error| ApiError::Internal(anyhow::Error::new(e).context("writing points CSV"));
        w.write_record([
            "phone",
            "display_name",
            "team",
            "points_in_period",
            "balance",
        ])
        .map_err(err)?;
        for (phone, name, team, p, b) in rows {
            use crate::services::csv_roster::safe_cell;
            w.write_record([
                safe_cell(&phone),
                safe_cell(&name),
                safe_cell(&team),
                p.to_string(),
                b.to_string(),
            ])
            .map_err(err)?;
        }
        w.flush().map_err(|e| ApiError::Internal(e.into()))?;
    }
    Ok(out)
}
