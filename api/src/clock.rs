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

/// The system's wall clock, for what follows real time whatever clock the
/// state runs on: token lifetimes (their expiry is checked against the system
/// time), the stamps on account, roster and secret rows (the session watcher
/// compares them with its own wall-clock reads), the outbox relay's
/// publication times and resume window, and the command line. Orders,
/// dispatch, points and the calendar use the injected [`Clock`]. This module
/// is the only place that reads the system clock (a test below keeps it so).
pub fn wall() -> DateTime<Utc> {
    Utc::now()
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

#[cfg(test)]
mod only_here {
    use std::path::Path;

    /// Every read of the system clock goes through this module: `Utc::now`,
    /// `Local::now` and `SystemTime::now` appear nowhere else in the
    /// server, the domain or the matcher (comments aside).
    #[test]
    fn only_the_clock_module_reads_the_system_clock() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut offenders = Vec::new();
        for dir in ["api/src", "domain/src", "matcher/src"] {
            scan(&root.join(dir), &mut offenders);
        }
        assert!(
            offenders.is_empty(),
            "read the time through crate::clock (Clock::now, or clock::wall with a reason):\n{}",
            offenders.join("\n")
        );
    }

    fn scan(dir: &Path, offenders: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                scan(&path, offenders);
            } else if path.extension().is_some_and(|e| e == "rs")
                && !path.ends_with("api/src/clock.rs")
            {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                for (i, line) in text.lines().enumerate() {
                    let code = line.trim_start();
                    if code.starts_with("//") {
                        continue;
                    }
                    if ["Utc::now", "Local::now", "SystemTime::now"]
                        .iter()
                        .any(|p| code.contains(p))
                    {
                        offenders.push(format!("{}:{}: {}", path.display(), i + 1, code));
                    }
                }
            }
        }
    }
}
