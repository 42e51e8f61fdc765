//! Time, injectable: the real clock in production, a hand-driven one in tests
//! so that deadlines are tested without sleeping.
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone, Utc};

use crate::error::{ApiError, ApiResult};

/// A source of the current time.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that moves only when told to.
#[derive(Clone)]
pub struct ManualClock(Arc<Mutex<DateTime<Utc>>>);

impl ManualClock {
    /// A clock standing at `at`.
    pub fn new(at: DateTime<Utc>) -> Self {
        Self(Arc::new(Mutex::new(at)))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        // A std lock: nothing awaits while holding it.
        if let Ok(mut t) = self.0.lock() {
            *t += by;
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        self.0.lock().map(|t| *t).unwrap_or_else(|_| Utc::now())
    }
}

// ---- The city's calendar: days are China Standard Time (UTC+8). ----

/// China Standard Time, the city's clock.
fn china() -> ApiResult<FixedOffset> {
    FixedOffset::east_opt(8 * 3600)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("UTC+8 is a valid offset")))
}

/// The calendar day (China time) that `now` falls on.
pub fn local_today(now: DateTime<Utc>) -> ApiResult<NaiveDate> {
    Ok(now.with_timezone(&china()?).date_naive())
}

/// 00:00 China time on `day`, as UTC.
pub fn local_day_start(day: NaiveDate) -> ApiResult<DateTime<Utc>> {
    china()?
        .from_local_datetime(&day.and_time(NaiveTime::MIN))
        .single()
        .map(|d| d.with_timezone(&Utc))
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("no midnight on {day}")))
}

/// `[from 00:00, the day after to 00:00)` in China time, as UTC instants.
pub fn local_days(from: NaiveDate, to: NaiveDate) -> ApiResult<(DateTime<Utc>, DateTime<Utc>)> {
    Ok((
        local_day_start(from)?,
        local_day_start(to + Duration::days(1))?,
    ))
}

#[cfg(test)]
mod city_days {
    use super::*;

    #[test]
    fn china_days() {
        let d = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        let (a, b) = local_days(d, d).unwrap();
        assert_eq!(a.to_rfc3339(), "2026-02-28T16:00:00+00:00");
        assert_eq!(b - a, Duration::days(1));
        let late = Utc.with_ymd_and_hms(2026, 2, 28, 17, 0, 0).unwrap();
        assert_eq!(local_today(late).unwrap(), d);
    }
}
