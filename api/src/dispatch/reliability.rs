//! A volunteer's reliability over the last `dispatch.reliability_days`,
//! from their assignments: how many offers they answered yes to, how often
//! they withdrew from an order they had taken, how often they were not on
//! scene when expected (a no-show: found overdue and never checked in).
//!
//! The score (0–100) is the acceptance rate with one imagined yes and one
//! imagined no (so a newcomer starts at 50 → about their record soon),
//! less 10 points per withdrawal and 20 per no-show. Dispatch uses it only
//! to break ties among near-equal candidates (`VolunteerIndex::set_reliability`:
//! below 40 and below 20 are asked after the rest within ε): distance
//! comes first, always. The index takes the scores at each reload and
//! whenever a volunteer is re-read (after a decline, a withdrawal, a
//! no-show, a roster change).
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;
use zhongdui_domain::AssignmentState;

use crate::entities::assignment;
use crate::error::ApiResult;

/// A volunteer's record over the window.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Reliability {
    /// The window, in days.
    pub days: i64,
    /// Offers made to them (answered or not; withdrawn ones not counted).
    pub offers: u32,
    /// Offers they accepted, tasks they grabbed or were assigned.
    pub accepted: u32,
    /// Offers they declined.
    pub declined: u32,
    /// Offers that ran out unanswered.
    pub expired: u32,
    /// Orders they withdrew from after taking them.
    pub withdrawals: u32,
    /// Orders they were not on scene for when expected, and never reached.
    pub no_shows: u32,
    /// 0–100 (see the module's documentation).
    pub score: u8,
}

impl Reliability {
    fn scored(mut self) -> Self {
        let decided = f64::from(self.accepted + self.declined + self.expired);
        let rate = (f64::from(self.accepted) + 1.0) / (decided + 2.0);
        let score =
            100.0 * rate - 10.0 * f64::from(self.withdrawals) - 20.0 * f64::from(self.no_shows);
        self.score = score.round().clamp(0.0, 100.0) as u8;
        self
    }
}

/// The records of `ids` (every volunteer with assignments in the window
/// when None) since `now - days`; a volunteer with none is absent (score
/// it as `Reliability::default` scored: 50).
pub async fn of<C: ConnectionTrait>(
    db: &C,
    ids: Option<&[Uuid]>,
    days: i64,
    now: DateTime<Utc>,
) -> ApiResult<HashMap<Uuid, Reliability>> {
    let since = now - chrono::Duration::days(days.max(1));
    let mut q = assignment::Entity::find()
        .select_only()
        .column(assignment::Column::VolunteerId)
        .column(assignment::Column::State)
        .column_as(assignment::Column::Id.count(), "n")
        .filter(assignment::Column::OfferedAt.gte(since))
        .group_by(assignment::Column::VolunteerId)
        .group_by(assignment::Column::State);
    if let Some(ids) = ids {
        q = q.filter(assignment::Column::VolunteerId.is_in(ids.to_vec()));
    }
    let rows: Vec<(Uuid, String, i64)> = q.into_tuple().all(db).await?;
    let mut out: HashMap<Uuid, Reliability> = HashMap::new();
    for (v, state, n) in rows {
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        let r = out.entry(v).or_default();
        match state.parse::<AssignmentState>() {
            Ok(AssignmentState::Declined) => r.declined += n,
            Ok(AssignmentState::Expired) => r.expired += n,
            Ok(AssignmentState::Left) => {
                r.withdrawals += n;
                r.accepted += n;
            }
            Ok(
                AssignmentState::Accepted
                | AssignmentState::Arrived
                | AssignmentState::Completed
                | AssignmentState::Cancelled
                | AssignmentState::Removed,
            ) => r.accepted += n,
            // Still open, or withdrawn before they could answer.
            Ok(AssignmentState::Offered | AssignmentState::Withdrawn) | Err(_) => {}
        }
    }
    let mut late = assignment::Entity::find()
        .select_only()
        .column(assignment::Column::VolunteerId)
        .column_as(assignment::Column::Id.count(), "n")
        .filter(assignment::Column::OfferedAt.gte(since))
        .filter(assignment::Column::OverdueAt.is_not_null())
        .filter(assignment::Column::ArrivedAt.is_null())
        .group_by(assignment::Column::VolunteerId);
    if let Some(ids) = ids {
        late = late.filter(assignment::Column::VolunteerId.is_in(ids.to_vec()));
    }
    let late: Vec<(Uuid, i64)> = late.into_tuple().all(db).await?;
    for (v, n) in late {
        out.entry(v).or_default().no_shows += u32::try_from(n).unwrap_or(u32::MAX);
    }
    Ok(out
        .into_iter()
        .map(|(v, mut r)| {
            r.offers = r.accepted + r.declined + r.expired;
            r.days = days;
            (v, r.scored())
        })
        .collect())
}

/// The record of someone with no assignments in the window.
pub fn newcomer(days: i64) -> Reliability {
    Reliability {
        days,
        ..Reliability::default()
    }
    .scored()
}

/// The record of one volunteer (a newcomer's when they have none).
pub async fn one<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
    days: i64,
    now: DateTime<Utc>,
) -> ApiResult<Reliability> {
    Ok(of(db, Some(&[id]), days, now)
        .await?
        .remove(&id)
        .unwrap_or_else(|| newcomer(days)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_score_follows_the_record() {
        let r = |accepted, declined, expired, withdrawals, no_shows| {
            Reliability {
                accepted,
                declined,
                expired,
                withdrawals,
                no_shows,
                ..Reliability::default()
            }
            .scored()
            .score
        };
        assert_eq!(r(0, 0, 0, 0, 0), 50, "a newcomer");
        assert_eq!(r(8, 0, 0, 0, 0), 90);
        assert_eq!(r(0, 8, 0, 0, 0), 10);
        assert_eq!(r(8, 0, 0, 1, 0), 80);
        assert_eq!(r(8, 0, 0, 0, 1), 70);
        assert_eq!(r(1, 5, 5, 3, 3), 0, "never below 0");
    }
}
