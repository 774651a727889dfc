use thiserror::Error;

/// What can go wrong below the studios; the web edge maps each kind to an HTTP status.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("blob store error: {0}")]
    Blob(#[from] object_store::Error),
    #[error("blob not found: {0}")]
    BlobNotFound(String),
    #[error("{0}")]
    Config(String),
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// What a client sent did not match the checksum it announced; nothing was kept.
    #[error("checksum mismatch: expected SHA-256 {expected}, received {actual}")]
    ChecksumMismatch { expected: String, actual: String },
    /// The body being stored broke off (client gone, body too large).
    #[error("the incoming data broke off: {0}")]
    Incoming(String),
    #[error("invalid job payload: {0}")]
    Payload(#[from] serde_json::Error),
}

impl StoreError {
    /// True when a write lost a race with a unique constraint (the caller may report a
    /// conflict instead of a server error).
    pub fn is_unique_violation(&self) -> bool {
        match self {
            StoreError::Database(sqlx::Error::Database(e)) => e.is_unique_violation(),
            _ => false,
        }
    }

    /// True when the database could not be reached or gave no connection in time: the
    /// request may succeed later, so the edge answers 503 with Retry-After, not 500.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            StoreError::Database(
                sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_)
            )
        )
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
