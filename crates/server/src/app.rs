//! Composition: turns [`Settings`] into connected services, one router over every crate's
//! routes with the cross-cutting layers (limits, tracing, metrics, problem+json for bare
//! errors), and a running server with its job worker. The only place that knows every
//! crate, so adding a studio touches this file and nothing else here.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use tutti_accounts::Platform;
use tutti_store::{Blobs, Db, Queue, Worker};
use tutti_web::{Problem, Web};
use url::Url;

use crate::config::{self, Settings};
use crate::serve::Bound;
use crate::{health, metrics};

/// The connected services of one process.
#[derive(Clone, Debug)]
pub struct App {
    pub settings: Settings,
    pub db: Db,
    pub blobs: Blobs,
    pub queue: Queue,
    pub platform: Platform,
}

/// Connects the database and blob store, migrates when the settings ask for it, and
/// builds the state the routes share.
pub async fn build(settings: &Settings) -> anyhow::Result<App> {
    crate::tls::install_crypto_provider();
    let db = tutti_store::Db::connect(&settings.database_url)
        .await
        .with_context(|| {
            format!(
                "could not open the database {}: check database_url and that the server is \
                 reachable",
                tutti_store::db::redact_url(&settings.database_url)
            )
        })?;
    let blobs = Blobs::open(&settings.blob_url, &settings.blob_options).with_context(|| {
        format!(
            "could not open the blob store {}: check blob_url and blob_options",
            tutti_store::db::redact_url(&settings.blob_url)
        )
    })?;
    let queue = Queue::new(db.clone())
        .with_stale_after(Duration::from_secs(settings.jobs.stale_after_secs));
    if settings.migrate_on_start {
        migrate(&db).await?;
    }
    let web = Web::builder()
        .add_templates(tutti_accounts::TEMPLATES)
        .add_messages(tutti_accounts::MESSAGES)
        .build();
    let platform = Platform::new(
        db.clone(),
        blobs.clone(),
        queue.clone(),
        web,
        accounts_settings(settings),
        settings.oidc.clone().map(|o| tutti_accounts::OidcSettings {
            issuer: o.issuer,
            client_id: o.client_id,
            client_secret: o.client_secret,
            name: o.name,
            scopes: o.scopes,
        }),
        settings.smtp.clone().map(|s| tutti_accounts::SmtpSettings {
            url: s.url,
            from: s.from,
        }),
    )
    .map_err(|p| anyhow::anyhow!("{}", p.detail))
    .context("could not set up accounts")?;
    Ok(App {
        settings: settings.clone(),
        db,
        blobs,
        queue,
        platform,
    })
}

/// Applies every crate's pending migrations.
pub async fn migrate(db: &Db) -> anyhow::Result<()> {
    db.migrate(&[&tutti_store::db::MIGRATIONS, &tutti_accounts::MIGRATIONS])
        .await
        .context("could not migrate the database")
}

fn accounts_settings(settings: &Settings) -> tutti_accounts::Settings {
    tutti_accounts::Settings {
        public_url: settings.public_url.clone(),
        signup: match settings.signup {
            config::Signup::Invited => tutti_accounts::Signup::Invited,
            config::Signup::Open => tutti_accounts::Signup::Open,
        },
        session_days: settings.session_days,
        trust_proxy_headers: settings.trust_proxy_headers,
    }
}

/// A worker with a handler for every kind of job the crates define.
pub fn worker(app: &App) -> Worker {
    let worker = Worker::new(app.queue.clone())
        .concurrency(app.settings.jobs.workers)
        .poll_every(Duration::from_millis(app.settings.jobs.poll_ms))
        .register(
            tutti_store::jobs::SELFTEST,
            tutti_store::jobs::SelfTest(app.db.clone()),
        );
    tutti_accounts::register_jobs(worker, &app.platform)
}

/// Every route of every crate, behind the layers all requests share.
pub fn router(app: &App) -> Router {
    let (accounts, openapi) = tutti_accounts::router(app.platform.clone());
    let openapi = openapi_json(openapi);
    let max_body = app.settings.max_body_bytes;
    let trust_proxy = app.settings.trust_proxy_headers;

    Router::new()
        .merge(accounts)
        .merge(health::router(app.db.clone(), app.blobs.clone()))
        .merge(metrics::router(app.queue.clone()))
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let body = openapi.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], body) }
            }),
        )
        .merge(tutti_web::assets::router(&[tutti_web::assets::ASSETS]))
        .route_layer(axum::middleware::from_fn(metrics::mark_route))
        .fallback(|| async { Problem::from_status(StatusCode::NOT_FOUND) })
        // Each `layer` wraps the ones before it: the body limits sit innermost and metrics
        // outermost, so even a refused request is traced and counted.
        .layer(DefaultBodyLimit::max(max_body))
        .layer(RequestBodyLimitLayer::new(max_body))
        .layer(axum::middleware::map_response(problem_for_bare_errors))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(move |req: &Request<Body>| {
                    tracing::info_span!(
                        "request",
                        method = %req.method(),
                        path = %req.uri().path(),
                        client = %client_ip(req, trust_proxy),
                    )
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .layer(axum::middleware::from_fn(metrics::track))
}

/// The API description with the product's name and version; serialized once, since it
/// never changes while the process runs.
fn openapi_json(mut openapi: utoipa::openapi::OpenApi) -> Bytes {
    openapi.info.title = "Tutti".into();
    openapi.info.version = env!("CARGO_PKG_VERSION").into();
    Bytes::from(serde_json::to_vec(&openapi).expect("OpenAPI serializes"))
}

/// Who sent a request, for the logs. Behind a trusted proxy that is the first address in
/// `X-Forwarded-For`; otherwise the peer of the connection.
pub fn client_ip<B>(req: &axum::http::Request<B>, trust_proxy_headers: bool) -> String {
    if trust_proxy_headers
        && let Some(ip) = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|v| v.trim().parse::<IpAddr>().ok())
    {
        return ip.to_string();
    }
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "-".into())
}

/// Error bodies axum and tower write themselves (an empty 405, a plain-text 413 or path
/// rejection) become problem documents, so API clients parse one error shape. Plain-text
/// client errors keep their text as the detail, since it says what was wrong.
async fn problem_for_bare_errors(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let plain = match response.headers().get(header::CONTENT_TYPE) {
        None => false,
        Some(v) if v.as_bytes().starts_with(b"text/plain") => true,
        Some(_) => return response,
    };
    let (parts, body) = response.into_parts();
    let mut problem = Problem::from_status(status);
    if plain
        && status.is_client_error()
        && status != StatusCode::PAYLOAD_TOO_LARGE
        && let Ok(text) = axum::body::to_bytes(body, 4096).await
    {
        let text = String::from_utf8_lossy(&text).trim().to_string();
        if !text.is_empty() {
            problem.detail = text;
        }
    }
    let mut converted = problem.into_response();
    for name in [header::ALLOW, header::WWW_AUTHENTICATE, header::RETRY_AFTER] {
        if let Some(value) = parts.headers.get(&name) {
            converted.headers_mut().insert(name, value.clone());
        }
    }
    converted
}

/// A server that is accepting connections, with its worker.
pub struct Running {
    /// The address actually bound (the real port when the settings said 0).
    pub addr: SocketAddr,
    /// Where clients reach it, e.g. `http://127.0.0.1:41234/`.
    pub url: Url,
    pub app: App,
    stop: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// Cancelling this token starts a graceful stop.
    pub fn stop_token(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Waits until the server has stopped (after the token is cancelled, or on failure).
    pub async fn wait(self) -> anyhow::Result<()> {
        self.task.await.context("the server task panicked")?
    }

    /// Stops gracefully and waits for it.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.stop.cancel();
        self.wait().await
    }
}

/// Binds, builds the app, starts the job worker and serves until `stop` is cancelled.
/// Requests in flight and jobs running finish before the returned server's `wait` ends.
pub async fn start(settings: &Settings, stop: CancellationToken) -> anyhow::Result<Running> {
    crate::tls::install_crypto_provider();
    let bound = Bound::bind(settings).await?;
    let mut settings = settings.clone();
    // Asked for any free port: links must point at the one actually given.
    if settings.public_url.port() == Some(0) {
        let _ = settings.public_url.set_port(Some(bound.addr().port()));
    }
    let app = build(&settings).await?;

    let released = app.queue.release_orphans().await?;
    if released > 0 {
        tracing::info!(released, "re-queued jobs the previous run left unfinished");
    }
    let setup = tutti_accounts::admin::setup_link(&app.platform)
        .await
        .map_err(|p| anyhow::anyhow!("{}", p.detail))
        .context("could not check whether the first admin exists")?;

    let url = settings.public_url.clone();
    let addr = bound.addr();
    let router = router(&app);
    let worker = worker(&app);
    let db = app.db.clone();
    let server_stop = stop.clone();
    let task = tokio::spawn(async move {
        let worker_stop = CancellationToken::new();
        let worker = worker.spawn(worker_stop.clone());
        let served = bound.serve(router, server_stop).await;
        worker_stop.cancel();
        if worker.await.is_err() {
            tracing::error!("the job worker panicked while stopping");
        }
        db.close().await;
        tracing::info!("stopped");
        served
    });
    tracing::info!(
        %addr,
        public_url = %url,
        tls = settings.tls_cert.is_some(),
        database = %tutti_store::db::redact_url(&settings.database_url),
        blobs = %app.blobs.description(),
        "serving"
    );
    // Last, so it is the line an operator sees when the server has started.
    if let Some(link) = setup {
        tracing::warn!("No account exists yet. Open this link to create the first admin: {link}");
    }

    Ok(Running {
        addr,
        url,
        app,
        stop,
        task,
    })
}

/// Starts the real server in-process for tests: the given settings, with `listen` moved to
/// a free port on 127.0.0.1 when it names a fixed one.
pub async fn spawn_for_tests(mut settings: Settings) -> anyhow::Result<Running> {
    if settings.listen.port() != 0 {
        settings.listen = SocketAddr::from(([127, 0, 0, 1], 0));
        let scheme = if settings.tls_cert.is_some() {
            "https"
        } else {
            "http"
        };
        settings.public_url = Url::parse(&format!("{scheme}://127.0.0.1:0"))?;
    }
    start(&settings, CancellationToken::new()).await
}
