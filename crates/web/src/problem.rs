//! RFC 9457 problem documents: every HTTP error Tutti sends is one of these, with a
//! stable `type`, a `detail` a person can act on, and the field at fault when there is one.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tutti_store::StoreError;

/// Details quote what the client sent; a huge value must not come back whole.
const MAX_DETAIL_CHARS: usize = 400;
const MAX_FIELD_CHARS: usize = 100;

/// `text` cut to `max` characters, marked with an ellipsis when cut.
fn capped(text: String, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

/// An error response. Build one with a constructor named after its kind.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema, PartialEq)]
pub struct Problem {
    /// Stable identifier of the kind of problem, e.g. `urn:tutti:problem:invalid-field`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The request field at fault (a JSON path or form field name).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub field: Option<String>,
    /// Seconds to wait before trying again, sent as the `Retry-After` header (429, 503).
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

impl Problem {
    pub fn new(status: StatusCode, kind: &str, detail: impl Into<String>) -> Problem {
        Problem {
            kind: format!("urn:tutti:problem:{kind}"),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail: capped(detail.into(), MAX_DETAIL_CHARS),
            field: None,
            retry_after: None,
        }
    }

    /// Names the field at fault.
    pub fn with_field(mut self, field: impl Into<String>) -> Problem {
        self.field = Some(capped(field.into(), MAX_FIELD_CHARS));
        self
    }

    /// A field broke a rule; `detail` says which and how to fix it.
    pub fn invalid(field: &str, detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-field", detail).with_field(field)
    }

    pub fn bad_request(kind: &str, detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::BAD_REQUEST, kind, detail)
    }

    pub fn unauthorized() -> Problem {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "Sign in first, or send an API token as `Authorization: Bearer <token>`.",
        )
    }

    pub fn forbidden(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::NOT_FOUND, "not-found", detail)
    }

    pub fn conflict(kind: &str, detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::CONFLICT, kind, detail)
    }

    /// Too many attempts from one address or at one account: try again after `wait`.
    pub fn too_many_requests(detail: impl Into<String>, wait: std::time::Duration) -> Problem {
        Problem::new(StatusCode::TOO_MANY_REQUESTS, "too-many-requests", detail).retry_after(wait)
    }

    /// The server is too busy for this now (a bounded resource stayed taken): try again
    /// after `wait`.
    pub fn busy(detail: impl Into<String>, wait: std::time::Duration) -> Problem {
        Problem::new(StatusCode::SERVICE_UNAVAILABLE, "busy", detail).retry_after(wait)
    }

    /// Says when to try again (whole seconds, at least one).
    pub fn retry_after(mut self, wait: std::time::Duration) -> Problem {
        let secs = wait.as_millis().div_ceil(1000).max(1);
        self.retry_after = Some(u64::try_from(secs).unwrap_or(u64::MAX));
        self
    }

    /// A failure on our side. The cause is logged, never sent: it may hold internals.
    pub fn internal(cause: &dyn std::fmt::Display) -> Problem {
        tracing::error!(error = %cause, "internal error");
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Something went wrong on the server. It has been logged; try again later.",
        )
    }

    /// A problem for a bare status code that some layer produced without a body.
    pub fn from_status(status: StatusCode) -> Problem {
        let (kind, detail) = match status {
            StatusCode::NOT_FOUND => ("not-found", "There is nothing at this address."),
            StatusCode::METHOD_NOT_ALLOWED => (
                "method-not-allowed",
                "This address does not accept that HTTP method.",
            ),
            StatusCode::PAYLOAD_TOO_LARGE => (
                "body-too-large",
                "The request body is larger than this endpoint accepts.",
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => (
                "unsupported-media-type",
                "Send the body with the Content-Type this endpoint expects.",
            ),
            StatusCode::REQUEST_TIMEOUT => ("timeout", "The request took too long."),
            _ => ("http-error", "The request could not be handled."),
        };
        Problem::new(status, kind, detail)
    }

    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.detail, self.status)
    }
}

impl std::error::Error for Problem {}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status_code();
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"tutti\""),
            );
        }
        response
    }
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Problem {
        match &e {
            e if e.is_unique_violation() => {
                Problem::conflict("already-exists", "That already exists.")
            }
            StoreError::BlobNotFound(key) => Problem::not_found(format!("No stored file {key}.")),
            e if e.is_unavailable() => {
                tracing::warn!(error = %e, "database unavailable");
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "database-unavailable",
                    "The server cannot reach its database just now; nothing was changed. \
                     Try again in a moment.",
                )
                .retry_after(std::time::Duration::from_secs(5))
            }
            _ => Problem::internal(&e),
        }
    }
}

impl From<tutti_store::sqlx::Error> for Problem {
    fn from(e: tutti_store::sqlx::Error) -> Problem {
        Problem::from(StoreError::Database(e))
    }
}
