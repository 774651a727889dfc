//! Composition: turns [`Settings`] into connected services, one router over every studio's
//! routes with the cross-cutting layers (identity and CSRF once for all, limits, tracing,
//! metrics, problem+json for bare errors), and a running server with its job worker. The
//! studios are listed once, in [`studios`]; everything else iterates over them.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tutti_accounts::admin::Setup;
use tutti_accounts::{Accounts, AccountsStudio};
use tutti_platform::identity::Gate;
use tutti_platform::{
    AllowFraming, ClientIp, Composition, IdentityProvider, Mounted, Platform, RouteDecl, Studio,
};
use tutti_store::{Blobs, Db, Queue, Worker};
use tutti_web::Problem;
use url::Url;

use crate::config::Settings;
use crate::serve::Bound;
use crate::{health, metrics};

/// The studios this server runs, each with its section of the settings. Adding a studio
/// is one line here (and its crate in `Cargo.toml`); a studio with settings of its own
/// reads them with `settings.studio::<ItsSettings>("name")?`.
pub fn studios(settings: &Settings) -> anyhow::Result<Vec<Box<dyn Studio>>> {
    Ok(vec![
        Box::new(AccountsStudio {
            settings: accounts_settings(settings),
        }),
        Box::new(tutti_recital::RecitalStudio {
            settings: settings.studio("recital")?,
        }),
        Box::new(tutti_music::MusicStudio {
            settings: settings.studio("music")?,
            data_dir: settings.data_dir.clone(),
        }),
        Box::new(tutti_choir::ChoirStudio),
        Box::new(tutti_meetings::MeetingsStudio {
            smtp: settings.smtp.clone(),
            settings: settings.studio("meetings")?,
        }),
    ])
}

/// `settings` with every studio's section as the studio runs with it (defaults filled
/// in), for `tutti config`.
pub fn effective_settings(settings: &Settings) -> anyhow::Result<Settings> {
    let studios = studios(settings)?;
    let mut effective = settings.clone();
    check_studio_sections(settings, &studios)?;
    for studio in &studios {
        if let Some(section) = studio.settings() {
            effective.studios.insert(studio.name().to_string(), section);
        }
    }
    Ok(effective)
}

fn check_studio_sections(settings: &Settings, studios: &[Box<dyn Studio>]) -> anyhow::Result<()> {
    let with_settings: Vec<&str> = studios
        .iter()
        .filter(|s| s.settings().is_some())
        .map(|s| s.name())
        .collect();
    settings.check_studio_sections(&with_settings)
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
    /// Path prefixes whose next segment is a secret, kept out of the request log.
    secret_paths: Arc<Vec<&'static str>>,
    own_credentials: Arc<Vec<&'static str>>,
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
    build_with(settings, studios(settings)?).await
}

/// [`build`] with the given studios instead of the server's list.
pub async fn build_with(settings: &Settings, studios: Vec<Box<dyn Studio>>) -> anyhow::Result<App> {
    crate::tls::install_crypto_provider();
    check_studio_sections(settings, &studios)?;
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
    let blobs = Blobs::open(&settings.blob_url, &settings.blob_options)
        .with_context(|| {
            format!(
                "could not open the blob store {}: check blob_url and blob_options",
                tutti_store::db::redact_url(&settings.blob_url)
            )
        })?
        .with_memory_cache(settings.blob_memory_cache_mib.saturating_mul(1024 * 1024));
    let queue = Queue::new(db.clone())
        .with_stale_after(Duration::from_secs(settings.jobs.stale_after_secs));
    if settings.migrate_on_start {
        migrate_with(&db, &composition).await?;
    }
    let platform = Platform::new(tutti_platform::Services {
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
        sockets: tutti_platform::ws::Hub::new(db.clone(), settings.websocket.clone()),
        forgetting: tutti_platform::Forgetting::default(),
    });
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
    for forget in mounted.iter().filter_map(|m| m.forget.clone()) {
        platform.forgetting.add(forget);
    }
    let identity = mounted
        .iter()
        .find_map(|m| m.identity.clone())
        .context("no studio provides identities (the accounts studio is missing)")?;
    let accounts = Accounts::new(&platform, accounts_settings(settings))
        .map_err(|e| anyhow::anyhow!("{}", Problem::from(e).detail))
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
        secret_paths: Arc::new(composition.secret_paths()),
        own_credentials: Arc::new(composition.own_credentials()),
    })
}

/// Applies every studio's pending migrations.
pub async fn migrate(db: &Db, settings: &Settings) -> anyhow::Result<()> {
    migrate_with(db, &Composition::new(studios(settings)?)?).await
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
        limits: settings.limits.clone(),
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
    // Any request that may write (through any studio: a key revoked on the music page,
    // an account deleted by recital) may change who is who; music apps' calls (often
    // all POSTs) cannot.
    let provider = app.identity.clone();
    let studios = tutti_platform::brief::forget_on_writes(
        studios,
        Arc::new(move || provider.forget_remembered()),
        |path| path.starts_with("/rest/"),
    );
    // Unknown paths go through the gate too, so a browser gets the error page.
    let studios = studios
        .fallback(|| async { Problem::from_status(StatusCode::NOT_FOUND) })
        .layer(axum::middleware::from_fn_with_state(
            Gate {
                platform: app.platform.clone(),
                provider: app.identity.clone(),
                own_credentials: app.own_credentials.clone(),
            },
            tutti_platform::identity::gate,
        ));
    let openapi = openapi_json(app, openapi);
    let max_body = app.settings.max_body_bytes;
    // Routes that declared their own body limit (uploads) get it; the rest get max_body.
    let body_limits = tutti_platform::bodies::BodyLimits::new(max_body, &app.route_declarations());
    let edge = Arc::new(Edge {
        proxies: Proxies::from_settings(&app.settings),
        secret_paths: app.secret_paths.clone(),
        headers: SecurityHeaders::new(&app.settings),
        access_log: app.settings.access_log,
    });

    Router::new()
        .merge(studios)
        .merge(health::router(app.db.clone(), app.blobs.clone()))
        .merge(metrics::router(
            app.queue.clone(),
            app.settings.metrics_token.clone(),
        ))
        .route(
            "/api/v1/openapi.json",
            get(move || {
                let body = openapi.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], body) }
            }),
        )
        .merge(tutti_web::assets::router(app.assets.to_vec()))
        .route_layer(axum::middleware::from_fn(metrics::mark_route))
        // Each `layer` wraps the ones before it: the body limits sit innermost and the
        // edge outermost, so even a refused request is traced and counted.
        .layer(DefaultBodyLimit::max(max_body))
        .layer(axum::middleware::from_fn_with_state(
            body_limits,
            tutti_platform::bodies::limit_bodies,
        ))
        .layer(axum::middleware::from_fn_with_state(edge, at_the_edge))
}

/// What every request meets first and every answer last. It is one layer, not six: each
/// layer costs every request a boxed future and a clone of the stack inside it, which was
/// a tenth of a streamed range's CPU.
struct Edge {
    /// Which peers may say who the client is.
    proxies: Proxies,
    /// Path prefixes whose next segment is a secret, left out of the log.
    secret_paths: Arc<Vec<&'static str>>,
    headers: SecurityHeaders,
    /// `access_log`: one line per request at info level, or at debug level only.
    access_log: bool,
}

/// Names the client, opens the request's span (so every line logged while answering says
/// which request it was about), refuses oversized heads, turns bare errors into problem
/// documents, then logs, counts and dresses the answer with the security headers.
async fn at_the_edge(
    axum::extract::State(edge): axum::extract::State<Arc<Edge>>,
    mut req: Request,
    next: axum::middleware::Next,
) -> Response {
    use tracing::Instrument as _;
    let start = std::time::Instant::now();
    let method = req.method().clone();
    let client = ClientIp(client_ip(&req, &edge.proxies));
    req.extensions_mut().insert(client);
    let span = tracing::info_span!(
        "request",
        method = %method,
        path = %capped(&redact_secrets(req.uri().path(), &edge.secret_paths)),
        client = %client,
    );
    let response = async {
        let response = match refuse_oversized_head(&req) {
            Some(refused) => refused,
            None => problem_for_bare_errors(next.run(req).await).await,
        };
        let (status, latency) = (response.status().as_u16(), start.elapsed());
        if response.status().is_server_error() {
            tracing::error!(status, ?latency, "response failed");
        } else if edge.access_log {
            tracing::info!(status, ?latency, "finished processing request");
        } else {
            tracing::debug!(status, ?latency, "finished processing request");
        }
        response
    }
    .instrument(span)
    .await;
    metrics::record(&method, &response, start.elapsed());
    edge.headers.apply(response)
}

/// The longest request target (path and query) the server reads; browsers and proxies
/// rarely pass more than 8 KiB anyway.
pub const MAX_URI_BYTES: usize = 8 << 10;
/// The most bytes of header fields one request may carry.
pub const MAX_HEAD_BYTES: usize = 64 << 10;

/// The refusal of an oversized request target or head, as a problem document. It is
/// checked inside the request log, so these refusals are logged like any answer; hyper reads heads well past
/// these bounds ([`crate::serve`]) so that they get here instead of a bare status.
fn refuse_oversized_head(req: &Request) -> Option<Response> {
    let target = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if target > MAX_URI_BYTES {
        return Some(
            Problem::new(
                StatusCode::URI_TOO_LONG,
                "uri-too-long",
                format!(
                    "The address is {target} bytes long; this server reads at most {MAX_URI_BYTES}."
                ),
            )
            .into_response(),
        );
    }
    let field_bytes = |(name, value): (&header::HeaderName, &axum::http::HeaderValue)| {
        name.as_str().len() + value.len() + 4
    };
    let head: usize = req.headers().iter().map(field_bytes).sum();
    if head > MAX_HEAD_BYTES {
        let largest = req
            .headers()
            .iter()
            .max_by_key(|field| field_bytes(*field))
            .map(|(name, _)| name.as_str().to_string());
        let mut problem = Problem::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers-too-large",
            format!(
                "The request's headers take {head} bytes; this server reads at most {MAX_HEAD_BYTES}."
            ),
        );
        if let Some(name) = largest {
            problem = problem.with_field(name);
        }
        return Some(problem.into_response());
    }
    None
}

/// At most 256 characters of a logged path: the rest says how much was cut.
fn capped(path: &str) -> std::borrow::Cow<'_, str> {
    match path.char_indices().nth(256) {
        None => path.into(),
        Some((at, _)) => format!("{}…(+{} bytes)", &path[..at], path.len() - at).into(),
    }
}

/// `path` with the segment after each secret-bearing prefix (`/invite/…`) written as
/// `REDACTED`, for the request log.
pub fn redact_secrets<'a>(path: &'a str, prefixes: &[&str]) -> std::borrow::Cow<'a, str> {
    for prefix in prefixes {
        if let Some(rest) = path.strip_prefix(prefix)
            && !rest.is_empty()
        {
            let tail = rest.find('/').map_or("", |at| &rest[at..]);
            return format!("{prefix}REDACTED{tail}").into();
        }
    }
    path.into()
}

/// The headers every response carries: a strict Content-Security-Policy (pages use only
/// their own scripts, styles and media, and are not framed), no MIME sniffing, referrers
/// only within this site, and HSTS when the public address is https. A handler may set
/// its own value of any of them; a route that may be framed says so with
/// [`AllowFraming`].
struct SecurityHeaders {
    hsts: bool,
    /// The policy for pages nobody may frame (nearly all), made once.
    unframed: axum::http::HeaderValue,
}

/// The policy, with `{frame}` standing for the `frame-ancestors` sources.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; \
     frame-ancestors {frame}; base-uri 'none'; form-action 'self'";

impl SecurityHeaders {
    fn new(settings: &Settings) -> SecurityHeaders {
        SecurityHeaders {
            hsts: settings.public_url.scheme() == "https",
            unframed: axum::http::HeaderValue::from_str(&CSP.replace("{frame}", "'none'"))
                .expect("the policy is a valid header value"),
        }
    }

    fn apply(&self, mut response: Response) -> Response {
        use axum::http::HeaderValue;
        let framing = response.extensions().get::<AllowFraming>().copied();
        let headers = response.headers_mut();
        let csp = match framing {
            None => Some(self.unframed.clone()),
            Some(f) => HeaderValue::from_str(&CSP.replace("{frame}", f.0)).ok(),
        };
        if let Some(csp) = csp {
            headers
                .entry(header::CONTENT_SECURITY_POLICY)
                .or_insert(csp);
        }
        if framing.is_none() {
            headers
                .entry(header::X_FRAME_OPTIONS)
                .or_insert(HeaderValue::from_static("DENY"));
        }
        headers
            .entry(header::X_CONTENT_TYPE_OPTIONS)
            .or_insert(HeaderValue::from_static("nosniff"));
        headers
            .entry(header::REFERRER_POLICY)
            .or_insert(HeaderValue::from_static("same-origin"));
        if self.hsts {
            headers
                .entry(header::STRICT_TRANSPORT_SECURITY)
                .or_insert(HeaderValue::from_static("max-age=31536000"));
        }
        response
    }
}

/// The API description, completed by the platform ([`tutti_platform::openapi`]);
/// serialized once, since it never changes while the process runs.
fn openapi_json(app: &App, openapi: utoipa::openapi::OpenApi) -> Bytes {
    let doc = tutti_platform::openapi::document(
        openapi,
        &app.route_declarations(),
        &app.platform.roles,
        env!("CARGO_PKG_VERSION"),
    );
    Bytes::from(serde_json::to_vec(&doc).expect("OpenAPI serializes"))
}

/// Which connections may say who the client is (`X-Forwarded-For`).
#[derive(Debug, Clone, Default)]
pub struct Proxies {
    /// `trust_proxy_headers`: without it the header is ignored.
    pub enabled: bool,
    /// `trusted_proxies`; empty means loopback and private networks.
    pub trusted: Vec<ipnet::IpNet>,
}

impl Proxies {
    pub fn from_settings(settings: &Settings) -> Proxies {
        Proxies {
            enabled: settings.trust_proxy_headers,
            trusted: settings
                .trusted_proxies
                .iter()
                .filter_map(|p| crate::config::parse_proxy(p))
                .collect(),
        }
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        if !self.trusted.is_empty() {
            return self.trusted.iter().any(|net| net.contains(&ip));
        }
        match ip {
            IpAddr::V4(v4) => v4.is_loopback() || v4.is_private() || v4.is_link_local(),
            IpAddr::V6(v6) => {
                v6.is_loopback() || v6.is_unique_local() || v6.is_unicast_link_local()
            }
        }
    }
}

/// One `X-Forwarded-For` entry: an address, possibly with a port (`[::1]:80`, `1.2.3.4:5`).
fn forwarded_ip(raw: &str) -> Option<IpAddr> {
    let raw = raw.trim();
    raw.parse::<IpAddr>()
        .ok()
        .or_else(|| raw.parse::<SocketAddr>().ok().map(|a| a.ip()))
        .map(|ip| ip.to_canonical())
}

/// Who sent a request: the peer of the connection; or, when proxy headers are trusted and
/// the peer is a trusted proxy, the right-most `X-Forwarded-For` hop that is not a trusted
/// proxy (each proxy appends the address it saw, so entries left of the last untrusted
/// one were written by the client and prove nothing). `None` without a connection.
pub fn client_ip<B>(req: &axum::http::Request<B>, proxies: &Proxies) -> Option<IpAddr> {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_canonical())?;
    if !proxies.enabled || !proxies.trusts(peer) {
        return Some(peer);
    }
    let hops: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        match forwarded_ip(hop) {
            Some(ip) if proxies.trusts(ip) => client = ip,
            Some(ip) => return Some(ip),
            // Garbage: the hop that wrote it is the last one we can believe.
            None => return Some(client),
        }
    }
    Some(client)
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

/// How long open WebSockets get to send their close frames when the server stops.
const SOCKETS_GRACE: Duration = Duration::from_secs(5);

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
    let mut all = studios(&settings)?;
    all.extend(extra);
    let app = build_with(&settings, all).await?;

    let released = app.queue.release_orphans().await?;
    if released > 0 {
        tracing::info!(released, "re-queued jobs the previous run left unfinished");
    }
    let setup = tutti_accounts::admin::setup_on_start(&app.accounts)
        .await
        .map_err(|e| anyhow::anyhow!("{}", Problem::from(e).detail))
        .context("could not check whether the first admin exists")?;

    let url = settings.public_url.clone();
    let addr = bound.addr();
    let router = router(&app);
    let worker = worker(&app);
    let jobs_hard_stop = worker.shutdown_token();
    let db = app.db.clone();
    let server_stop = stop.clone();
    // Upgraded sockets are not requests the HTTP server waits for: they hear "going away"
    // (1001) as soon as the stop begins, and the stop waits for their close frames.
    let sockets = app.platform.sockets.clone();
    tokio::spawn({
        let (stop, sockets) = (stop.clone(), sockets.clone());
        async move {
            stop.cancelled().await;
            sockets.close_all();
        }
    });
    let task = tokio::spawn(async move {
        let worker_stop = CancellationToken::new();
        let worker = worker.spawn(worker_stop.clone());
        let served = bound.serve(router, server_stop).await;
        sockets.shutdown(SOCKETS_GRACE).await;
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
    match setup {
        Setup::Done => {}
        Setup::NewLink(link) => tracing::warn!(
            "No account exists yet. Open this link to create the first admin: {link}"
        ),
        Setup::LinkOpen { expires_at } => tracing::warn!(
            "No account exists yet. The one-time link to create the first admin was shown \
             when it was made and stays valid until {}; it is stored hashed and cannot be \
             shown again. Run `tutti admin setup-link` for a fresh one (the old one stops \
             working).",
            crate::cli::format_time(expires_at)
        ),
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

    fn request(peer: &str, forwarded: &[&str]) -> axum::http::Request<()> {
        let mut req = axum::http::Request::new(());
        let peer: SocketAddr = format!("{peer}:4000").parse().unwrap();
        req.extensions_mut().insert(ConnectInfo(peer));
        for value in forwarded {
            req.headers_mut()
                .append("x-forwarded-for", value.parse().unwrap());
        }
        req
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn the_client_is_the_right_most_hop_no_trusted_proxy_wrote() {
        let on = Proxies {
            enabled: true,
            trusted: Vec::new(),
        };
        // The client made up the left-most entry; the proxy appended what it saw.
        let spoofed = request("127.0.0.1", &["6.6.6.6, 203.0.113.9"]);
        assert_eq!(client_ip(&spoofed, &on), ip("203.0.113.9"));
        // Proxies in a chain on private networks are skipped.
        let chain = request("10.0.0.2", &["203.0.113.9, 10.0.0.1", "192.168.1.5"]);
        assert_eq!(client_ip(&chain, &on), ip("203.0.113.9"));
        // A peer that is not a proxy is the client, whatever it claims.
        let direct = request("198.51.100.7", &["203.0.113.9"]);
        assert_eq!(client_ip(&direct, &on), ip("198.51.100.7"));
        // Only trusted proxies, and garbage: the nearest believable hop.
        assert_eq!(
            client_ip(&request("127.0.0.1", &["10.0.0.1"]), &on),
            ip("10.0.0.1")
        );
        assert_eq!(
            client_ip(&request("127.0.0.1", &["nonsense, 10.0.0.1"]), &on),
            ip("10.0.0.1")
        );
        assert_eq!(
            client_ip(&request("127.0.0.1", &["[2001:db8::1]:443"]), &on),
            ip("2001:db8::1")
        );
        // Without the setting the header means nothing.
        let off = Proxies::default();
        assert_eq!(client_ip(&spoofed, &off), ip("127.0.0.1"));
        // A trusted_proxies list replaces the private networks.
        let listed = Proxies {
            enabled: true,
            trusted: vec!["198.51.100.0/24".parse().unwrap()],
        };
        let via_cdn = request("198.51.100.7", &["10.0.0.3, 198.51.100.8"]);
        assert_eq!(client_ip(&via_cdn, &listed), ip("10.0.0.3"));
        assert_eq!(
            client_ip(&request("127.0.0.1", &["203.0.113.9"]), &listed),
            ip("127.0.0.1")
        );
        assert_eq!(client_ip(&axum::http::Request::new(()), &on), None);
    }

    #[test]
    fn secrets_in_paths_are_redacted_for_the_log() {
        let prefixes = ["/setup/", "/invite/", "/password/reset/"];
        assert_eq!(
            redact_secrets("/invite/abcDEF123_-", &prefixes),
            "/invite/REDACTED"
        );
        assert_eq!(
            redact_secrets("/password/reset/abc/more", &prefixes),
            "/password/reset/REDACTED/more"
        );
        assert_eq!(redact_secrets("/invite/", &prefixes), "/invite/");
        assert_eq!(redact_secrets("/profile", &prefixes), "/profile");
    }

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
        let composition = Composition::new(studios(&settings).unwrap()).expect("the studios fit");
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
