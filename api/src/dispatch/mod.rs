//! Dispatch: the volunteer index ([`index`], shared state that the
//! application state holds), the passes that use it ([`pass`]: expiry,
//! escalation and auto-close, and the loop) and their waves ([`waves`]:
//! first waves, later waves and batches).
pub mod index;
pub mod pass;
pub mod waves;
