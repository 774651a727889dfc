//! The meetings studio's error enum and its one mapping to HTTP problems.

use axum::http::StatusCode;
use tutti_store::StoreError;
use tutti_web::Problem;

#[derive(Debug, thiserror::Error)]
pub enum MeetingError {
    /// A field broke a rule; the detail says which and how to fix it.
    #[error("{field}: {detail}")]
    Invalid { field: String, detail: String },
    #[error("{0}")]
    NotFound(String),
    /// The person may not do this; `kind` is the problem type.
    #[error("{detail}")]
    Forbidden { kind: &'static str, detail: String },
    /// The request clashes with the state of things (the last member leaving without
    /// confirming, an owner leaving a team others are still in).
    #[error("{detail}")]
    Conflict {
        kind: &'static str,
        field: Option<&'static str>,
        detail: String,
    },
    /// An invitation link that was revoked or ran out.
    #[error("{0}")]
    Gone(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Platform(#[from] tutti_platform::PlatformError),
    #[error(transparent)]
    Accounts(#[from] tutti_accounts::AccountsError),
    /// A failure on our side (the cause is logged, never shown).
    #[error("{0}")]
    Internal(String),
}

impl MeetingError {
    pub fn invalid(field: &str, detail: impl Into<String>) -> MeetingError {
        MeetingError::Invalid {
            field: field.to_string(),
            detail: detail.into(),
        }
    }

    pub fn not_found(detail: impl Into<String>) -> MeetingError {
        MeetingError::NotFound(detail.into())
    }

    pub fn forbidden(kind: &'static str, detail: impl Into<String>) -> MeetingError {
        MeetingError::Forbidden {
            kind,
            detail: detail.into(),
        }
    }

    pub fn conflict(
        kind: &'static str,
        field: Option<&'static str>,
        detail: impl Into<String>,
    ) -> MeetingError {
        MeetingError::Conflict {
            kind,
            field,
            detail: detail.into(),
        }
    }

    pub fn internal(cause: impl std::fmt::Display) -> MeetingError {
        MeetingError::Internal(cause.to_string())
    }
}

impl From<sqlx::Error> for MeetingError {
    fn from(e: sqlx::Error) -> MeetingError {
        MeetingError::Store(StoreError::from(e))
    }
}

impl From<Problem> for MeetingError {
    fn from(p: Problem) -> MeetingError {
        MeetingError::Platform(tutti_platform::PlatformError::Problem(p))
    }
}

impl From<MeetingError> for Problem {
    fn from(e: MeetingError) -> Problem {
        match e {
            MeetingError::Invalid { field, detail } => Problem::invalid(&field, detail),
            MeetingError::NotFound(detail) => Problem::not_found(detail),
            MeetingError::Forbidden { kind, detail } => {
                Problem::new(StatusCode::FORBIDDEN, kind, detail)
            }
            MeetingError::Conflict {
                kind,
                field,
                detail,
            } => {
                let p = Problem::conflict(kind, detail);
                match field {
                    Some(f) => p.with_field(f),
                    None => p,
                }
            }
            MeetingError::Gone(detail) => Problem::new(StatusCode::GONE, "link-gone", detail),
            MeetingError::Store(e) => Problem::from(e),
            MeetingError::Platform(e) => Problem::from(e),
            MeetingError::Accounts(e) => Problem::from(e),
            MeetingError::Internal(cause) => Problem::internal(&cause),
        }
    }
}
