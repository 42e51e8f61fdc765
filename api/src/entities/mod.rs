//! Hand-written sea-orm entities (database models). These are not the API's
//! JSON: routes convert them into wire types.
pub mod app_secret;
pub mod assignment;
pub mod audit_entry;
pub mod broadcast;
pub mod client;
pub mod cursor;
pub mod duty_change;
pub mod hour_certificate;
pub mod idempotency_key;
pub mod lease;
pub mod live_session;
pub mod notification;
pub mod order;
pub mod order_event;
pub mod order_message;
pub mod outbox;
pub mod points_entry;
pub mod push_subscription;
pub mod service_hour;
pub mod shift;
pub mod shift_member;
pub mod sms_message;
pub mod station;
pub mod team;
pub mod team_coordinator;
pub mod user;
pub mod volunteer;
pub mod volunteer_skill;
pub mod webhook_delivery;

/// A stored column that does not hold what its type allows: logged in full
/// (the 500 shows the caller nothing).
fn corrupt(column: &str, id: uuid::Uuid, problem: &str) -> crate::error::ApiError {
    crate::error::ApiError::Internal(anyhow::anyhow!("corrupt row: {column} of {id}: {problem}"))
}

/// Parses a stored code column.
fn parsed<T>(column: &str, id: uuid::Uuid, raw: &str) -> crate::error::ApiResult<T>
where
    T: std::str::FromStr<Err = zhongdui_domain::DomainError>,
{
    raw.parse()
        .map_err(|e: zhongdui_domain::DomainError| corrupt(column, id, &e.message.to_string()))
}
