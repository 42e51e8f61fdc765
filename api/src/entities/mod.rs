//! Hand-written sea-orm entities (database models). These are not the API's
//! JSON: routes convert them into wire types.
pub mod app_secret;
pub mod assignment;
pub mod audit_entry;
pub mod order;
pub mod order_event;
pub mod outbox;
pub mod points_entry;
pub mod team;
pub mod team_coordinator;
pub mod user;
pub mod volunteer;
pub mod volunteer_skill;
