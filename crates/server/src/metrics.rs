//! Prometheus metrics at `/metrics`: request counts and latencies per route, the job
//! queue's size per status, and whatever the other crates record through the `metrics`
//! facade (blob bytes written, jobs completed and failed …). They tell an outsider how
//! busy the server is and which routes exist, so a scraper must send the `metrics_token`
//! setting as a bearer token; without that setting only this machine may scrape.

use std::collections::HashMap;
use std::sync::{OnceLock, RwLock};
use std::time::Duration;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tutti_platform::{ClientIp, same_secret};
use tutti_store::Queue;
use tutti_web::Problem;

const DURATION_METRIC: &str = "tutti_http_request_duration_seconds";

/// Latency buckets, in seconds, from a cached page to a slow upload.
const DURATION_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process-wide recorder. A process has one global recorder while tests start several
/// servers, so the first call installs it and the rest share it.
pub fn handle() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(DURATION_METRIC.into()), DURATION_BUCKETS)
                .expect("the bucket list is not empty")
                .build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("another metrics recorder is installed; /metrics will be empty");
            }
            // Histograms are folded into their buckets on upkeep; doing it off the request
            // path keeps memory flat between scrapes.
            let upkeep = handle.clone();
            std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(Duration::from_secs(5));
                        upkeep.run_upkeep();
                    }
                })
                .expect("spawn the metrics upkeep thread");
            handle
        })
        .clone()
}

#[derive(Clone)]
struct Scrape {
    handle: PrometheusHandle,
    queue: Queue,
    /// The bearer token scrapers send; without one, only loopback clients are answered.
    token: Option<String>,
}

/// `/metrics`, reading the queue's counts at scrape time so the gauge is never stale.
pub fn router(queue: Queue, token: Option<String>) -> Router {
    let handle = handle();
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(Scrape {
            handle,
            queue,
            token: token.map(|t| t.trim().to_string()),
        })
}

/// Whether this request may read the metrics.
fn allowed(token: Option<&str>, client: ClientIp, headers: &HeaderMap) -> Result<(), Problem> {
    let Some(expected) = token else {
        return if client.is_loopback() {
            Ok(())
        } else {
            Err(Problem::forbidden(
                "Metrics are served only to this machine. Set metrics_token and send it as \
                 `Authorization: Bearer <token>` to scrape from elsewhere.",
            ))
        };
    };
    let sent = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim());
    match sent {
        Some(sent) if same_secret(sent, expected) => Ok(()),
        _ => Err(Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "Send the metrics_token setting as `Authorization: Bearer <token>`.",
        )),
    }
}

async fn scrape(State(s): State<Scrape>, client: ClientIp, headers: HeaderMap) -> Response {
    if let Err(refused) = allowed(s.token.as_deref(), client, &headers) {
        let unauthenticated = refused.status == StatusCode::UNAUTHORIZED.as_u16();
        let mut response = refused.into_response();
        if unauthenticated {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"metrics\""),
            );
        }
        return response;
    }
    let (handle, queue) = (s.handle, s.queue);
    match queue.counts().await {
        Ok(counts) => {
            for (status, n) in counts {
                metrics::gauge!("tutti_jobs", "status" => status.as_str()).set(n as f64);
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not count jobs for /metrics"),
    }
    let mut response = handle.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

/// The route template a request matched, carried from the inner routing layer (where
/// axum knows it) to [`record`] (which also sees requests no route matched).
#[derive(Clone)]
struct Route(MatchedPath);

/// Route-level layer: remembers which route answered.
pub async fn mark_route(request: Request, next: Next) -> Response {
    let matched = request.extensions().get::<MatchedPath>().cloned();
    let mut response = next.run(request).await;
    if let Some(path) = matched {
        response.extensions_mut().insert(Route(path));
    }
    response
}

/// A request's counter and latency histogram, as the recorder registered them.
type Series = (metrics::Counter, metrics::Histogram);

/// The series already registered, by route, then method and status: asking the recorder
/// builds a key with its labels (three allocations) on every call, this a read lock.
static SERIES: OnceLock<RwLock<SeriesByRoute>> = OnceLock::new();

type SeriesByRoute = HashMap<String, Vec<(Method, u16, Series)>>;

/// Counts a request and its duration, by method, route and status (the edge layer calls
/// it for every answer, refused ones included). Labels use the route template, never the
/// raw path, so ids do not multiply series.
pub fn record(method: &Method, response: &Response, elapsed: Duration) {
    let route = response
        .extensions()
        .get::<Route>()
        .map_or("unmatched", |r| r.0.as_str());
    let status = response.status().as_u16();
    let known = SERIES.get_or_init(Default::default);
    let found = known.read().ok().and_then(|by_route| {
        let (_, _, series) = by_route
            .get(route)?
            .iter()
            .find(|(m, s, _)| m == method && *s == status)?;
        Some(series.clone())
    });
    let (counter, histogram) = found.unwrap_or_else(|| {
        let series = (
            metrics::counter!(
                "tutti_http_requests_total",
                "method" => method.as_str().to_owned(),
                "route" => route.to_owned(),
                "status" => status.to_string()
            ),
            metrics::histogram!(
                DURATION_METRIC,
                "method" => method.as_str().to_owned(),
                "route" => route.to_owned()
            ),
        );
        // Only the standard methods are kept: anyone may send any token as a method.
        let standard = [
            Method::GET,
            Method::HEAD,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ];
        if standard.contains(method)
            && let Ok(mut by_route) = known.write()
        {
            by_route.entry(route.to_owned()).or_default().push((
                method.clone(),
                status,
                series.clone(),
            ));
        }
        series
    });
    counter.increment(1);
    histogram.record(elapsed.as_secs_f64());
}
