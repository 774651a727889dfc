//! When a periodic job is due: fixed periods on the database's clock, so every node agrees
//! which period it is, and the queue enqueues each period once ([`super::Queue::enqueue_due`]).

use std::fmt;
use std::time::Duration;

use crate::error::{Result, StoreError};

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 24 * 60 * MINUTE_MS;

/// How often a periodic job runs: every fixed interval (periods aligned to the Unix epoch,
/// so "every 15 minutes" starts at :00, :15, :30, :45 UTC) or once a day at a UTC time.
///
/// A period that passed while no node was running is not made up for: the next check
/// enqueues the current period only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Schedule(Every);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Every {
    /// Interval in milliseconds, at least one second.
    Interval(i64),
    /// Offset of the daily start from midnight UTC, in milliseconds.
    Daily(i64),
}

impl Schedule {
    /// Every `interval` (at least one second; shorter ones are rounded up).
    pub fn every(interval: Duration) -> Schedule {
        let ms = interval.as_millis().clamp(1000, i64::MAX as u128) as i64;
        Schedule(Every::Interval(ms))
    }

    /// Every `n` minutes (at least one).
    pub fn every_minutes(n: u32) -> Schedule {
        Schedule(Every::Interval(i64::from(n.max(1)) * MINUTE_MS))
    }

    /// Once a day at `hour:minute` UTC.
    pub fn daily_at(hour: u32, minute: u32) -> Result<Schedule> {
        if hour > 23 || minute > 59 {
            return Err(StoreError::Config(format!(
                "a daily schedule needs a time of day as hour 0-23 and minute 0-59 (UTC), \
                 not {hour}:{minute:02}"
            )));
        }
        Ok(Self::daily(hour, minute))
    }

    /// [`Schedule::daily_at`] for times known to be valid.
    pub(crate) const fn daily(hour: u32, minute: u32) -> Schedule {
        Schedule(Every::Daily((hour as i64 * 60 + minute as i64) * MINUTE_MS))
    }

    /// The start (Unix milliseconds) of the period `now_ms` falls in.
    pub fn period_start(&self, now_ms: i64) -> i64 {
        match self.0 {
            Every::Interval(ms) => now_ms.div_euclid(ms) * ms,
            Every::Daily(offset) => (now_ms - offset).div_euclid(DAY_MS) * DAY_MS + offset,
        }
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Every::Interval(ms) if ms % MINUTE_MS == 0 => {
                write!(f, "every {} min", ms / MINUTE_MS)
            }
            Every::Interval(ms) => write!(f, "every {} ms", ms),
            Every::Daily(offset) => {
                let minutes = offset / MINUTE_MS;
                write!(f, "daily at {:02}:{:02} UTC", minutes / 60, minutes % 60)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_start_on_the_interval_or_the_daily_time() {
        let every_15 = Schedule::every_minutes(15);
        // 2026-11-29 10:37:12.345 UTC
        let now = 1_795_948_632_345;
        let start = every_15.period_start(now);
        assert_eq!(start % (15 * MINUTE_MS), 0);
        assert!(start <= now && now - start < 15 * MINUTE_MS);

        let daily = Schedule::daily_at(3, 30).unwrap();
        let start = daily.period_start(now);
        assert_eq!(start.rem_euclid(DAY_MS), (3 * 60 + 30) * MINUTE_MS);
        assert!(start <= now && now - start < DAY_MS);
        // Just before 03:30 it is still yesterday's period.
        let before = start + DAY_MS - 1;
        assert_eq!(daily.period_start(before), start);
        assert_eq!(daily.period_start(start + DAY_MS), start + DAY_MS);
        assert_eq!(daily.to_string(), "daily at 03:30 UTC");
        assert_eq!(every_15.to_string(), "every 15 min");
    }

    #[test]
    fn a_daily_time_out_of_range_is_refused_with_the_rule() {
        let err = Schedule::daily_at(24, 0).unwrap_err().to_string();
        assert!(err.contains("hour 0-23"), "{err}");
        assert!(Schedule::daily_at(7, 60).is_err());
    }
}
