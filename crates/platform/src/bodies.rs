//! Request body limits, per route. The server applies [`limit_bodies`] once around every
//! route (and the fallback): a route that declared its own [`BodyLimit`] through
//! [`crate::Routes`] gets that, every other request the server's `max_body_bytes`. A body
//! whose `Content-Length` is over the limit is refused before it is read; a body without
//! one is cut off where it crosses the limit (extractors then answer 413 as well).
//!
//! The limit is found from the route the request matched (axum's [`MatchedPath`], which
//! layers added with `Router::layer` see), so it needs no per-route wrapping that an
//! outer limit would undo.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tutti_web::Problem;

use crate::access::{BodyLimit, RouteDecl};

/// The limits of every route that declared one, and the default for the rest.
#[derive(Debug, Clone)]
pub struct BodyLimits {
    default: usize,
    routes: Arc<HashMap<(Method, String), BodyLimit>>,
}

impl BodyLimits {
    /// `default` applies to every route whose declaration says [`BodyLimit::Default`] and to
    /// requests no route matched.
    pub fn new(default: usize, decls: &[RouteDecl]) -> BodyLimits {
        let routes = decls
            .iter()
            .filter(|d| d.body_limit != BodyLimit::Default)
            .map(|d| ((d.method.clone(), d.path.clone()), d.body_limit))
            .collect();
        BodyLimits {
            default,
            routes: Arc::new(routes),
        }
    }

    /// The limit for a request, `None` for no limit.
    pub fn for_request(&self, method: &Method, matched: Option<&str>) -> Option<usize> {
        let declared = matched.and_then(|path| {
            self.routes
                .get(&(method.clone(), path.to_string()))
                .or_else(|| {
                    // HEAD is answered by GET routes that declare no HEAD of their own.
                    (*method == Method::HEAD)
                        .then(|| self.routes.get(&(Method::GET, path.to_string())))
                        .flatten()
                })
        });
        match declared.copied().unwrap_or_default() {
            BodyLimit::Default => Some(self.default),
            BodyLimit::Max(n) => Some(n),
            BodyLimit::Unlimited => None,
        }
    }
}

/// The middleware; see the module documentation.
pub async fn limit_bodies(State(limits): State<BodyLimits>, req: Request, next: Next) -> Response {
    let matched = req.extensions().get::<MatchedPath>().map(|m| m.as_str());
    let Some(limit) = limits.for_request(req.method(), matched) else {
        return next.run(req).await;
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        let mut problem = Problem::from_status(StatusCode::PAYLOAD_TOO_LARGE);
        problem.detail = format!(
            "The request body is larger than this endpoint accepts ({limit} bytes at most)."
        );
        return problem.into_response();
    }
    let (parts, body) = req.into_parts();
    let limited = Body::new(http_body_util::Limited::new(body, limit));
    next.run(Request::from_parts(parts, limited)).await
}
