//! The job queue's hardening stories: per-claim fences, heartbeats that notice a lost
//! claim, time limits, the orphan sweep under its lease, periodic jobs across nodes, and
//! retention. SQLite by default, PostgreSQL when `TUTTI_TEST_DATABASE_URL` names one.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tutti_store::jobs::{
    DEFAULT_KEEP_DONE, NewJob, RETENTION, SELFTEST, SWEEP_LEASE, SelfTest, SelfTestPayload,
};
use tutti_store::testing::TestDb;
use tutti_store::{
    Db, JobError, JobHandler, JobRun, JobStatus, Queue, Schedule, TypedJob, Worker, leases,
};

async fn migrated() -> (TestDb, Db) {
    let test = TestDb::new().await;
    let db = test.connect().await;
    db.migrate(&[&tutti_store::db::MIGRATIONS]).await.unwrap();
    (test, db)
}

async fn selftest_runs(db: &Db, job_id: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM job_selftest_runs WHERE job_id = $1")
        .bind(job_id)
        .fetch_one(db.pool())
        .await
        .unwrap()
}

async fn claim_token(db: &Db, job_id: &str) -> Option<String> {
    sqlx::query_scalar("SELECT claim_token FROM jobs WHERE id = $1")
        .bind(job_id)
        .fetch_one(db.pool())
        .await
        .unwrap()
}

/// Polls `check` every 20 ms until it holds, failing the test after `secs` seconds.
async fn eventually<F, Fut>(secs: u64, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not after {secs} s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn selftest(sleep_ms: u64) -> NewJob {
    NewJob::typed::<SelfTest>(&SelfTestPayload { sleep_ms }).unwrap()
}

#[tokio::test]
async fn an_old_run_cannot_complete_a_job_its_own_process_claimed_again() {
    let (_t, db) = migrated().await;
    let queue = Queue::new(db.clone()).with_stale_after(Duration::from_millis(300));
    let id = queue
        .enqueue_typed::<SelfTest>(&SelfTestPayload { sleep_ms: 0 })
        .await
        .unwrap();
    let kinds = vec![SELFTEST.to_string()];

    // A process claims the job, then stalls past its lease without a heartbeat.
    let old = queue.claim_run("node-1", &kinds).await.unwrap().unwrap();
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(queue.sweep_orphans("sweeper").await.unwrap(), Some(1));
    // The same process claims it again: the same worker id, a new claim.
    let new = queue.claim_run("node-1", &kinds).await.unwrap().unwrap();
    assert_eq!(new.job.id, id);
    assert_eq!(new.worker_id(), old.worker_id());
    assert_ne!(new.claim_token(), old.claim_token());

    // The old run wakes up and runs to its end: its completion is refused and its write
    // rolls back with it.
    let handler = SelfTest(db.clone());
    let err = JobHandler::run(&handler, &old).await.unwrap_err();
    assert!(err.to_string().contains("lost its claim"), "{err}");
    assert!(old.lost_claim() && old.is_cancelled());
    let mut tx = db.begin().await.unwrap();
    assert!(
        old.finish_in(&mut tx, Some(serde_json::json!({"stale": true})))
            .await
            .is_err()
    );
    tx.rollback().await.unwrap();
    assert!(!queue.heartbeat(&old).await.unwrap());
    let job = queue.get(&id).await.unwrap().unwrap();
    assert_eq!(
        (job.status.as_str(), job.attempts, job.result.as_deref()),
        ("running", 2, None),
        "the old run changed nothing"
    );
    assert_eq!(
        claim_token(&db, &id).await.as_deref(),
        Some(new.claim_token())
    );
    assert_eq!(selftest_runs(&db, &id).await, 0);

    // The current run completes it, once.
    JobHandler::run(&handler, &new).await.unwrap();
    let job = queue.get(&id).await.unwrap().unwrap();
    assert_eq!(job.status, "done");
    assert!(job.result.unwrap().contains("node-1"));
    assert_eq!(selftest_runs(&db, &id).await, 1);
    assert!(!new.lost_claim());
}

/// Hands the test its run's cancellation token, then waits to be cancelled and returns a
/// result the worker must ignore.
struct WaitsForCancel(mpsc::UnboundedSender<CancellationToken>);

#[async_trait]
impl JobHandler for WaitsForCancel {
    async fn run(&self, run: &JobRun) -> Result<Option<serde_json::Value>, JobError> {
        let _ = self.0.send(run.cancellation());
        run.cancelled().await;
        Ok(Some(serde_json::json!({"from": "the superseded run"})))
    }
}

#[tokio::test]
async fn a_heartbeat_that_finds_its_claim_gone_cancels_the_run_and_its_result_is_ignored() {
    let (_t, db) = migrated().await;
    // Long enough that a busy machine's scheduling delays never make a held claim stale.
    let queue = Queue::new(db.clone()).with_stale_after(Duration::from_millis(1500));
    // Another node's claim, with its heartbeats keeping the job fresh.
    let steal = |id: String| {
        let db = db.clone();
        async move {
            sqlx::query(
                "UPDATE jobs SET claim_token = 'another-claim', locked_by = 'another-node', \
                 heartbeat_at = heartbeat_at + 3600000 WHERE id = $1",
            )
            .bind(id)
            .execute(db.pool())
            .await
            .unwrap();
        }
    };

    // By hand: the heartbeat touches no row, says so, and cancels the run.
    let id = queue
        .enqueue(NewJob::new("test.waits", &()).unwrap())
        .await
        .unwrap();
    let run = queue
        .claim_run("node-1", &["test.waits".to_string()])
        .await
        .unwrap()
        .unwrap();
    assert!(queue.heartbeat(&run).await.unwrap());
    assert!(!run.is_cancelled());
    steal(id.clone()).await;
    assert!(!queue.heartbeat(&run).await.unwrap());
    assert!(run.is_cancelled() && run.lost_claim());

    // In a worker: the handler is cancelled within a heartbeat, and what it returns is
    // not recorded.
    let (tx, mut tokens) = mpsc::unbounded_channel();
    let stop = CancellationToken::new();
    let worker = Worker::new(queue.clone())
        .register("test.waits.worker", WaitsForCancel(tx))
        .poll_every(Duration::from_millis(20))
        .spawn(stop.clone());
    let id = queue
        .enqueue(NewJob::new("test.waits.worker", &()).unwrap())
        .await
        .unwrap();
    let token = tokio::time::timeout(Duration::from_secs(10), tokens.recv())
        .await
        .expect("the job started")
        .unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(!token.is_cancelled(), "heartbeats keep a held claim alive");
    steal(id.clone()).await;
    eventually(5, "the run is cancelled", || {
        let token = token.clone();
        async move { token.is_cancelled() }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.cancel();
    worker.await.unwrap();
    let job = queue.get(&id).await.unwrap().unwrap();
    assert_eq!(
        (job.status.as_str(), job.result, job.last_error),
        ("running", None, None),
        "the superseded run's result was ignored"
    );
    assert_eq!(job.locked_by.as_deref(), Some("another-node"));
    assert_eq!(
        claim_token(&db, &id).await.as_deref(),
        Some("another-claim")
    );
}

#[tokio::test]
async fn run_once_beside_a_live_worker_runs_nothing_twice() {
    let (test, db) = migrated().await;
    let stale = Duration::from_millis(600);
    let stop = CancellationToken::new();
    let live = Worker::new(Queue::new(db.clone()).with_stale_after(stale))
        .register_typed(SelfTest(db.clone()))
        .concurrency(2)
        .poll_every(Duration::from_millis(20))
        .spawn(stop.clone());
    let live_queue = Queue::new(db.clone());
    let mut slow = Vec::new();
    for _ in 0..2 {
        slow.push(live_queue.enqueue(selftest(2000)).await.unwrap());
    }
    eventually(10, "the live worker runs both slow jobs", || async {
        live_queue.counts().await.unwrap()[&JobStatus::Running] == 2
    })
    .await;
    // Past the stale limit, the live runs are still fresh thanks to their heartbeats.
    tokio::time::sleep(stale + Duration::from_millis(200)).await;

    // `tutti jobs run-once` is another process: its own pool, queue and worker.
    let other = test.connect().await;
    let once = Queue::new(other.clone()).with_stale_after(stale);
    let mut quick = Vec::new();
    for _ in 0..3 {
        quick.push(once.enqueue(selftest(0)).await.unwrap());
    }
    assert_eq!(
        once.release_orphans().await.unwrap(),
        0,
        "jobs a live worker runs are not orphans"
    );
    let ran = Worker::new(once.clone())
        .register_typed(SelfTest(other.clone()))
        .run_until_idle()
        .await
        .unwrap();
    assert_eq!(ran, 3, "run-once ran the queued jobs and nothing running");

    eventually(20, "the slow jobs finish", || async {
        live_queue.counts().await.unwrap()[&JobStatus::Done] == 5
    })
    .await;
    stop.cancel();
    live.await.unwrap();
    for id in slow.iter().chain(&quick) {
        let job = live_queue.get(id).await.unwrap().unwrap();
        assert_eq!((job.status.as_str(), job.attempts), ("done", 1), "{id}");
        assert_eq!(selftest_runs(&db, id).await, 1, "{id}");
    }
}

#[tokio::test]
async fn the_sweep_puts_back_only_stale_jobs_and_only_under_its_lease() {
    let (_t, db) = migrated().await;
    let queue = Queue::new(db.clone()).with_stale_after(Duration::from_millis(400));
    let kinds = vec!["test.sweep".to_string()];
    for _ in 0..3 {
        queue
            .enqueue(NewJob::new("test.sweep", &()).unwrap().max_attempts(1))
            .await
            .unwrap();
    }
    let out_of_attempts = queue.claim_run("dead", &kinds).await.unwrap().unwrap();
    sqlx::query("UPDATE jobs SET max_attempts = 2 WHERE status = 'queued'")
        .execute(db.pool())
        .await
        .unwrap();
    let silent = queue.claim_run("dead", &kinds).await.unwrap().unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let alive = queue.claim_run("alive", &kinds).await.unwrap().unwrap();
    assert!(queue.heartbeat(&alive).await.unwrap());

    // Another node holds the sweep lease: nothing happens.
    assert!(
        leases::try_acquire(&db, SWEEP_LEASE, "other-node", Duration::from_secs(60))
            .await
            .unwrap()
    );
    assert_eq!(queue.sweep_orphans("me").await.unwrap(), None);
    assert_eq!(queue.release_orphans().await.unwrap(), 0);
    assert_eq!(queue.counts().await.unwrap()[&JobStatus::Running], 3);
    assert!(
        leases::release(&db, SWEEP_LEASE, "other-node")
            .await
            .unwrap()
    );

    // Once it is free: the two silent jobs go back (or fail, out of attempts); the live
    // one stays with its run.
    assert_eq!(queue.sweep_orphans("me").await.unwrap(), Some(2));
    assert_eq!(
        leases::holder(&db, SWEEP_LEASE).await.unwrap().as_deref(),
        Some("me")
    );
    let statuses: Vec<(String, String, Option<String>)> =
        sqlx::query_as("SELECT id, status, last_error FROM jobs ORDER BY id")
            .fetch_all(db.pool())
            .await
            .unwrap();
    let status = |id: &str| statuses.iter().find(|s| s.0 == id).unwrap().clone();
    let (_, st, error) = status(&out_of_attempts.job.id);
    assert_eq!(st, "failed");
    assert!(error.unwrap().contains("no attempts are left"));
    let (_, st, error) = status(&silent.job.id);
    assert_eq!(st, "queued");
    assert!(error.unwrap().contains("went silent"));
    assert!(!queue.heartbeat(&silent).await.unwrap() && silent.is_cancelled());
    assert_eq!(status(&alive.job.id).1, "running");
    assert!(queue.heartbeat(&alive).await.unwrap());
}

#[tokio::test]
async fn a_lease_has_one_holder_until_it_expires_or_is_given_back() {
    let (_t, db) = migrated().await;
    let ttl = Duration::from_millis(300);
    assert!(leases::try_acquire(&db, "room:7", "a", ttl).await.unwrap());
    assert!(!leases::try_acquire(&db, "room:7", "b", ttl).await.unwrap());
    assert!(
        leases::try_acquire(&db, "room:7", "a", ttl).await.unwrap(),
        "the holder renews"
    );
    assert!(leases::try_acquire(&db, "room:8", "b", ttl).await.unwrap());
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(leases::holder(&db, "room:7").await.unwrap(), None);
    assert!(
        leases::try_acquire(&db, "room:7", "b", ttl).await.unwrap(),
        "expired"
    );
    assert!(!leases::release(&db, "room:7", "a").await.unwrap());
    assert!(leases::release(&db, "room:7", "b").await.unwrap());
    assert!(leases::try_acquire(&db, "room:7", "a", ttl).await.unwrap());
}

/// Blocks a thread until cancelled, counting the cancellations it saw.
struct Stuck(Arc<AtomicUsize>);

impl TypedJob for Stuck {
    const KIND: &'static str = "test.stuck";
    type Payload = ();
    type Output = ();

    fn timeout() -> Duration {
        Duration::from_millis(200)
    }

    fn max_attempts() -> i64 {
        2
    }

    fn retry_delay(_attempts: i64) -> Duration {
        Duration::ZERO
    }

    async fn run(&self, _: (), run: &JobRun) -> Result<(), JobError> {
        let saw = self.0.clone();
        run.blocking(move |cancel| {
            while !cancel.is_cancelled() {
                std::thread::sleep(Duration::from_millis(5));
            }
            saw.fetch_add(1, Ordering::SeqCst);
        })
        .await
    }
}

#[tokio::test]
async fn a_run_past_its_time_limit_is_cancelled_then_retried_then_failed() {
    let (_t, db) = migrated().await;
    let queue = Queue::new(db);
    let saw = Arc::new(AtomicUsize::new(0));
    let worker = Worker::new(queue.clone()).register_typed(Stuck(saw.clone()));
    let id = queue.enqueue_typed::<Stuck>(&()).await.unwrap();
    assert_eq!(queue.get(&id).await.unwrap().unwrap().max_attempts, 2);

    let started = std::time::Instant::now();
    assert_eq!(worker.run_until_idle().await.unwrap(), 2);
    assert!(started.elapsed() < Duration::from_secs(5));
    let job = queue.get(&id).await.unwrap().unwrap();
    assert_eq!((job.status.as_str(), job.attempts), ("failed", 2));
    let error = job.last_error.unwrap();
    assert!(
        error.contains("timed out") && error.contains("200 ms"),
        "{error}"
    );
    eventually(5, "the blocking work saw both cancellations", || async {
        saw.load(Ordering::SeqCst) == 2
    })
    .await;
}

#[tokio::test]
async fn a_periodic_job_runs_once_per_period_however_many_workers_run() {
    let (_t, db) = migrated().await;

    // Two nodes check the same period: one enqueues it.
    let daily = Schedule::daily_at(4, 0).unwrap();
    let a = Queue::new(db.clone());
    let b = Queue::new(db.clone());
    let first = a
        .enqueue_due("test.daily", daily, selftest(0))
        .await
        .unwrap();
    let second = b
        .enqueue_due("test.daily", daily, selftest(0))
        .await
        .unwrap();
    assert!(first.is_some());
    assert_eq!(second, None);

    // Two workers, every second, for a few seconds.
    let every = Schedule::every(Duration::from_secs(1));
    let stop = CancellationToken::new();
    let workers: Vec<_> = (0..2)
        .map(|_| {
            Worker::new(Queue::new(db.clone()))
                .periodic(SelfTest(db.clone()), every)
                .poll_every(Duration::from_millis(25))
                .spawn(stop.clone())
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(3300)).await;
    stop.cancel();
    for worker in workers {
        worker.await.unwrap();
    }

    let jobs: Vec<(String, Option<String>, String)> = sqlx::query_as(
        "SELECT id, unique_key, status FROM jobs WHERE unique_key LIKE 'schedule:platform.selftest:%' \
         ORDER BY unique_key",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    assert!((3..=5).contains(&jobs.len()), "{jobs:?}");
    let periods: Vec<i64> = jobs
        .iter()
        .map(|(_, key, _)| {
            key.as_ref()
                .unwrap()
                .rsplit(':')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert!(periods.iter().all(|p| p % 1000 == 0), "{periods:?}");
    assert!(
        periods.windows(2).all(|w| w[1] == w[0] + 1000),
        "one job per period, none skipped: {periods:?}"
    );
    for (id, _, status) in &jobs {
        let runs = selftest_runs(&db, id).await;
        assert!(runs <= 1, "{id} ran {runs} times");
        if status == "done" {
            assert_eq!(runs, 1);
        }
    }
    assert!(
        jobs.iter().filter(|j| j.2 == "done").count() >= 2,
        "{jobs:?}"
    );
}

#[tokio::test]
async fn retention_deletes_old_finished_jobs_and_keeps_failed_and_recent_ones() {
    let (_t, db) = migrated().await;
    let queue = Queue::new(db.clone());
    let day = 86_400_000i64;
    let now = db.now_ms().await.unwrap();
    let mut tx = db.begin().await.unwrap();
    let mut ids = Vec::new();
    for _ in 0..(4 + 600) {
        ids.push(
            queue
                .enqueue_in(&mut tx, NewJob::new("test.kept", &()).unwrap())
                .await
                .unwrap(),
        );
    }
    tx.commit().await.unwrap();
    let set = |id: String, status: &'static str, days_ago: i64| {
        let db = db.clone();
        async move {
            sqlx::query("UPDATE jobs SET status = $1, updated_at = $2 WHERE id = $3")
                .bind(status)
                .bind(now - days_ago * day)
                .bind(id)
                .execute(db.pool())
                .await
                .unwrap();
        }
    };
    set(ids[1].clone(), "done", 1).await;
    set(ids[2].clone(), "failed", 30).await;
    set(ids[3].clone(), "queued", 30).await;
    set(ids[0].clone(), "done", 8).await;
    // Enough old finished jobs to take more than one batch.
    sqlx::query("UPDATE jobs SET status = 'done', updated_at = $1 WHERE status = 'queued' AND updated_at > $2")
        .bind(now - 9 * day)
        .bind(now - day)
        .execute(db.pool())
        .await
        .unwrap();

    let worker = Worker::new(queue.clone()).with_retention(DEFAULT_KEEP_DONE);
    assert_eq!(
        worker.run_until_idle().await.unwrap(),
        1,
        "the retention job"
    );
    assert!(queue.get(&ids[0]).await.unwrap().is_none());
    for (i, kept) in [(1, "done"), (2, "failed"), (3, "queued")] {
        assert_eq!(queue.get(&ids[i]).await.unwrap().unwrap().status, kept);
    }
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE kind = 'test.kept'")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(left, 3);
    let retention = queue.list(Some(JobStatus::Done), 10).await.unwrap();
    let retention = retention.iter().find(|j| j.kind == RETENTION).unwrap();
    let report: serde_json::Value =
        serde_json::from_str(retention.result.as_deref().unwrap()).unwrap();
    assert_eq!(report, serde_json::json!({"pruned": 601, "kept_days": 7}));
    assert_eq!(
        worker.run_until_idle().await.unwrap(),
        0,
        "once per day, however often run-once is called"
    );
}

#[tokio::test]
async fn a_job_enqueued_in_a_transaction_runs_when_notified_after_commit() {
    let (_t, db) = migrated().await;
    let queue = Queue::new(db.clone());
    let stop = CancellationToken::new();
    // The worker would not look again for an hour on its own.
    let worker = Worker::new(queue.clone())
        .register_typed(SelfTest(db.clone()))
        .poll_every(Duration::from_secs(3600))
        .spawn(stop.clone());
    tokio::time::sleep(Duration::from_millis(200)).await;

    let mut tx = db.begin().await.unwrap();
    let id = queue.enqueue_in(&mut tx, selftest(0)).await.unwrap();
    tx.commit().await.unwrap();
    queue.notify();
    eventually(10, "the job runs", || async {
        queue.get(&id).await.unwrap().unwrap().status == "done"
    })
    .await;
    stop.cancel();
    worker.await.unwrap();
}

#[tokio::test]
async fn an_admin_retry_commits_or_rolls_back_with_the_callers_writes() {
    let (_t, db) = migrated().await;
    let queue = Queue::new(db.clone());
    let id = queue.enqueue(selftest(0)).await.unwrap();
    sqlx::query("UPDATE jobs SET status = 'failed', attempts = 8 WHERE id = $1")
        .bind(&id)
        .execute(db.pool())
        .await
        .unwrap();
    let audit = "INSERT INTO job_selftest_runs (job_id, worker_id, at) VALUES ($1, 'admin', 0)";

    let mut tx = db.begin().await.unwrap();
    assert!(queue.retry_in(&mut tx, &id).await.unwrap());
    sqlx::query(audit)
        .bind(&id)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(queue.get(&id).await.unwrap().unwrap().status, "failed");
    assert_eq!(selftest_runs(&db, &id).await, 0);

    let mut tx = db.begin().await.unwrap();
    assert!(queue.retry_in(&mut tx, &id).await.unwrap());
    sqlx::query(audit)
        .bind(&id)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    queue.notify();
    let job = queue.get(&id).await.unwrap().unwrap();
    assert_eq!((job.status.as_str(), job.attempts), ("queued", 0));
    assert_eq!(selftest_runs(&db, &id).await, 1);

    let mut tx = db.begin().await.unwrap();
    assert!(
        !queue.retry_in(&mut tx, &id).await.unwrap(),
        "only failed jobs are retried"
    );
    tx.rollback().await.unwrap();
}
