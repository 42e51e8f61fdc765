//! Dispatch: the volunteer index ([`index`], shared state that the
//! application state holds), the passes that use it ([`pass`]: expiry,
//! escalation and auto-close, and the loop) and their waves ([`waves`]:
//! first waves, later waves and batches) and [`no_show`] (volunteers not on
//! scene when expected: flagged, and replacements offered) and
//! [`reliability`] (acceptance, withdrawals and no-shows: a tie-breaker).
pub mod index;
pub mod no_show;
pub mod pass;
pub mod reliability;
pub mod waves;
