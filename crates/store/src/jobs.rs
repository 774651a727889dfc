//! The durable job queue: a `jobs` table that survives restarts, claimed with
//! `FOR UPDATE SKIP LOCKED` on PostgreSQL (many processes) and under SQLite's single
//! writer lock. Failures retry with backoff until `max_attempts`, then stay `failed`, with
//! their error, for an admin to see and retry.
//!
//! **Claims and fences.** Every claim mints a new token (`claim_token`) and a run may only
//! heartbeat, complete or fail its job while the row still carries that token. A run whose
//! job was put back and claimed again, even by the same process, is thereby shut out: its
//! heartbeat touches no row, which cancels it ([`JobRun::cancelled`]), and its
//! [`JobRun::finish_in`] fails, so its transaction rolls back. A handler whose effect is a
//! database write makes it happen exactly once by committing that write together with the
//! job's completion.
//!
//! **Time.** Heartbeats, run times, staleness, leases and schedule periods are all read
//! from the database's clock ([`crate::Backend::now_ms_sql`]), never a node's.
//!
//! **Orphans.** A running job whose heartbeat is older than `stale_after` (its process
//! died) is put back by [`Queue::sweep_orphans`], which runs only while its caller holds
//! the exclusive lease [`SWEEP_LEASE`]; a spawned [`Worker`] sweeps on its own. Nothing
//! else puts a running job back, so `tutti jobs run-once` beside a live server cannot
//! start a job twice.
//!
//! **Limits.** A handler declares a time limit ([`JobHandler::timeout`],
//! [`TypedJob::timeout`]); a run past it is cancelled and counts as a failed attempt. CPU
//! work goes through [`JobRun::blocking`] so it cannot starve heartbeats.
//!
//! **Periodic jobs.** [`Worker::schedule`] and [`Worker::periodic`] enqueue a job once per
//! [`Schedule`] period however many nodes run workers ([`Queue::enqueue_due`]).

mod builtin;
mod schedule;
mod typed;

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

pub use builtin::{
    DEFAULT_KEEP_DONE, JobRetention, RETENTION, RetentionReport, SELFTEST, SelfTest,
    SelfTestPayload,
};
pub use schedule::Schedule;
pub use typed::{DEFAULT_MAX_ATTEMPTS, DEFAULT_TIMEOUT, TypedJob};

use crate::db::{Backend, Db, Tx};
use crate::error::{Result, StoreError};
use crate::{leases, new_id};

/// The lease a node holds while it puts stale running jobs back on the queue.
pub const SWEEP_LEASE: &str = "jobs.sweep";

/// How long a cancelled handler gets to unwind before its outcome is recorded anyway.
const ABORT_GRACE: Duration = Duration::from_secs(5);
/// How long a stopping worker waits for running jobs by default.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(10);
/// The longest pause between claims while the database keeps failing.
const MAX_CLAIM_BACKOFF: Duration = Duration::from_secs(30);

/// Rows a retention pass deletes per statement, so SQLite's writer lock is never held long.
const PRUNE_BATCH: i64 = 500;

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

/// One row of the queue. (The claim token is not part of it: only the run that minted it
/// knows it.)
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
    /// When it may run (Unix milliseconds); now, by the database's clock, when unset.
    pub run_at: Option<i64>,
}

impl NewJob {
    pub fn new(kind: &str, payload: &impl Serialize) -> Result<NewJob> {
        Ok(NewJob {
            kind: kind.to_string(),
            payload: serde_json::to_value(payload)?,
            unique_key: None,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            run_at: None,
        })
    }

    /// A job of the typed kind `J`, with `J`'s attempts.
    pub fn typed<J: TypedJob>(payload: &J::Payload) -> Result<NewJob> {
        Ok(NewJob::new(J::KIND, payload)?.max_attempts(J::max_attempts()))
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

/// Work for one job kind: the low-level, string-kind layer. Most jobs implement
/// [`TypedJob`] instead, which makes them a `JobHandler` too.
#[async_trait]
pub trait JobHandler: Send + Sync + 'static {
    /// Runs the job; the returned value, if any, is stored as the job's result.
    async fn run(&self, run: &JobRun) -> Result<Option<serde_json::Value>, JobError>;

    /// How long one run may take before it is cancelled and counted as a failed attempt;
    /// `None` (the default here) for no limit.
    fn timeout(&self) -> Option<Duration> {
        None
    }

    /// How long to wait before the next attempt after `attempts` runs failed.
    fn retry_delay(&self, attempts: i64) -> Duration {
        backoff(attempts)
    }
}

/// A claimed job as a handler sees it: the row, and the claim that fences it.
pub struct JobRun {
    pub job: Job,
    worker_id: String,
    claim: String,
    backend: Backend,
    cancel: CancellationToken,
    finished: AtomicBool,
    lost: AtomicBool,
}

impl std::fmt::Debug for JobRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobRun")
            .field("job", &self.job.id)
            .field("kind", &self.job.kind)
            .field("worker_id", &self.worker_id)
            .field("cancelled", &self.cancel.is_cancelled())
            .field("lost", &self.lost_claim())
            .finish()
    }
}

impl JobRun {
    /// Decodes the payload into the handler's type; a payload that does not fit aborts.
    pub fn payload<T: serde::de::DeserializeOwned>(&self) -> Result<T, JobError> {
        serde_json::from_str(&self.job.payload)
            .map_err(|e| JobError::Abort(format!("payload does not fit {}: {e}", self.job.kind)))
    }

    /// The worker that claimed the job (shared by every claim of one process).
    pub fn worker_id(&self) -> &str {
        &self.worker_id
    }

    /// This claim's fencing token (unique to this run).
    pub fn claim_token(&self) -> &str {
        &self.claim
    }

    /// True once the run should stop: its time limit passed, or it lost its claim.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Resolves when the run should stop; a handler can `select!` on it between steps.
    pub async fn cancelled(&self) {
        self.cancel.cancelled().await
    }

    /// A token cancelled with the run, to hand to code that cannot see the `JobRun`.
    /// Cancelling it does not cancel the run.
    pub fn cancellation(&self) -> CancellationToken {
        self.cancel.child_token()
    }

    /// True when the job was taken from this run (its lease expired and the job was put
    /// back or claimed again): nothing this run does can complete or fail the job.
    pub fn lost_claim(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    fn mark_lost(&self) {
        self.lost.store(true, Ordering::SeqCst);
        self.cancel.cancel();
    }

    /// Marks the job done inside the handler's own transaction, so its writes and the
    /// completion commit together. Fails (and the caller must roll back) when this run no
    /// longer holds the job, which is what makes a superseded run harmless.
    pub async fn finish_in(
        &self,
        tx: &mut Tx,
        result: Option<serde_json::Value>,
    ) -> Result<(), JobError> {
        if self.finish(tx, result).await? {
            Ok(())
        } else {
            Err(JobError::Abort(
                "this run lost its claim on the job (it was put back or claimed again); \
                 its outcome is discarded"
                    .into(),
            ))
        }
    }

    /// The fenced completion: Ok(false) when the claim is gone (and the run is cancelled).
    async fn finish(&self, tx: &mut Tx, result: Option<serde_json::Value>) -> Result<bool> {
        let now = self.backend.now_ms_sql();
        let sql = format!(
            "UPDATE jobs SET status = 'done', result = $1, locked_by = NULL, claim_token = NULL, \
             last_error = NULL, updated_at = {now} \
             WHERE id = $2 AND claim_token = $3 AND status = 'running'"
        );
        let done = sqlx::query(AssertSqlSafe(sql))
            .bind(result.map(|r| r.to_string()))
            .bind(&self.job.id)
            .bind(&self.claim)
            .execute(&mut **tx)
            .await?;
        if done.rows_affected() != 1 {
            self.mark_lost();
            return Ok(false);
        }
        self.finished.store(true, Ordering::SeqCst);
        Ok(true)
    }

    /// Runs CPU-bound or blocking work on the blocking thread pool, so it cannot hold up
    /// the async runtime (and with it this run's heartbeats). `work` receives a token that
    /// is cancelled with the run and should check it between steps. If the run is
    /// cancelled first this returns [`JobError::Retry`] at once; the thread finishes on its
    /// own and its result is dropped.
    pub async fn blocking<T, F>(&self, work: F) -> Result<T, JobError>
    where
        F: FnOnce(CancellationToken) -> T + Send + 'static,
        T: Send + 'static,
    {
        run_blocking(self.cancellation(), work).await
    }
}

/// [`JobRun::blocking`] for code that only has a cancellation token.
pub async fn run_blocking<T, F>(cancel: CancellationToken, work: F) -> Result<T, JobError>
where
    F: FnOnce(CancellationToken) -> T + Send + 'static,
    T: Send + 'static,
{
    if cancel.is_cancelled() {
        return Err(JobError::Retry("the run was cancelled".into()));
    }
    let token = cancel.clone();
    let handle = tokio::task::spawn_blocking(move || work(token));
    tokio::select! {
        biased;
        joined = handle => joined
            .map_err(|e| JobError::Retry(format!("the job's blocking work crashed: {e}"))),
        _ = cancel.cancelled() => Err(JobError::Retry(
            "the run was cancelled while its blocking work was running".into(),
        )),
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
    /// Runs heartbeat three times as often.
    pub fn with_stale_after(mut self, stale_after: Duration) -> Queue {
        self.stale_after = stale_after.max(Duration::from_millis(300));
        self
    }

    pub fn stale_after(&self) -> Duration {
        self.stale_after
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The database's clock as an SQL expression.
    fn now(&self) -> &'static str {
        self.db.backend().now_ms_sql()
    }

    /// Wakes this process's idle workers to look for jobs now. [`Queue::enqueue`] does it
    /// itself; after [`Queue::enqueue_in`] or [`Queue::retry_in`], call it once the
    /// transaction has committed (before, a worker would look and find nothing). Without
    /// it the job still runs, at the workers' next poll.
    pub fn notify(&self) {
        self.wake.notify_waiters();
    }

    /// Enqueues a job in its own transaction and wakes the workers.
    pub async fn enqueue(&self, job: NewJob) -> Result<String> {
        let mut tx = self.db.begin().await?;
        let id = self.enqueue_in(&mut tx, job).await?;
        tx.commit().await?;
        self.notify();
        Ok(id)
    }

    /// Enqueues inside the caller's transaction, so the job exists if and only if the
    /// caller's own writes commit. Call [`Queue::notify`] after the commit.
    pub async fn enqueue_in(&self, tx: &mut Tx, job: NewJob) -> Result<String> {
        let id = new_id();
        let now = self.now();
        let sql = format!(
            "INSERT INTO jobs (id, kind, payload, unique_key, status, attempts, max_attempts, \
             run_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'queued', 0, $5, COALESCE($6, {now}), {now}, {now}) \
             ON CONFLICT (unique_key) DO NOTHING"
        );
        let inserted = sqlx::query(AssertSqlSafe(sql))
            .bind(&id)
            .bind(&job.kind)
            .bind(job.payload.to_string())
            .bind(&job.unique_key)
            .bind(job.max_attempts)
            .bind(job.run_at)
            .execute(&mut **tx)
            .await?;
        if inserted.rows_affected() == 1 {
            return Ok(id);
        }
        let existing: String = sqlx::query_scalar("SELECT id FROM jobs WHERE unique_key = $1")
            .bind(&job.unique_key)
            .fetch_one(&mut **tx)
            .await?;
        Ok(existing)
    }

    /// Enqueues a typed job in its own transaction and wakes the workers.
    pub async fn enqueue_typed<J: TypedJob>(&self, payload: &J::Payload) -> Result<String> {
        self.enqueue(NewJob::typed::<J>(payload)?).await
    }

    /// Enqueues a typed job inside the caller's transaction (see [`Queue::enqueue_in`]).
    pub async fn enqueue_typed_in<J: TypedJob>(
        &self,
        tx: &mut Tx,
        payload: &J::Payload,
    ) -> Result<String> {
        self.enqueue_in(tx, NewJob::typed::<J>(payload)?).await
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
        let mut tx = self.db.begin().await?;
        let retried = self.retry_in(&mut tx, id).await?;
        tx.commit().await?;
        if retried {
            self.notify();
        }
        Ok(retried)
    }

    /// [`Queue::retry`] inside the caller's transaction, so the retry and the caller's own
    /// writes (its audit entry) commit together. Call [`Queue::notify`] after the commit.
    pub async fn retry_in(&self, tx: &mut Tx, id: &str) -> Result<bool> {
        let now = self.now();
        let sql = format!(
            "UPDATE jobs SET status = 'queued', attempts = 0, run_at = {now}, updated_at = {now}, \
             locked_by = NULL, claim_token = NULL WHERE id = $1 AND status = 'failed'"
        );
        let done = sqlx::query(AssertSqlSafe(sql))
            .bind(id)
            .execute(&mut **tx)
            .await?;
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

    /// Claims the next ready job of one of `kinds` and returns its row only. Without the
    /// claim's token nothing can complete or fail the job: it stays running until the
    /// sweep finds it stale. To run what you claim, use [`Queue::claim_run`].
    pub async fn claim(&self, worker_id: &str, kinds: &[String]) -> Result<Option<Job>> {
        Ok(self.claim_run(worker_id, kinds).await?.map(|run| run.job))
    }

    /// Claims the next ready (queued, due) job of one of `kinds` under a new claim token.
    /// Running jobs are never claimed here, stale or not: see [`Queue::sweep_orphans`].
    pub async fn claim_run(&self, worker_id: &str, kinds: &[String]) -> Result<Option<JobRun>> {
        if kinds.is_empty() {
            return Ok(None);
        }
        let now = self.now();
        let kind_list = (0..kinds.len())
            .map(|i| format!("${}", i + 3))
            .collect::<Vec<_>>()
            .join(", ");
        let lock = match self.db.backend() {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_by = $1, \
             claim_token = $2, heartbeat_at = {now}, updated_at = {now} \
             WHERE id = (SELECT id FROM jobs WHERE status = 'queued' AND run_at <= {now} \
             AND kind IN ({kind_list}) ORDER BY run_at, id LIMIT 1 {lock}) \
             AND status = 'queued' RETURNING {JOB_COLUMNS}"
        );
        let claim = new_id();
        let mut query = sqlx::query_as::<_, Job>(AssertSqlSafe(sql))
            .bind(worker_id)
            .bind(&claim);
        for kind in kinds {
            query = query.bind(kind);
        }
        let mut tx = self.db.begin().await?;
        let job = query.fetch_optional(&mut *tx).await?;
        tx.commit().await?;
        Ok(job.map(|job| JobRun {
            job,
            worker_id: worker_id.to_string(),
            claim,
            backend: self.db.backend(),
            cancel: CancellationToken::new(),
            finished: AtomicBool::new(false),
            lost: AtomicBool::new(false),
        }))
    }

    /// Proves `run` is alive (database clock). Returns false when the row no longer
    /// carries the run's claim, and then cancels the run: someone else has the job now.
    pub async fn heartbeat(&self, run: &JobRun) -> Result<bool> {
        let sql = format!(
            "UPDATE jobs SET heartbeat_at = {} \
             WHERE id = $1 AND claim_token = $2 AND status = 'running'",
            self.now()
        );
        let beat = sqlx::query(AssertSqlSafe(sql))
            .bind(&run.job.id)
            .bind(&run.claim)
            .execute(self.db.pool())
            .await?;
        if beat.rows_affected() == 1 {
            return Ok(true);
        }
        // A run that completed its job itself has nothing left to lose.
        if !run.finished.load(Ordering::SeqCst) {
            run.mark_lost();
        }
        Ok(false)
    }

    /// Puts back running jobs whose heartbeat is older than `stale_after` by the
    /// database's clock (their process died or lost the database); those out of attempts
    /// fail instead. Runs only while `holder` holds the [`SWEEP_LEASE`] (taken or renewed
    /// here), so one node sweeps at a time; returns `None` when another holds it.
    pub async fn sweep_orphans(&self, holder: &str) -> Result<Option<u64>> {
        if !leases::try_acquire(&self.db, SWEEP_LEASE, holder, self.stale_after).await? {
            return Ok(None);
        }
        let now = self.now();
        let sql = format!(
            "UPDATE jobs SET \
             status = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END, \
             last_error = CASE WHEN attempts >= max_attempts THEN $1 ELSE $2 END, \
             locked_by = NULL, claim_token = NULL, run_at = {now}, updated_at = {now} \
             WHERE status = 'running' AND (heartbeat_at IS NULL OR heartbeat_at < {now} - $3)"
        );
        let stale_secs = self.stale_after.as_secs_f64();
        let done = sqlx::query(AssertSqlSafe(sql))
            .bind("the worker running this job stopped and no attempts are left")
            .bind(format!(
                "the worker running this job went silent for over {stale_secs} s; queued again"
            ))
            .bind(self.stale_after.as_millis() as i64)
            .execute(self.db.pool())
            .await?;
        if done.rows_affected() > 0 {
            self.notify();
        }
        Ok(Some(done.rows_affected()))
    }

    /// Puts back the orphaned jobs a stopped process left running: those stale by the
    /// database's clock, once, under the sweep lease (see [`Queue::sweep_orphans`]), which
    /// is then given back. Returns 0 when another node is sweeping. Jobs a live process is
    /// running are never touched. A spawned [`Worker`] sweeps on its own; this is for a
    /// process starting up.
    pub async fn release_orphans(&self) -> Result<u64> {
        let holder = format!("release-orphans-{}", new_id());
        let released = self.sweep_orphans(&holder).await?;
        if released.is_some() {
            leases::release(&self.db, SWEEP_LEASE, &holder).await?;
        }
        Ok(released.unwrap_or(0))
    }

    /// Enqueues `job` for the current period of `schedule` (database clock) unless some
    /// node already did: the schedule row named `name` moves forward to this period in the
    /// same transaction, and the job gets the unique key `schedule:{name}:{period start}`.
    /// Returns the new job's id, or `None` when this period is already enqueued.
    pub async fn enqueue_due(
        &self,
        name: &str,
        schedule: Schedule,
        job: NewJob,
    ) -> Result<Option<String>> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let at: i64 = sqlx::query_scalar(AssertSqlSafe(format!("SELECT {now}")))
            .fetch_one(&mut *tx)
            .await?;
        let period = schedule.period_start(at);
        let sql = format!(
            "INSERT INTO job_schedules (name, last_period, updated_at) VALUES ($1, $2, {now}) \
             ON CONFLICT (name) DO UPDATE SET last_period = excluded.last_period, \
             updated_at = excluded.updated_at \
             WHERE job_schedules.last_period < excluded.last_period"
        );
        let moved = sqlx::query(AssertSqlSafe(sql))
            .bind(name)
            .bind(period)
            .execute(&mut *tx)
            .await?;
        if moved.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(None);
        }
        let id = self
            .enqueue_in(&mut tx, job.unique(format!("schedule:{name}:{period}")))
            .await?;
        tx.commit().await?;
        self.notify();
        Ok(Some(id))
    }

    /// Deletes jobs that finished (`done`) more than `older_than` ago by the database's
    /// clock, in small batches; failed, queued and running jobs stay. Returns how many.
    pub async fn prune_done(&self, older_than: Duration) -> Result<u64> {
        self.prune_done_batches(older_than, None).await
    }

    /// [`Queue::prune_done`] that stops between batches once `run` is cancelled.
    pub(crate) async fn prune_done_until(&self, older_than: Duration, run: &JobRun) -> Result<u64> {
        self.prune_done_batches(older_than, Some(run)).await
    }

    async fn prune_done_batches(&self, older_than: Duration, run: Option<&JobRun>) -> Result<u64> {
        let sql = format!(
            "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE status = 'done' \
             AND updated_at < {} - $1 LIMIT $2)",
            self.now()
        );
        let mut total = 0;
        loop {
            let done = sqlx::query(AssertSqlSafe(sql.as_str()))
                .bind(older_than.as_millis().min(i64::MAX as u128) as i64)
                .bind(PRUNE_BATCH)
                .execute(self.db.pool())
                .await?;
            total += done.rows_affected();
            if done.rows_affected() < PRUNE_BATCH as u64 || run.is_some_and(JobRun::is_cancelled) {
                return Ok(total);
            }
        }
    }

    /// Completes the job with the handler's result in a transaction of its own. Ok(false)
    /// when the run had lost its claim, so nothing was recorded.
    async fn complete(&self, run: &JobRun, result: Option<serde_json::Value>) -> Result<bool> {
        let mut tx = self.db.begin().await?;
        if run.finish(&mut tx, result).await? {
            tx.commit().await?;
            Ok(true)
        } else {
            tx.rollback().await?;
            Ok(false)
        }
    }

    /// Records a failed attempt: queued again after `delay`, or failed for good on an
    /// abort or the last attempt. Ok(false) when the run had lost its claim.
    async fn fail(&self, run: &JobRun, error: &JobError, delay: Duration) -> Result<bool> {
        let job = &run.job;
        let give_up = matches!(error, JobError::Abort(_)) || job.attempts >= job.max_attempts;
        let (status, delay) = if give_up {
            ("failed", 0)
        } else {
            ("queued", delay.as_millis().min(i64::MAX as u128) as i64)
        };
        let now = self.now();
        let sql = format!(
            "UPDATE jobs SET status = $1, run_at = {now} + $2, last_error = $3, \
             locked_by = NULL, claim_token = NULL, updated_at = {now} \
             WHERE id = $4 AND claim_token = $5 AND status = 'running'"
        );
        let done = sqlx::query(AssertSqlSafe(sql))
            .bind(status)
            .bind(delay)
            .bind(error.to_string())
            .bind(&job.id)
            .bind(&run.claim)
            .execute(self.db.pool())
            .await?;
        if done.rows_affected() != 1 {
            run.mark_lost();
            return Ok(false);
        }
        Ok(true)
    }

    /// Gives a run that was stopped by shutdown back to the queue at once, without
    /// counting the attempt, so another worker (or this one after a restart) takes it.
    async fn release(&self, run: &JobRun) -> Result<bool> {
        let now = self.now();
        let sql = format!(
            "UPDATE jobs SET status = 'queued', run_at = {now}, \
             attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, \
             locked_by = NULL, claim_token = NULL, updated_at = {now} \
             WHERE id = $1 AND claim_token = $2 AND status = 'running'"
        );
        let done = sqlx::query(AssertSqlSafe(sql))
            .bind(&run.job.id)
            .bind(&run.claim)
            .execute(self.db.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

/// Delay before attempt `attempts + 1`: 2 s, 4 s, 8 s … capped at one hour.
pub fn backoff(attempts: i64) -> Duration {
    let exp = attempts.clamp(0, 11) as u32;
    Duration::from_secs((2u64 << exp).min(3600))
}

/// Builds a periodic job's `NewJob` when it is due.
type MakeJob = Arc<dyn Fn() -> Result<NewJob> + Send + Sync>;

/// A job the worker enqueues once per period.
#[derive(Clone)]
struct Scheduled {
    name: String,
    schedule: Schedule,
    make: MakeJob,
}

/// Runs jobs of the kinds it has handlers for, and enqueues its periodic jobs when due.
#[derive(Clone)]
pub struct Worker {
    queue: Queue,
    handlers: HashMap<String, Arc<dyn JobHandler>>,
    schedules: Vec<Scheduled>,
    id: String,
    concurrency: usize,
    poll: Duration,
    /// How long a stopping worker waits for running jobs before it cancels them.
    grace: Duration,
    /// Cancelled when the grace period is over: running jobs stop and go back.
    shutdown: CancellationToken,
}

/// How a run ended, as the worker saw it.
enum Ended {
    Returned(
        std::result::Result<Result<Option<serde_json::Value>, JobError>, tokio::task::JoinError>,
    ),
    Lost,
    TimedOut(Duration),
    /// The process is stopping and the grace period ran out.
    ShutDown,
}

impl Worker {
    pub fn new(queue: Queue) -> Worker {
        let host = hostname::get()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_else(|_| "host".into());
        Worker {
            queue,
            handlers: HashMap::new(),
            schedules: Vec::new(),
            id: format!("{host}-{}-{}", std::process::id(), &new_id()[24..]),
            concurrency: 2,
            poll: Duration::from_secs(1),
            grace: DEFAULT_GRACE,
            shutdown: CancellationToken::new(),
        }
    }

    /// How long a stopping worker lets running jobs finish before it cancels them and
    /// puts them back on the queue (default 10 s).
    pub fn grace(mut self, grace: Duration) -> Worker {
        self.grace = grace;
        self
    }

    /// Cancels running jobs now (a second stop signal): they go back on the queue.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Runs jobs of `kind` with `handler` (the string layer; see [`Worker::register_typed`]).
    pub fn register(mut self, kind: &str, handler: impl JobHandler) -> Worker {
        self.handlers.insert(kind.to_string(), Arc::new(handler));
        self
    }

    /// Runs jobs of `J::KIND` with `job`.
    pub fn register_typed<J: TypedJob>(self, job: J) -> Worker {
        self.register(J::KIND, job)
    }

    /// Enqueues `job` once per period of `schedule` across every node whose worker has the
    /// same `name` scheduled (see [`Queue::enqueue_due`]). Its kind needs a handler on
    /// some node.
    pub fn schedule(mut self, name: &str, schedule: Schedule, job: NewJob) -> Worker {
        self.schedules.push(Scheduled {
            name: name.to_string(),
            schedule,
            make: Arc::new(move || Ok(job.clone())),
        });
        self
    }

    /// Registers the typed job `job` and runs it once per period of `schedule` (with a
    /// default payload; periodic jobs carry their settings in the handler), under the
    /// schedule name `J::KIND`.
    pub fn periodic<J>(mut self, job: J, schedule: Schedule) -> Worker
    where
        J: TypedJob,
        J::Payload: Default,
    {
        self.schedules.push(Scheduled {
            name: J::KIND.to_string(),
            schedule,
            make: Arc::new(|| NewJob::typed::<J>(&J::Payload::default())),
        });
        self.register_typed(job)
    }

    /// Deletes jobs that finished (`done`) more than `keep` ago, once a day at 03:30 UTC
    /// ([`JobRetention`]; [`DEFAULT_KEEP_DONE`] is the usual setting). Failed jobs stay.
    pub fn with_retention(self, keep: Duration) -> Worker {
        let job = JobRetention::new(self.queue.clone(), keep);
        self.periodic(job, Schedule::daily(3, 30))
    }

    pub fn concurrency(mut self, n: usize) -> Worker {
        self.concurrency = n.max(1);
        self
    }

    /// How often to look for jobs enqueued by other processes, and for due periodic jobs.
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

    /// Enqueues every periodic job whose current period no node has enqueued yet; returns
    /// how many it enqueued.
    pub async fn enqueue_due(&self) -> Result<usize> {
        let mut enqueued = 0;
        for s in &self.schedules {
            if self
                .queue
                .enqueue_due(&s.name, s.schedule, (s.make)()?)
                .await?
                .is_some()
            {
                enqueued += 1;
            }
        }
        Ok(enqueued)
    }

    /// Enqueues due periodic jobs, then runs ready jobs one after another until none is
    /// ready; returns how many ran. For operators who schedule work from outside
    /// (`tutti jobs run-once`). It never puts back running jobs, so it is safe beside live
    /// workers; orphans are left to a spawned worker's sweep.
    pub async fn run_until_idle(&self) -> Result<usize> {
        self.enqueue_due().await?;
        let kinds = self.kinds();
        let mut ran = 0;
        while let Some(run) = self.queue.claim_run(&self.id, &kinds).await? {
            self.execute(run).await?;
            ran += 1;
        }
        Ok(ran)
    }

    /// Runs jobs in the background until `stop` is cancelled, then waits for the jobs
    /// in flight to finish. Beside the runs it enqueues due periodic jobs every poll and,
    /// while it holds the sweep lease, puts back stale orphans every third of
    /// `stale_after`.
    pub fn spawn(self, stop: CancellationToken) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let kinds = self.kinds();
            let slots = Arc::new(Semaphore::new(self.concurrency));
            let worker = Arc::new(self);
            let upkeep = tokio::spawn(worker.clone().upkeep(stop.clone()));
            let mut failures: u32 = 0;
            loop {
                let permit = tokio::select! {
                    p = slots.clone().acquire_owned() => p.expect("semaphore never closes"),
                    _ = stop.cancelled() => break,
                };
                let wake = worker.queue.wake.notified();
                match worker.queue.claim_run(&worker.id, &kinds).await {
                    Ok(Some(run)) => {
                        let worker = worker.clone();
                        tokio::spawn(async move {
                            if let Err(e) = worker.execute(run).await {
                                tracing::error!(error = %e, "could not record a job's outcome");
                            }
                            drop(permit);
                        });
                        continue;
                    }
                    Ok(None) => failures = 0,
                    Err(e) => {
                        // The database is down or refusing: back off instead of spinning
                        // (and logging) at the poll rate until it is back.
                        failures += 1;
                        if failures == 1 || failures.is_multiple_of(10) {
                            tracing::warn!(error = %e, failures, "could not claim a job");
                        }
                    }
                }
                drop(permit);
                let pause = if failures == 0 {
                    worker.poll
                } else {
                    (worker.poll * 2u32.saturating_pow(failures.min(5))).min(MAX_CLAIM_BACKOFF)
                };
                tokio::select! {
                    _ = wake, if failures == 0 => {}
                    _ = tokio::time::sleep(pause) => {}
                    _ = stop.cancelled() => break,
                }
            }
            let all = worker.concurrency as u32;
            let running = worker.concurrency - slots.available_permits();
            if running > 0 {
                tracing::info!(
                    running,
                    grace_secs = worker.grace.as_secs(),
                    "stopping: waiting for running jobs"
                );
            }
            if tokio::time::timeout(worker.grace, slots.acquire_many(all))
                .await
                .is_err()
            {
                tracing::warn!(
                    "stopping: jobs still running after the grace period, cancelling them"
                );
                worker.shutdown.cancel();
                let _ = slots.acquire_many(all).await;
            }
            let _ = upkeep.await;
        })
    }

    /// The spawned worker's side duties: periodic jobs and the orphan sweep.
    async fn upkeep(self: Arc<Self>, stop: CancellationToken) {
        let sweep_every = self.queue.stale_after / 3;
        let mut last_sweep: Option<tokio::time::Instant> = None;
        // The period each schedule was last seen enqueued, to skip the write when it is.
        let mut seen: HashMap<String, i64> = HashMap::new();
        let mut tick =
            tokio::time::interval(self.poll.min(sweep_every).max(Duration::from_millis(10)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.cancelled() => break,
            }
            if !self.schedules.is_empty()
                && let Err(e) = self.enqueue_due_once(&mut seen).await
            {
                tracing::warn!(error = %e, "could not enqueue periodic jobs");
            }
            if last_sweep.is_none_or(|t| t.elapsed() >= sweep_every) {
                last_sweep = Some(tokio::time::Instant::now());
                match self.queue.sweep_orphans(&self.id).await {
                    Ok(Some(n)) if n > 0 => {
                        tracing::info!(released = n, "put back jobs whose worker went silent")
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "could not sweep orphaned jobs"),
                }
            }
        }
        if let Err(e) = leases::release(&self.queue.db, SWEEP_LEASE, &self.id).await {
            tracing::warn!(error = %e, "could not give back the sweep lease");
        }
    }

    /// [`Worker::enqueue_due`] that only writes when a schedule's period has moved on
    /// since this worker last saw it enqueued.
    async fn enqueue_due_once(&self, seen: &mut HashMap<String, i64>) -> Result<()> {
        let now = self.queue.db.now_ms().await?;
        for s in &self.schedules {
            let period = s.schedule.period_start(now);
            if seen.get(&s.name) == Some(&period) {
                continue;
            }
            if let Some(id) = self
                .queue
                .enqueue_due(&s.name, s.schedule, (s.make)()?)
                .await?
            {
                tracing::debug!(schedule = %s.name, job = %id, "enqueued a periodic job");
            }
            seen.insert(s.name.clone(), period);
        }
        Ok(())
    }

    async fn execute(&self, run: JobRun) -> Result<()> {
        let span = tracing::info_span!(
            "job", id = %run.job.id, kind = %run.job.kind, attempt = run.job.attempts
        );
        self.execute_in_span(run).instrument(span).await
    }

    async fn execute_in_span(&self, run: JobRun) -> Result<()> {
        let Some(handler) = self.handlers.get(&run.job.kind).cloned() else {
            return Ok(());
        };
        let run = Arc::new(run);
        let kind = run.job.kind.clone();
        let beat = tokio::spawn(heartbeats(self.queue.clone(), run.clone()));
        let mut task = {
            let run = run.clone();
            let handler = handler.clone();
            tokio::spawn(async move { handler.run(&run).await })
        };
        let limit = handler.timeout();
        let deadline = async {
            match limit {
                Some(limit) => tokio::time::sleep(limit).await,
                None => std::future::pending().await,
            }
        };
        let ended = tokio::select! {
            biased;
            joined = &mut task => Ended::Returned(joined),
            _ = run.cancel.cancelled() => Ended::Lost,
            _ = deadline => Ended::TimedOut(limit.unwrap_or_default()),
            _ = self.shutdown.cancelled() => Ended::ShutDown,
        };
        beat.abort();
        if !matches!(ended, Ended::Returned(_)) {
            // Stop the handler: its blocking work sees the token, its future is dropped.
            run.cancel.cancel();
            task.abort();
            let _ = tokio::time::timeout(ABORT_GRACE, task).await;
        }
        let error = match ended {
            Ended::Returned(Ok(Ok(value))) => {
                if run.lost_claim() {
                    discarded(&kind);
                } else if run.finished.load(Ordering::SeqCst)
                    || self.queue.complete(&run, value).await?
                {
                    metrics::counter!("tutti_jobs_completed_total", "kind" => kind).increment(1);
                } else {
                    discarded(&kind);
                }
                return Ok(());
            }
            Ended::Returned(Ok(Err(error))) => error,
            Ended::Returned(Err(crashed)) => {
                JobError::Retry(format!("the job's handler crashed: {crashed}"))
            }
            Ended::Lost => {
                discarded(&kind);
                return Ok(());
            }
            Ended::ShutDown => {
                if self.queue.release(&run).await? {
                    tracing::warn!(
                        "stopping: cancelled this job and put it back for another worker"
                    );
                }
                return Ok(());
            }
            Ended::TimedOut(limit) => {
                metrics::counter!("tutti_jobs_timed_out_total", "kind" => kind.clone())
                    .increment(1);
                JobError::Retry(format!(
                    "timed out: a {kind} job may run for {}, so this run was cancelled",
                    human(limit)
                ))
            }
        };
        if run.lost_claim() {
            discarded(&kind);
            return Ok(());
        }
        tracing::warn!(error = %error, "job failed");
        let delay = handler.retry_delay(run.job.attempts);
        if self.queue.fail(&run, &error, delay).await? {
            metrics::counter!("tutti_jobs_failed_total", "kind" => kind).increment(1);
        } else {
            discarded(&kind);
        }
        Ok(())
    }
}

/// Heartbeats `run` every third of `stale_after` until aborted. A heartbeat that finds
/// the claim gone has already cancelled the run; so does losing the database for longer
/// than `stale_after`, since by then another node may have put the job back.
async fn heartbeats(queue: Queue, run: Arc<JobRun>) {
    let every = queue.stale_after / 3;
    let mut last_ok = tokio::time::Instant::now();
    loop {
        tokio::time::sleep(every).await;
        match queue.heartbeat(&run).await {
            Ok(true) => last_ok = tokio::time::Instant::now(),
            Ok(false) => {
                if run.lost_claim() {
                    tracing::warn!("the job was taken from this run; cancelling it");
                }
                return;
            }
            Err(e) => {
                tracing::warn!(error = %e, "job heartbeat failed");
                if last_ok.elapsed() >= queue.stale_after {
                    tracing::warn!("no heartbeat got through for too long; cancelling the run");
                    run.mark_lost();
                    return;
                }
            }
        }
    }
}

fn discarded(kind: &str) {
    tracing::warn!(
        "this run lost its claim on the job (it went stale and was put back or claimed \
         again); its outcome is ignored"
    );
    metrics::counter!("tutti_jobs_discarded_total", "kind" => kind.to_string()).increment(1);
}

/// "90 s", "20 min", "1 h 30 min".
fn human(d: Duration) -> String {
    let secs = d.as_secs();
    if secs < 120 {
        if d.subsec_millis() != 0 && secs < 10 {
            return format!("{} ms", d.as_millis());
        }
        return format!("{secs} s");
    }
    let (h, m) = (secs / 3600, secs % 3600 / 60);
    match (h, m) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}
