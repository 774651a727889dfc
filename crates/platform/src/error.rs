//! The platform's error enum. Code here says what went wrong in its own terms; the one
//! mapping to HTTP (status, problem type, field) is `From<PlatformError> for Problem`.

use tutti_store::StoreError;
use tutti_web::Problem;

#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// A request field broke a rule; the detail says which and how to fix it.
    #[error("{detail}")]
    Invalid { field: String, detail: String },
    /// Nobody is signed in and the route needs someone.
    #[error("not signed in")]
    Unauthenticated,
    /// The person lacks a role the route needs.
    #[error("{detail}")]
    Forbidden {
        detail: String,
        field: Option<String>,
    },
    #[error("{detail}")]
    NotFound {
        detail: String,
        field: Option<String>,
    },
    /// The studios do not fit together (duplicate migration version, role or route).
    #[error("the studios do not fit together: {0}")]
    Composition(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Problem(#[from] Problem),
}

impl PlatformError {
    pub fn invalid(field: &str, detail: impl Into<String>) -> PlatformError {
        PlatformError::Invalid {
            field: field.to_string(),
            detail: detail.into(),
        }
    }

    pub fn not_found(field: &str, detail: impl Into<String>) -> PlatformError {
        PlatformError::NotFound {
            detail: detail.into(),
            field: Some(field.to_string()),
        }
    }
}

impl From<tutti_store::sqlx::Error> for PlatformError {
    fn from(e: tutti_store::sqlx::Error) -> PlatformError {
        PlatformError::Store(StoreError::from(e))
    }
}

impl From<PlatformError> for Problem {
    fn from(e: PlatformError) -> Problem {
        match e {
            PlatformError::Invalid { field, detail } => Problem::invalid(&field, detail),
            PlatformError::Unauthenticated => Problem::unauthorized(),
            PlatformError::Forbidden { detail, field } => with(Problem::forbidden(detail), field),
            PlatformError::NotFound { detail, field } => with(Problem::not_found(detail), field),
            PlatformError::Composition(detail) => Problem::internal(&detail),
            PlatformError::Store(e) => e.into(),
            PlatformError::Problem(p) => p,
        }
    }
}

fn with(problem: Problem, field: Option<String>) -> Problem {
    match field {
        Some(f) => problem.with_field(f),
        None => problem,
    }
}

/// The problem document for an error, for layers that answer directly.
pub fn problem(e: PlatformError) -> Problem {
    e.into()
}
