//! Earning: the rule table and the points a closed order credits.
use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::entities::{assignment, order, points_entry, volunteer};
use crate::error::ApiResult;
use crate::settings::PointsSettings;
use zhongdui_domain::AssignmentState;
use zhongdui_domain::text::{Text, phrases as p};

/// Ledger entry kinds.
pub const KINDS: [&str; 4] = ["earn", "bonus", "adjustment", "redemption"];

/// Points for one volunteer's part in a closed order, by the rule table:
/// tier base + time on task (per started half hour, capped) + rating bonus.
pub fn earned(
    rules: &PointsSettings,
    tier: i16,
    minutes_on_task: i64,
    rating: Option<i16>,
) -> (i32, i32) {
    let tier_index = usize::try_from(tier.clamp(1, 3) - 1).unwrap_or(0);
    let base = rules.tier_base.get(tier_index).copied().unwrap_or(0);
    let half_hours = i32::try_from((minutes_on_task.max(0) + 29) / 30).unwrap_or(i32::MAX);
    let time = half_hours
        .saturating_mul(rules.per_half_hour)
        .min(rules.max_time_points);
    let bonus = match rating {
        Some(5) => rules.rating5_bonus,
        Some(4) => rules.rating4_bonus,
        _ => 0,
    };
    (base + time, bonus)
}

/// A ledger row just written (for the leaderboards).
#[derive(Debug, Clone, Copy)]
pub struct Credit {
    /// Volunteer.
    pub volunteer_id: Uuid,
    /// Their team then.
    pub team_id: Option<Uuid>,
    /// Points.
    pub amount: i32,
    /// When.
    pub at: DateTime<Utc>,
}

/// Writes the ledger rows for a closed order (confirmed or auto-closed).
/// Safe to call any number of times: one earn (and bonus) row per volunteer.
/// Returns the rows this call wrote.
pub async fn award_for_order<C: ConnectionTrait>(
    db: &C,
    rules: &PointsSettings,
    o: &order::Model,
    now: DateTime<Utc>,
    ch: crate::services::orders::Channels<'_>,
) -> ApiResult<Vec<Credit>> {
    let done = assignment::Entity::find()
        .filter(assignment::Column::OrderId.eq(o.id))
        .filter(assignment::Column::State.eq(AssignmentState::Completed.code()))
        .all(db)
        .await?;
    // (row, what it credits) per ledger row this order should have.
    let mut rows: Vec<(points_entry::ActiveModel, String, Credit)> = Vec::new();
    for a in &done {
        let team_id = volunteer::Entity::find_by_id(a.volunteer_id)
            .one(db)
            .await?
            .map(|v| v.team_id);
        let minutes = match (a.arrived_at, a.completed_at) {
            (Some(s), Some(e)) => (e - s).num_minutes(),
            _ => 0,
        };
        let (amount, bonus) = earned(rules, o.tier, minutes, o.rating);
        let mut entry = |kind: &str, amount: i32, reason: Text| {
            let key = format!("{kind}:{}:{}", o.id, a.volunteer_id);
            let row = points_entry::ActiveModel {
                volunteer_id: Set(a.volunteer_id),
                team_id: Set(team_id),
                kind: Set(kind.to_owned()),
                amount: Set(amount),
                order_id: Set(Some(o.id)),
                reason: Set(Some(reason.to_string())),
                reason_code: Set(Some(reason.code().to_owned())),
                reason_params: Set(Some(
                    serde_json::Value::Object(crate::error::params_json(&reason)).to_string(),
                )),
                idempotency_key: Set(key.clone()),
                created_by: Set(None),
                created_at: Set(now),
                ..Default::default()
            };
            let credit = Credit {
                volunteer_id: a.volunteer_id,
                team_id,
                amount,
                at: now,
            };
            rows.push((row, key, credit));
        };
        entry(
            "earn",
            amount,
            p::REASON_TASK
                .with("code", &o.code)
                .with("minutes", minutes),
        );
        if bonus > 0 {
            entry(
                "bonus",
                bonus,
                p::REASON_RATED
                    .with("code", &o.code)
                    .with("rating", o.rating.unwrap_or(0)),
            );
        }
    }
    let keys: Vec<String> = rows.iter().map(|(_, k, _)| k.clone()).collect();
    let existing: std::collections::HashSet<String> = points_entry::Entity::find()
        .filter(points_entry::Column::IdempotencyKey.is_in(keys))
        .all(db)
        .await?
        .into_iter()
        .map(|e| e.idempotency_key)
        .collect();
    let (fresh, credits): (Vec<_>, Vec<_>) = rows
        .into_iter()
        .filter(|(_, k, _)| !existing.contains(k))
        .map(|(row, _, credit)| (row, credit))
        .unzip();
    if !fresh.is_empty() {
        super::ledger::insert_once(db, fresh).await?;
    }
    // Tell each volunteer, in the same transaction, so their balance updates live.
    let mut per_volunteer: std::collections::BTreeMap<Uuid, i64> = Default::default();
    for c in &credits {
        *per_volunteer.entry(c.volunteer_id).or_default() += i64::from(c.amount);
    }
    for (volunteer_id, amount) in per_volunteer {
        crate::services::orders::push(
            db,
            ch.volunteer(volunteer_id),
            crate::messages::Push::PointsAwarded {
                order_id: o.id,
                code: o.code.clone(),
                amount,
            },
            now,
        )
        .await?;
    }
    Ok(credits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> PointsSettings {
        PointsSettings {
            tier_base: vec![10, 20, 30],
            per_half_hour: 5,
            max_time_points: 20,
            rating5_bonus: 10,
            rating4_bonus: 5,
        }
    }

    #[test]
    fn rule_table() {
        assert_eq!(earned(&rules(), 1, 0, None), (10, 0));
        assert_eq!(earned(&rules(), 3, 45, Some(5)), (30 + 10, 10));
        assert_eq!(
            earned(&rules(), 2, 600, Some(4)),
            (20 + 20, 5),
            "time is capped"
        );
        assert_eq!(
            earned(&rules(), 2, 1, Some(3)),
            (25, 0),
            "a started half hour counts"
        );
    }
}
