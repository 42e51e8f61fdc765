//! The unit of work of the order lifecycle. A [`Work`] is one write
//! transaction with its moment and actor, and the list of what must happen
//! once it commits: every process's index told about volunteers claimed,
//! released or changed, the points boards credited, the dispatcher woken.
//! [`Work::commit`] commits and then runs all of them, so a handler names
//! what its change did (`work.claimed(&c)`) and cannot forget a step after
//! the commit, nor run one for a change that rolled back.
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;
use zhongdui_domain::{AssignmentState, ClaimHow, OrderAction, OrderStatus};

use crate::entities::{assignment, order, volunteer};
use crate::error::{ApiError, ApiResult};
use crate::services::orders::{self, Actor, Channels, Claimed, NewOrder, Trail};
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
        Channels(&self.state.settings.redis_prefix)
    }

    /// A volunteer came onto an order: their task count changes in every
    /// index, and the offers the claim withdrew free their volunteers.
    pub fn claimed(&mut self, c: &Claimed) {
        self.claimed.push(c.volunteer.clone());
        self.released.extend(&c.withdrawn);
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
    let (mut o, announce) =
        orders::new_order(code, new, actor, now, window, &state.settings.redis_prefix);
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

/// Puts a volunteer on an order by hand (a coordinator's assignment), first
/// taking `replace` off it when given (only while they have not arrived):
/// the removal, the order's unfill, the claim and both volunteers' pushes in
/// one change. The caller has checked who may do it and the skills.
pub async fn assign(
    state: &AppState,
    actor: Actor,
    order_id: Uuid,
    volunteer_id: Uuid,
    replace: Option<Uuid>,
) -> ApiResult<order::Model> {
    let mut work = Work::begin(state, actor).await?;
    let (id, vid, now) = (order_id, volunteer_id, work.now());
    let txn = &work.txn;
    let ch = work.channels();
    if let Some(old) = replace {
        let a = assignment::Entity::find()
            .filter(assignment::Column::OrderId.eq(id))
            .filter(assignment::Column::VolunteerId.eq(old))
            .filter(assignment::Column::State.eq(AssignmentState::Accepted.code()))
            .one(txn)
            .await?
            .ok_or_else(|| {
                ApiError::invalid(
                    "replace_volunteer_id",
                    "that volunteer is not on this order (or already on scene)",
                )
            })?;
        // Taken off: the removal's event follows the order's unfill.
        let mut removal = work.trail();
        let removed = orders::move_assignment(
            txn,
            &a,
            AssignmentState::Removed,
            vec![],
            (
                "volunteer_removed",
                json!({"volunteer_id": old.to_string()}),
            ),
            &mut removal,
        )
        .await?;
        if !removed {
            return Err(ApiError::Conflict(
                "that volunteer's part changed meanwhile; reload and retry".to_owned(),
            ));
        }
        orders::release_capacity(txn, old, now).await?;
        order::Entity::update_many()
            .col_expr(
                order::Column::Filled,
                orders::col_plus(order::Column::Filled, -1),
            )
            .filter(order::Column::Id.eq(id))
            .exec(txn)
            .await?;
        let cur = orders::load(txn, id).await?;
        if cur.status()? == OrderStatus::Assigned {
            orders::transition(
                txn,
                &cur,
                OrderAction::Unfill,
                vec![],
                json!({"removed": old.to_string()}),
                ch,
                work.trail(),
            )
            .await?;
        }
        removal.push(
            ch.volunteer(old),
            &crate::messages::Push::AssignmentRemoved { order_id: id },
        );
        removal.write(txn).await?;
    }
    let claimed = orders::claim(
        txn,
        orders::Claim {
            order_id: id,
            volunteer_id: vid,
            how: ClaimHow::Manual,
            known: None,
            distance_m: None,
        },
        ch,
        work.trail(),
    )
    .await?;
    let o = claimed.order.clone();
    let mut told = work.trail();
    told.push(
        ch.volunteer(vid),
        &crate::messages::Push::Assigned {
            order_id: id,
            code: o.code.clone(),
        },
    );
    told.write(txn).await?;
    // The claim changed the assignee's task count; a removal the other's.
    work.released(&claimed.withdrawn);
    let mut touched = vec![vid];
    touched.extend(replace);
    work.changed(&touched);
    work.commit().await?;
    Ok(o)
}
