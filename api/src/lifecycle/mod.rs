//! The order lifecycle, one function per change, without HTTP: a handler
//! parses its request, calls one of these and renders the result. Each
//! change is one [`Work`] (its transaction, moment, actor and the effects
//! that follow its commit):
//! - `place`: a new order, its announcement and its inline first wave;
//! - `answer`: a volunteer accepts or declines an offer, or grabs a task
//!   (with the dispatch rules a grab must meet);
//! - `duty`: a volunteer going on or off duty;
//! - `field`: check-in on scene (a plausible position within the radius)
//!   and completion;
//! - `manage`: a coordinator's assignment or reassignment, cancellation,
//!   redispatch, and the resident's confirmation with its points;
//! - `points`: an adjustment or redemption booked by hand;
//! - `roster`: a volunteer created, changed or deleted (every index re-reads them);
//! - `liaison`: a message in an order's thread (pushed, and sent to the station).
//!
//! The dispatcher's own moves (waves, expiry, escalation, auto-close) are in
//! `dispatch::pass`, through the same `services::orders` functions.
mod answer;
mod duty;
mod field;
mod liaison;
mod manage;
mod place;
mod points;
mod roster;
mod work;

pub use answer::*;
pub use duty::*;
pub use field::*;
pub use liaison::*;
pub use manage::*;
pub use place::*;
pub use points::*;
pub use roster::*;
pub use work::*;
