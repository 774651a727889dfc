//! The music studio's error enum. Code says what went wrong in the studio's own terms; the
//! one mapping to HTTP (status, problem type, field) is `From<MusicError> for Problem`. The
//! Subsonic API maps the same errors to its own codes instead (`subsonic::Failure`).

use axum::http::StatusCode;
use tutti_store::StoreError;
use tutti_web::Problem;

#[derive(Debug, thiserror::Error)]
pub enum MusicError {
    /// A field broke a rule; the detail says which and how to fix it.
    #[error("{field}: {detail}")]
    Invalid { field: String, detail: String },
    /// Nothing of that kind exists for this person (an unpublished album is one).
    #[error("{detail}")]
    NotFound { detail: String },
    /// The person may not do this here; the detail says what would let them.
    #[error("{detail}")]
    Forbidden { kind: &'static str, detail: String },
    /// Something already exists under that name.
    #[error("{detail}")]
    Exists { field: String, detail: String },
    /// The media engine could not read or convert a file.
    #[error("{0}")]
    Media(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An upload or another platform service refused (its problem is passed on).
    #[error(transparent)]
    Platform(#[from] tutti_platform::PlatformError),
    /// A failure on our side (the cause is logged, never shown).
    #[error("{0}")]
    Internal(String),
}

impl MusicError {
    pub fn invalid(field: &str, detail: impl Into<String>) -> MusicError {
        MusicError::Invalid {
            field: field.to_string(),
            detail: detail.into(),
        }
    }

    /// A well-formed request that clashes with what is there (a slug taken, a stale list).
    pub fn exists(field: &str, detail: impl Into<String>) -> MusicError {
        MusicError::Exists {
            field: field.to_string(),
            detail: detail.into(),
        }
    }

    pub fn not_found(detail: impl Into<String>) -> MusicError {
        MusicError::NotFound {
            detail: detail.into(),
        }
    }

    pub fn forbidden(kind: &'static str, detail: impl Into<String>) -> MusicError {
        MusicError::Forbidden {
            kind,
            detail: detail.into(),
        }
    }

    pub fn internal(cause: impl std::fmt::Display) -> MusicError {
        MusicError::Internal(cause.to_string())
    }
}

impl From<sqlx::Error> for MusicError {
    fn from(e: sqlx::Error) -> MusicError {
        MusicError::Store(StoreError::from(e))
    }
}

impl From<MusicError> for Problem {
    fn from(e: MusicError) -> Problem {
        match e {
            MusicError::Invalid { field, detail } => Problem::invalid(&field, detail),
            MusicError::NotFound { detail } => Problem::not_found(detail),
            MusicError::Forbidden { kind, detail } => {
                Problem::new(StatusCode::FORBIDDEN, kind, detail)
            }
            MusicError::Exists { field, detail } => {
                Problem::conflict("exists", detail).with_field(field)
            }
            MusicError::Media(detail) => {
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "unreadable-audio", detail)
            }
            MusicError::Store(e) => Problem::from(e),
            MusicError::Platform(e) => Problem::from(e),
            MusicError::Internal(cause) => Problem::internal(&cause),
        }
    }
}
