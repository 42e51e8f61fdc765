//! Placing an order: its code, row, announcement and (without a batch
//! window) its first wave, in one change.
use crate::entities::order;
use crate::error::ApiResult;
use crate::services::orders::{self, Actor, NewOrder};
use crate::state::AppState;
use zhongdui_domain::text::phrases as p;

use super::work::Work;

/// Places a new order by `actor`: its code (read outside the transaction: a
/// PostgreSQL sequence), the row and its announcement, and — when it need
/// not wait for a batch ([`at_once`]) — its first wave in the same
/// transaction, so that the order row is written with its wave and the
/// offers, pushes and events go with the announcement, one statement per
/// table. Otherwise the dispatcher is woken to batch it.
pub async fn place(state: &AppState, actor: Actor, new: NewOrder) -> ApiResult<order::Model> {
    let now = state.clock.now();
    let window = chrono::Duration::milliseconds(
        i64::try_from(state.settings.dispatch.batch_window_ms).unwrap_or(1000),
    );
    let code = orders::next_code(&state.db, now).await?;
    let mut work = Work::begin_at(state, actor, now).await?;
    let dispatch_now = at_once(state, &work.txn, &new).await?;
    let (mut o, announce) = orders::new_order(code, new, actor, now, window, state.channels());
    let first = if dispatch_now {
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

/// Whether a new order gets its first wave at once rather than waiting out
/// the batch window: always without a window; with the adaptive window
/// (the default), when it is urgent or critical, or when no order in
/// dispatch lies within twice the first radius (their first-wave discs
/// cannot overlap, so nothing could be gained by assigning them jointly).
async fn at_once<C: sea_orm::ConnectionTrait>(
    state: &AppState,
    db: &C,
    new: &NewOrder,
) -> ApiResult<bool> {
    let d = &state.settings.dispatch;
    if d.batch_window_ms == 0 {
        return Ok(true);
    }
    if !d.adaptive_window {
        return Ok(false);
    }
    if new.urgency.is_pressing() {
        return Ok(true);
    }
    let first_radius = d.radii_m.first().copied().unwrap_or(0.0);
    Ok(!orders::open_order_within(db, new.at, 2.0 * first_radius).await?)
}

/// Places a station system's slip once per slip number (the caller has
/// answered a number seen before): when an identical request in another
/// process wins the race, the database's unique index refuses this one and
/// the winner's order is returned, with false (nothing created here).
pub async fn place_slip(
    state: &AppState,
    actor: Actor,
    new: NewOrder,
) -> ApiResult<(order::Model, bool)> {
    let Some((client, number)) = new.slip.clone() else {
        return Ok((place(state, actor, new).await?, true));
    };
    match place(state, actor, new).await {
        Ok(o) => Ok((o, true)),
        Err(e) => match orders::slip(&state.db, client, &number).await? {
            Some(o) => Ok((o, false)),
            None => Err(e),
        },
    }
}

/// The station closes the loop on its slip `o` (双向闭环): its outcome and
/// note become an event of the order's audit trail, once.
pub async fn close_slip(
    state: &AppState,
    actor: Actor,
    o: &order::Model,
    outcome: &str,
    note: Option<String>,
) -> ApiResult<order::Model> {
    let work = Work::begin(state, actor).await?;
    let closed = orders::events_of(&work.txn, o.id)
        .await?
        .into_iter()
        .any(|e| e.kind == "station_closed");
    if closed {
        work.rollback().await?;
        return Err(crate::error::ApiError::conflict(
            p::SLIP_CLOSED.with("slip", o.external_id.as_deref().unwrap_or(&o.code)),
        ));
    }
    let mut t = work.trail();
    let data = serde_json::json!({"outcome": outcome, "note": note});
    t.event(o.id, "station_closed", None, None, data);
    t.write(&work.txn).await?;
    let o = orders::load(&work.txn, o.id).await?;
    work.commit().await?;
    Ok(o)
}
