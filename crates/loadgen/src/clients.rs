//! HTTP clients for virtual users: each user has its own connection pool, sends from its
//! own source address ([`crate::sources`]), signs in once through the `/login` form as a
//! browser does, and then carries its session cookie (and, for scripts' writes, the
//! session's CSRF token) on every request.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures_util::StreamExt as _;
use reqwest::header;
use reqwest::{Client, Method, RequestBuilder, Response, StatusCode, redirect};
use url::Url;

use crate::stats::{Latencies, SignInSummary};

/// The cookie holding a Tutti session: `tutti_session`, or `__Host-tutti_session` over
/// https.
const SESSION_COOKIE: &str = "tutti_session";

/// A signed-in browser's secrets.
#[derive(Debug, Clone)]
pub struct Session {
    /// `name=value`, as sent in the `Cookie` header.
    pub cookie: String,
    /// The session's CSRF token, which scripts send as `X-CSRF-Token` on writes.
    pub csrf: String,
}

/// One virtual user's HTTP side.
#[derive(Debug, Clone)]
pub struct HttpUser {
    pub client: Client,
    pub base: Url,
    pub source: Option<IpAddr>,
    pub session: Option<Session>,
}

impl HttpUser {
    /// A client for `base` sending from `source` (the system's choice when `None`), giving
    /// up on a request after `timeout`. It follows no redirects and keeps no cookies
    /// beyond the session it signs in to.
    pub fn new(base: &Url, source: Option<IpAddr>, timeout: Duration) -> anyhow::Result<HttpUser> {
        let client = Client::builder()
            .local_address(source)
            .tcp_nodelay(true)
            .redirect(redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("tutti-load/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("could not build an HTTP client")?;
        Ok(HttpUser {
            client,
            base: base.clone(),
            source,
            session: None,
        })
    }

    /// `path` (with its query) on the server.
    pub fn url(&self, path: &str) -> Url {
        self.base.join(path).unwrap_or_else(|_| self.base.clone())
    }

    /// A request carrying the session cookie, and for writes the CSRF token, as a page's
    /// script sends it.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let write = !matches!(method, Method::GET | Method::HEAD | Method::OPTIONS);
        let mut request = self.client.request(method, self.url(path));
        if let Some(session) = &self.session {
            request = request.header(header::COOKIE, &session.cookie);
            if write {
                request = request.header("x-csrf-token", &session.csrf);
            }
        }
        request
    }

    /// A page navigation: `GET path` asking for HTML.
    pub fn page(&self, path: &str) -> RequestBuilder {
        self.request(Method::GET, path)
            .header(header::ACCEPT, "text/html,application/xhtml+xml")
    }

    /// A JSON API read: `GET path` asking for JSON.
    pub fn api_get(&self, path: &str) -> RequestBuilder {
        self.request(Method::GET, path)
            .header(header::ACCEPT, "application/json")
    }

    /// This site's origin, which browsers send as `Origin` on form posts.
    fn origin(&self) -> String {
        self.base.origin().ascii_serialization()
    }

    /// Signs in with the `/login` form, then opens the home page once to learn the
    /// session's CSRF token. Returns how long the form post took (the server verifies
    /// the password with Argon2 then), or the failure's kind; a busy server's
    /// `Retry-After` is reported as [`SignInError::Busy`].
    pub async fn sign_in(&mut self, email: &str, password: &str) -> Result<Duration, SignInError> {
        let started = Instant::now();
        let response = self
            .client
            .post(self.url("/login"))
            .header(header::ORIGIN, self.origin())
            .header(header::ACCEPT, "text/html,application/xhtml+xml")
            .form(&[("email", email), ("password", password), ("next", "/")])
            .send()
            .await
            .map_err(|e| SignInError::Failed(error_kind(&e)))?;
        let took = started.elapsed();
        let status = response.status();
        if status == StatusCode::SERVICE_UNAVAILABLE || status == StatusCode::TOO_MANY_REQUESTS {
            let wait = retry_after(&response).unwrap_or(Duration::from_secs(1));
            return Err(SignInError::Busy(
                format!("status {}", status.as_u16()),
                wait,
            ));
        }
        if status != StatusCode::SEE_OTHER {
            return Err(SignInError::Failed(format!("status {}", status.as_u16())));
        }
        let cookie = session_cookie(&response)
            .ok_or_else(|| SignInError::Failed("no session cookie".into()))?;
        self.session = Some(Session {
            cookie,
            csrf: String::new(),
        });
        let home = self
            .page("/")
            .send()
            .await
            .map_err(|e| SignInError::Failed(error_kind(&e)))?;
        if home.status() != StatusCode::OK {
            return Err(SignInError::Failed(format!(
                "home page after sign-in: status {}",
                home.status().as_u16()
            )));
        }
        let html = home
            .text()
            .await
            .map_err(|e| SignInError::Failed(error_kind(&e)))?;
        match (csrf_of(&html), self.session.as_mut()) {
            (Some(csrf), Some(session)) => session.csrf = csrf,
            _ => return Err(SignInError::Failed("not signed in after sign-in".into())),
        }
        Ok(took)
    }
}

/// Why a sign-in did not work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInError {
    /// The server is busy hashing or limiting: try again after the duration.
    Busy(String, Duration),
    Failed(String),
}

/// The session cookie a sign-in response sets, as `name=value`.
fn session_cookie(response: &Response) -> Option<String> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .find(|pair| {
            pair.split_once('=').is_some_and(|(name, value)| {
                name.trim().trim_start_matches("__Host-") == SESSION_COOKIE
                    && !value.trim().is_empty()
            })
        })
        .map(|pair| pair.trim().to_string())
}

fn retry_after(response: &Response) -> Option<Duration> {
    let secs: u64 = response
        .headers()
        .get(header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs.clamp(1, 30)))
}

/// The CSRF token of a signed-in page (the hidden `csrf` field every page's sign-out
/// form carries).
pub fn csrf_of(html: &str) -> Option<String> {
    const FIELD: &str = r#"name="csrf" value=""#;
    let at = html.find(FIELD)? + FIELD.len();
    let end = html[at..].find('"')?;
    Some(html[at..at + end].to_string()).filter(|t| !t.is_empty())
}

/// A short name for why a request failed, for counting.
pub fn error_kind(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timeout".into()
    } else if e.is_connect() {
        "connect".into()
    } else if e.is_body() || e.is_decode() {
        "body".into()
    } else {
        "request".into()
    }
}

/// Sends `request`, reads the whole body, and succeeds when the status is `expected`.
pub async fn expect(request: RequestBuilder, expected: StatusCode) -> Result<(), String> {
    let response = request.send().await.map_err(|e| error_kind(&e))?;
    let status = response.status();
    response.bytes().await.map_err(|e| error_kind(&e))?;
    if status == expected {
        Ok(())
    } else {
        Err(format!("status {}", status.as_u16()))
    }
}

/// A busy server is asked again at most this many times per user.
const MAX_RETRIES: u32 = 10;

/// Signs every user in once, `concurrency` at a time, with the credentials `credentials`
/// gives for user `i`. Sign-ins the server refused as busy are repeated after its
/// `Retry-After`. The users come back in their order, signed in or not; the summary says
/// how many failed (a scenario should stop then: signed-out users would measure error
/// pages).
pub async fn sign_in_all(
    users: Vec<HttpUser>,
    credentials: impl Fn(usize) -> (String, String),
    concurrency: usize,
) -> (Vec<HttpUser>, SignInSummary) {
    let started = Instant::now();
    let count = users.len();
    let concurrency = concurrency.max(1);
    let attempts = users.into_iter().enumerate().map(|(i, mut user)| {
        let (email, password) = credentials(i);
        async move {
            let mut retries = 0;
            let result = loop {
                match user.sign_in(&email, &password).await {
                    Err(SignInError::Busy(_, wait)) if retries < MAX_RETRIES => {
                        retries += 1;
                        tokio::time::sleep(wait).await;
                    }
                    Err(SignInError::Busy(kind, _)) => break Err(kind),
                    Err(SignInError::Failed(kind)) => break Err(kind),
                    Ok(took) => break Ok(took),
                }
            };
            (i, user, retries, result)
        }
    });
    let mut done: Vec<_> = futures_util::stream::iter(attempts)
        .buffer_unordered(concurrency)
        .collect()
        .await;
    done.sort_by_key(|(i, ..)| *i);
    let mut latencies = Latencies::default();
    let mut errors_by_kind = BTreeMap::new();
    let (mut ok, mut errors, mut retries_total) = (0, 0, 0);
    let mut users = Vec::with_capacity(count);
    for (_, user, retries, result) in done {
        retries_total += u64::from(retries);
        match result {
            Ok(took) => {
                ok += 1;
                latencies.record(took);
            }
            Err(kind) => {
                errors += 1;
                *errors_by_kind.entry(kind).or_insert(0) += 1;
            }
        }
        users.push(user);
    }
    let summary = SignInSummary {
        users: count,
        ok,
        errors,
        errors_by_kind,
        retries: retries_total,
        concurrency,
        elapsed_s: crate::stats::round3(started.elapsed().as_secs_f64()),
        latency: latencies.percentiles(),
    };
    (users, summary)
}

/// The credentials of user `i` (0-based): `%n` in the email template stands for `i + 1`,
/// so `load%n@example.org` names one account per user; without it every user signs in
/// to the same account (each with its own session).
pub fn credentials(email_template: &str, password: &str, i: usize) -> (String, String) {
    (
        email_template.replace("%n", &(i + 1).to_string()),
        password.to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_csrf_field_and_expands_emails() {
        let html = r#"<form><input type="hidden" name="csrf" value="abc123"></form>"#;
        assert_eq!(csrf_of(html).as_deref(), Some("abc123"));
        assert_eq!(csrf_of(r#"name="csrf" value="""#), None);
        assert_eq!(
            credentials("load%n@example.org", "pw", 0).0,
            "load1@example.org"
        );
        assert_eq!(credentials("one@example.org", "pw", 7).0, "one@example.org");
    }
}
