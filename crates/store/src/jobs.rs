//! The durable job queue: a `jobs` table that survives restarts, claimed with
//! `FOR UPDATE SKIP LOCKED` on PostgreSQL (many processes) and under SQLite's single
//! writer lock (one process). A running job proves it is alive with a heartbeat; a job
//! whose heartbeat stops (the process died) is claimed again. Failures retry with
//! exponential backoff until `max_attempts`, then stay `failed`, with their error, for an
//! admin to see and retry.
//!
//! Jobs run at least once. A handler whose effect is a database write makes it happen
//! exactly once by committing that write together with the job's completion
//! ([`JobRun::finish_in`]): a second run of the same job then fails its fence and rolls
//! back.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use sqlx::AssertSqlSafe;
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::db::{Backend, Db, Tx};
use crate::error::{Result, StoreError};
use crate::{new_id, now_ms};

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Queued,
    Running,
    Done,
    Failed,
}

impl JobStatus {
    pub const ALL: [JobStatus; 4] = [Self::Queued, Self::Running, Self::Done, Self::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Done => "done",
            JobStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<JobStatus> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// One row of the queue.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Job {
    pub id: String,
    pub kind: String,
    pub payload: String,
    pub unique_key: Option<String>,
    pub status: String,
    pub attempts: i64,
    pub max_attempts: i64,
    pub run_at: i64,
    pub locked_by: Option<String>,
    pub heartbeat_at: Option<i64>,
    pub last_error: Option<String>,
    pub result: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

const JOB_COLUMNS: &str = "id, kind, payload, unique_key, status, attempts, max_attempts, \
     run_at, locked_by, heartbeat_at, last_error, result, created_at, updated_at";

/// A job to put on the queue.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: String,
    pub payload: serde_json::Value,
    /// At most one job with this key ever exists; enqueueing it again returns the first.
    pub unique_key: Option<String>,
    pub max_attempts: i64,
    pub run_at: Option<i64>,
}

impl NewJob {
    pub fn new(kind: &str, payload: &impl Serialize) -> Result<NewJob> {
        Ok(NewJob {
            kind: kind.to_string(),
            payload: serde_json::to_value(payload)?,
            unique_key: None,
            max_attempts: 8,
            run_at: None,
        })
    }

    pub fn unique(mut self, key: impl Into<String>) -> Self {
        self.unique_key = Some(key.into());
        self
    }

    pub fn max_attempts(mut self, n: i64) -> Self {
        self.max_attempts = n.max(1);
        self
    }
}

/// How a handler says a run went wrong.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Worth trying again later (network down, store busy).
    #[error("{0}")]
    Retry(String),
    /// Will never succeed (bad payload, deleted input): fail now, keep the error.
    #[error("{0}")]
    Abort(String),
}

impl From<StoreError> for JobError {
    fn from(e: StoreError) -> Self {
        JobError::Retry(e.to_string())
    }
}

impl From<sqlx::Error> for JobError {
    fn from(e: sqlx::Error) -> Self {
        JobError::Retry(e.to_string())
    }
}

/// Work for one job kind.
#[async_trait]
pub trait JobHandler: Send + Sync + 'static {
    /// Runs the job; the returned value, if any, is stored as the job's result.
    async fn run(&self, run: &JobRun) -> Result<Option<serde_json::Value>, JobError>;
}

/// A claimed job as a handler sees it.
pub struct JobRun {
    pub job: Job,
    worker_id: String,
    finished: AtomicBool,
}

impl JobRun {
    /// Decodes the payload into the handler's type; a payload that does not fit aborts.
    pub fn payload<T: serde::de::DeserializeOwned>(&self) -> Result<T, JobError> {
        serde_json::from_str(&self.job.payload)
            .map_err(|e| JobError::Abort(format!("payload does not fit {}: {e}", self.job.kind)))
    }

    /// Marks the job done inside the handler's own transaction, so its writes and the
    /// completion commit together. Fails (and the caller must roll back) when this worker
    /// no longer holds the job, which is what makes a re-run harmless.
    pub async fn finish_in(
        &self,
        tx: &mut Tx,
        result: Option<serde_json::Value>,
    ) -> Result<(), JobError> {
        let done = sqlx::query(
            "UPDATE jobs SET status = 'done', result = $1, locked_by = NULL, last_error = NULL, \
             updated_at = $2 WHERE id = $3 AND locked_by = $4 AND status = 'running'",
        )
        .bind(result.map(|r| r.to_string()))
        .bind(now_ms())
        .bind(&self.job.id)
        .bind(&self.worker_id)
        .execute(&mut **tx)
        .await?;
        if done.rows_affected() != 1 {
            return Err(JobError::Abort(
                "job was taken over by another worker; this run is discarded".into(),
            ));
        }
        self.finished.store(true, Ordering::SeqCst);
        Ok(())
    }
}

/// Enqueues and inspects jobs; cheap to clone.
#[derive(Clone, Debug)]
pub struct Queue {
    db: Db,
    wake: Arc<Notify>,
    stale_after: Duration,
}

impl Queue {
    pub fn new(db: Db) -> Queue {
        Queue {
            db,
            wake: Arc::new(Notify::new()),
            stale_after: Duration::from_secs(30),
        }
    }

    /// How long a running job may go without a heartbeat before it counts as orphaned.
    pub fn with_stale_after(mut self, stale_after: Duration) -> Queue {
        self.stale_after = stale_after.max(Duration::from_millis(300));
        self
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Enqueues a job in its own transaction.
    pub async fn enqueue(&self, job: NewJob) -> Result<String> {
        let mut tx = self.db.begin().await?;
        let id = self.enqueue_in(&mut tx, job).await?;
        tx.commit().await?;
        self.wake.notify_waiters();
        Ok(id)
    }

    /// Enqueues inside the caller's transaction, so the job exists if and only if the
    /// caller's own writes commit.
    pub async fn enqueue_in(&self, tx: &mut Tx, job: NewJob) -> Result<String> {
        let id = new_id();
        let now = now_ms();
        let inserted = sqlx::query(
            "INSERT INTO jobs (id, kind, payload, unique_key, status, attempts, max_attempts, \
             run_at, created_at, updated_at) VALUES ($1, $2, $3, $4, 'queued', 0, $5, $6, $7, $7) \
             ON CONFLICT (unique_key) DO NOTHING",
        )
        .bind(&id)
        .bind(&job.kind)
        .bind(job.payload.to_string())
        .bind(&job.unique_key)
        .bind(job.max_attempts)
        .bind(job.run_at.unwrap_or(now))
        .bind(now)
        .execute(&mut **tx)
        .await?;
        if inserted.rows_affected() == 1 {
            self.wake.notify_waiters();
            return Ok(id);
        }
        let existing: String = sqlx::query_scalar("SELECT id FROM jobs WHERE unique_key = $1")
            .bind(&job.unique_key)
            .fetch_one(&mut **tx)
            .await?;
        Ok(existing)
    }

    pub async fn get(&self, id: &str) -> Result<Option<Job>> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1");
        Ok(sqlx::query_as(AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?)
    }

    /// The newest jobs first, optionally only those in one status.
    pub async fn list(&self, status: Option<JobStatus>, limit: i64) -> Result<Vec<Job>> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE ($1 = '' OR status = $1) \
             ORDER BY created_at DESC, id DESC LIMIT $2"
        );
        Ok(sqlx::query_as(AssertSqlSafe(sql))
            .bind(status.map(JobStatus::as_str).unwrap_or(""))
            .bind(limit.clamp(1, 1000))
            .fetch_all(self.db.pool())
            .await?)
    }

    /// Puts a failed job back on the queue with a fresh set of attempts. Returns false
    /// when there is no failed job with that id.
    pub async fn retry(&self, id: &str) -> Result<bool> {
        let now = now_ms();
        let done = sqlx::query(
            "UPDATE jobs SET status = 'queued', attempts = 0, run_at = $1, updated_at = $1, \
             locked_by = NULL WHERE id = $2 AND status = 'failed'",
        )
        .bind(now)
        .bind(id)
        .execute(self.db.pool())
        .await?;
        self.wake.notify_waiters();
        Ok(done.rows_affected() == 1)
    }

    /// Jobs per status, for metrics and the admin page.
    pub async fn counts(&self) -> Result<HashMap<JobStatus, i64>> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT status, COUNT(*) FROM jobs GROUP BY status")
                .fetch_all(self.db.pool())
                .await?;
        let mut counts: HashMap<JobStatus, i64> =
            JobStatus::ALL.into_iter().map(|s| (s, 0)).collect();
        for (status, n) in rows {
            if let Some(s) = JobStatus::parse(&status) {
                counts.insert(s, n);
            }
        }
        Ok(counts)
    }

    /// Claims the next ready job of one of `kinds`, or an orphaned running one.
    pub async fn claim(&self, worker_id: &str, kinds: &[String]) -> Result<Option<Job>> {
        if kinds.is_empty() {
            return Ok(None);
        }
        let now = now_ms();
        let stale = now - self.stale_after.as_millis() as i64;
        // Orphans out of attempts are failed rather than run again forever.
        sqlx::query(
            "UPDATE jobs SET status = 'failed', locked_by = NULL, updated_at = $1, \
             last_error = 'the worker running this job stopped and no attempts are left' \
             WHERE status = 'running' AND heartbeat_at < $2 AND attempts >= max_attempts",
        )
        .bind(now)
        .bind(stale)
        .execute(self.db.pool())
        .await?;

        let kind_list = (0..kinds.len())
            .map(|i| format!("${}", i + 4))
            .collect::<Vec<_>>()
            .join(", ");
        let lock = match self.db.backend() {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_by = $1, \
             heartbeat_at = $2, updated_at = $2 WHERE id = (SELECT id FROM jobs \
             WHERE ((status = 'queued' AND run_at <= $2) OR (status = 'running' AND heartbeat_at < $3)) \
             AND kind IN ({kind_list}) ORDER BY run_at, id LIMIT 1 {lock}) RETURNING {JOB_COLUMNS}"
        );
        let mut query = sqlx::query_as::<_, Job>(AssertSqlSafe(sql))
            .bind(worker_id)
            .bind(now)
            .bind(stale);
        for kind in kinds {
            query = query.bind(kind);
        }
        let mut tx = self.db.begin().await?;
        let job = query.fetch_optional(&mut *tx).await?;
        tx.commit().await?;
        Ok(job)
    }

    /// Releases every job a previous run of this process left `running`. Only safe where
    /// one process owns the queue (SQLite); on PostgreSQL heartbeats decide instead.
    pub async fn release_orphans(&self) -> Result<u64> {
        if self.db.backend() != Backend::Sqlite {
            return Ok(0);
        }
        let done = sqlx::query(
            "UPDATE jobs SET status = 'queued', locked_by = NULL, updated_at = $1, run_at = $1 \
             WHERE status = 'running'",
        )
        .bind(now_ms())
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected())
    }

    async fn heartbeat(&self, id: &str, worker_id: &str) -> Result<()> {
        sqlx::query(
            "UPDATE jobs SET heartbeat_at = $1 WHERE id = $2 AND locked_by = $3 AND status = 'running'",
        )
        .bind(now_ms())
        .bind(id)
        .bind(worker_id)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    async fn complete(&self, run: &JobRun, result: Option<serde_json::Value>) -> Result<()> {
        let mut tx = self.db.begin().await?;
        if run.finish_in(&mut tx, result).await.is_ok() {
            tx.commit().await?;
        }
        Ok(())
    }

    async fn fail(&self, run: &JobRun, error: &JobError) -> Result<()> {
        let job = &run.job;
        let now = now_ms();
        let give_up = matches!(error, JobError::Abort(_)) || job.attempts >= job.max_attempts;
        let (status, run_at) = if give_up {
            ("failed", now)
        } else {
            ("queued", now + backoff(job.attempts).as_millis() as i64)
        };
        sqlx::query(
            "UPDATE jobs SET status = $1, run_at = $2, last_error = $3, locked_by = NULL, \
             updated_at = $4 WHERE id = $5 AND locked_by = $6 AND status = 'running'",
        )
        .bind(status)
        .bind(run_at)
        .bind(error.to_string())
        .bind(now)
        .bind(&job.id)
        .bind(&run.worker_id)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }
}

/// Delay before attempt `attempts + 1`: 2 s, 4 s, 8 s … capped at one hour.
pub fn backoff(attempts: i64) -> Duration {
    let exp = attempts.clamp(0, 11) as u32;
    Duration::from_secs((2u64 << exp).min(3600))
}

/// Runs jobs of the kinds it has handlers for.
#[derive(Clone)]
pub struct Worker {
    queue: Queue,
    handlers: HashMap<String, Arc<dyn JobHandler>>,
    id: String,
    concurrency: usize,
    poll: Duration,
}

impl Worker {
    pub fn new(queue: Queue) -> Worker {
        let host = hostname::get()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_else(|_| "host".into());
        Worker {
            queue,
            handlers: HashMap::new(),
            id: format!("{host}-{}-{}", std::process::id(), &new_id()[24..]),
            concurrency: 2,
            poll: Duration::from_secs(1),
        }
    }

    pub fn register(mut self, kind: &str, handler: impl JobHandler) -> Worker {
        self.handlers.insert(kind.to_string(), Arc::new(handler));
        self
    }

    pub fn concurrency(mut self, n: usize) -> Worker {
        self.concurrency = n.max(1);
        self
    }

    /// How often to look for jobs enqueued by other processes.
    pub fn poll_every(mut self, poll: Duration) -> Worker {
        self.poll = poll;
        self
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    fn kinds(&self) -> Vec<String> {
        let mut kinds: Vec<String> = self.handlers.keys().cloned().collect();
        kinds.sort();
        kinds
    }

    /// Runs ready jobs one after another until none is ready; returns how many ran. For
    /// operators who schedule work from outside (`tutti jobs run-once`).
    pub async fn run_until_idle(&self) -> Result<usize> {
        let kinds = self.kinds();
        let mut ran = 0;
        while let Some(job) = self.queue.claim(&self.id, &kinds).await? {
            self.execute(job).await?;
            ran += 1;
        }
        Ok(ran)
    }

    /// Runs jobs in the background until `stop` is cancelled, then waits for the jobs
    /// in flight to finish.
    pub fn spawn(self, stop: CancellationToken) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let kinds = self.kinds();
            let slots = Arc::new(Semaphore::new(self.concurrency));
            let worker = Arc::new(self);
            loop {
                let permit = tokio::select! {
                    p = slots.clone().acquire_owned() => p.expect("semaphore never closes"),
                    _ = stop.cancelled() => break,
                };
                let wake = worker.queue.wake.notified();
                match worker.queue.claim(&worker.id, &kinds).await {
                    Ok(Some(job)) => {
                        let worker = worker.clone();
                        tokio::spawn(async move {
                            if let Err(e) = worker.execute(job).await {
                                tracing::error!(error = %e, "could not record a job's outcome");
                            }
                            drop(permit);
                        });
                        continue;
                    }
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, "could not claim a job"),
                }
                drop(permit);
                tokio::select! {
                    _ = wake => {}
                    _ = tokio::time::sleep(worker.poll) => {}
                    _ = stop.cancelled() => break,
                }
            }
            let _ = slots.acquire_many(worker.concurrency as u32).await;
        })
    }

    async fn execute(&self, job: Job) -> Result<()> {
        let span =
            tracing::info_span!("job", id = %job.id, kind = %job.kind, attempt = job.attempts);
        self.execute_in_span(job).instrument(span).await
    }

    async fn execute_in_span(&self, job: Job) -> Result<()> {
        let Some(handler) = self.handlers.get(&job.kind).cloned() else {
            return Ok(());
        };
        let run = Arc::new(JobRun {
            job,
            worker_id: self.id.clone(),
            finished: AtomicBool::new(false),
        });
        let beat = {
            let queue = self.queue.clone();
            let run = run.clone();
            let every = self.queue.stale_after / 3;
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    if let Err(e) = queue.heartbeat(&run.job.id, &run.worker_id).await {
                        tracing::warn!(error = %e, "job heartbeat failed");
                    }
                }
            })
        };
        let outcome = {
            let run = run.clone();
            tokio::spawn(async move { handler.run(&run).await }).await
        };
        beat.abort();
        let result = match outcome {
            Ok(r) => r,
            Err(e) => Err(JobError::Retry(format!("the job's handler crashed: {e}"))),
        };
        match result {
            Ok(value) => {
                if !run.finished.load(Ordering::SeqCst) {
                    self.queue.complete(&run, value).await?;
                }
                metrics::counter!("tutti_jobs_completed_total", "kind" => run.job.kind.clone())
                    .increment(1);
            }
            Err(error) => {
                tracing::warn!(error = %error, "job failed");
                self.queue.fail(&run, &error).await?;
                metrics::counter!("tutti_jobs_failed_total", "kind" => run.job.kind.clone())
                    .increment(1);
            }
        }
        Ok(())
    }
}

/// The kind of the built-in self-test job.
pub const SELFTEST: &str = "platform.selftest";

/// A job an admin runs to prove the workers are alive end to end: it waits the asked
/// number of milliseconds, then records one row in `job_selftest_runs` in the same
/// transaction that completes it, so a count of rows shows exactly-once completion.
pub struct SelfTest(pub Db);

#[derive(Debug, Serialize, serde::Deserialize)]
pub struct SelfTestPayload {
    #[serde(default)]
    pub sleep_ms: u64,
}

#[async_trait]
impl JobHandler for SelfTest {
    async fn run(&self, run: &JobRun) -> Result<Option<serde_json::Value>, JobError> {
        let payload: SelfTestPayload = run.payload()?;
        tokio::time::sleep(Duration::from_millis(payload.sleep_ms.min(60_000))).await;
        let mut tx = self.0.begin().await?;
        sqlx::query("INSERT INTO job_selftest_runs (job_id, worker_id, at) VALUES ($1, $2, $3)")
            .bind(&run.job.id)
            .bind(&run.worker_id)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        let result = serde_json::json!({ "worker": run.worker_id, "slept_ms": payload.sleep_ms });
        run.finish_in(&mut tx, Some(result)).await?;
        tx.commit().await?;
        Ok(None)
    }
}
