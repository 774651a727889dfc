//! Liveness and readiness for orchestrators and load balancers: `/healthz` says the
//! process serves, `/readyz` says it can do useful work (database and blob store answer).

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use tutti_store::{Blobs, Db};
use tutti_web::Problem;

/// A dependency slower than this counts as down: a load balancer waiting on a hung check
/// learns nothing.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

pub fn router(db: Db, blobs: Blobs) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
        .with_state((db, blobs))
}

async fn ready(State((db, blobs)): State<(Db, Blobs)>) -> Response {
    let (database, blobs) = tokio::join!(check(db.ping()), check(blobs.ping()));
    match (database, blobs) {
        (Ok(()), Ok(())) => axum::Json(json!({ "database": "ok", "blobs": "ok" })).into_response(),
        (database, blobs) => {
            let failed: Vec<String> = [("database", database), ("blob store", blobs)]
                .into_iter()
                .filter_map(|(name, result)| result.err().map(|e| format!("the {name} {e}")))
                .collect();
            tracing::warn!(failed = ?failed, "not ready");
            Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not-ready",
                format!(
                    "Not ready: {}. See the server log for the cause.",
                    failed.join("; ")
                ),
            )
            .into_response()
        }
    }
}

/// Runs one check, describing a failure without internals (addresses, credentials) since
/// the answer is public.
async fn check<E: std::fmt::Display>(
    ping: impl Future<Output = Result<(), E>>,
) -> Result<(), String> {
    match tokio::time::timeout(CHECK_TIMEOUT, ping).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check failed");
            Err("does not answer".into())
        }
        Err(_) => Err(format!(
            "did not answer within {} s",
            CHECK_TIMEOUT.as_secs()
        )),
    }
}
