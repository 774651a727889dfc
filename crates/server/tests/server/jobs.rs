use std::time::Duration;

use tutti_store::jobs::{NewJob, SELFTEST, SelfTestPayload};

use crate::helpers::TestServer;

#[tokio::test]
async fn a_job_enqueued_while_the_server_runs_is_done_by_its_worker() {
    let server = TestServer::start().await;
    let queue = &server.running.app.queue;
    let id = queue
        .enqueue(NewJob::new(SELFTEST, &SelfTestPayload { sleep_ms: 0 }).unwrap())
        .await
        .unwrap();

    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let job = queue.get(&id).await.unwrap().unwrap();
        if job.status == "done" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "job still {} after 20 s",
            job.status
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn stopping_lets_a_running_job_finish() {
    let server = TestServer::start().await;
    let queue = server.running.app.queue.clone();
    let id = queue
        .enqueue(NewJob::new(SELFTEST, &SelfTestPayload { sleep_ms: 500 }).unwrap())
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while queue.get(&id).await.unwrap().unwrap().status != "running" {
        assert!(tokio::time::Instant::now() < deadline, "job never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.running.shutdown().await.unwrap();

    // The server closes its pool on stop; look with a fresh one.
    let db = server.db.connect().await;
    let job = tutti_store::Queue::new(db).get(&id).await.unwrap().unwrap();
    assert_eq!(job.status, "done", "{job:?}");
}
