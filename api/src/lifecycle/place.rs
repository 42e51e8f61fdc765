//! Placing an order: its code, row, announcement and (without a batch
//! window) its first wave, in one change.
use crate::entities::order;
use crate::error::ApiResult;
use crate::services::orders::{self, Actor, NewOrder};
use crate::state::AppState;

use super::work::Work;

/// Places a new order by `actor`: its code (read outside the transaction: a
/// PostgreSQL sequence), the row and its announcement, and — without a
/// batch window — its first wave in the same transaction, so that the order
/// row is written with its wave and the offers, pushes and events go with
/// the announcement, one statement per table. Otherwise the dispatcher is
/// woken to batch it.
pub async fn place(state: &AppState, actor: Actor, new: NewOrder) -> ApiResult<order::Model> {
    let now = state.clock.now();
    let window = chrono::Duration::milliseconds(
        i64::try_from(state.settings.dispatch.batch_window_ms).unwrap_or(1000),
    );
    let code = orders::next_code(&state.db, now).await?;
    let mut work = Work::begin_at(state, actor, now).await?;
    let (mut o, announce) = orders::new_order(code, new, actor, now, window, state.channels());
    let first = if state.settings.dispatch.batch_window_ms == 0 {
        state
            .dispatcher
            .plan_first_wave(&work.txn, state, &o, now)
            .await?
    } else {
        None
    };
    if let Some(f) = &first {
        o.wave = f.wave;
        o.next_action_at = Some(f.next_action_at);
    }
    orders::insert_order(&work.txn, &o).await?;
    match first {
        Some(f) => {
            state
                .dispatcher
                .write_first_wave(&work.txn, state, &o, f, announce, now)
                .await?;
        }
        None => {
            announce.write(&work.txn).await?;
            work.wake_dispatcher();
        }
    }
    work.commit().await?;
    Ok(o)
}
