//! Serving a blob to a browser's `<audio>` element or a download: one byte range
//! (`Range: bytes=…`, RFC 9110 §14) so players can seek and resume, a validator
//! (`ETag`, answered with 304 on `If-None-Match`), and the type the caller names.
//! Studios that stream media (recital takes, music tracks) answer through this; blobs the
//! store's memory cache holds are answered from memory.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tutti_store::Blobs;
use tutti_web::Problem;

/// How a served blob may be cached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caching {
    /// Only the person who asked may keep it (their own recordings).
    Private,
    /// Shared caches may keep it; the key never changes content.
    Immutable,
}

/// Answers `key` from the blob store, honouring one `Range` and `If-None-Match`.
pub async fn blob(
    blobs: &Blobs,
    key: &str,
    content_type: &str,
    caching: Caching,
    request: &HeaderMap,
) -> Result<Response, Problem> {
    let Some(served) = blobs.for_serving(key).await? else {
        return Err(Problem::not_found("the file is not there (any more)"));
    };
    let (size, written_ms) = (served.size, served.written_ms);
    let etag = format!("\"{:x}-{size:x}\"", fnv(key));
    let mut headers = HeaderMap::new();
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, v);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(match caching {
            Caching::Private => "private, max-age=3600",
            Caching::Immutable => "public, max-age=31536000, immutable",
        }),
    );
    if let Ok(v) = HeaderValue::from_str(content_type) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    let written = std::time::UNIX_EPOCH
        + std::time::Duration::from_millis(u64::try_from(written_ms).unwrap_or(0));
    if let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(written)) {
        headers.insert(header::LAST_MODIFIED, v);
    }
    let if_none_match = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok());
    let matches = match if_none_match {
        Some(v) => v.split(',').any(|t| t.trim() == etag || t.trim() == "*"),
        // RFC 9110 §13.1.3: If-Modified-Since counts only without If-None-Match; dates
        // have whole seconds, so the blob is unchanged when written within that second.
        None => request
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok())
            .and_then(|since| since.duration_since(std::time::UNIX_EPOCH).ok())
            .is_some_and(|since| written_ms / 1000 <= since.as_secs() as i64),
    };
    if matches {
        return Ok((StatusCode::NOT_MODIFIED, headers).into_response());
    }
    let range = request
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(|v| parse_range(v, size));
    match range {
        None | Some(Range::Ignore) => {
            let bytes = match served.bytes {
                Some(bytes) => bytes,
                None => blobs.get(key).await?,
            };
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
            Ok((StatusCode::OK, headers, Body::from(bytes)).into_response())
        }
        Some(Range::Unsatisfiable) => {
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                headers.insert(header::CONTENT_RANGE, v);
            }
            let problem = Problem::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "range-not-satisfiable",
                format!("the file has {size} bytes; ask for a range within them"),
            )
            .with_field("Range");
            let mut response = problem.into_response();
            response.headers_mut().extend(headers);
            Ok(response)
        }
        Some(Range::Bytes(start, end)) => {
            let bytes = match served.bytes {
                // The range was checked against this very blob's size.
                Some(bytes) => bytes.slice(start as usize..end as usize + 1),
                None => blobs.get_range(key, start..end + 1).await?,
            };
            if let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{end}/{size}")) {
                headers.insert(header::CONTENT_RANGE, v);
            }
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
            Ok((StatusCode::PARTIAL_CONTENT, headers, Body::from(bytes)).into_response())
        }
    }
}

/// A stable short hash of the key for the ETag (content under a key is written once).
fn fnv(key: &str) -> u64 {
    key.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    })
}

#[derive(Debug, PartialEq, Eq)]
enum Range {
    /// First and last byte, inclusive.
    Bytes(u64, u64),
    Unsatisfiable,
    /// Not a single byte range we serve: answer the whole file, as RFC 9110 allows.
    Ignore,
}

fn parse_range(value: &str, size: u64) -> Range {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return Range::Ignore;
    };
    if spec.contains(',') {
        return Range::Ignore;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return Range::Ignore;
    };
    let (a, b) = (a.trim(), b.trim());
    if size == 0 {
        return Range::Unsatisfiable;
    }
    match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(start), Ok(end)) if start <= end => {
            if start >= size {
                Range::Unsatisfiable
            } else {
                Range::Bytes(start, end.min(size - 1))
            }
        }
        (Ok(start), Err(_)) if b.is_empty() => {
            if start >= size {
                Range::Unsatisfiable
            } else {
                Range::Bytes(start, size - 1)
            }
        }
        (Err(_), Ok(n)) if a.is_empty() => {
            if n == 0 {
                Range::Unsatisfiable
            } else {
                Range::Bytes(size.saturating_sub(n), size - 1)
            }
        }
        _ => Range::Ignore,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_follow_rfc_9110() {
        assert_eq!(parse_range("bytes=0-99", 1000), Range::Bytes(0, 99));
        assert_eq!(parse_range("bytes=900-", 1000), Range::Bytes(900, 999));
        assert_eq!(parse_range("bytes=-100", 1000), Range::Bytes(900, 999));
        assert_eq!(parse_range("bytes=990-2000", 1000), Range::Bytes(990, 999));
        assert_eq!(parse_range("bytes=1000-", 1000), Range::Unsatisfiable);
        assert_eq!(parse_range("bytes=5-1", 1000), Range::Ignore);
        assert_eq!(parse_range("bytes=0-1,5-6", 1000), Range::Ignore);
        assert_eq!(parse_range("items=0-1", 1000), Range::Ignore);
    }
}
