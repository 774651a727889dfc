//! The choir's error enum and its one mapping to HTTP problems.

use axum::http::StatusCode;
use tutti_store::StoreError;
use tutti_web::Problem;

#[derive(Debug, thiserror::Error)]
pub enum ChoirError {
    /// A field broke a rule; the detail says which and how to fix it.
    #[error("{field}: {detail}")]
    Invalid { field: String, detail: String },
    #[error("{0}")]
    NotFound(String),
    /// The person may not do this; `kind` is the problem type.
    #[error("{detail}")]
    Forbidden { kind: &'static str, detail: String },
    /// The room's password was wrong or missing.
    #[error("{0}")]
    Password(String),
    /// The media engine could not read or convert a file.
    #[error("{0}")]
    Media(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Platform(#[from] tutti_platform::PlatformError),
    /// A failure on our side (the cause is logged, never shown).
    #[error("{0}")]
    Internal(String),
}

impl ChoirError {
    pub fn invalid(field: &str, detail: impl Into<String>) -> ChoirError {
        ChoirError::Invalid {
            field: field.to_string(),
            detail: detail.into(),
        }
    }

    pub fn not_found(detail: impl Into<String>) -> ChoirError {
        ChoirError::NotFound(detail.into())
    }

    pub fn forbidden(kind: &'static str, detail: impl Into<String>) -> ChoirError {
        ChoirError::Forbidden {
            kind,
            detail: detail.into(),
        }
    }

    pub fn internal(cause: impl std::fmt::Display) -> ChoirError {
        ChoirError::Internal(cause.to_string())
    }
}

impl From<sqlx::Error> for ChoirError {
    fn from(e: sqlx::Error) -> ChoirError {
        ChoirError::Store(StoreError::from(e))
    }
}

impl From<ChoirError> for Problem {
    fn from(e: ChoirError) -> Problem {
        match e {
            ChoirError::Invalid { field, detail } => Problem::invalid(&field, detail),
            ChoirError::NotFound(detail) => Problem::not_found(detail),
            ChoirError::Forbidden { kind, detail } => {
                Problem::new(StatusCode::FORBIDDEN, kind, detail)
            }
            ChoirError::Password(detail) => {
                Problem::new(StatusCode::FORBIDDEN, "wrong-password", detail).with_field("password")
            }
            ChoirError::Media(detail) => {
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "unreadable-audio", detail)
            }
            ChoirError::Store(e) => Problem::from(e),
            ChoirError::Platform(e) => Problem::from(e),
            ChoirError::Internal(cause) => Problem::internal(&cause),
        }
    }
}
