//! The order status machine. Every status change of an order goes through
//! [`OrderStatus::apply`], which refuses illegal moves.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Where an order is in its closed loop.
///
/// ```text
///  open ──fill──▶ assigned ──arrive──▶ in_progress ──complete──▶ completed ──confirm──▶ confirmed
///   │ ▲             │                                              └──auto_close──▶ closed
///   │ └──unfill─────┘
///   └─escalate─▶ escalated ──fill──▶ assigned      (redispatch: escalated ─▶ open)
///  cancel: residents before arrival; staff at any point before completion
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Placed and being offered to volunteers.
    Open,
    /// Nobody took it after the last wave; waiting for a coordinator.
    Escalated,
    /// `headcount` volunteers have taken it.
    Assigned,
    /// At least one volunteer is on scene.
    InProgress,
    /// The volunteers report it done; waiting for the resident.
    Completed,
    /// The resident confirmed (and rated) it. Final.
    Confirmed,
    /// Closed without the resident's confirmation after the grace period. Final.
    Closed,
    /// Cancelled. Final.
    Cancelled,
}

/// Who cancels an order: residents may only cancel before anyone arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelledBy {
    /// The resident who placed it.
    Resident,
    /// A coordinator, station officer or admin.
    Staff,
}

/// A request to move an order from one status to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderAction {
    /// The last wave ran out.
    Escalate,
    /// A coordinator sends an escalated order out again.
    Redispatch,
    /// The headcount is reached.
    Fill,
    /// A volunteer dropped out before arrival; the order needs someone again.
    Unfill,
    /// A volunteer checked in on scene.
    Arrive,
    /// The volunteers finished.
    Complete,
    /// The resident confirmed.
    Confirm,
    /// Nobody confirmed in time.
    AutoClose,
    /// Cancelled by someone.
    Cancel(CancelledBy),
}

/// An illegal move, e.g. confirming an order nobody has completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("an order that is {from} cannot {action:?}")]
pub struct IllegalTransition {
    /// The status the order was in.
    pub from: OrderStatus,
    /// What was asked.
    pub action: OrderAction,
}

impl OrderStatus {
    /// Every status.
    pub const ALL: [OrderStatus; 8] = [
        OrderStatus::Open,
        OrderStatus::Escalated,
        OrderStatus::Assigned,
        OrderStatus::InProgress,
        OrderStatus::Completed,
        OrderStatus::Confirmed,
        OrderStatus::Closed,
        OrderStatus::Cancelled,
    ];

    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            OrderStatus::Open => "open",
            OrderStatus::Escalated => "escalated",
            OrderStatus::Assigned => "assigned",
            OrderStatus::InProgress => "in_progress",
            OrderStatus::Completed => "completed",
            OrderStatus::Confirmed => "confirmed",
            OrderStatus::Closed => "closed",
            OrderStatus::Cancelled => "cancelled",
        }
    }

    /// Whether nothing can happen to the order any more.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            OrderStatus::Confirmed | OrderStatus::Closed | OrderStatus::Cancelled
        )
    }

    /// The statuses of an order still running: placed and not yet done by
    /// its volunteers (a resident's cap on open requests counts these).
    pub const RUNNING: [OrderStatus; 4] = [
        OrderStatus::Open,
        OrderStatus::Escalated,
        OrderStatus::Assigned,
        OrderStatus::InProgress,
    ];

    /// Whether the order still looks for volunteers.
    pub fn is_seeking(self) -> bool {
        matches!(self, OrderStatus::Open | OrderStatus::Escalated)
    }

    /// The status after `action`, or why it is not allowed.
    ///
    /// ```
    /// use zhongdui_domain::{OrderAction, OrderStatus, CancelledBy};
    /// let s = OrderStatus::Open.apply(OrderAction::Fill).unwrap();
    /// assert_eq!(s, OrderStatus::Assigned);
    /// assert!(OrderStatus::Open.apply(OrderAction::Confirm).is_err());
    /// let on_scene = s.apply(OrderAction::Arrive).unwrap();
    /// assert!(on_scene.apply(OrderAction::Cancel(CancelledBy::Resident)).is_err());
    /// assert!(on_scene.apply(OrderAction::Cancel(CancelledBy::Staff)).is_ok());
    /// ```
    pub fn apply(self, action: OrderAction) -> Result<OrderStatus, IllegalTransition> {
        use OrderAction as A;
        use OrderStatus as S;
        let next = match (self, action) {
            (S::Open, A::Escalate) => S::Escalated,
            (S::Escalated, A::Redispatch) => S::Open,
            (S::Open | S::Escalated, A::Fill) => S::Assigned,
            (S::Assigned, A::Unfill) => S::Open,
            (S::Assigned | S::InProgress, A::Arrive) => S::InProgress,
            (S::InProgress, A::Complete) => S::Completed,
            (S::Completed, A::Confirm) => S::Confirmed,
            (S::Completed, A::AutoClose) => S::Closed,
            (S::Open | S::Escalated | S::Assigned, A::Cancel(CancelledBy::Resident)) => {
                S::Cancelled
            }
            (
                S::Open | S::Escalated | S::Assigned | S::InProgress,
                A::Cancel(CancelledBy::Staff),
            ) => S::Cancelled,
            (from, action) => return Err(IllegalTransition { from, action }),
        };
        Ok(next)
    }
}

coded!(OrderStatus, "status", "order status");

#[cfg(test)]
mod tests {
    use super::*;
    use OrderAction as A;
    use OrderStatus as S;

    const ACTIONS: [OrderAction; 10] = [
        A::Escalate,
        A::Redispatch,
        A::Fill,
        A::Unfill,
        A::Arrive,
        A::Complete,
        A::Confirm,
        A::AutoClose,
        A::Cancel(CancelledBy::Resident),
        A::Cancel(CancelledBy::Staff),
    ];

    #[test]
    fn the_happy_path_closes_the_loop() {
        let mut s = S::Open;
        for a in [A::Fill, A::Arrive, A::Arrive, A::Complete, A::Confirm] {
            s = s.apply(a).unwrap();
        }
        assert_eq!(s, S::Confirmed);
        assert!(s.is_final());
    }

    #[test]
    fn final_states_refuse_everything() {
        for s in S::ALL.into_iter().filter(|s| s.is_final()) {
            for a in ACTIONS {
                assert_eq!(s.apply(a), Err(IllegalTransition { from: s, action: a }));
            }
        }
    }

    #[test]
    fn residents_cannot_cancel_once_someone_is_on_scene() {
        assert!(
            S::InProgress
                .apply(A::Cancel(CancelledBy::Resident))
                .is_err()
        );
        assert!(
            S::Completed
                .apply(A::Cancel(CancelledBy::Resident))
                .is_err()
        );
        assert!(S::Completed.apply(A::Cancel(CancelledBy::Staff)).is_err());
        assert_eq!(
            S::Assigned.apply(A::Cancel(CancelledBy::Resident)),
            Ok(S::Cancelled)
        );
    }

    #[test]
    fn only_listed_moves_are_legal() {
        let legal = S::ALL
            .into_iter()
            .flat_map(|s| ACTIONS.into_iter().map(move |a| (s, a)))
            .filter(|(s, a)| s.apply(*a).is_ok())
            .count();
        // The (status, action) pairs of the diagram above; a new one must be added on purpose.
        assert_eq!(legal, 17);
    }

    #[test]
    fn codes_round_trip() {
        for s in S::ALL {
            assert_eq!(s.code().parse::<S>().unwrap(), s);
        }
        assert_eq!("done".parse::<S>().unwrap_err().field, "status");
    }
}
