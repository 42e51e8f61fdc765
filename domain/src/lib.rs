//! Zhongdui's domain: the vocabulary every other crate speaks.
//!
//! Values here are valid by construction: a [`GeoPoint`], [`Phone`] or
//! [`SkillSet`] that exists has been parsed and checked. This crate does no
//! I/O, knows nothing of HTTP, JSON layouts or databases.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod assignment;
mod catalogue;
mod error;
mod geo_point;
mod ids;
mod order;
mod phone;
mod role;

pub use assignment::{AssignmentState, ClaimHow, OrderSource};
pub use catalogue::{Category, Skill, SkillSet, TEAM_KINDS, Urgency, is_team_kind};
pub use error::DomainError;
pub use geo_point::GeoPoint;
pub use ids::{AssignmentId, OrderId, TeamId, UserId, VolunteerId};
pub use order::{CancelledBy, IllegalTransition, OrderAction, OrderStatus};
pub use phone::Phone;
pub use role::Role;
