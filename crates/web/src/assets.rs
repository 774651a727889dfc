//! Static files embedded in the binary and served under `/assets/`, so `cargo run` needs
//! no build step and a deployment is one file.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::Problem;

/// The platform's assets; studios serve theirs through [`router`] with their own list.
pub const ASSETS: &[(&str, &str)] = &[
    ("tutti.css", include_str!("../assets/tutti.css")),
    ("tutti.js", include_str!("../assets/tutti.js")),
    ("tutti-ui.js", include_str!("../assets/tutti-ui.js")),
    // tus-js-client, bundled by tools/vendor/build.sh: resumable uploads for every studio.
    ("tus.js", include_str!("../assets/tus.js")),
    ("favicon.svg", include_str!("../assets/favicon.svg")),
];

/// Routes `/assets/{name}` over every list of assets given.
pub fn router<S: Clone + Send + Sync + 'static>(
    lists: Vec<&'static [(&'static str, &'static str)]>,
) -> Router<S> {
    let lists = std::sync::Arc::new(lists);
    Router::new().route(
        "/assets/{name}",
        get(move |Path(name): Path<String>| async move { serve(&lists, &name) }),
    )
}

fn serve(lists: &[&[(&str, &str)]], name: &str) -> Response {
    let Some((_, body)) = lists
        .iter()
        .flat_map(|l| l.iter())
        .find(|(n, _)| *n == name)
    else {
        return Problem::not_found(format!("No asset named {name}.")).into_response();
    };
    let content_type = match name.rsplit('.').next() {
        Some("css") => "text/css; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    };
    let mut response = body.to_string().into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Short enough that a new release shows up within minutes without versioned names.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    response
}
