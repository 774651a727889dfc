//! The open-loop schedule: request `n` is due at `start + n / rate`, whatever happened to
//! the ones before it, and its latency counts from that due time. A closed-loop client
//! (the next request when the last one answered, as wrk does) sends less when the server
//! stalls and so hides the stall ("coordinated omission"); here a stall shows up as the
//! latency every request due meanwhile waited. The timer has millisecond granularity, so
//! a request may start up to about a millisecond after it was due; that lag is part of
//! its latency and is reported on its own as the generator's send lag.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::stats::RunStats;

/// What a scenario does: request number `n` of the schedule.
pub trait Workload: Send + Sync + 'static {
    /// The operations' names, as the summary lists them.
    fn operations(&self) -> &[&'static str];

    /// Which operation (an index into [`Workload::operations`]) request `n` is, and the
    /// request itself; it fails with a short, low-cardinality kind such as `status 500`
    /// or `timeout`, which the summary counts.
    fn call(&self, n: u64) -> (usize, BoxFuture<'static, Result<(), String>>);
}

/// How a run is paced and bounded.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// Requests per second, spread evenly.
    pub rate: f64,
    pub duration: Duration,
    /// Requests in flight at most; a request due while this many are is not sent and
    /// counts as an error (`not sent: in-flight cap`), so a dead server cannot make the
    /// generator hoard memory.
    pub max_in_flight: usize,
}

/// The kind counted for a request the in-flight cap kept back.
pub const NOT_SENT: &str = "not sent: in-flight cap";

struct Sample {
    op: usize,
    latency: Option<Duration>,
    lag: Duration,
    done: Instant,
    outcome: Result<(), String>,
}

/// Runs `workload` on the schedule `pace` describes and measures every request.
pub async fn run_open_loop<W: Workload + ?Sized>(workload: Arc<W>, pace: Pace) -> RunStats {
    let mut stats = RunStats::new(workload.operations(), pace.rate);
    let total = (pace.rate * pace.duration.as_secs_f64()).round().max(0.0) as u64;
    stats.scheduled = total;
    let interval = 1.0 / pace.rate.max(f64::MIN_POSITIVE);
    let (tx, mut rx) = mpsc::unbounded_channel::<Sample>();
    let in_flight = Arc::new(AtomicUsize::new(0));
    // A little lead so the first requests are not already late when the loop starts.
    let start = Instant::now() + Duration::from_millis(5);

    let dispatcher = {
        let tx = tx.clone();
        async move {
            for n in 0..total {
                let due = start + Duration::from_secs_f64(n as f64 * interval);
                if due > Instant::now() {
                    tokio::time::sleep_until(due).await;
                }
                let (op, request) = workload.call(n);
                if in_flight.load(Ordering::Relaxed) >= pace.max_in_flight {
                    drop(request);
                    let _ = tx.send(Sample {
                        op,
                        latency: None,
                        lag: Duration::ZERO,
                        done: Instant::now(),
                        outcome: Err(NOT_SENT.into()),
                    });
                    continue;
                }
                in_flight.fetch_add(1, Ordering::Relaxed);
                let lag = Instant::now().saturating_duration_since(due);
                let tx = tx.clone();
                let in_flight = in_flight.clone();
                tokio::spawn(async move {
                    let outcome = request.await;
                    let done = Instant::now();
                    in_flight.fetch_sub(1, Ordering::Relaxed);
                    let _ = tx.send(Sample {
                        op,
                        latency: Some(done.saturating_duration_since(due)),
                        lag,
                        done,
                        outcome,
                    });
                });
            }
        }
    };
    drop(tx);
    // Samples are counted while requests are still being sent; the channel closes when
    // the dispatcher and every request it started are done.
    let collect = async {
        let mut last = start;
        while let Some(sample) = rx.recv().await {
            stats.record(sample.op, sample.latency, sample.outcome);
            stats.send_lag.record(sample.lag);
            last = last.max(sample.done);
        }
        last
    };
    let ((), last) = tokio::join!(dispatcher, collect);
    // At least the schedule's length, so a server keeping up reads as the offered rate.
    stats.elapsed = last.saturating_duration_since(start).max(pace.duration);
    stats
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;

    /// Every request waits until `stall_until`, then answers at once; counts how many
    /// are in flight at most.
    struct Stalled {
        stall_until: Instant,
        in_flight: Arc<AtomicU64>,
        most: Arc<AtomicU64>,
    }

    impl Workload for Stalled {
        fn operations(&self) -> &[&'static str] {
            &["even", "odd"]
        }

        fn call(&self, n: u64) -> (usize, BoxFuture<'static, Result<(), String>>) {
            let until = self.stall_until;
            let in_flight = self.in_flight.clone();
            let most = self.most.clone();
            let request = Box::pin(async move {
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep_until(until).await;
                in_flight.fetch_sub(1, Ordering::SeqCst);
                if n == 3 {
                    Err("status 500".into())
                } else {
                    Ok(())
                }
            });
            ((n % 2) as usize, request)
        }
    }

    fn stalled(stall: Duration) -> (Arc<Stalled>, Arc<AtomicU64>) {
        let most = Arc::new(AtomicU64::new(0));
        let w = Stalled {
            stall_until: Instant::now() + stall,
            in_flight: Arc::new(AtomicU64::new(0)),
            most: most.clone(),
        };
        (Arc::new(w), most)
    }

    // Paused time: the clock only moves when every task waits, so these are exact.
    #[tokio::test(start_paused = true)]
    async fn requests_are_not_held_back_and_latency_counts_from_the_schedule() {
        // 100 requests over one second while the "server" answers nothing for 2 s.
        let (w, most) = stalled(Duration::from_secs(2));
        let pace = Pace {
            rate: 100.0,
            duration: Duration::from_secs(1),
            max_in_flight: 1000,
        };
        let stats = run_open_loop(w, pace).await;
        assert_eq!(stats.scheduled, 100);
        assert_eq!(stats.ok() + stats.errors(), 100);
        assert_eq!(stats.errors_by_kind["status 500"], 1);
        // Open loop: all 100 were sent during the stall, none waited for another.
        assert_eq!(most.load(Ordering::SeqCst), 100);
        let all = stats.overall().percentiles();
        // The first request was due at the start and answered after the 2 s stall; the
        // last was due at 0.99 s, so waited about 1 s.
        assert!(all.max_ms >= 1990.0 && all.max_ms <= 2010.0, "{all:?}");
        assert!(stats.overall().quantile_ms(0.0) >= 1000.0, "{all:?}");
        assert_eq!(stats.operations[0].1.ok + stats.operations[0].1.errors, 50);
    }

    #[tokio::test(start_paused = true)]
    async fn the_in_flight_cap_counts_requests_it_keeps_back() {
        let (w, most) = stalled(Duration::from_secs(5));
        let pace = Pace {
            rate: 100.0,
            duration: Duration::from_secs(1),
            max_in_flight: 10,
        };
        let stats = run_open_loop(w, pace).await;
        assert_eq!(most.load(Ordering::SeqCst), 10);
        assert_eq!(stats.errors_by_kind[NOT_SENT], 90);
        assert_eq!(stats.overall().count(), 10);
    }

    #[tokio::test(start_paused = true)]
    async fn a_quick_server_keeps_pace() {
        let (w, _) = stalled(Duration::ZERO);
        let pace = Pace {
            rate: 50.0,
            duration: Duration::from_secs(2),
            max_in_flight: 10,
        };
        let stats = run_open_loop(w, pace).await;
        assert_eq!(stats.scheduled, 100);
        assert_eq!(stats.errors(), 1, "{:?}", stats.errors_by_kind);
        // 99 ok answers over the schedule's 2 s.
        assert!(
            (stats.achieved_rps() - 50.0).abs() < 1.0,
            "{}",
            stats.achieved_rps()
        );
    }
}
