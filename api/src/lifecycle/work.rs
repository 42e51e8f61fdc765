//! The unit of work of the order lifecycle. A [`Work`] is one write
//! transaction with its moment and actor, and the list of what must happen
//! once it commits: every process's index told about volunteers claimed,
//! released or changed, the points boards credited, the dispatcher woken.
//! [`Work::commit`] commits and then runs all of them, so a handler names
//! what its change did (`work.claimed(&c)`) and cannot forget a step after
//! the commit, nor run one for a change that rolled back.
use chrono::{DateTime, Utc};
use sea_orm::DatabaseTransaction;
use uuid::Uuid;

use crate::entities::volunteer;
use crate::error::ApiResult;
use crate::services::orders::{Actor, Channels, Claimed, Trail};
use crate::services::points::{self, Credit};
use crate::state::AppState;

/// One change to orders, open until [`Work::commit`].
pub struct Work<'s> {
    state: &'s AppState,
    /// The write transaction every statement of the change runs in.
    pub txn: DatabaseTransaction,
    actor: Actor,
    now: DateTime<Utc>,
    claimed: Vec<volunteer::Model>,
    released: Vec<Uuid>,
    changed: Vec<Uuid>,
    credits: Vec<Credit>,
    wake: bool,
}

impl<'s> Work<'s> {
    /// Starts a change by `actor` at the clock's now.
    pub async fn begin(state: &'s AppState, actor: Actor) -> ApiResult<Self> {
        Self::begin_at(state, actor, state.clock.now()).await
    }

    /// Starts a change by `actor` at `now` (read before the transaction).
    pub async fn begin_at(
        state: &'s AppState,
        actor: Actor,
        now: DateTime<Utc>,
    ) -> ApiResult<Self> {
        Ok(Work {
            state,
            txn: crate::db::begin_write(&state.db).await?,
            actor,
            now,
            claimed: Vec::new(),
            released: Vec::new(),
            changed: Vec::new(),
            credits: Vec::new(),
            wake: false,
        })
    }

    /// The moment of the change.
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// A fresh record for the change's events and pushes (same actor, same moment).
    pub fn trail(&self) -> Trail {
        Trail::new(self.actor, self.now)
    }

    /// Where the change's pushes go.
    pub fn channels(&self) -> Channels<'s> {
        self.state.channels()
    }

    /// A volunteer came onto an order: their task count changes in every
    /// index, and the offers the claim withdrew free their volunteers.
    pub fn claimed(&mut self, c: &Claimed) {
        self.claimed.push(c.volunteer.clone());
        self.released.extend(&c.withdrawn);
        self.changed.extend(c.replaced);
    }

    /// Offers were withdrawn from these volunteers.
    pub fn released(&mut self, ids: &[Uuid]) {
        self.released.extend(ids);
    }

    /// These volunteers changed in the database (duty, tasks, skills): every
    /// index re-reads them.
    pub fn changed(&mut self, ids: &[Uuid]) {
        self.changed.extend(ids);
    }

    /// Points were credited: the boards add them.
    pub fn credited(&mut self, credits: Vec<Credit>) {
        self.credits.extend(credits);
    }

    /// The dispatcher has work now (not at its next tick).
    pub fn wake_dispatcher(&mut self) {
        self.wake = true;
    }

    /// Abandons the change: nothing of it is written, nothing follows.
    pub async fn rollback(self) -> ApiResult<()> {
        self.txn.rollback().await?;
        Ok(())
    }

    /// Commits, then does what the change requires after the commit.
    pub async fn commit(self) -> ApiResult<()> {
        let Work {
            state,
            txn,
            claimed,
            released,
            changed,
            credits,
            wake,
            ..
        } = self;
        txn.commit().await?;
        for v in &claimed {
            crate::location::claimed(state, v).await;
        }
        crate::location::released(state, &released).await;
        if !credits.is_empty() {
            points::cache::add(state, &credits).await;
        }
        crate::location::changed(state, &changed).await?;
        if wake {
            state.dispatcher.wake.notify_one();
        }
        Ok(())
    }
}
