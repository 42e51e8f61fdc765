//! The dispatch passes. Durable by construction: deadlines and wave state live
//! in the database, and each pass ([`Dispatcher::tick`]) does what is due at
//! the clock's `now` — expire offers, start the next wave or escalate, batch
//! new orders, auto-close unconfirmed ones. After a restart the next pass
//! simply carries on. The in-memory index ([`super::index`]) only proposes
//! candidates; every claim is decided by conditional updates in the database.

use std::sync::atomic::Ordering;

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use serde_json::json;
use zhongdui_domain::{OrderAction, OrderStatus};

use crate::entities::{assignment, order};
use crate::error::{ApiError, ApiResult};
use crate::lifecycle::Work;
use crate::messages::Push;
use crate::services::orders::{self, Actor};
use crate::services::points;
use crate::state::AppState;
use zhongdui_domain::AssignmentState;

use super::index::Dispatcher;
pub use super::waves::TickReport;

impl Dispatcher {
    /// One pass over everything due at the clock's now.
    pub async fn tick(&self, state: &AppState) -> ApiResult<TickReport> {
        let _pass = self.pass.lock().await;
        let now = state.clock.now();
        let mut report = TickReport::default();
        // Rota boundaries first (once a second), so that a shift's members
        // are on duty for this pass's waves.
        let second = now.timestamp();
        if self.shifts_second.swap(second, Ordering::Relaxed) != second {
            match crate::lifecycle::turn_shifts(state, now).await {
                Ok(n) => report.shifts = n,
                Err(e) => {
                    self.shifts_second.store(i64::MIN, Ordering::Relaxed);
                    tracing::warn!(error = %e, "rota pass failed; retried next pass");
                }
            }
        }
        report.expired = self.expire_offers(state, now).await?;
        self.run_waves(state, now, &mut report).await?;
        if let Err(e) = self.chase_no_shows(state, now, &mut report).await {
            tracing::warn!(error = %e, "no-show pass failed; retried next pass");
        }
        report.auto_closed = self.auto_close(state, now).await?;
        if report != TickReport::default() {
            tracing::debug!(?report, "dispatch pass");
            state.relay_wake.notify_one();
        }
        metrics::counter!("dispatch_offers_total").increment(report.offers as u64);
        metrics::counter!("dispatch_escalations_total").increment(report.escalated as u64);
        Ok(report)
    }

    async fn expire_offers(&self, state: &AppState, now: DateTime<Utc>) -> ApiResult<usize> {
        let due = assignment::Entity::find()
            .filter(assignment::Column::State.eq(AssignmentState::Offered.code()))
            .filter(assignment::Column::Deadline.lte(now))
            .limit(1000)
            .all(&state.db)
            .await?;
        let ch = state.channels();
        let mut n = 0;
        for a in due {
            let txn = crate::db::begin_write(&state.db).await?;
            let mut t = orders::Trail::new(Actor::SYSTEM, now);
            let expired = orders::move_assignment(
                &txn,
                &a,
                AssignmentState::Expired,
                vec![(assignment::Column::RespondedAt, Some(now).into())],
                (
                    "offer_expired",
                    json!({"volunteer_id": a.volunteer_id.to_string(), "wave": a.wave}),
                ),
                &mut t,
            )
            .await?;
            if expired {
                t.push(
                    ch.volunteer(a.volunteer_id),
                    &Push::OfferExpired {
                        offer_id: a.id,
                        order_id: a.order_id,
                    },
                );
                t.write(&txn).await?;
                n += 1;
            }
            txn.commit().await?;
        }
        Ok(n)
    }

    async fn auto_close(&self, state: &AppState, now: DateTime<Utc>) -> ApiResult<usize> {
        let cutoff = now - Duration::hours(state.settings.dispatch.auto_close_hours);
        let due = order::Entity::find()
            .filter(order::Column::Status.eq(OrderStatus::Completed.code()))
            .filter(order::Column::CompletedAt.lte(cutoff))
            .limit(200)
            .all(&state.db)
            .await?;
        let mut n = 0;
        for o in due {
            let mut work = Work::begin_at(state, Actor::SYSTEM, now).await?;
            let closed = orders::transition(
                &work.txn,
                &o,
                OrderAction::AutoClose,
                vec![(order::Column::ClosedAt, Some(now).into())],
                json!({"after_hours": state.settings.dispatch.auto_close_hours}),
                work.channels(),
                work.trail(),
            )
            .await;
            match closed {
                Ok(closed) => {
                    let rules = &state.settings.points;
                    let credits =
                        points::award_for_order(&work.txn, rules, &closed, now, work.channels())
                            .await?;
                    work.credited(credits);
                    work.commit().await?;
                    n += 1;
                }
                Err(ApiError::Conflict(_)) => work.rollback().await?,
                Err(e) => return Err(e),
            }
        }
        Ok(n)
    }

    /// Runs passes until `shutdown` fires: every `tick_ms`, and after a new
    /// order (waiting `batch_window_ms` for companions).
    pub async fn run(state: AppState, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let d = state.settings.dispatch.clone();
        let mut reload_every = tokio::time::interval(std::time::Duration::from_secs(300));
        reload_every.tick().await;
        loop {
            tokio::select! {
                _ = shutdown.changed() => break,
                _ = tokio::time::sleep(std::time::Duration::from_millis(d.tick_ms)) => {}
                _ = state.dispatcher.wake.notified() => {}
                _ = reload_every.tick() => {
                    if let Err(e) = state.dispatcher.reload(&state.db, &d, state.clock.now()).await {
                        tracing::warn!(error = %e, "index reload failed");
                    }
                }
            }
            if let Err(e) = state.dispatcher.tick(&state).await {
                tracing::error!(error = ?e, "dispatch pass failed");
            }
        }
    }
}
