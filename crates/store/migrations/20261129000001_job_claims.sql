-- Fencing per claim: every claim of a job mints a new token, and a run may only heartbeat,
-- complete or fail the job while the row still carries its token. (`locked_by` names the
-- worker for people to read; one process's claims all share it, so it cannot fence.)
ALTER TABLE jobs ADD COLUMN claim_token TEXT;

-- Retention deletes finished jobs by the time they finished.
CREATE INDEX jobs_finished ON jobs (status, updated_at);

-- Named exclusive leases (one holder at a time until `expires_at`, Unix milliseconds on the
-- database's clock), taken with a conditional upsert; the job queue's orphan sweep holds
-- `jobs.sweep` so only one node puts stale jobs back at a time.
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- The last period each periodic job was enqueued for: a node enqueues a period only by
-- moving `last_period` forward, so a period runs once however many nodes see it.
CREATE TABLE job_schedules (
    name TEXT PRIMARY KEY,
    last_period BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
