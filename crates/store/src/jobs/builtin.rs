//! The platform's own jobs: the self-test an admin runs to prove the workers work, and the
//! retention that keeps the `jobs` table from growing without end.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{JobError, JobRun, Queue, TypedJob};
use crate::db::Db;

/// The kind of the built-in self-test job.
pub const SELFTEST: &str = "platform.selftest";

/// A job an admin runs to prove the workers are alive end to end: it waits the asked
/// number of milliseconds, then records one row in `job_selftest_runs` in the same
/// transaction that completes it, so a count of rows shows exactly-once completion.
pub struct SelfTest(pub Db);

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct SelfTestPayload {
    #[serde(default)]
    pub sleep_ms: u64,
}

impl TypedJob for SelfTest {
    const KIND: &'static str = SELFTEST;
    type Payload = SelfTestPayload;
    type Output = ();

    /// The sleep is capped at a minute; a run twice that long is stuck.
    fn timeout() -> Duration {
        Duration::from_secs(120)
    }

    async fn run(&self, payload: SelfTestPayload, run: &JobRun) -> Result<(), JobError> {
        tokio::time::sleep(Duration::from_millis(payload.sleep_ms.min(60_000))).await;
        let mut tx = self.0.begin().await?;
        sqlx::query("INSERT INTO job_selftest_runs (job_id, worker_id, at) VALUES ($1, $2, $3)")
            .bind(&run.job.id)
            .bind(run.worker_id())
            .bind(crate::now_ms())
            .execute(&mut *tx)
            .await?;
        let result = serde_json::json!({ "worker": run.worker_id(), "slept_ms": payload.sleep_ms });
        run.finish_in(&mut tx, Some(result)).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The kind of the built-in retention job.
pub const RETENTION: &str = "platform.jobs.retention";

/// How long finished jobs are kept when the setting does not say.
pub const DEFAULT_KEEP_DONE: Duration = Duration::from_secs(7 * 24 * 3600);

/// Deletes jobs that finished (`done`) longer ago than `keep`. Failed jobs stay, with
/// their errors, until an admin retries them; queued and running ones are never touched.
/// Registered by [`Worker::with_retention`](super::Worker::with_retention), daily.
pub struct JobRetention {
    queue: Queue,
    keep: Duration,
}

impl JobRetention {
    pub fn new(queue: Queue, keep: Duration) -> JobRetention {
        JobRetention { queue, keep }
    }
}

/// What a retention run did.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RetentionReport {
    pub pruned: u64,
    pub kept_days: u64,
}

impl TypedJob for JobRetention {
    const KIND: &'static str = RETENTION;
    type Payload = ();
    type Output = RetentionReport;

    fn timeout() -> Duration {
        Duration::from_secs(15 * 60)
    }

    fn max_attempts() -> i64 {
        3
    }

    async fn run(&self, _: (), run: &JobRun) -> Result<RetentionReport, JobError> {
        let pruned = self.queue.prune_done_until(self.keep, run).await?;
        if pruned > 0 {
            tracing::info!(pruned, "deleted finished jobs past their retention");
        }
        Ok(RetentionReport {
            pruned,
            kept_days: self.keep.as_secs() / 86_400,
        })
    }
}
