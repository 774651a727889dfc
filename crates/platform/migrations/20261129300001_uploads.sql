-- Resumable (tus) uploads in progress and finished, until a studio takes them. Times are
-- Unix milliseconds. `offset_bytes` only ever moves to a durable point: a stored part
-- (object stores: `parts` of `upload_parts`, then `tail` bytes kept in a small object of
-- their own) or a synced append file (local folder).
CREATE TABLE IF NOT EXISTS uploads (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL,
    length_bytes BIGINT NOT NULL,
    offset_bytes BIGINT NOT NULL,
    metadata TEXT NOT NULL,
    studio TEXT,
    blob_key TEXT NOT NULL,
    storage TEXT NOT NULL,
    storage_id TEXT NOT NULL,
    parts BIGINT NOT NULL,
    tail_bytes BIGINT NOT NULL,
    hash_state TEXT NOT NULL,
    sha256 TEXT,
    status TEXT NOT NULL,
    lock_token TEXT,
    lock_until BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    completed_at BIGINT,
    taken_at BIGINT
);
CREATE INDEX IF NOT EXISTS uploads_owner ON uploads (owner_id, status);
CREATE INDEX IF NOT EXISTS uploads_expiry ON uploads (status, expires_at);
CREATE INDEX IF NOT EXISTS uploads_studio ON uploads (studio, status);

-- The parts an object store holds for an upload, with the tags that join them.
CREATE TABLE IF NOT EXISTS upload_parts (
    upload_id TEXT NOT NULL,
    part BIGINT NOT NULL,
    etag TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    PRIMARY KEY (upload_id, part)
);
