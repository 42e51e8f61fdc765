//! Orders: creation, the audited status transitions, and claims (accept, grab,
//! manual assign) decided by conditional updates in the database, so that
//! exactly `headcount` volunteers end up on an order whatever the races.
//!
//! The pieces: `trail` (who, when, and what a change writes), `status`
//! (the order row and its status machine), `claims` (volunteers on orders),
//! `replacing` (a late volunteer swapped for a replacement) and `reads`.
mod claims;
mod reads;
mod replacing;
mod status;
mod trail;

pub use claims::*;
pub use reads::*;
pub use replacing::{swap_in, withdraw_replacements};
pub use status::*;
pub use trail::*;
