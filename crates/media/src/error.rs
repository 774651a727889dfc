//! One error type for the engine. Every variant carries a message a person can act on
//! ("the file ends in the middle of a frame: the upload may have been cut off"), and
//! [`MediaError::code`] gives a stable identifier for problem documents.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum MediaError {
    /// Zero bytes, or no audio at all.
    #[error("the file is empty: {0}")]
    Empty(String),
    /// Not a format we read (or not audio at all, whatever its name says).
    #[error("unsupported file: {0}")]
    Unsupported(String),
    /// The data ends early or contradicts itself.
    #[error("damaged file: {0}")]
    Corrupt(String),
    /// The file asks for more than we allow (absurd rates, sizes, durations).
    #[error("over a limit: {0}")]
    Limit(String),
    /// A setting given to the engine is out of range.
    #[error("invalid setting `{field}`: {detail}")]
    Setting { field: &'static str, detail: String },
    /// An encoder or image codec failed.
    #[error("encoding failed: {0}")]
    Encode(String),
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

impl MediaError {
    /// A stable short name for the kind of error, e.g. for `urn:tutti:problem:media-…`.
    pub fn code(&self) -> &'static str {
        match self {
            MediaError::Empty(_) => "media-empty",
            MediaError::Unsupported(_) => "media-unsupported",
            MediaError::Corrupt(_) => "media-corrupt",
            MediaError::Limit(_) => "media-limit",
            MediaError::Setting { .. } => "media-setting",
            MediaError::Encode(_) => "media-encode",
            MediaError::Io(_) => "media-io",
        }
    }

    pub fn setting(field: &'static str, detail: impl Into<String>) -> MediaError {
        MediaError::Setting {
            field,
            detail: detail.into(),
        }
    }
}
