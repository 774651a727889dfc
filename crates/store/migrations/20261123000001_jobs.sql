-- The durable job queue. Times are Unix milliseconds; payload and result are JSON text.
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    unique_key TEXT UNIQUE,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL,
    run_at BIGINT NOT NULL,
    locked_by TEXT,
    heartbeat_at BIGINT,
    last_error TEXT,
    result TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX jobs_ready ON jobs (status, run_at);
CREATE INDEX jobs_kind ON jobs (kind, status);

-- One row per completed run of the built-in self-test job (see store::jobs::SelfTest).
CREATE TABLE job_selftest_runs (
    job_id TEXT NOT NULL,
    worker_id TEXT NOT NULL,
    at BIGINT NOT NULL
);
