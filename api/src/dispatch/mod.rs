//! Dispatch: the volunteer index ([`index`], shared state that the
//! application state holds) and the passes that use it ([`pass`]: waves,
//! batches, expiry, escalation and auto-close).
pub mod index;
pub mod pass;
