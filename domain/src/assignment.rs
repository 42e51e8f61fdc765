//! A volunteer's part in an order, and how they came onto it.

use serde::{Deserialize, Serialize};

/// Where a volunteer's part in an order stands.
///
/// ```text
///  offered ──accept──▶ accepted ──arrive──▶ arrived ──complete──▶ completed
///     ├──decline──▶ declined       │                 │
///     ├──expire───▶ expired        ├─(order cancelled)┴─▶ cancelled
///     └──withdraw─▶ withdrawn      └─(coordinator)─────▶ removed
/// ```
/// A grab or a manual assignment starts at `accepted`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssignmentState {
    /// Offered, waiting for an answer.
    Offered,
    /// Accepted (or grabbed, or assigned): on the order.
    Accepted,
    /// Declined by the volunteer.
    Declined,
    /// Not answered in time.
    Expired,
    /// Withdrawn because the order filled or was cancelled.
    Withdrawn,
    /// On scene.
    Arrived,
    /// Done.
    Completed,
    /// The order was cancelled while the volunteer was on it.
    Cancelled,
    /// Taken off the order by a coordinator.
    Removed,
    /// The volunteer withdrew before completing (with a reason).
    Left,
}

impl AssignmentState {
    /// Every state.
    pub const ALL: [AssignmentState; 10] = [
        AssignmentState::Offered,
        AssignmentState::Accepted,
        AssignmentState::Declined,
        AssignmentState::Expired,
        AssignmentState::Withdrawn,
        AssignmentState::Arrived,
        AssignmentState::Completed,
        AssignmentState::Cancelled,
        AssignmentState::Removed,
        AssignmentState::Left,
    ];

    /// The states that hold a volunteer's capacity (they are working on it).
    pub const HOLDING: [AssignmentState; 2] = [AssignmentState::Accepted, AssignmentState::Arrived];

    /// The states of a volunteer who is (or was, to the end) on the order.
    pub const ON_ORDER: [AssignmentState; 3] = [
        AssignmentState::Accepted,
        AssignmentState::Arrived,
        AssignmentState::Completed,
    ];

    /// The stored code.
    pub const fn code(self) -> &'static str {
        match self {
            AssignmentState::Offered => "offered",
            AssignmentState::Accepted => "accepted",
            AssignmentState::Declined => "declined",
            AssignmentState::Expired => "expired",
            AssignmentState::Withdrawn => "withdrawn",
            AssignmentState::Arrived => "arrived",
            AssignmentState::Completed => "completed",
            AssignmentState::Cancelled => "cancelled",
            AssignmentState::Removed => "removed",
            AssignmentState::Left => "left",
        }
    }

    /// The codes of `states` (for a query's `IN (…)`).
    pub fn codes(states: &[AssignmentState]) -> Vec<&'static str> {
        states.iter().map(|s| s.code()).collect()
    }

    /// Holds the volunteer's capacity.
    pub fn holds_capacity(self) -> bool {
        Self::HOLDING.contains(&self)
    }

    /// The volunteer is (or was, to the end) on the order.
    pub fn is_on_order(self) -> bool {
        Self::ON_ORDER.contains(&self)
    }

    /// Whether a part in this state may move to `to`.
    ///
    /// ```
    /// use zhongdui_domain::AssignmentState as S;
    /// assert!(S::Offered.may_become(S::Accepted));
    /// assert!(S::Arrived.may_become(S::Completed));
    /// assert!(!S::Declined.may_become(S::Accepted));
    /// assert!(!S::Completed.may_become(S::Removed));
    /// ```
    pub fn may_become(self, to: AssignmentState) -> bool {
        use AssignmentState as S;
        matches!(
            (self, to),
            (
                S::Offered,
                S::Accepted | S::Declined | S::Expired | S::Withdrawn
            ) | (
                S::Accepted,
                S::Arrived | S::Cancelled | S::Removed | S::Left
            ) | (
                S::Arrived,
                S::Completed | S::Cancelled | S::Removed | S::Left
            )
        )
    }
}

coded!(AssignmentState, "state", "assignment state");

/// How a volunteer came onto an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimHow {
    /// Accepted an offer.
    Offer,
    /// Grabbed an open task.
    Grab,
    /// Assigned by a coordinator.
    Manual,
}

impl ClaimHow {
    /// Every way.
    pub const ALL: [ClaimHow; 3] = [ClaimHow::Offer, ClaimHow::Grab, ClaimHow::Manual];

    /// The stored code.
    pub const fn code(self) -> &'static str {
        match self {
            ClaimHow::Offer => "offer",
            ClaimHow::Grab => "grab",
            ClaimHow::Manual => "manual",
        }
    }
}

coded!(ClaimHow, "how", "claim");

/// Who an order came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderSource {
    /// A resident's own request.
    Resident,
    /// A coordinator on a resident's behalf.
    Coordinator,
    /// A police station's dispatch slip (警单).
    Station,
}

impl OrderSource {
    /// Every source.
    pub const ALL: [OrderSource; 3] = [
        OrderSource::Resident,
        OrderSource::Coordinator,
        OrderSource::Station,
    ];

    /// The stored code.
    pub const fn code(self) -> &'static str {
        match self {
            OrderSource::Resident => "resident",
            OrderSource::Coordinator => "coordinator",
            OrderSource::Station => "station",
        }
    }
}

coded!(OrderSource, "source", "order source");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for s in AssignmentState::ALL {
            assert_eq!(s.code().parse::<AssignmentState>().unwrap(), s);
            assert_eq!(
                serde_json::to_value(s).unwrap(),
                serde_json::json!(s.code())
            );
        }
        for h in ClaimHow::ALL {
            assert_eq!(h.code().parse::<ClaimHow>().unwrap(), h);
        }
        for o in OrderSource::ALL {
            assert_eq!(o.code().parse::<OrderSource>().unwrap(), o);
        }
        assert!("accept".parse::<AssignmentState>().is_err());
    }

    #[test]
    fn only_working_states_hold_capacity() {
        for s in AssignmentState::ALL {
            assert_eq!(
                s.holds_capacity(),
                matches!(s, AssignmentState::Accepted | AssignmentState::Arrived)
            );
            // A state that holds capacity can always end.
            if s.holds_capacity() {
                assert!(s.may_become(AssignmentState::Cancelled));
            }
        }
    }
}
