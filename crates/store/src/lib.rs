//! Everything Tutti keeps: the database (SQLite embedded, PostgreSQL at scale) with its
//! migrations, the blob store (local files or any S3/GCS/Azure object store), and the
//! durable job queue that lives in the database.
//!
//! Studios never talk to sqlx or object_store directly for setup: they take a [`Db`], a
//! [`Blobs`] and a [`Queue`] built here, so the same code runs on every backend.

pub mod blobs;
pub mod copy;
pub mod db;
pub mod error;
pub mod jobs;
pub mod leases;
pub mod tables;
pub mod testing;

pub use blobs::{Blobs, Checksum, StoredBlob};
pub use db::{Backend, Db, Tx, Write};
pub use error::StoreError;
pub use jobs::{
    Job, JobError, JobHandler, JobRun, JobStatus, NewJob, Queue, Schedule, TypedJob, Worker,
};
/// Re-exported so every crate uses the same sqlx build and features.
pub use sqlx;

/// Milliseconds since the Unix epoch: the one time representation in the schema, because
/// both SQLite and PostgreSQL store a BIGINT the same way.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A new time-ordered identifier (UUIDv7 as text), usable as a primary key on both
/// databases without dialect-specific auto-increment.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}
