//! Volunteers' positions and other changes the indexes of every process must
//! follow. Positions are rate-limited per volunteer, stored, applied to this
//! process's index, and published (transiently) to the other processes, to
//! residents whose order the volunteer is heading to, and (throttled) to the
//! coordinators' feed.
use std::time::{Duration, Instant};

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;
use zhongdui_domain::{GeoPoint, VolunteerId};

use crate::bus::BusMessage;
use crate::entities::{assignment, order, volunteer};
use crate::error::ApiResult;
use crate::messages::{Peer, Push};
use crate::state::AppState;
use zhongdui_domain::AssignmentState;

/// Stores a position report. Returns false (and stores nothing) when the
/// volunteer reports faster than the configured minimum interval.
pub async fn report(state: &AppState, volunteer_id: Uuid, at: GeoPoint) -> ApiResult<bool> {
    let min = Duration::from_millis(state.settings.dispatch.location_min_interval_ms);
    let ops_every = Duration::from_secs(10);
    let publish_ops = {
        let Ok(mut gate) = state.location_gate.lock() else {
            return Ok(false);
        };
        let now = Instant::now();
        let entry = gate
            .entry(volunteer_id)
            .or_insert((now - min - ops_every, now - ops_every));
        if now.duration_since(entry.0) < min {
            return Ok(false);
        }
        entry.0 = now;
        let ops = now.duration_since(entry.1) >= ops_every;
        if ops {
            entry.1 = now;
        }
        ops
    };
    store(state, volunteer_id, at, publish_ops).await?;
    Ok(true)
}

/// Stores a position the server itself vouches for (a check-in's), past
/// the rate limit, and tells the index and the listeners as a report would.
pub async fn record(state: &AppState, volunteer_id: Uuid, at: GeoPoint) -> ApiResult<()> {
    if let Ok(mut gate) = state.location_gate.lock() {
        let now = Instant::now();
        let entry = gate.entry(volunteer_id).or_insert((now, now));
        entry.0 = now;
    }
    store(state, volunteer_id, at, false).await
}

async fn store(
    state: &AppState,
    volunteer_id: Uuid,
    at: GeoPoint,
    publish_ops: bool,
) -> ApiResult<()> {
    let now = state.clock.now();
    volunteer::Entity::update_many()
        .col_expr(volunteer::Column::Lat, Expr::value(at.lat()))
        .col_expr(volunteer::Column::Lon, Expr::value(at.lon()))
        .col_expr(volunteer::Column::LocationAt, Expr::value(now))
        .filter(volunteer::Column::Id.eq(volunteer_id))
        .exec(&state.db)
        .await?;
    state.dispatcher.set_location(volunteer_id, at, now);
    metrics::counter!("location_reports_total").increment(1);

    let ch = state.channels();
    let transient = |channel: String, data: serde_json::Value| BusMessage {
        id: None,
        channel,
        data,
        origin: state.bus.origin,
    };
    let at_ts = now.timestamp();
    let mut out = vec![transient(
        ch.index(),
        Peer::Location {
            volunteer_id,
            lat: at.lat(),
            lon: at.lon(),
            at: at_ts,
        }
        .to_value(),
    )];
    // Residents see the volunteers heading to their order, and how far they
    // are. Only a volunteer with a task in hand is heading anywhere, and the
    // index knows (a claim updates it before it answers, another process's
    // within a bus hop), so most reports — volunteers waiting on duty — read
    // nothing; the others read their accepted assignments and those orders
    // in two queries.
    let in_hand = state
        .dispatcher
        .tasks_of(volunteer_id)
        .is_none_or(|(tasks, _)| tasks > 0);
    let heading: Vec<Uuid> = if in_hand {
        assignment::Entity::find()
            .filter(assignment::Column::VolunteerId.eq(volunteer_id))
            .filter(assignment::Column::State.eq(AssignmentState::Accepted.code()))
            .all(&state.db)
            .await?
            .into_iter()
            .map(|a| a.order_id)
            .collect()
    } else {
        Vec::new()
    };
    let orders = if heading.is_empty() {
        Vec::new()
    } else {
        order::Entity::find()
            .filter(order::Column::Id.is_in(heading))
            .all(&state.db)
            .await?
    };
    for o in orders {
        let distance = o.point().map(|p| p.distance_m(&at).round()).unwrap_or(0.0);
        out.push(transient(
            ch.order(o.id),
            Push::HeadingTo {
                order_id: o.id,
                volunteer_id,
                lat: at.lat(),
                lon: at.lon(),
                distance_m: distance,
                resident_id: o.resident_id,
            }
            .to_value(),
        ));
    }
    if publish_ops {
        out.push(transient(
            ch.ops(),
            Push::Position {
                volunteer_id,
                lat: at.lat(),
                lon: at.lon(),
            }
            .to_value(),
        ));
    }
    if let Err(e) = state.bus.publish_all(out).await {
        tracing::debug!(error = %e, "position not published");
    }
    Ok(())
}

/// Volunteers changed in the database (duty, capacity, skills, tasks): this
/// process re-reads them, and tells the others to.
pub async fn changed(state: &AppState, ids: &[Uuid]) -> ApiResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    state.dispatcher.refresh(&state.db, ids).await?;
    tell_peers(
        state,
        Peer::Refresh {
            volunteers: ids.to_vec(),
        },
    )
    .await;
    Ok(())
}

/// A volunteer took a task: every process's index takes the counts from the
/// row the claim returned (its skills did not change, so nothing is
/// re-read). Should two processes' messages about one volunteer cross, an
/// index may hold an older count until the next change or reload; offers
/// may then miss or wrongly include that volunteer, but claims are decided
/// in the database, never by the index.
pub async fn claimed(state: &AppState, v: &volunteer::Model) {
    let at = v.updated_at.timestamp();
    state
        .dispatcher
        .set_tasks(v.id, v.active_tasks, v.capacity, at);
    tell_peers(
        state,
        Peer::Tasks {
            volunteer_id: v.id,
            active_tasks: v.active_tasks,
            capacity: v.capacity,
            at,
        },
    )
    .await;
}

/// Offers were withdrawn from these volunteers (after the commit): every
/// process stops holding them back as busy, instead of waiting for its next
/// pass with a due order to re-read the open offers.
pub async fn released(state: &AppState, ids: &[Uuid]) {
    if ids.is_empty() {
        return;
    }
    state.dispatcher.release(ids);
    tell_peers(
        state,
        Peer::Released {
            volunteers: ids.to_vec(),
        },
    )
    .await;
}

/// Tells the other processes, every 100 ms, the offers this one sent
/// since (one bus message however many): they count them towards the
/// hourly cap and hold those volunteers back from a second offer until they
/// answer. Flushes once more at shutdown.
pub async fn tell_offers(state: AppState, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let mut every = tokio::time::interval(std::time::Duration::from_millis(100));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let stop = tokio::select! {
            _ = shutdown.changed() => true,
            _ = every.tick() => false,
        };
        let offers = state.dispatcher.take_untold_offers();
        if !offers.is_empty() {
            tell_peers(&state, Peer::Offers { offers }).await;
        }
        if stop {
            break;
        }
    }
}

/// Publishes an index update for the other processes (see [`follow`]).
async fn tell_peers(state: &AppState, message: Peer) {
    let msg = BusMessage {
        id: None,
        channel: state.channels().index(),
        data: message.to_value(),
        origin: state.bus.origin,
    };
    if let Err(e) = state.bus.publish(msg).await {
        tracing::debug!(error = %e, "index update not published; peers catch up at their next reload");
    }
}

/// Applies other processes' index updates to this one, until shutdown.
pub async fn follow(state: AppState, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let mut rx = state.bus.subscribe();
    let channel = state.channels().index();
    loop {
        let msg = tokio::select! {
            _ = shutdown.changed() => break,
            m = rx.recv() => m,
        };
        let m = match msg {
            Ok(m) => m,
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                // Missed some: re-read everything.
                if let Err(e) = state
                    .dispatcher
                    .reload(&state.db, &state.settings.dispatch, state.clock.now())
                    .await
                {
                    tracing::warn!(error = %e, "index reload failed");
                }
                continue;
            }
            Err(_) => break,
        };
        if m.channel != channel || m.origin == state.bus.origin {
            continue;
        }
        match Peer::read(&m.data) {
            Some(Peer::Location {
                volunteer_id,
                lat,
                lon,
                at,
            }) => {
                let when =
                    chrono::DateTime::from_timestamp(at, 0).unwrap_or_else(crate::clock::wall);
                if let Ok(p) = GeoPoint::parse(lat, lon) {
                    state.dispatcher.set_location(volunteer_id, p, when);
                }
            }
            Some(Peer::Tasks {
                volunteer_id,
                active_tasks,
                capacity,
                at,
            }) => state
                .dispatcher
                .set_tasks(volunteer_id, active_tasks, capacity, at),
            Some(Peer::Offers { offers }) => state.dispatcher.peer_offered(&offers),
            Some(Peer::Released { volunteers }) => state.dispatcher.release(&volunteers),
            Some(Peer::Refresh { volunteers }) => {
                if let Err(e) = state.dispatcher.refresh(&state.db, &volunteers).await {
                    tracing::warn!(error = %e, "index refresh failed");
                }
            }
            Some(Peer::Relay) | None => {}
        }
    }
}

/// The index's view of one volunteer in this process (for operators and tests).
pub fn indexed_position(state: &AppState, id: Uuid) -> Option<(f64, f64)> {
    state.dispatcher.position_of(VolunteerId(id))
}
