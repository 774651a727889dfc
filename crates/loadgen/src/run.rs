//! What every scenario shares once its users are signed in: the command-line options of a
//! run ([`LoadArgs`]), the warm-up, one fixed-rate run or a ramp, and the output (text,
//! or with `--json` one JSON object per line, the summary last).

use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use serde::Serialize;
use url::Url;

use crate::clients::{self, HttpUser};
use crate::schedule::{Pace, Workload, run_open_loop};
use crate::stats::{RampStep, RampSummary, RunContext, RunStats, Summary, round3};

/// Who the virtual users are and how they reach the server: the options every scenario
/// shares, whether it sends at a fixed rate or follows its own timeline.
#[derive(Debug, Clone, Args)]
pub struct ClientArgs {
    /// The server's address.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: Url,
    /// Virtual users, each signed in once; requests go to them in turn.
    #[arg(long, default_value_t = 10)]
    pub users: usize,
    /// The users' emails; `%n` stands for the user's number from 1, so
    /// `load%n@example.org` is one account per user. Without `%n` they all sign in to
    /// one account, each with its own session.
    #[arg(long, default_value = "load%n@example.org")]
    pub email: String,
    /// The users' password.
    #[arg(long, env = "TUTTI_LOAD_PASSWORD", hide_env_values = true)]
    pub password: String,
    /// Sign-ins sent at once (the server hashes a few at a time; more only queue).
    #[arg(long, default_value_t = 4)]
    pub sign_in_concurrency: usize,
    /// Distinct source addresses in 127.0.0.0/8 the users send from, shared in turn
    /// [default: one per user; 0 for the system's choice]. Only for a server on loopback.
    #[arg(long)]
    pub sources: Option<usize>,
    /// A request not answered in this time counts as an error (`timeout`).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub timeout: Duration,
}

/// The options of every fixed-rate scenario.
#[derive(Debug, Clone, Args)]
pub struct LoadArgs {
    #[command(flatten)]
    pub clients: ClientArgs,
    /// Requests per second, sent on a fixed schedule whatever the answers; with --ramp
    /// the first rate tried.
    #[arg(long, default_value_t = 100.0)]
    pub rate: f64,
    /// How long to send (e.g. 30, 30s, 2m, 500ms); with --ramp, each step's length.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Sent at the same rate before measuring, to open connections and warm caches.
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    pub warmup: Duration,
    /// Requests in flight at most; one due beyond it is not sent and counts as an error.
    #[arg(long, default_value_t = 20_000)]
    pub max_in_flight: usize,
    /// Find the largest rate meeting --p99-target-ms and --max-error-rate: from --rate,
    /// multiply by --ramp-factor while it meets them, then bisect to 5%.
    #[arg(long)]
    pub ramp: bool,
    /// The ramp's latency target: p99 at most this.
    #[arg(long, default_value_t = 20.0)]
    pub p99_target_ms: f64,
    /// The ramp's error target: at most this share of requests failed (0.001 = 0.1%).
    #[arg(long, default_value_t = 0.001)]
    pub max_error_rate: f64,
    /// How much the ramp raises the rate after each step that met the target.
    #[arg(long, default_value_t = 1.5)]
    pub ramp_factor: f64,
    /// The ramp stops raising the rate here.
    #[arg(long, default_value_t = 100_000.0)]
    pub max_rate: f64,
    /// Print JSON objects, one per line: the sign-ins, each ramp step, and the summary
    /// last.
    #[arg(long)]
    pub json: bool,
}

/// Accepts `30`, `30s`, `2m`, `500ms`.
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    let (number, scale) = if let Some(n) = raw.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = raw.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = raw.strip_suffix('m') {
        (n, 60.0)
    } else {
        (raw, 1.0)
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("{raw:?} is not a duration; write e.g. 30s, 2m or 500ms"))?;
    if !value.is_finite() || value < 0.0 {
        return Err(format!("{raw:?} is not a duration"));
    }
    Ok(Duration::from_secs_f64(value * scale))
}

impl LoadArgs {
    /// Refuses options no run could use.
    pub fn check(&self) -> anyhow::Result<()> {
        self.clients.check()?;
        anyhow::ensure!(
            self.rate > 0.0 && self.rate.is_finite(),
            "--rate must be above 0"
        );
        anyhow::ensure!(!self.duration.is_zero(), "--duration must be longer than 0");
        anyhow::ensure!(self.ramp_factor > 1.0, "--ramp-factor must be above 1");
        Ok(())
    }

    /// How many distinct addresses the users send from (0: the system's choice).
    pub fn source_count(users: &[HttpUser]) -> usize {
        let distinct: std::collections::BTreeSet<_> =
            users.iter().filter_map(|u| u.source).collect();
        distinct.len()
    }

    /// Makes and signs in the users (see [`ClientArgs::signed_in_users`]).
    pub async fn signed_in_users(&self, out: &Output) -> anyhow::Result<Vec<HttpUser>> {
        self.clients.signed_in_users(out).await
    }
}

impl ClientArgs {
    /// Refuses options no run could use.
    pub fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.users > 0, "--users must be at least 1");
        Ok(())
    }

    /// One HTTP client per user, each with its source address.
    pub fn http_users(&self) -> anyhow::Result<Vec<HttpUser>> {
        crate::sources::assign(&self.url, self.users, self.sources)
            .into_iter()
            .map(|source| HttpUser::new(&self.url, source, self.timeout))
            .collect()
    }

    /// Makes and signs in the users, printing the sign-ins on their own line; fails when
    /// any could not sign in.
    pub async fn signed_in_users(&self, out: &Output) -> anyhow::Result<Vec<HttpUser>> {
        let users = self.http_users()?;
        eprintln!(
            "signing in {} users at {} ({} at once)…",
            users.len(),
            self.url,
            self.sign_in_concurrency
        );
        let (users, summary) = clients::sign_in_all(
            users,
            |i| clients::credentials(&self.email, &self.password, i),
            self.sign_in_concurrency,
        )
        .await;
        out.print("sign-in", &summary);
        if summary.errors > 0 {
            anyhow::bail!(
                "{} of {} users could not sign in ({:?}); create them first, e.g. \
                 `tutti admin create-user --email load1@example.org --password -`",
                summary.errors,
                summary.users,
                summary.errors_by_kind
            );
        }
        Ok(users)
    }
}

/// Where results go: text, or JSON lines.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub json: bool,
}

/// A JSON line: what it reports (`sign-in`, `ramp-step`, `summary`), then its fields.
#[derive(Serialize)]
struct Line<'a, T> {
    phase: &'a str,
    #[serde(flatten)]
    item: &'a T,
}

impl Output {
    /// Prints one report of `phase` on its own line.
    pub fn print<T: Serialize + std::fmt::Display>(&self, phase: &str, item: &T) {
        if self.json {
            let line = Line { phase, item };
            println!(
                "{}",
                serde_json::to_string(&line).expect("reports serialise")
            );
        } else {
            println!("{item}");
        }
    }
}

/// Runs `workload` as `args` say (a warm-up, then one run at `--rate` or a ramp), prints
/// the summary last, and returns it.
pub async fn drive<W: Workload>(
    scenario: &str,
    args: &LoadArgs,
    users: &[HttpUser],
    workload: W,
    out: &Output,
) -> anyhow::Result<Summary> {
    let workload = Arc::new(workload);
    let context = RunContext {
        url: args.clients.url.to_string(),
        users: users.len(),
        sources: LoadArgs::source_count(users),
    };
    let pace = |rate: f64, duration: Duration| Pace {
        rate,
        duration,
        max_in_flight: args.max_in_flight,
    };
    if !args.warmup.is_zero() {
        eprintln!("warming up for {:?} at {} rps…", args.warmup, args.rate);
        run_open_loop(workload.clone(), pace(args.rate, args.warmup)).await;
    }
    let summary = if args.ramp {
        ramp(scenario, args, workload, &context, out, pace).await
    } else {
        eprintln!("{scenario}: {} rps for {:?}…", args.rate, args.duration);
        run_open_loop(workload, pace(args.rate, args.duration))
            .await
            .summary(scenario, &context)
    };
    out.print("summary", &summary);
    Ok(summary)
}

fn meets(stats: &RunStats, args: &LoadArgs) -> bool {
    stats.overall().quantile_ms(0.99) <= args.p99_target_ms
        && stats.error_rate() <= args.max_error_rate
}

/// Raises the rate by `--ramp-factor` while each step meets the target, then bisects
/// between the last rate that met it and the first that missed until they are within
/// 5% of each other. The summary describes the best step's run and lists every step.
async fn ramp<W: Workload>(
    scenario: &str,
    args: &LoadArgs,
    workload: Arc<W>,
    context: &RunContext,
    out: &Output,
    pace: impl Fn(f64, Duration) -> Pace,
) -> Summary {
    let mut steps = Vec::new();
    let mut best: Option<(f64, RunStats)> = None;
    let mut last_missed: Option<RunStats> = None;
    let mut missed: Option<f64> = None;
    let mut rate = args.rate.min(args.max_rate);
    loop {
        let stats = run_open_loop(workload.clone(), pace(rate, args.duration)).await;
        let passed = meets(&stats, args);
        let step = RampStep {
            offered_rps: round3(rate),
            achieved_rps: round3(stats.achieved_rps()),
            p99_ms: round3(stats.overall().quantile_ms(0.99)),
            error_rate: stats.error_rate(),
            send_lag_p99_ms: round3(stats.send_lag.quantile_ms(0.99)),
            passed,
        };
        out.print("ramp-step", &step);
        steps.push(step);
        if passed {
            best = Some((rate, stats));
        } else {
            missed = Some(missed.map_or(rate, |m: f64| m.min(rate)));
            last_missed = Some(stats);
        }
        let lo = best.as_ref().map_or(0.0, |(r, _)| *r);
        rate = match missed {
            None if rate >= args.max_rate => break,
            None => (rate * args.ramp_factor).min(args.max_rate),
            Some(hi) if hi - lo <= (0.05 * hi).max(1.0) => break,
            Some(hi) => ((lo + hi) / 2.0).round().max(1.0),
        };
        if steps.len() >= 40 {
            break;
        }
        // Let the server finish what the last step left it before the next one counts.
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let (max_rps, stats) = match best {
        Some((rate, stats)) => (Some(round3(rate)), stats),
        None => (None, last_missed.expect("a ramp runs at least one step")),
    };
    let mut summary = stats.summary(scenario, context);
    summary.ramp = Some(RampSummary {
        p99_target_ms: args.p99_target_ms,
        max_error_rate: args.max_error_rate,
        max_rps,
        steps,
    });
    summary
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use futures_util::future::BoxFuture;
    use tokio::sync::Semaphore;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        load: LoadArgs,
    }

    /// A server answering one request at a time in 10 ms: 100 rps at most.
    struct OneAtATime(Arc<Semaphore>);

    impl Workload for OneAtATime {
        fn operations(&self) -> &[&'static str] {
            &["only"]
        }

        fn call(&self, _: u64) -> (usize, BoxFuture<'static, Result<(), String>>) {
            let server = self.0.clone();
            let request = Box::pin(async move {
                let _turn = server.acquire().await.unwrap();
                tokio::time::sleep(Duration::from_millis(10)).await;
                Ok(())
            });
            (0, request)
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_ramp_finds_the_server_s_capacity() {
        let args =
            Cli::parse_from(["t", "--password", "x", "--rate", "20", "--duration", "2s"]).load;
        let context = RunContext {
            url: args.clients.url.to_string(),
            users: 1,
            sources: 0,
        };
        let workload = Arc::new(OneAtATime(Arc::new(Semaphore::new(1))));
        let pace = |rate, duration| Pace {
            rate,
            duration,
            max_in_flight: 10_000,
        };
        let out = Output { json: true };
        let summary = ramp("t", &args, workload, &context, &out, pace).await;
        let ramp = summary.ramp.unwrap();
        let max = ramp.max_rps.unwrap();
        assert!((60.0..=110.0).contains(&max), "{ramp:?}");
        assert!(ramp.steps.iter().any(|s| !s.passed), "{ramp:?}");
        assert_eq!(ramp.steps[0].offered_rps, 20.0);
        assert_eq!(ramp.steps[1].offered_rps, 30.0);
        assert_eq!(
            summary.offered_rps, max,
            "the summary is the best step's run"
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("-1s").is_err());
    }
}
