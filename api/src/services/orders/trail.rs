//! The record of a change to orders: who makes it and when (`Actor`, `Trail`), the audit
//! events and pushes it writes, and where pushes go (`Channels`).
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};
use serde_json::Value;
use uuid::Uuid;
use zhongdui_domain::{OrderStatus, Role};

use crate::entities::{order_event, outbox};
use crate::error::ApiResult;
use crate::messages::Push;

/// `col + n`, for conditional counters.
pub fn col_plus<C: sea_orm::sea_query::IntoColumnRef>(col: C, n: i32) -> Expr {
    sea_orm::sea_query::ExprTrait::add(Expr::col(col), n)
}

/// `a < b` between two columns.
pub(super) fn col_lt_col<A, B>(a: A, b: B) -> Expr
where
    A: sea_orm::sea_query::IntoColumnRef,
    B: sea_orm::sea_query::IntoColumnRef,
{
    sea_orm::sea_query::ExprTrait::lt(Expr::col(a), Expr::col(b))
}

/// Who did something: a user, or the system (dispatcher).
#[derive(Debug, Clone, Copy)]
pub struct Actor {
    /// The user, if any.
    pub id: Option<Uuid>,
    /// Their role.
    pub role: Option<Role>,
}

impl Actor {
    /// The dispatcher itself.
    pub const SYSTEM: Actor = Actor {
        id: None,
        role: None,
    };

    /// A user.
    pub fn user(id: Uuid, role: Role) -> Self {
        Actor {
            id: Some(id),
            role: Some(role),
        }
    }

    /// A machine client (a station's system): its id, no user role.
    pub fn client(id: Uuid) -> Self {
        Actor {
            id: Some(id),
            role: None,
        }
    }

    /// The role written beside the actor in audit rows: the user's role,
    /// `client` for a machine client, none for the system.
    pub fn role_code(&self) -> Option<String> {
        match (self.role, self.id) {
            (Some(r), _) => Some(r.code().to_owned()),
            (None, Some(_)) => Some("client".to_owned()),
            (None, None) => None,
        }
    }
}

pub use crate::messages::Channels;

/// The record of one change: who makes it and when, and the audit events
/// and pushes it writes, collected and then inserted together (one
/// statement per table, not one per row, and none reading anything back).
pub struct Trail {
    actor: Actor,
    now: DateTime<Utc>,
    events: Vec<order_event::ActiveModel>,
    pushes: Vec<outbox::ActiveModel>,
}

impl Trail {
    /// An empty record of a change `actor` makes at `now`.
    pub fn new(actor: Actor, now: DateTime<Utc>) -> Self {
        Trail {
            actor,
            now,
            events: Vec::new(),
            pushes: Vec::new(),
        }
    }

    /// Who makes the change.
    pub fn actor(&self) -> Actor {
        self.actor
    }

    /// When.
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// Adds an order event: what happened to `order_id`, from and to which status.
    pub fn event(
        &mut self,
        order_id: Uuid,
        kind: &str,
        from: Option<OrderStatus>,
        to: Option<OrderStatus>,
        data: Value,
    ) {
        self.event_by(self.actor, order_id, kind, from, to, data);
    }

    /// [`Trail::event`] by another actor than the change's (the dispatcher's
    /// first wave, written with the order that a resident placed).
    pub fn event_by(
        &mut self,
        actor: Actor,
        order_id: Uuid,
        kind: &str,
        from: Option<OrderStatus>,
        to: Option<OrderStatus>,
        data: Value,
    ) {
        let now = self.now;
        self.events.push(order_event::ActiveModel {
            order_id: Set(order_id),
            actor_id: Set(actor.id),
            actor_role: Set(actor.role_code()),
            kind: Set(kind.to_owned()),
            from_status: Set(from.map(|s| s.code().to_owned())),
            to_status: Set(to.map(|s| s.code().to_owned())),
            data: Set((!data.is_null()).then_some(data)),
            created_at: Set(now),
            ..Default::default()
        });
    }

    /// Adds a push, published by the relay once the transaction commits.
    pub fn push(&mut self, channel: String, payload: &Push) {
        self.pushes.push(outbox::ActiveModel {
            channel: Set(channel),
            payload: Set(payload.to_value().to_string()),
            attempts: Set(0),
            created_at: Set(self.now),
            published_at: Set(None),
            ..Default::default()
        });
    }

    /// Inserts what was collected (events first, in the order added), in
    /// statements of at most 300 rows.
    pub async fn write<C: ConnectionTrait>(self, db: &C) -> ApiResult<()> {
        // Stations hear of their slips' status changes, in the same transaction.
        let changes: Vec<crate::services::webhooks::Change> = self
            .events
            .iter()
            .filter_map(|e| {
                let to = e.to_status.clone().take().flatten()?.parse().ok()?;
                crate::services::webhooks::kind_of(to)?;
                Some(crate::services::webhooks::Change {
                    order_id: e.order_id.clone().take()?,
                    event: e.kind.clone().take()?,
                    to,
                    data: e.data.clone().take().flatten().unwrap_or_default(),
                })
            })
            .collect();
        crate::services::webhooks::enqueue(db, changes, self.now).await?;
        for chunk in self.events.chunks(300) {
            order_event::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(db)
                .await?;
        }
        for chunk in self.pushes.chunks(300) {
            outbox::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(db)
                .await?;
        }
        Ok(())
    }
}

/// Queues a push in the same transaction as the change it announces.
pub async fn push<C: ConnectionTrait>(
    db: &C,
    channel: String,
    payload: Push,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    let mut t = Trail::new(Actor::SYSTEM, now);
    t.push(channel, &payload);
    t.write(db).await
}
