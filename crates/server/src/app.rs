//! Composition: turns [`Settings`] into connected services, one router over every studio's
//! routes with the cross-cutting layers (identity and CSRF once for all, limits, tracing,
//! metrics, problem+json for bare errors), and a running server with its job worker. The
//! studios are listed once, in [`studios`]; everything else iterates over them.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
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
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use tutti_accounts::{Accounts, AccountsStudio};
use tutti_platform::identity::Gate;
use tutti_platform::{Composition, IdentityProvider, Mounted, Platform, RouteDecl, Studio};
use tutti_store::{Blobs, Db, Queue, Worker};
use tutti_web::Problem;
use url::Url;

use crate::config::Settings;
use crate::serve::Bound;
use crate::{health, metrics};

/// The studios this server runs, each with its section of the settings. Adding a studio
/// is one line here (and its crate in `Cargo.toml`).
pub fn studios(settings: &Settings) -> Vec<Box<dyn Studio>> {
    vec![Box::new(AccountsStudio {
        settings: accounts_settings(settings),
    })]
}

/// The connected services of one process.
#[derive(Clone)]
pub struct App {
    pub settings: Settings,
    pub db: Db,
    pub blobs: Blobs,
    pub queue: Queue,
    pub platform: Platform,
    /// The accounts' state, for the `tutti admin` commands.
    pub accounts: Accounts,
    mounted: Arc<Vec<Mounted>>,
    assets: Arc<Vec<&'static [(&'static str, &'static str)]>>,
    identity: Arc<dyn IdentityProvider>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("settings", &self.settings)
            .field("studios", &self.mounted.len())
            .finish_non_exhaustive()
    }
}

impl App {
    /// Every route the studios and the platform declared, with who may call it.
    pub fn route_declarations(&self) -> Vec<RouteDecl> {
        self.mounted
            .iter()
            .flat_map(|m| m.routes.decls.iter().cloned())
            .collect()
    }
}

/// Connects the database and blob store, migrates when the settings ask for it, and
/// builds the state the routes share.
pub async fn build(settings: &Settings) -> anyhow::Result<App> {
    build_with(settings, studios(settings)).await
}

/// [`build`] with the given studios instead of the server's list.
pub async fn build_with(settings: &Settings, studios: Vec<Box<dyn Studio>>) -> anyhow::Result<App> {
    crate::tls::install_crypto_provider();
    let composition = Composition::new(studios)?;
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
        migrate_with(&db, &composition).await?;
    }
    let platform = Platform {
        db: db.clone(),
        blobs: blobs.clone(),
        queue: queue.clone(),
        web: composition.web(),
        settings: Arc::new(tutti_platform::Settings {
            public_url: settings.public_url.clone(),
            trust_proxy_headers: settings.trust_proxy_headers,
        }),
        roles: Arc::new(composition.roles()?),
        nav: Arc::new(composition.nav()),
        admin_tabs: Arc::new(composition.admin_tabs()),
    };
    let mut mounted = vec![
        Mounted::routes(tutti_platform::core::routes(&platform)),
        tutti_platform::uploads::mount(&platform, settings.uploads.clone()),
    ];
    for studio in composition.studios() {
        mounted.push(
            studio
                .mount(&platform)
                .with_context(|| format!("could not start the {} studio", studio.name()))?,
        );
    }
    let identity = mounted
        .iter()
        .find_map(|m| m.identity.clone())
        .context("no studio provides identities (the accounts studio is missing)")?;
    let accounts = Accounts::new(&platform, accounts_settings(settings))
        .map_err(|p| anyhow::anyhow!("{}", p.detail))
        .context("could not set up accounts")?;
    Ok(App {
        settings: settings.clone(),
        db,
        blobs,
        queue,
        platform,
        accounts,
        mounted: Arc::new(mounted),
        assets: Arc::new(composition.assets()),
        identity,
    })
}

/// Applies every studio's pending migrations.
pub async fn migrate(db: &Db, settings: &Settings) -> anyhow::Result<()> {
    migrate_with(db, &Composition::new(studios(settings))?).await
}

async fn migrate_with(db: &Db, composition: &Composition) -> anyhow::Result<()> {
    db.migrate(&composition.migrations()?)
        .await
        .context("could not migrate the database")
}

fn accounts_settings(settings: &Settings) -> tutti_accounts::Settings {
    tutti_accounts::Settings {
        public_url: settings.public_url.clone(),
        signup: settings.signup,
        session_days: settings.session_days,
        oidc: settings.oidc.clone(),
        smtp: settings.smtp.clone(),
    }
}

/// A worker with a handler for every kind of job the studios define.
pub fn worker(app: &App) -> Worker {
    let mut worker = Worker::new(app.queue.clone())
        .concurrency(app.settings.jobs.workers)
        .poll_every(Duration::from_millis(app.settings.jobs.poll_ms))
        .register(
            tutti_store::jobs::SELFTEST,
            tutti_store::jobs::SelfTest(app.db.clone()),
        )
        .with_retention(Duration::from_secs(
            app.settings.jobs.keep_done_days * 86_400,
        ))
        .grace(Duration::from_secs(app.settings.jobs.grace_secs));
    for m in app.mounted.iter() {
        if let Some(jobs) = &m.jobs {
            worker = jobs(worker);
        }
    }
    worker
}

/// Every route of every studio behind the gate (identity, CSRF, Origin), then the
/// platform's own endpoints, behind the layers all requests share.
pub fn router(app: &App) -> Router {
    let mut studios = Router::new();
    let mut openapi = utoipa::openapi::OpenApi::default();
    for m in app.mounted.iter() {
        studios = studios.merge(m.routes.router.clone());
        openapi.merge(m.routes.openapi.clone());
    }
    // Unknown paths go through the gate too, so a browser gets the error page.
    let studios = studios
        .fallback(|| async { Problem::from_status(StatusCode::NOT_FOUND) })
        .layer(axum::middleware::from_fn_with_state(
            Gate {
                platform: app.platform.clone(),
                provider: app.identity.clone(),
            },
            tutti_platform::identity::gate,
        ));
    let openapi = openapi_json(openapi);
    let max_body = app.settings.max_body_bytes;
    let access_level = if app.settings.access_log {
        Level::INFO
    } else {
        Level::DEBUG
    };
    // Routes that declared their own body limit (uploads) get it; the rest get max_body.
    let body_limits = tutti_platform::bodies::BodyLimits::new(max_body, &app.route_declarations());
    let trust_proxy = app.settings.trust_proxy_headers;

    Router::new()
        .merge(studios)
        .merge(health::router(app.db.clone(), app.blobs.clone()))
        .merge(metrics::router(app.queue.clone()))
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let body = openapi.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], body) }
            }),
        )
        .merge(tutti_web::assets::router(app.assets.to_vec()))
        .route_layer(axum::middleware::from_fn(metrics::mark_route))
        // Each `layer` wraps the ones before it: the body limits sit innermost and metrics
        // outermost, so even a refused request is traced and counted.
        .layer(DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::from_fn_with_state(
            body_limits,
            tutti_platform::bodies::limit_bodies,
        ))
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
                .on_response(DefaultOnResponse::new().level(access_level)),
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
    jobs_hard_stop: CancellationToken,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// Cancelling this token stops running jobs now instead of after their grace period;
    /// they go back on the queue for another worker.
    pub fn hard_stop_token(&self) -> CancellationToken {
        self.jobs_hard_stop.clone()
    }

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
    start_with(settings, Vec::new(), stop).await
}

/// [`start`] with more studios beside the server's own list.
pub async fn start_with(
    settings: &Settings,
    extra: Vec<Box<dyn Studio>>,
    stop: CancellationToken,
) -> anyhow::Result<Running> {
    crate::tls::install_crypto_provider();
    let bound = Bound::bind(settings).await?;
    let mut settings = settings.clone();
    // Asked for any free port: links must point at the one actually given.
    if settings.public_url.port() == Some(0) {
        let _ = settings.public_url.set_port(Some(bound.addr().port()));
    }
    let mut all = studios(&settings);
    all.extend(extra);
    let app = build_with(&settings, all).await?;

    let released = app.queue.release_orphans().await?;
    if released > 0 {
        tracing::info!(released, "re-queued jobs the previous run left unfinished");
    }
    let setup = tutti_accounts::admin::setup_link(&app.accounts)
        .await
        .map_err(|p| anyhow::anyhow!("{}", p.detail))
        .context("could not check whether the first admin exists")?;

    let url = settings.public_url.clone();
    let addr = bound.addr();
    let router = router(&app);
    let worker = worker(&app);
    let jobs_hard_stop = worker.shutdown_token();
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
        jobs_hard_stop,
        task,
    })
}

/// Starts the real server in-process for tests: the given settings, with `listen` moved to
/// a free port on 127.0.0.1 when it names a fixed one.
pub async fn spawn_for_tests(settings: Settings) -> anyhow::Result<Running> {
    spawn_studios_for_tests(settings, Vec::new()).await
}

/// [`spawn_for_tests`] with more studios beside the server's own, e.g. one a test defines.
pub async fn spawn_studios_for_tests(
    mut settings: Settings,
    extra: Vec<Box<dyn Studio>>,
) -> anyhow::Result<Running> {
    if settings.listen.port() != 0 {
        settings.listen = SocketAddr::from(([127, 0, 0, 1], 0));
        let scheme = if settings.tls_cert.is_some() {
            "https"
        } else {
            "http"
        };
        settings.public_url = Url::parse(&format!("{scheme}://127.0.0.1:0"))?;
    }
    start_with(&settings, extra, CancellationToken::new()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Message ids defined in one Fluent source.
    fn ids(source: &str) -> Vec<String> {
        source
            .lines()
            .filter_map(|l| l.split_once(" = ").map(|(id, _)| id.trim().to_string()))
            .filter(|id| !id.starts_with('#') && !id.is_empty() && !id.starts_with(' '))
            .collect()
    }

    #[test]
    fn the_studios_fit_together_and_speak_every_language() {
        let settings = Settings::with_data_dir("unused");
        let composition = Composition::new(studios(&settings)).expect("the studios fit");
        composition
            .migrations()
            .expect("no migration versions collide");

        let mut sources: Vec<&[(&str, &str)]> = vec![
            tutti_platform::core::MESSAGES,
            tutti_web::i18n::PLATFORM_MESSAGES,
        ];
        sources.extend(composition.studios().iter().map(|s| s.messages()));
        for files in sources {
            let english: Vec<String> = files
                .iter()
                .filter(|(l, _)| *l == "en")
                .flat_map(|(_, s)| ids(s))
                .collect();
            for (lang, source) in files.iter().filter(|(l, _)| *l != "en") {
                let other = ids(source);
                for id in &english {
                    assert!(other.contains(id), "{id} has no {lang} translation");
                }
                assert_eq!(
                    english.len(),
                    other.len(),
                    "{lang} has messages English lacks"
                );
            }
        }

        // Every message a template asks for exists in every language.
        let web = composition.web();
        let mut templates: Vec<&[(&str, &str)]> = vec![
            tutti_platform::core::TEMPLATES,
            tutti_web::render::TEMPLATES,
        ];
        templates.extend(composition.studios().iter().map(|s| s.templates()));
        for (name, template) in templates.into_iter().flatten() {
            for part in template.split("t(\"").skip(1) {
                let id = part.split('"').next().unwrap();
                if !id.ends_with('-') {
                    for lang in ["en", "he"] {
                        assert!(web.i18n().has(lang, id), "{name} asks for {id} in {lang}");
                    }
                }
            }
        }
    }
}
