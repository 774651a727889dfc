//! Accepting connections: plain HTTP, or HTTPS when a certificate is configured, and a
//! graceful stop that lets requests in flight finish.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum_server::tls_rustls::RustlsConfig;
use tokio_util::sync::CancellationToken;

use crate::config::Settings;

/// How long requests in flight (and long-lived streams) get after a stop is asked for.
const GRACE: Duration = Duration::from_secs(30);

/// A bound socket, ready to serve. Binding comes first so the real address (port 0 in
/// tests) is known before the app is built with it.
pub struct Bound {
    listener: std::net::TcpListener,
    tls: Option<RustlsConfig>,
    addr: SocketAddr,
}

impl Bound {
    pub async fn bind(settings: &Settings) -> anyhow::Result<Bound> {
        let tls = match (&settings.tls_cert, &settings.tls_key) {
            (Some(cert), Some(key)) => Some(crate::tls::load(cert, key).await?),
            _ => None,
        };
        let listener = std::net::TcpListener::bind(settings.listen).with_context(|| {
            format!(
                "could not listen on {}: is another program using the port? Choose another \
                 with --listen or TUTTI_LISTEN",
                settings.listen
            )
        })?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        Ok(Bound {
            listener,
            tls,
            addr,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Serves until `stop` is cancelled, then waits up to [`GRACE`] for open requests.
    pub async fn serve(self, router: Router, stop: CancellationToken) -> anyhow::Result<()> {
        let service = router.into_make_service_with_connect_info::<SocketAddr>();
        let handle = axum_server::Handle::new();
        let stopper = {
            let stop = stop.clone();
            let handle = handle.clone();
            tokio::spawn(async move {
                stop.cancelled().await;
                handle.graceful_shutdown(Some(GRACE));
            })
        };
        let result = match self.tls {
            None => {
                let mut server = axum_server::from_tcp(self.listener)?.handle(handle);
                read_whole_heads(server.http_builder());
                server
                    .serve(service)
                    .await
                    .context("the HTTP server stopped")
            }
            Some(config) => {
                let mut server =
                    axum_server::from_tcp_rustls(self.listener, config)?.handle(handle);
                read_whole_heads(server.http_builder());
                server
                    .serve(service)
                    .await
                    .context("the HTTPS server stopped")
            }
        };
        stopper.abort();
        result
    }
}

/// The request head hyper may read before it refuses the request itself, with a bare
/// status and no log line. It is well above what the server accepts
/// ([`crate::app::MAX_HEAD_BYTES`]), so that oversized heads reach the router, which
/// refuses them with a problem document and logs them like any request.
const READ_BUFFER: usize = 2 << 20;

/// How many header fields hyper parses, its own default: browsers send about twenty, and
/// each request sets aside room for this many (a larger count costs every request an
/// allocation), while the bytes of a head are bounded by the router, not here.
const MAX_HEADER_FIELDS: usize = 100;

fn read_whole_heads(
    builder: &mut hyper_util::server::conn::auto::Builder<hyper_util::rt::TokioExecutor>,
) {
    builder
        .http1()
        .max_buf_size(READ_BUFFER)
        .max_headers(MAX_HEADER_FIELDS);
}

/// Resolves on Ctrl-C or SIGTERM (what `docker stop` and systemd send).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
