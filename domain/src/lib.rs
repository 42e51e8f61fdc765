//! Zhongdui's domain: the vocabulary every other crate speaks.
//!
//! Values here are valid by construction: a [`GeoPoint`], [`Phone`] or
//! [`SkillSet`] that exists has been parsed and checked. This crate does no
//! I/O, knows nothing of HTTP, JSON layouts or databases.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

/// `Display` as the stored code and `FromStr` from it, for an enum with
/// `ALL` and `code()`; an unknown code is a [`DomainError`] on `$field`.
macro_rules! coded {
    ($t:ident, $field:literal, $what:literal) => {
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }

        impl std::str::FromStr for $t {
            type Err = $crate::DomainError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $t::ALL.into_iter().find(|x| x.code() == s).ok_or_else(|| {
                    $crate::DomainError::new(
                        $field,
                        $crate::text::phrases::UNKNOWN_CODE.with("value", s),
                    )
                })
            }
        }
    };
}

mod assignment;
mod catalogue;
mod error;
mod geo_point;
mod ids;
mod order;
mod phone;
mod role;
mod slots;
pub mod text;

pub use assignment::{AssignmentState, ClaimHow, OrderSource};
pub use catalogue::{Category, Skill, SkillSet, TEAM_KINDS, Urgency, is_team_kind};
pub use error::DomainError;
pub use geo_point::GeoPoint;
pub use ids::{AssignmentId, OrderId, TeamId, UserId, VolunteerId};
pub use order::{CancelledBy, IllegalTransition, OrderAction, OrderStatus};
pub use phone::Phone;
pub use role::Role;
pub use slots::{MAX_HEADCOUNT, MAX_ROLES, RoleSlot, RoleSlots};
