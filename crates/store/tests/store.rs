//! The store's stories, run on SQLite + local files by default and on PostgreSQL + S3
//! when the `TUTTI_TEST_*` variables name them.

use std::time::Duration;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;
use tutti_store::jobs::{NewJob, SELFTEST, SelfTest};
use tutti_store::testing::{TestBlobs, TestDb};
use tutti_store::{Db, JobError, JobHandler, JobRun, JobStatus, Queue, StoreError, Worker};

async fn migrated() -> (TestDb, Db) {
    let test = TestDb::new().await;
    let db = test.connect().await;
    db.migrate(&[&tutti_store::db::MIGRATIONS]).await.unwrap();
    (test, db)
}

#[tokio::test]
async fn a_blob_written_can_be_read_whole_and_in_ranges_then_deleted() {
    let test = TestBlobs::new();
    let blobs = test.open();
    blobs.ping().await.unwrap();
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    blobs
        .put("recital/take-1/chunk-0001.webm", data.clone())
        .await
        .unwrap();
    blobs
        .put("recital/take-1/chunk-0002.webm", vec![1, 2, 3])
        .await
        .unwrap();

    assert_eq!(
        blobs.get("recital/take-1/chunk-0001.webm").await.unwrap(),
        data
    );
    assert_eq!(
        blobs
            .get_range("recital/take-1/chunk-0001.webm", 1000..1010)
            .await
            .unwrap(),
        data[1000..1010]
    );
    assert_eq!(
        blobs.size("recital/take-1/chunk-0002.webm").await.unwrap(),
        Some(3)
    );
    let listed = blobs.list("recital/take-1").await.unwrap();
    assert_eq!(
        listed.iter().map(|b| b.key.as_str()).collect::<Vec<_>>(),
        [
            "recital/take-1/chunk-0001.webm",
            "recital/take-1/chunk-0002.webm"
        ]
    );

    blobs
        .delete("recital/take-1/chunk-0002.webm")
        .await
        .unwrap();
    blobs
        .delete("recital/take-1/chunk-0002.webm")
        .await
        .unwrap();
    assert_eq!(
        blobs.size("recital/take-1/chunk-0002.webm").await.unwrap(),
        None
    );
    assert!(matches!(
        blobs.get("recital/take-1/chunk-0002.webm").await,
        Err(StoreError::BlobNotFound(_))
    ));
}

#[tokio::test]
async fn bad_blob_keys_are_refused_with_the_rule_broken() {
    let blobs = TestBlobs::new().open();
    for key in ["", "/abs", "dir/", "a/../b"] {
        let err = blobs.put(key, vec![1]).await.unwrap_err();
        assert!(err.to_string().contains("blob key"), "{key}: {err}");
    }
}

#[tokio::test]
async fn a_unique_job_is_enqueued_once() {
    let (_t, db) = migrated().await;
    let queue = Queue::new(db);
    let job = NewJob::new("mail.send", &serde_json::json!({"to": "a@example.test"})).unwrap();
    let first = queue.enqueue(job.clone().unique("invite:a")).await.unwrap();
    let second = queue.enqueue(job.unique("invite:a")).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(queue.list(None, 10).await.unwrap().len(), 1);
}

struct Flaky;

#[async_trait]
impl JobHandler for Flaky {
    async fn run(&self, run: &JobRun) -> Result<Option<serde_json::Value>, JobError> {
        let fail: String = run.payload::<serde_json::Value>()?["fail"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        match fail.as_str() {
            "retry" => Err(JobError::Retry("store busy".into())),
            "abort" => Err(JobError::Abort("input was deleted".into())),
            _ => Ok(Some(serde_json::json!({"ok": true}))),
        }
    }
}

#[tokio::test]
async fn failing_jobs_back_off_then_fail_and_an_admin_can_retry_them() {
    let (_t, db) = migrated().await;
    let queue = Queue::new(db);
    let worker = Worker::new(queue.clone()).register("test.flaky", Flaky);
    let retry = queue
        .enqueue(
            NewJob::new("test.flaky", &serde_json::json!({"fail": "retry"}))
                .unwrap()
                .max_attempts(2),
        )
        .await
        .unwrap();
    let abort = queue
        .enqueue(NewJob::new("test.flaky", &serde_json::json!({"fail": "abort"})).unwrap())
        .await
        .unwrap();
    let ok = queue
        .enqueue(NewJob::new("test.flaky", &serde_json::json!({})).unwrap())
        .await
        .unwrap();

    assert_eq!(worker.run_until_idle().await.unwrap(), 3);
    let retried = queue.get(&retry).await.unwrap().unwrap();
    assert_eq!(retried.status, "queued", "first failure is retried later");
    assert!(
        retried.run_at > tutti_store::now_ms(),
        "with a backoff delay"
    );
    assert_eq!(retried.last_error.as_deref(), Some("store busy"));
    let aborted = queue.get(&abort).await.unwrap().unwrap();
    assert_eq!((aborted.status.as_str(), aborted.attempts), ("failed", 1));
    let done = queue.get(&ok).await.unwrap().unwrap();
    assert_eq!(done.status, "done");
    assert_eq!(done.result.as_deref(), Some(r#"{"ok":true}"#));

    // Nothing is ready until the backoff passes.
    assert_eq!(worker.run_until_idle().await.unwrap(), 0);
    sqlx::query("UPDATE jobs SET run_at = 0 WHERE id = $1")
        .bind(&retry)
        .execute(queue.db().pool())
        .await
        .unwrap();
    assert_eq!(worker.run_until_idle().await.unwrap(), 1);
    let exhausted = queue.get(&retry).await.unwrap().unwrap();
    assert_eq!(
        (exhausted.status.as_str(), exhausted.attempts),
        ("failed", 2)
    );

    let counts = queue.counts().await.unwrap();
    assert_eq!(counts[&JobStatus::Failed], 2);
    assert!(queue.retry(&abort).await.unwrap());
    assert!(
        !queue.retry(&ok).await.unwrap(),
        "only failed jobs are retried"
    );
    assert_eq!(queue.get(&abort).await.unwrap().unwrap().status, "queued");
}

#[tokio::test]
async fn an_orphaned_job_is_claimed_again_and_the_old_run_cannot_complete_it() {
    let (_t, db) = migrated().await;
    let queue = Queue::new(db.clone()).with_stale_after(Duration::from_millis(300));
    let id = queue
        .enqueue(NewJob::new(SELFTEST, &serde_json::json!({})).unwrap())
        .await
        .unwrap();
    let kinds = vec![SELFTEST.to_string()];
    let first = queue.claim("dead-worker", &kinds).await.unwrap().unwrap();
    assert_eq!(first.id, id);
    assert!(
        queue.claim("other", &kinds).await.unwrap().is_none(),
        "held while alive"
    );

    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        queue.claim("other", &kinds).await.unwrap().is_none(),
        "a stale job is not claimed directly: only the sweep puts it back"
    );
    assert_eq!(queue.sweep_orphans("sweeper").await.unwrap(), Some(1));
    let worker = Worker::new(queue.clone()).register(SELFTEST, SelfTest(db.clone()));
    assert_eq!(worker.run_until_idle().await.unwrap(), 1);
    let job = queue.get(&id).await.unwrap().unwrap();
    assert_eq!((job.status.as_str(), job.attempts), ("done", 2));
    let runs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM job_selftest_runs WHERE job_id = $1")
        .bind(&id)
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(runs, 1);
}

#[tokio::test]
async fn a_background_worker_runs_jobs_as_they_arrive_and_stops_cleanly() {
    let (_t, db) = migrated().await;
    let queue = Queue::new(db.clone());
    let stop = CancellationToken::new();
    let handle = Worker::new(queue.clone())
        .register(SELFTEST, SelfTest(db.clone()))
        .concurrency(3)
        .spawn(stop.clone());
    let mut ids = Vec::new();
    for _ in 0..10 {
        ids.push(
            queue
                .enqueue(NewJob::new(SELFTEST, &serde_json::json!({"sleep_ms": 20})).unwrap())
                .await
                .unwrap(),
        );
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while queue.counts().await.unwrap()[&JobStatus::Done] < 10 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "jobs did not finish"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.cancel();
    handle.await.unwrap();
    let runs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM job_selftest_runs")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(runs, 10);
}

#[tokio::test]
async fn several_workers_on_one_queue_never_run_a_job_twice() {
    let (_t, db) = migrated().await;
    let enqueuer = Queue::new(db.clone());
    let mut ids = Vec::new();
    for _ in 0..40 {
        ids.push(
            enqueuer
                .enqueue(NewJob::new(SELFTEST, &serde_json::json!({"sleep_ms": 5})).unwrap())
                .await
                .unwrap(),
        );
    }
    // Four workers with their own queue handles, as four processes would have.
    let stop = CancellationToken::new();
    let handles: Vec<_> = (0..4)
        .map(|_| {
            Worker::new(Queue::new(db.clone()))
                .register(SELFTEST, SelfTest(db.clone()))
                .concurrency(3)
                .poll_every(Duration::from_millis(20))
                .spawn(stop.clone())
        })
        .collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while enqueuer.counts().await.unwrap()[&JobStatus::Done] < 40 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "jobs did not finish"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.cancel();
    for handle in handles {
        handle.await.unwrap();
    }
    let runs: Vec<(String, i64)> =
        sqlx::query_as("SELECT job_id, COUNT(*) FROM job_selftest_runs GROUP BY job_id")
            .fetch_all(db.pool())
            .await
            .unwrap();
    assert_eq!(runs.len(), 40);
    assert!(runs.iter().all(|(_, n)| *n == 1), "{runs:?}");
    for id in ids {
        assert_eq!(
            enqueuer.get(&id).await.unwrap().unwrap().attempts,
            1,
            "claimed once"
        );
    }
}
