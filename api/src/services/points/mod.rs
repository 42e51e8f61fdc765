//! Points: an append-only ledger (earn, bonus, adjustment, redemption).
//! Balances and leaderboards are sums of it; earning is idempotent per
//! (order, volunteer) through the ledger's unique idempotency key.
//!
//! `earning` (the rule table, what a closed order credits), `ledger`
//! (balances, history, adjustments, export), `board` (leaderboards from
//! SQL) and `cache` (the boards in Redis sorted sets).
mod board;
pub mod cache;
mod earning;
mod ledger;

pub use board::*;
pub use earning::*;
pub use ledger::*;
