//! WebSocket clients for virtual users (the choir's and meetings' rooms): a connection
//! from the user's own source address, carrying its session cookie and this site's
//! `Origin` as a browser's would. Plain `ws://` only for now (the benchmarks talk to a
//! server on the same machine).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use anyhow::{Context as _, bail};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use url::Url;

use crate::clients::HttpUser;

pub type Socket = WebSocketStream<TcpStream>;

/// Opens a WebSocket to `url` (`ws://host:port/path`) from `source`, sending `cookie`
/// (`name=value`) when given and `origin` as the `Origin` header.
pub async fn connect(
    url: &Url,
    source: Option<IpAddr>,
    cookie: Option<&str>,
    origin: &str,
) -> anyhow::Result<Socket> {
    connect_with(url, source, cookie, None, origin).await
}

/// [`connect`], with an API client's bearer token instead of (or besides) a session: the
/// meetings scenario's hosts open their socket with their token.
pub async fn connect_with(
    url: &Url,
    source: Option<IpAddr>,
    cookie: Option<&str>,
    bearer: Option<&str>,
    origin: &str,
) -> anyhow::Result<Socket> {
    if url.scheme() != "ws" {
        bail!("tutti-load speaks plain ws:// only, not {}", url.scheme());
    }
    let host = url.host_str().context("the WebSocket URL has no host")?;
    let port = url.port_or_known_default().unwrap_or(80);
    let target = tokio::net::lookup_host((host.trim_matches(['[', ']']), port))
        .await
        .with_context(|| format!("could not resolve {host}"))?
        .next()
        .with_context(|| format!("{host} has no address"))?;
    let stream = connect_from(target, source).await?;
    let mut request = url
        .as_str()
        .into_client_request()
        .context("not a WebSocket URL")?;
    let headers = request.headers_mut();
    headers.insert("origin", HeaderValue::from_str(origin)?);
    if let Some(cookie) = cookie {
        headers.insert("cookie", HeaderValue::from_str(cookie)?);
    }
    if let Some(token) = bearer {
        headers.insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {token}"))?,
        );
    }
    let (socket, _) = tokio_tungstenite::client_async(request, stream)
        .await
        .with_context(|| format!("WebSocket handshake with {url} failed"))?;
    Ok(socket)
}

/// Opens a WebSocket to `path` on `user`'s server, as that user (its source address and
/// session).
pub async fn connect_as(user: &HttpUser, path: &str) -> anyhow::Result<Socket> {
    let mut url = user.url(path);
    let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
    url.set_scheme(scheme)
        .map_err(|()| anyhow::anyhow!("cannot make a WebSocket URL of {url}"))?;
    let cookie = user.session.as_ref().map(|s| s.cookie.as_str());
    let origin = user.base.origin().ascii_serialization();
    connect(&url, user.source, cookie, &origin).await
}

/// A TCP connection to `target` bound to `source` (any port) when given.
async fn connect_from(target: SocketAddr, source: Option<IpAddr>) -> anyhow::Result<TcpStream> {
    let socket = if target.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if let Some(source) = source {
        socket
            .bind(SocketAddr::new(source, 0))
            .with_context(|| format!("could not bind the source address {source}"))?;
    } else {
        let any = if target.is_ipv4() {
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        } else {
            IpAddr::V6(Ipv6Addr::UNSPECIFIED)
        };
        socket.bind(SocketAddr::new(any, 0))?;
    }
    let stream = socket
        .connect(target)
        .await
        .with_context(|| format!("could not connect to {target}"))?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::{SinkExt as _, StreamExt as _};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};

    // The handshake callback's error type is tungstenite's, large or not.
    #[allow(clippy::result_large_err)]
    #[tokio::test]
    async fn connects_from_its_source_with_cookie_and_origin() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (stream, peer) = listener.accept().await.unwrap();
            let mut seen = (String::new(), String::new());
            let mut ws =
                tokio_tungstenite::accept_hdr_async(stream, |req: &Request, res: Response| {
                    let h = |name| {
                        req.headers()
                            .get(name)
                            .and_then(|v: &HeaderValue| v.to_str().ok())
                            .unwrap_or_default()
                            .to_string()
                    };
                    seen = (h("cookie"), h("origin"));
                    Ok(res)
                })
                .await
                .unwrap();
            let message = ws.next().await.unwrap().unwrap();
            ws.send(message).await.unwrap();
            (peer.ip(), seen)
        });
        let source = crate::sources::loopback_source(41);
        let url = Url::parse(&format!("ws://{addr}/ws")).unwrap();
        let mut socket = connect(&url, Some(source), Some("tutti_session=s3"), "http://x")
            .await
            .unwrap();
        socket.send(Message::text("hello")).await.unwrap();
        let echo = socket.next().await.unwrap().unwrap();
        assert_eq!(echo.into_text().unwrap().as_str(), "hello");
        let (peer, (cookie, origin)) = server.await.unwrap();
        assert_eq!(peer, source);
        assert_eq!(cookie, "tutti_session=s3");
        assert_eq!(origin, "http://x");
        assert!(
            connect(&Url::parse("wss://x/").unwrap(), None, None, "")
                .await
                .is_err()
        );
    }
}
