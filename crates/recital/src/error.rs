//! The recital's error enum. Code says what went wrong in the studio's own terms; the one
//! mapping to HTTP (status, problem type, field) is `From<RecitalError> for Problem`.

use axum::http::StatusCode;
use tutti_store::StoreError;
use tutti_web::Problem;

use crate::domain::SessionState;

#[derive(Debug, thiserror::Error)]
pub enum RecitalError {
    /// A field broke a rule; the detail says which and how to fix it.
    #[error("{field}: {detail}")]
    Invalid { field: String, detail: String },
    /// Nothing of that kind exists for this person (someone else's session is one).
    #[error("{detail}")]
    NotFound { detail: String },
    /// The person may not do this here; the detail says what would let them.
    #[error("{detail}")]
    Forbidden { kind: &'static str, detail: String },
    /// The move is not allowed from the session's state.
    #[error("{detail}")]
    State { state: SessionState, detail: String },
    /// A chunk number was acknowledged with other bytes.
    #[error("{detail}")]
    ChunkConflict { detail: String },
    /// The body is larger than the limit.
    #[error("{detail}")]
    TooLarge { field: String, detail: String },
    /// The body is not a kind of audio we record.
    #[error("{detail}")]
    NotAudio { detail: String },
    /// Something already exists under that name.
    #[error("{detail}")]
    Exists { field: String, detail: String },
    /// The media engine could not do its work (damaged audio).
    #[error("{0}")]
    Media(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A failure on our side (the cause is logged, never shown).
    #[error("{0}")]
    Internal(String),
}

impl RecitalError {
    pub fn invalid(field: &str, detail: impl Into<String>) -> RecitalError {
        RecitalError::Invalid {
            field: field.to_string(),
            detail: detail.into(),
        }
    }

    pub fn not_found(detail: impl Into<String>) -> RecitalError {
        RecitalError::NotFound {
            detail: detail.into(),
        }
    }

    pub fn forbidden(kind: &'static str, detail: impl Into<String>) -> RecitalError {
        RecitalError::Forbidden {
            kind,
            detail: detail.into(),
        }
    }

    pub fn internal(cause: impl std::fmt::Display) -> RecitalError {
        RecitalError::Internal(cause.to_string())
    }
}

impl From<sqlx::Error> for RecitalError {
    fn from(e: sqlx::Error) -> RecitalError {
        RecitalError::Store(StoreError::from(e))
    }
}

impl From<crate::text::TextError> for RecitalError {
    fn from(e: crate::text::TextError) -> RecitalError {
        RecitalError::Invalid {
            field: e.field().to_string(),
            detail: e.to_string(),
        }
    }
}

impl From<RecitalError> for Problem {
    fn from(e: RecitalError) -> Problem {
        match e {
            RecitalError::Invalid { field, detail } => Problem::invalid(&field, detail),
            RecitalError::NotFound { detail } => Problem::not_found(detail),
            RecitalError::Forbidden { kind, detail } => {
                Problem::new(StatusCode::FORBIDDEN, kind, detail)
            }
            RecitalError::State { state, detail } => {
                let kind = match state {
                    SessionState::Recording => "session-recording",
                    SessionState::Discarded => "session-discarded",
                    _ => "session-ended",
                };
                Problem::conflict(kind, detail)
            }
            RecitalError::ChunkConflict { detail } => {
                Problem::conflict("chunk-conflict", detail).with_field("seq")
            }
            RecitalError::TooLarge { field, detail } => {
                Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "too-large", detail).with_field(field)
            }
            RecitalError::NotAudio { detail } => {
                Problem::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "not-audio", detail)
                    .with_field("body")
            }
            RecitalError::Exists { field, detail } => {
                Problem::conflict("exists", detail).with_field(field)
            }
            RecitalError::Media(detail) => {
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "unreadable-audio", detail)
            }
            RecitalError::Store(e) => Problem::from(e),
            RecitalError::Internal(cause) => Problem::internal(&cause),
        }
    }
}
