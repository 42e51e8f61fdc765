//! Points booked by hand: a coordinator's adjustment or a redemption.
use crate::entities::points_entry;
use crate::error::{ApiError, ApiResult};
use crate::messages::Push;
use crate::services::orders::{self, Actor};
use crate::services::points::{self, Adjustment, Credit};
use crate::services::privacy;
use crate::state::AppState;
use zhongdui_domain::text::phrases as p;

use super::work::Work;

/// Books `a` (a redemption only while the balance covers it), audits it and
/// credits the boards; a key booked before returns the first row, changing
/// nothing. The second value says whether this call booked it.
pub async fn adjust_points(
    state: &AppState,
    actor: Actor,
    a: Adjustment<'_>,
) -> ApiResult<(points_entry::Model, bool)> {
    let vid = a.volunteer_id;
    if a.kind == "redemption" && points::balance(&state.db, vid).await? + i64::from(a.amount) < 0 {
        return Err(ApiError::invalid("amount", &p::BALANCE_TOO_LOW_REDEMPTION));
    }
    let by = actor.id.unwrap_or_default();
    let mut work = Work::begin(state, actor).await?;
    let (e, new) = points::adjust(&work.txn, a, by, work.now()).await?;
    if new {
        let data = serde_json::json!({"amount": e.amount, "reason": e.reason, "entry_id": e.id.to_string()});
        privacy::audit(&work.txn, actor, "points", vid, &e.kind, data, work.now()).await?;
        work.credited(vec![Credit {
            volunteer_id: vid,
            team_id: e.team_id,
            amount: e.amount,
            at: e.created_at,
        }]);
        // The volunteer's page updates live, in the same transaction.
        let balance = points::balance(&work.txn, vid).await?;
        let push = Push::PointsAdjusted {
            kind: e.kind.clone(),
            amount: i64::from(e.amount),
            reason: e.reason.clone(),
            balance,
        };
        orders::push(&work.txn, work.channels().volunteer(vid), push, work.now()).await?;
    }
    work.commit().await?;
    Ok((e, new))
}
