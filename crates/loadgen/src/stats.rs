//! What a run measured: an HdrHistogram of latencies per operation and overall (in
//! microseconds, three significant figures, up to an hour), failures counted by kind, and
//! the [`Summary`] printed at the end.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Longest latency the histograms hold exactly; longer ones count as this.
const MAX_MICROS: u64 = 3_600_000_000;

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_MICROS, 3).expect("valid histogram bounds")
}

/// Latencies of one kind of request.
#[derive(Debug, Clone)]
pub struct Latencies(Histogram<u64>);

impl Default for Latencies {
    fn default() -> Self {
        Latencies(histogram())
    }
}

impl Latencies {
    pub fn record(&mut self, latency: Duration) {
        self.0
            .saturating_record((latency.as_micros() as u64).clamp(1, MAX_MICROS));
    }

    pub fn add(&mut self, other: &Latencies) {
        self.0.add(&other.0).expect("histograms of the same bounds");
    }

    pub fn count(&self) -> u64 {
        self.0.len()
    }

    /// The latency at `quantile` (0.99 for p99), in milliseconds; 0 when empty.
    pub fn quantile_ms(&self, quantile: f64) -> f64 {
        if self.0.is_empty() {
            return 0.0;
        }
        self.0.value_at_quantile(quantile) as f64 / 1000.0
    }

    pub fn percentiles(&self) -> Percentiles {
        let empty = self.0.is_empty();
        Percentiles {
            p50_ms: round3(self.quantile_ms(0.5)),
            p90_ms: round3(self.quantile_ms(0.9)),
            p99_ms: round3(self.quantile_ms(0.99)),
            p999_ms: round3(self.quantile_ms(0.999)),
            max_ms: round3(if empty {
                0.0
            } else {
                self.0.max() as f64 / 1000.0
            }),
            mean_ms: round3(if empty { 0.0 } else { self.0.mean() / 1000.0 }),
        }
    }
}

/// Milliseconds to the microsecond, so the JSON stays readable.
pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The usual latency percentiles of a histogram, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Percentiles {
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

impl fmt::Display for Percentiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "p50 {} ms, p90 {} ms, p99 {} ms, p99.9 {} ms, max {} ms",
            self.p50_ms, self.p90_ms, self.p99_ms, self.p999_ms, self.max_ms
        )
    }
}

/// One operation's counts and latencies during a run.
#[derive(Debug, Clone, Default)]
pub struct OperationStats {
    pub latencies: Latencies,
    pub ok: u64,
    pub errors: u64,
}

/// Everything one run (or one ramp step) measured. Latencies count from each request's
/// scheduled send time to the end of its response body, failed requests included (a
/// timeout counts as the time it took to give up); requests never sent (the in-flight
/// cap) are errors without a latency.
#[derive(Debug, Clone)]
pub struct RunStats {
    pub operations: Vec<(&'static str, OperationStats)>,
    pub errors_by_kind: BTreeMap<String, u64>,
    /// How late the generator itself started requests after their scheduled time: large
    /// values mean the generator, not the server, was short of CPU.
    pub send_lag: Latencies,
    /// Requests the schedule held.
    pub scheduled: u64,
    /// From the schedule's start to the last response, or the schedule's length if that
    /// is longer.
    pub elapsed: Duration,
    pub offered_rps: f64,
}

impl RunStats {
    pub fn new(operations: &[&'static str], offered_rps: f64) -> RunStats {
        RunStats {
            operations: operations
                .iter()
                .map(|name| (*name, OperationStats::default()))
                .collect(),
            errors_by_kind: BTreeMap::new(),
            send_lag: Latencies::default(),
            scheduled: 0,
            elapsed: Duration::ZERO,
            offered_rps,
        }
    }

    /// Counts one request of operation `op`; `latency` is `None` for one never sent.
    pub fn record(&mut self, op: usize, latency: Option<Duration>, outcome: Result<(), String>) {
        let stats = &mut self.operations[op].1;
        if let Some(latency) = latency {
            stats.latencies.record(latency);
        }
        match outcome {
            Ok(()) => stats.ok += 1,
            Err(kind) => {
                stats.errors += 1;
                *self.errors_by_kind.entry(kind).or_default() += 1;
            }
        }
    }

    pub fn ok(&self) -> u64 {
        self.operations.iter().map(|(_, s)| s.ok).sum()
    }

    pub fn errors(&self) -> u64 {
        self.operations.iter().map(|(_, s)| s.errors).sum()
    }

    /// Failed requests as a share of those scheduled.
    pub fn error_rate(&self) -> f64 {
        if self.scheduled == 0 {
            0.0
        } else {
            self.errors() as f64 / self.scheduled as f64
        }
    }

    pub fn overall(&self) -> Latencies {
        let mut all = Latencies::default();
        for (_, s) in &self.operations {
            all.add(&s.latencies);
        }
        all
    }

    /// Successful responses per second over [`RunStats::elapsed`].
    pub fn achieved_rps(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs == 0.0 {
            0.0
        } else {
            self.ok() as f64 / secs
        }
    }

    /// The summary of this run, as printed.
    pub fn summary(&self, scenario: &str, context: &RunContext) -> Summary {
        let scheduled = self.scheduled;
        Summary {
            scenario: scenario.to_string(),
            url: context.url.clone(),
            offered_rps: round3(self.offered_rps),
            achieved_rps: round3(self.achieved_rps()),
            duration_s: round3(self.elapsed.as_secs_f64()),
            users: context.users,
            sources: context.sources,
            requests: scheduled,
            ok: self.ok(),
            errors: self.errors(),
            error_rate: self.error_rate(),
            errors_by_kind: self.errors_by_kind.clone(),
            latency: self.overall().percentiles(),
            send_lag_p99_ms: round3(self.send_lag.quantile_ms(0.99)),
            operations: self
                .operations
                .iter()
                .map(|(name, s)| {
                    (
                        name.to_string(),
                        OperationSummary {
                            requests: s.ok + s.errors,
                            errors: s.errors,
                            latency: s.latencies.percentiles(),
                        },
                    )
                })
                .collect(),
            ramp: None,
        }
    }
}

/// What a summary says about the run beyond its measurements.
#[derive(Debug, Clone)]
pub struct RunContext {
    pub url: String,
    pub users: usize,
    /// Distinct source addresses the users send from (0: the system's choice).
    pub sources: usize,
}

/// The run's result, printed last (with `--json` as one object on one line).
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub scenario: String,
    pub url: String,
    pub offered_rps: f64,
    pub achieved_rps: f64,
    pub duration_s: f64,
    pub users: usize,
    pub sources: usize,
    pub requests: u64,
    pub ok: u64,
    pub errors: u64,
    pub error_rate: f64,
    pub errors_by_kind: BTreeMap<String, u64>,
    #[serde(flatten)]
    pub latency: Percentiles,
    pub send_lag_p99_ms: f64,
    pub operations: BTreeMap<String, OperationSummary>,
    /// Set in ramp mode: every step, and the largest rate that met the target (whose
    /// run the rest of the summary describes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ramp: Option<RampSummary>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OperationSummary {
    pub requests: u64,
    pub errors: u64,
    #[serde(flatten)]
    pub latency: Percentiles,
}

#[derive(Debug, Clone, Serialize)]
pub struct RampSummary {
    pub p99_target_ms: f64,
    pub max_error_rate: f64,
    /// The largest offered rate that met both targets; `None` when even the lowest
    /// rate tried missed them.
    pub max_rps: Option<f64>,
    pub steps: Vec<RampStep>,
}

/// One rate tried by the ramp.
#[derive(Debug, Clone, Serialize)]
pub struct RampStep {
    pub offered_rps: f64,
    pub achieved_rps: f64,
    pub p99_ms: f64,
    pub error_rate: f64,
    /// The generator's own lateness (see [`RunStats::send_lag`]): when it nears the
    /// target, the generator rather than the server limited the step.
    pub send_lag_p99_ms: f64,
    pub passed: bool,
}

impl fmt::Display for RampStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ramp step: offered {} rps, achieved {} rps, p99 {} ms, errors {:.3}%, send lag p99 {} ms: {}",
            self.offered_rps,
            round3(self.achieved_rps),
            self.p99_ms,
            self.error_rate * 100.0,
            self.send_lag_p99_ms,
            if self.passed { "met" } else { "missed" }
        )
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: offered {} rps, achieved {} rps over {} s ({} requests, {} users from {} addresses)",
            self.scenario,
            self.offered_rps,
            self.achieved_rps,
            self.duration_s,
            self.requests,
            self.users,
            self.sources
        )?;
        writeln!(f, "  latency from scheduled send: {}", self.latency)?;
        for (name, op) in &self.operations {
            writeln!(
                f,
                "  {name}: {} requests, {} errors: {}",
                op.requests, op.errors, op.latency
            )?;
        }
        if self.errors_by_kind.is_empty() {
            writeln!(f, "  errors: none")?;
        } else {
            let kinds: Vec<String> = self
                .errors_by_kind
                .iter()
                .map(|(kind, n)| format!("{kind}: {n}"))
                .collect();
            writeln!(
                f,
                "  errors: {} ({:.3}%): {}",
                self.errors,
                self.error_rate * 100.0,
                kinds.join(", ")
            )?;
        }
        write!(f, "  generator send lag p99: {} ms", self.send_lag_p99_ms)?;
        if let Some(ramp) = &self.ramp {
            write!(
                f,
                "\n  ramp (p99 <= {} ms, errors <= {}%): ",
                ramp.p99_target_ms,
                ramp.max_error_rate * 100.0
            )?;
            match ramp.max_rps {
                Some(rps) => write!(f, "largest rate meeting it {rps} rps")?,
                None => write!(f, "no rate tried met it")?,
            }
        }
        Ok(())
    }
}

/// The sign-ins of a run's virtual users, reported on their own line: each is an
/// Argon2 verification on the server, far slower than the requests measured after.
#[derive(Debug, Clone, Serialize)]
pub struct SignInSummary {
    pub users: usize,
    pub ok: u64,
    pub errors: u64,
    pub errors_by_kind: BTreeMap<String, u64>,
    /// Attempts repeated after the server said it was busy (503/429 with Retry-After).
    pub retries: u64,
    /// Sign-ins sent at once.
    pub concurrency: usize,
    pub elapsed_s: f64,
    #[serde(flatten)]
    pub latency: Percentiles,
}

impl fmt::Display for SignInSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "sign-in: {} users in {} s ({} at once), {} errors, {} retries: {}",
            self.users, self.elapsed_s, self.concurrency, self.errors, self.retries, self.latency
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_percentiles() {
        let mut run = RunStats::new(&["a", "b"], 10.0);
        run.scheduled = 4;
        for ms in [1, 2, 3] {
            run.record(0, Some(Duration::from_millis(ms)), Ok(()));
        }
        run.record(1, None, Err("status 500".into()));
        run.elapsed = Duration::from_millis(500);
        assert_eq!(run.ok(), 3);
        assert_eq!(run.errors(), 1);
        assert_eq!(run.error_rate(), 0.25);
        assert_eq!(run.achieved_rps(), 6.0);
        let p = run.overall().percentiles();
        assert!((p.p50_ms - 2.0).abs() < 0.01, "{p:?}");
        assert!((p.max_ms - 3.0).abs() < 0.01, "{p:?}");
        let context = RunContext {
            url: "http://x/".into(),
            users: 1,
            sources: 1,
        };
        let json = serde_json::to_value(run.summary("t", &context)).unwrap();
        assert_eq!(json["errors_by_kind"]["status 500"], 1);
        assert_eq!(json["operations"]["a"]["requests"], 3);
        assert!(json["p999_ms"].is_number());
        assert!(json.get("ramp").is_none());
    }
}
