//! Fetching a web page for a reviewer who pasted a URL.
//!
//! The server makes the request, so a URL is a way to make the server talk to whatever it
//! can reach: its own admin ports, the cloud metadata service at 169.254.169.254, the
//! database on the private network. We therefore resolve the name ourselves, refuse it if
//! any of its addresses is not public, and pin the connection to exactly the addresses we
//! checked (reqwest's `resolve_to_addrs`), so a DNS answer that changes between our check
//! and the connection (DNS rebinding) cannot slip through. Redirects are followed by hand,
//! each hop checked the same way; proxies from the environment are ignored because they
//! would make the pinned address meaningless. The body is read in chunks and abandoned
//! past the size limit, and the whole exchange, DNS included, runs under one deadline.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_TYPE, LOCATION};
use url::{Host, Url};

use super::{Format, TextError};

const FIELD: &str = "url";
const MAX_REDIRECTS: usize = 5;

/// Rules for fetching a web page by URL on behalf of a reviewer.
#[derive(Debug, Clone)]
pub struct FetchPolicy {
    /// Largest body accepted, in bytes.
    pub max_bytes: u64,
    /// Deadline for the whole fetch: name resolution, redirects and the body.
    pub timeout: Duration,
    /// Whether private and local addresses may be fetched (tests, intranet deployments).
    pub allow_private: bool,
}

impl Default for FetchPolicy {
    /// 10 MiB, 15 seconds, public addresses only: generous for any article, short of a
    /// denial of service.
    fn default() -> Self {
        FetchPolicy {
            max_bytes: 10 * 1024 * 1024,
            timeout: Duration::from_secs(15),
            allow_private: false,
        }
    }
}

/// Fetches an http(s) URL: refuses other schemes, refuses hosts that resolve to loopback,
/// private (RFC 1918, fc00::/7), link-local, unspecified, multicast, CGNAT 100.64/10 or
/// other non-global addresses unless `allow_private`, checks every address the name
/// resolves to and connects only to those, follows at most 5 redirects re-checking each,
/// stops reading past `max_bytes` (kind "too-large"), fails after `timeout`, and refuses a
/// Content-Type that is not a text format. Returns the body and its Format.
pub async fn fetch(url: &Url, policy: &FetchPolicy) -> Result<(Vec<u8>, Format), TextError> {
    let allow_private = policy.allow_private;
    fetch_checked(url, policy, &move |ip| allow_private || is_public(ip)).await
}

/// [`fetch`] with the address rule as a parameter, so tests can allow 127.0.0.1 alone and
/// prove that a redirect to another local address is refused.
async fn fetch_checked(
    url: &Url,
    policy: &FetchPolicy,
    allowed: &(dyn Fn(IpAddr) -> bool + Sync),
) -> Result<(Vec<u8>, Format), TextError> {
    match tokio::time::timeout(policy.timeout, follow(url, policy, allowed)).await {
        Ok(result) => result,
        Err(_) => Err(timed_out(policy.timeout)),
    }
}

async fn follow(
    url: &Url,
    policy: &FetchPolicy,
    allowed: &(dyn Fn(IpAddr) -> bool + Sync),
) -> Result<(Vec<u8>, Format), TextError> {
    let mut current = url.clone();
    for _ in 0..=MAX_REDIRECTS {
        let (domain, addresses) = checked_addresses(&current, allowed).await?;
        let response = request(&current, domain.as_deref(), &addresses, policy).await?;
        let status = response.status();
        if status.is_redirection()
            && let Some(location) = response.headers().get(LOCATION)
        {
            let location = location.to_str().map_err(|_| TextError::FetchFailed {
                field: FIELD,
                detail: "the server redirected to an address that is not valid text".to_owned(),
            })?;
            current = current.join(location).map_err(|error| TextError::BadUrl {
                field: FIELD,
                detail: format!("the server redirected to an invalid address ({error})"),
            })?;
            continue;
        }
        if !status.is_success() {
            return Err(TextError::FetchFailed {
                field: FIELD,
                detail: format!(
                    "the server answered {status} for {}; check that the page is public and the address is right",
                    host_of(&current)
                ),
            });
        }
        return read(response, &current, policy).await;
    }
    Err(TextError::TooManyRedirects {
        field: FIELD,
        detail: format!(
            "the page redirected more than {MAX_REDIRECTS} times; paste the address it finally lands on"
        ),
    })
}

fn host_of(url: &Url) -> String {
    url.host_str().unwrap_or("the server").to_owned()
}

/// The addresses to connect to for `url`, each one allowed, and the domain name to pin
/// them to (None for an IP literal, which needs no resolution).
async fn checked_addresses(
    url: &Url,
    allowed: &(dyn Fn(IpAddr) -> bool + Sync),
) -> Result<(Option<String>, Vec<SocketAddr>), TextError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(TextError::UnsupportedScheme {
            field: FIELD,
            detail: format!(
                "only http and https addresses can be fetched, not \"{}:\"",
                url.scheme()
            ),
        });
    }
    let port = url.port_or_known_default().unwrap_or(80);
    let refused = |host: &str| TextError::PrivateAddress {
        field: FIELD,
        detail: format!(
            "{host} is, or resolves to, an address on a private or local network; only public web pages can be fetched"
        ),
    };
    let (domain, addresses) = match url.host() {
        None => {
            return Err(TextError::BadUrl {
                field: FIELD,
                detail: "the address has no host name".to_owned(),
            });
        }
        Some(Host::Ipv4(ip)) => (None, vec![SocketAddr::new(IpAddr::V4(ip), port)]),
        Some(Host::Ipv6(ip)) => (None, vec![SocketAddr::new(ip.into(), port)]),
        Some(Host::Domain(name)) => {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((name, port))
                .await
                .map_err(|_| unresolvable(name))?
                .collect();
            if found.is_empty() {
                return Err(unresolvable(name));
            }
            (Some(name.to_owned()), found)
        }
    };
    // Every address must pass: a name with one public and one private address would let
    // the connector pick the private one.
    if addresses.iter().any(|address| !allowed(address.ip())) {
        return Err(refused(&host_of(url)));
    }
    Ok((domain, addresses))
}

fn unresolvable(name: &str) -> TextError {
    TextError::Unresolvable {
        field: FIELD,
        detail: format!("the host name {name} could not be found; check the address"),
    }
}

fn timed_out(timeout: Duration) -> TextError {
    TextError::Timeout {
        field: FIELD,
        detail: format!(
            "the page did not arrive within {} seconds; try again later or upload it as a file",
            timeout.as_secs_f64()
        ),
    }
}

async fn request(
    url: &Url,
    domain: Option<&str>,
    addresses: &[SocketAddr],
    policy: &FetchPolicy,
) -> Result<reqwest::Response, TextError> {
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .connect_timeout(policy.timeout)
        .user_agent(concat!(
            "Tutti/",
            env!("CARGO_PKG_VERSION"),
            " (recital text import)"
        ));
    if let Some(domain) = domain {
        builder = builder.resolve_to_addrs(domain, addresses);
    }
    let client = builder.build().map_err(|error| TextError::FetchFailed {
        field: FIELD,
        detail: format!("the HTTP client could not start: {error}"),
    })?;
    client
        .get(url.clone())
        .header(
            ACCEPT,
            "text/html, application/xhtml+xml, text/plain, text/markdown;q=0.9, */*;q=0.1",
        )
        .send()
        .await
        .map_err(|error| failed(url, &error, policy))
}

fn failed(url: &Url, error: &reqwest::Error, policy: &FetchPolicy) -> TextError {
    if error.is_timeout() {
        return timed_out(policy.timeout);
    }
    let what = if error.is_connect() {
        "could not connect to"
    } else {
        "could not read the page from"
    };
    TextError::FetchFailed {
        field: FIELD,
        detail: format!("the server {what} {}", host_of(url)),
    }
}

/// The body, if it is text and not too large.
async fn read(
    mut response: reqwest::Response,
    url: &Url,
    policy: &FetchPolicy,
) -> Result<(Vec<u8>, Format), TextError> {
    let from_path = Format::from_file_name(url.path());
    let declared = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let format = match declared.as_deref() {
        // Raw file hosts serve Markdown as text/plain; the name knows better.
        Some(value) => match Format::from_content_type(value) {
            Some(Format::Plain) if from_path == Some(Format::Markdown) => Some(Format::Markdown),
            Some(format) => Some(format),
            None if value.trim().starts_with("application/octet-stream") => from_path,
            None => None,
        },
        None => from_path,
    };
    let Some(format) = format else {
        return Err(TextError::NotText {
            field: FIELD,
            detail: match declared {
                Some(value) => format!(
                    "the address points to \"{}\", not a web page or text file",
                    value.split(';').next().unwrap_or("").trim()
                ),
                None => "the server did not say what the address points to, and its name does not end in .html, .txt or .md".to_owned(),
            },
        });
    };

    let too_large = || TextError::TooLarge {
        field: FIELD,
        limit: policy.max_bytes,
        detail: format!(
            "the page is larger than {}; upload the part you need as a file",
            human_size(policy.max_bytes)
        ),
    };
    if response
        .content_length()
        .is_some_and(|length| length > policy.max_bytes)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|error| failed(url, &error, policy))?
    {
        if (body.len() + chunk.len()) as u64 > policy.max_bytes {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, format))
}

fn human_size(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= 1024 && bytes.is_multiple_of(1024) {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

/// Whether an address is on the public internet. std's `is_global` is still unstable, so
/// this is the IANA special-purpose registries by hand, erring towards refusal.
fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_public_v4(ip),
        IpAddr::V6(ip) => {
            if let Some(v4) = ip.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let s = ip.segments();
            let embedded = |high: u16, low: u16| {
                let [a, b] = high.to_be_bytes();
                let [c, d] = low.to_be_bytes();
                Ipv4Addr::new(a, b, c, d)
            };
            // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) carry an IPv4 address inside.
            if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                return is_public_v4(embedded(s[6], s[7]));
            }
            if s[0] == 0x2002 {
                return is_public_v4(embedded(s[1], s[2]));
            }
            // Only global unicast (2000::/3) is public, without the IETF protocol block
            // (2001::/23, Teredo included) and the documentation prefixes. This leaves out
            // loopback, unspecified, unique local fc00::/7, link-local fe80::/10 and
            // multicast ff00::/8.
            s[0] & 0xe000 == 0x2000
                && !(s[0] == 0x2001 && s[1] < 0x0200)
                && !(s[0] == 0x2001 && s[1] == 0x0db8)
                && !(s[0] == 0x3fff && s[1] < 0x1000)
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let special = a == 0 // "this network", unspecified
        || a == 10 // private
        || a == 127 // loopback
        || (a == 100 && (64..128).contains(&b)) // CGNAT shared space
        || (a == 169 && b == 254) // link-local, cloud metadata
        || (a == 172 && (16..32).contains(&b)) // private
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // documentation
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast
        || (a == 192 && b == 168) // private
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || (a == 198 && b == 51 && c == 100) // documentation
        || (a == 203 && b == 0 && c == 113) // documentation
        || a >= 224; // multicast, reserved, broadcast
    !special
}

#[cfg(test)]
mod tests {
    use std::net::Ipv6Addr;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    fn local_policy() -> FetchPolicy {
        FetchPolicy {
            max_bytes: 1000,
            timeout: Duration::from_secs(5),
            allow_private: true,
        }
    }

    /// A tiny HTTP/1.1 server on 127.0.0.1 answering fixed responses by path.
    async fn serve() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buffer = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buffer).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buffer[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&head).into_owned();
                    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                    let ok = |kind: &str, body: &str| {
                        format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        )
                    };
                    let redirect = |to: &str| {
                        format!(
                            "HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                        )
                    };
                    let response = match path.as_str() {
                        "/page" => ok(
                            "text/html; charset=utf-8",
                            "<html><title>Local</title><p>Hello from the test server.</p></html>",
                        ),
                        "/notes.md" => ok("text/plain", "# Notes\n\nSome *text*.\n"),
                        "/image" => ok("image/png", "\u{89}PNG"),
                        "/big" => ok("text/plain", &"a".repeat(5000)),
                        "/big-unsized" => format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n{}",
                            "b".repeat(5000)
                        ),
                        "/missing" => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_owned(),
                        "/redirect" => redirect("/page"),
                        "/loop" => redirect("/loop"),
                        "/to-file" => redirect("file:///etc/passwd"),
                        "/to-other" => redirect(&format!("http://127.0.0.2:{port}/page")),
                        // Never answers: the client's own time-out must end the fetch.
                        "/slow" => {
                            std::future::pending::<()>().await;
                            return;
                        }
                        _ => "HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n".to_owned(),
                    };
                    let _ = socket.write_all(response.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        port
    }

    #[test]
    fn default_policy() {
        let policy = FetchPolicy::default();
        assert_eq!(policy.max_bytes, 10 * 1024 * 1024);
        assert_eq!(policy.timeout, Duration::from_secs(15));
        assert!(!policy.allow_private);
    }

    #[test]
    fn public_and_private_addresses() {
        for public in [
            "8.8.8.8",
            "1.1.1.1",
            "2606:4700::1111",
            "2001:4860:4860::8888",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "192.0.2.1",
            "198.18.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "2002:7f00:1::",
            "2001::1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        assert!(is_public(IpAddr::V6(Ipv6Addr::new(
            0x2a00, 0x1450, 0, 0, 0, 0, 0, 0x200e
        ))));
    }

    #[tokio::test]
    async fn other_schemes_are_refused() {
        for address in [
            "ftp://example.com/a.txt",
            "file:///etc/passwd",
            "data:text/plain,hi",
            "javascript:alert(1)",
        ] {
            let error = fetch(&url(address), &FetchPolicy::default())
                .await
                .unwrap_err();
            assert_eq!(error.kind(), "unsupported-scheme", "{address}");
            assert_eq!(error.field(), "url");
        }
    }

    #[tokio::test]
    async fn private_addresses_are_refused() {
        for address in [
            "http://127.0.0.1/",
            "http://10.0.0.8:8080/admin",
            "http://[::1]/",
            "http://169.254.169.254/latest/meta-data/",
            "http://[::ffff:192.168.0.1]/",
            "http://0x7f.1/",
            "http://localhost:9/",
        ] {
            let error = fetch(&url(address), &FetchPolicy::default())
                .await
                .unwrap_err();
            assert_eq!(error.kind(), "private-address", "{address}: {error:?}");
            if address.contains("localhost") {
                // What an internal name resolves to is not told back.
                assert!(!error.detail().contains("127.0.0.1"), "{}", error.detail());
            }
        }
    }

    #[tokio::test]
    async fn fetches_from_a_local_server() {
        let port = serve().await;
        let base = format!("http://127.0.0.1:{port}");
        let (body, format) = fetch(&url(&format!("{base}/page")), &local_policy())
            .await
            .unwrap();
        assert_eq!(format, Format::Html);
        let text = super::super::import(&body, format, "en").unwrap();
        assert_eq!(text.title.as_deref(), Some("Local"));
        assert_eq!(text.paragraphs, vec![vec!["Hello from the test server."]]);

        // "localhost" is pinned to what it resolved to.
        let (body, _) = fetch(
            &url(&format!("http://localhost:{port}/redirect")),
            &local_policy(),
        )
        .await
        .unwrap();
        assert!(body.starts_with(b"<html>"));

        let (_, format) = fetch(&url(&format!("{base}/notes.md")), &local_policy())
            .await
            .unwrap();
        assert_eq!(format, Format::Markdown);
    }

    #[tokio::test]
    async fn size_limit_is_enforced() {
        let port = serve().await;
        for path in ["/big", "/big-unsized"] {
            let error = fetch(
                &url(&format!("http://127.0.0.1:{port}{path}")),
                &local_policy(),
            )
            .await
            .unwrap_err();
            assert_eq!(error.kind(), "too-large", "{path}");
            assert!(matches!(error, TextError::TooLarge { limit: 1000, .. }));
        }
        let roomy = FetchPolicy {
            max_bytes: 5000,
            ..local_policy()
        };
        let (body, _) = fetch(
            &url(&format!("http://127.0.0.1:{port}/big-unsized")),
            &roomy,
        )
        .await
        .unwrap();
        assert_eq!(body.len(), 5000);
    }

    #[tokio::test]
    async fn slow_servers_time_out() {
        let port = serve().await;
        let policy = FetchPolicy {
            timeout: Duration::from_millis(300),
            ..local_policy()
        };
        let started = std::time::Instant::now();
        let error = fetch(&url(&format!("http://127.0.0.1:{port}/slow")), &policy)
            .await
            .unwrap_err();
        assert_eq!(error.kind(), "timeout");
        assert!(started.elapsed() < Duration::from_secs(3));
    }

    #[tokio::test]
    async fn non_text_and_errors_are_refused() {
        let port = serve().await;
        let base = format!("http://127.0.0.1:{port}");
        let error = fetch(&url(&format!("{base}/image")), &local_policy())
            .await
            .unwrap_err();
        assert_eq!(error.kind(), "not-text");
        assert!(error.detail().contains("image/png"), "{}", error.detail());
        let error = fetch(&url(&format!("{base}/missing")), &local_policy())
            .await
            .unwrap_err();
        assert_eq!(error.kind(), "fetch-failed");
        assert!(error.detail().contains("404"), "{}", error.detail());
    }

    #[tokio::test]
    async fn redirects_are_checked_and_bounded() {
        let port = serve().await;
        let base = format!("http://127.0.0.1:{port}");
        let error = fetch(&url(&format!("{base}/loop")), &local_policy())
            .await
            .unwrap_err();
        assert_eq!(error.kind(), "too-many-redirects");
        let error = fetch(&url(&format!("{base}/to-file")), &local_policy())
            .await
            .unwrap_err();
        assert_eq!(error.kind(), "unsupported-scheme");

        // Only the first server's address is allowed: the redirect target is refused
        // before any connection to it.
        let only_first = |ip: IpAddr| ip == IpAddr::V4(Ipv4Addr::LOCALHOST);
        let (_, format) = fetch_checked(
            &url(&format!("{base}/redirect")),
            &local_policy(),
            &only_first,
        )
        .await
        .unwrap();
        assert_eq!(format, Format::Html);
        let error = fetch_checked(
            &url(&format!("{base}/to-other")),
            &local_policy(),
            &only_first,
        )
        .await
        .unwrap_err();
        assert_eq!(error.kind(), "private-address");
    }
}
