//! Abuse limits kept in this process's memory: a [`RateLimiter`] allows each key (an
//! email, a client address) at most `per_window` attempts in any `window` (a sliding
//! window: it remembers when each of the last attempts was). Every node counts on its
//! own, so behind a load balancer with N nodes a client gets up to N times the limit;
//! that still bounds guessing.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Keys remembered at most; past it, keys with no recent attempt are forgotten, and if
/// that is not enough new keys go uncounted (the other limits still apply) rather than
/// memory growing without bound.
const MAX_KEYS: usize = 50_000;

/// Per-key sliding windows. `per_window == 0` turns the limiter off.
#[derive(Debug)]
pub struct RateLimiter {
    per_window: usize,
    window: Duration,
    attempts: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl RateLimiter {
    /// At most `per_window` attempts per key in any `window`.
    pub fn new(per_window: u32, window: Duration) -> RateLimiter {
        RateLimiter {
            per_window: per_window as usize,
            window,
            attempts: Mutex::new(HashMap::new()),
        }
    }

    /// Forgets the attempts of `times` older than the window.
    fn expire(&self, times: &mut VecDeque<Instant>, now: Instant) {
        while times
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= self.window)
        {
            times.pop_front();
        }
    }

    /// Counts one attempt of `key`; when its share is used up, how long until the oldest
    /// attempt leaves the window (nothing is counted then).
    pub fn take(&self, key: &str) -> Result<(), Duration> {
        if self.per_window == 0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut attempts = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
        if !attempts.contains_key(key) && attempts.len() >= MAX_KEYS {
            attempts.retain(|_, times| {
                self.expire(times, now);
                !times.is_empty()
            });
            if attempts.len() >= MAX_KEYS {
                return Ok(());
            }
        }
        let times = attempts.entry(key.to_string()).or_default();
        self.expire(times, now);
        if times.len() >= self.per_window {
            let oldest = *times.front().expect("a full window has attempts");
            return Err((oldest + self.window).saturating_duration_since(now));
        }
        times.push_back(now);
        Ok(())
    }

    /// Takes back the latest attempt counted for `key`, one that turned out not to count
    /// (a sign-in that succeeded).
    pub fn refund(&self, key: &str) {
        let mut attempts = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(times) = attempts.get_mut(key) {
            times.pop_back();
            if times.is_empty() {
                attempts.remove(key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_gets_its_attempts_then_waits_while_others_go_on() {
        let limiter = RateLimiter::new(3, Duration::from_secs(60));
        for _ in 0..3 {
            limiter.take("dana").unwrap();
        }
        let wait = limiter.take("dana").unwrap_err();
        assert!(
            wait > Duration::from_secs(59) && wait <= Duration::from_secs(60),
            "{wait:?}"
        );
        limiter.take("noa").unwrap();
        limiter.refund("dana");
        limiter.take("dana").unwrap();
        assert!(limiter.take("dana").is_err());
    }

    #[test]
    fn attempts_leave_the_window() {
        let limiter = RateLimiter::new(2, Duration::from_millis(40));
        limiter.take("k").unwrap();
        limiter.take("k").unwrap();
        let wait = limiter.take("k").unwrap_err();
        std::thread::sleep(wait + Duration::from_millis(2));
        limiter.take("k").unwrap();
    }

    #[test]
    fn zero_turns_the_limit_off() {
        let limiter = RateLimiter::new(0, Duration::from_secs(60));
        for _ in 0..1000 {
            limiter.take("k").unwrap();
        }
    }
}
