//! The in-memory volunteer index used by the dispatcher: skill-aware nearest
//! available volunteers, location and state updates, fairness, and joint
//! (min-cost) assignment of a batch of orders.
//!
//! Pure computation: no I/O, no async, no clock (every time-dependent call
//! takes `now` as [`UnixTime`] seconds). All updates take `&mut self` and all
//! queries `&self`, so the caller can keep the index behind a
//! `std::sync::RwLock` (nothing here ever blocks or awaits).
//!
//! * [`VolunteerIndex`]: bulk load, [`upsert`](VolunteerIndex::upsert),
//!   [`set_location`](VolunteerIndex::set_location),
//!   [`set_duty`](VolunteerIndex::set_duty),
//!   [`set_active_tasks`](VolunteerIndex::set_active_tasks),
//!   [`record_offer`](VolunteerIndex::record_offer),
//!   [`remove`](VolunteerIndex::remove) and
//!   [`nearest_available`](VolunteerIndex::nearest_available).
//! * [`assign_batch`] (min-cost flow, exact) and [`assign_greedy`] (baseline).
//!
//! # Example
//! ```
//! use zhongdui_domain::{Category, GeoPoint, Skill, VolunteerId};
//! use zhongdui_matcher::{MatcherConfig, Position, Query, VolunteerIndex, VolunteerState};
//!
//! let now = 1_750_000_000;
//! let medic = VolunteerId::new();
//! let index = VolunteerIndex::bulk_load(
//!     MatcherConfig::default(),
//!     [VolunteerState {
//!         position: Some(Position { at: GeoPoint::parse(27.552, 120.551)?, seen_at: now - 30 }),
//!         on_duty: true,
//!         skills: Skill::FirstAid.into(),
//!         ..VolunteerState::new(medic)
//!     }],
//! );
//! let order_at = GeoPoint::parse(27.55, 120.55)?;
//! let q = Query::new(order_at, Category::FirstAid.required_skills(), 3, now).within_m(1000.0);
//! let found = index.nearest_available(&q);
//! assert_eq!(found.len(), 1);
//! assert_eq!(found[0].id, medic);
//! # Ok::<(), zhongdui_domain::DomainError>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod batch;
mod geom;
mod index;
mod lane;
#[cfg(feature = "synth")]
pub mod sim;
mod state;
#[cfg(feature = "synth")]
pub mod synth;

pub use batch::{BatchOrder, BatchParams, BatchResult, Unfilled, assign_batch, assign_greedy};
pub use index::{Candidate, Exclude, MatcherError, Query, VolunteerIndex};
pub use state::{Certificate, MatcherConfig, OFFER_WINDOW_S, Position, UnixTime, VolunteerState};
