//! Abuse limits on writes that page people or cost a password hash: order
//! creation per account and per client address, and registration per
//! address, thread messages and team broadcasts per author. Each is a keyed GCRA limiter (governor, the crate under
//! actix-governor) built so that any configured rate works: the refill
//! period is computed in nanoseconds and never rounds to zero, and a rate
//! of 0 turns the limit off. Refusals are 429 problem+json with
//! `Retry-After`.
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use actix_governor::governor::clock::{Clock, DefaultClock};
use actix_governor::governor::{DefaultKeyedRateLimiter, Quota};
use uuid::Uuid;

use crate::error::ApiError;
use crate::settings::LimitSettings;

/// A quota of `burst` at once refilled at `per_hour`; None when off.
pub fn quota_per_hour(burst: u32, per_hour: u32) -> Option<Quota> {
    if per_hour == 0 {
        return None;
    }
    let nanos = (3_600_000_000_000u64 / u64::from(per_hour)).max(1);
    let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(Duration::from_nanos(nanos)).map(|q| q.allow_burst(burst))
}

/// A quota of `burst` at once refilled at `per_minute`.
pub fn quota_per_minute(burst: u32, per_minute: u32) -> Quota {
    let nanos = (60_000_000_000u64 / u64::from(per_minute.max(1))).max(1);
    let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(Duration::from_nanos(nanos))
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(burst)
}

/// One keyed limit (or none).
pub struct Limit<K: Hash + Eq + Clone>(Option<DefaultKeyedRateLimiter<K>>);

impl<K: Hash + Eq + Clone> Limit<K> {
    /// A limit of `burst` at once and `per_hour` sustained (0: no limit).
    pub fn per_hour(burst: u32, per_hour: u32) -> Self {
        Self(quota_per_hour(burst, per_hour).map(DefaultKeyedRateLimiter::keyed))
    }

    /// Takes one cell for `key`, or says how long to wait (429).
    pub fn check(&self, key: &K) -> Result<(), ApiError> {
        let Some(l) = &self.0 else { return Ok(()) };
        l.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            ApiError::TooManyRequests {
                retry_after_secs: wait.as_secs().max(1),
            }
        })?;
        // Keep the map small: forget keys whose state is back to full.
        if l.len() > 10_000 {
            l.retain_recent();
        }
        Ok(())
    }
}

/// Every abuse limit of a process.
pub struct Limits {
    /// Orders by a resident account.
    pub orders_by_account: Limit<Uuid>,
    /// Orders by a coordinator or admin.
    pub orders_by_staff: Limit<Uuid>,
    /// Orders from one address.
    pub orders_by_address: Limit<IpAddr>,
    /// Registrations from one address.
    pub registrations: Limit<IpAddr>,
    /// Messages to order threads by one author (a user or a client).
    pub messages: Limit<Uuid>,
    /// Team broadcasts by one author.
    pub broadcasts: Limit<Uuid>,
    /// Certificate verifications from one address.
    pub verifications: Limit<IpAddr>,
    /// Certificates issued for one caller.
    pub certificates: Limit<Uuid>,
}

impl Limits {
    /// The limits of `s`.
    pub fn new(s: &LimitSettings) -> Self {
        Self {
            orders_by_account: Limit::per_hour(s.orders_burst, s.orders_per_hour),
            orders_by_staff: Limit::per_hour(s.staff_orders_burst, s.staff_orders_per_hour),
            orders_by_address: Limit::per_hour(
                s.orders_per_address_burst,
                s.orders_per_address_per_hour,
            ),
            registrations: Limit::per_hour(s.register_burst, s.register_per_hour),
            messages: Limit::per_hour(s.messages_burst, s.messages_per_hour),
            broadcasts: Limit::per_hour(s.broadcasts_burst, s.broadcasts_per_hour),
            verifications: Limit::per_hour(s.verify_burst, s.verify_per_hour),
            certificates: Limit::per_hour(s.certificates_burst, s.certificates_per_hour),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_rate_gives_a_working_quota() {
        for per_hour in [1, 10, 3_600, 60_000, 3_600_000, u32::MAX] {
            assert!(quota_per_hour(5, per_hour).is_some(), "{per_hour}");
        }
        assert!(quota_per_hour(5, 0).is_none());
        for per_minute in [0, 1, 60_000, 120_000, u32::MAX] {
            let _ = quota_per_minute(10, per_minute);
        }
    }

    #[test]
    fn a_burst_then_429_with_retry_after() {
        let l: Limit<u8> = Limit::per_hour(2, 10);
        assert!(l.check(&1).is_ok());
        assert!(l.check(&1).is_ok());
        match l.check(&1) {
            Err(ApiError::TooManyRequests { retry_after_secs }) => {
                assert!(
                    (300..=360).contains(&retry_after_secs),
                    "{retry_after_secs}"
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(l.check(&2).is_ok(), "keys are separate");
        let off: Limit<u8> = Limit::per_hour(1, 0);
        for _ in 0..100 {
            assert!(off.check(&1).is_ok());
        }
    }
}
