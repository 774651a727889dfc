use std::sync::Arc;

use reqwest::cookie::{CookieStore as _, Jar};
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::{Client, Method, RequestBuilder, Response, StatusCode, redirect};
use serde_json::Value;
use tutti_accounts::admin::{self, Actor};
use tutti_accounts::{Accounts, Role};
use tutti_server::Settings;
use tutti_server::app::{Running, spawn_studios_for_tests};

pub use crate::rehearsal::{MEMBER, REVIEWER, SPEAKER};
use tutti_store::testing::{TestBlobs, TestDb};

pub const PASSWORD: &str = "correct horse battery";

/// A running server and what it stands on.
pub struct TestApp {
    pub running: Option<Running>,
    pub base: String,
    _db: TestDb,
    _blobs: TestBlobs,
    _dir: tempfile::TempDir,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new().await;
    let blobs = TestBlobs::new();
    let mut settings = Settings::with_data_dir(dir.path());
    settings.database_url = db.url.clone();
    settings.blob_url = blobs.location.clone();
    settings.blob_options = blobs.options.clone();
    settings.listen = "127.0.0.1:0".parse().unwrap();
    settings.public_url = "http://127.0.0.1:0".parse().unwrap();
    adjust(&mut settings);
    let rehearsal =
        crate::rehearsal::Rehearsal::new(&settings).expect("the test studio's settings");
    let running = spawn_studios_for_tests(settings, vec![Box::new(rehearsal)])
        .await
        .expect("server starts");
    let base = running.url.as_str().trim_end_matches('/').to_string();
    TestApp {
        running: Some(running),
        base,
        _db: db,
        _blobs: blobs,
        _dir: dir,
    }
}

impl TestApp {
    /// The accounts' state, to set up people as `tutti admin` would.
    pub fn platform(&self) -> &Accounts {
        &self.running.as_ref().unwrap().app.accounts
    }

    /// Starts a graceful stop, as SIGTERM does, and gives what ends once the server has
    /// stopped.
    pub fn stop(&mut self) -> impl Future<Output = anyhow::Result<()>> + use<> {
        let running = self.running.take().expect("the server is running");
        running.stop_token().cancel();
        running.wait()
    }

    /// The running server, to look at its stores as a test's last check.
    pub fn running(&self) -> &Running {
        self.running.as_ref().expect("the server is running")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A browser-like client with no session: keeps cookies, does not follow redirects.
    pub fn anonymous(&self) -> Browser {
        let jar = Arc::new(Jar::default());
        Browser {
            base: self.base.clone(),
            client: Client::builder()
                .cookie_provider(jar.clone())
                .redirect(redirect::Policy::none())
                .build()
                .unwrap(),
            csrf: String::new(),
            jar,
        }
    }

    /// Makes an account with a password and the given roles.
    pub async fn user(&self, email: &str, roles: &[Role]) {
        admin::create_user(
            self.platform(),
            email,
            "",
            Some(PASSWORD),
            roles,
            Actor::Cli,
        )
        .await
        .expect("create user");
    }

    /// A signed-in browser for a new account with these roles.
    pub async fn signed_in(&self, email: &str, roles: &[Role]) -> Browser {
        self.user(email, roles).await;
        let mut browser = self.anonymous();
        browser.sign_in(email, PASSWORD).await;
        browser
    }

    pub async fn token(&self, email: &str, scope: tutti_accounts::TokenScope) -> String {
        admin::create_token(self.platform(), email, "test", scope)
            .await
            .expect("create token")
    }
}

/// One browser: a cookie jar and the CSRF token of its session.
pub struct Browser {
    pub base: String,
    pub client: Client,
    pub csrf: String,
    jar: Arc<Jar>,
}

impl Browser {
    /// The `Cookie` header this browser sends to the server, for clients (WebSockets)
    /// that are not reqwest.
    pub fn cookie_header(&self) -> String {
        let url = self.base.parse().unwrap();
        self.jar
            .cookies(&url)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    }

    pub async fn sign_in(&mut self, email: &str, password: &str) {
        let response = self
            .form("/login", &[("email", email), ("password", password)])
            .await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "sign-in redirects"
        );
        let profile = self.get("/profile").await;
        assert_eq!(profile.status(), StatusCode::OK);
        let html = profile.text().await.unwrap();
        self.csrf = csrf_of(&html).expect("signed-in pages carry a CSRF token");
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base))
            .header("accept", "text/html,application/xhtml+xml")
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path).send().await.unwrap()
    }

    /// Posts a form as a page would, with the session's CSRF token.
    pub async fn form(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        let mut fields: Vec<(&str, &str)> = fields.to_vec();
        if !self.csrf.is_empty() {
            fields.push(("csrf", &self.csrf));
        }
        self.request(Method::POST, path)
            .form(&fields)
            .send()
            .await
            .unwrap()
    }

    /// Calls the JSON API as a page's script would: session cookie plus CSRF header.
    pub async fn api(&self, method: Method, path: &str, body: Option<Value>) -> Response {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("x-csrf-token", &self.csrf);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }
}

/// A script's client holding an API token.
pub fn with_token(token: &str) -> Client {
    let mut headers = HeaderMap::new();
    headers.insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
    );
    Client::builder()
        .default_headers(headers)
        .redirect(redirect::Policy::none())
        .build()
        .unwrap()
}

pub fn csrf_of(html: &str) -> Option<String> {
    let at = html.find(r#"name="csrf" value=""#)? + r#"name="csrf" value=""#.len();
    let end = html[at..].find('"')?;
    Some(html[at..at + end].to_string()).filter(|t| !t.is_empty())
}

/// Asserts a response is a problem document with this status, returning it.
pub async fn problem(response: Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status, "status of {}", response.url());
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    assert_eq!(
        content_type,
        "application/problem+json",
        "{}",
        response.url()
    );
    let body: Value = response.json().await.unwrap();
    assert!(
        body["type"]
            .as_str()
            .unwrap()
            .starts_with("urn:tutti:problem:")
    );
    assert!(!body["detail"].as_str().unwrap().is_empty());
    assert_eq!(body["status"], status.as_u16());
    body
}

/// Uploads bytes with tus (in two PATCHes) as the token's owner, for `studio`, and
/// returns the upload's id.
pub async fn tus_upload(base: &str, token: &str, studio: &str, name: &str, bytes: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let client = with_token(token);
    let created = client
        .post(format!("{base}/api/v1/uploads"))
        .header("tus-resumable", "1.0.0")
        .header("upload-length", bytes.len().to_string())
        .header(
            "upload-metadata",
            format!("filename {},studio {}", b64(name), b64(studio)),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let location = created.headers()["location"].to_str().unwrap().to_string();
    let url = if location.starts_with("http") {
        location.clone()
    } else {
        format!("{base}{location}")
    };
    let half = bytes.len() / 2;
    for (offset, part) in [(0, &bytes[..half]), (half, &bytes[half..])] {
        let sent = client
            .patch(&url)
            .header("tus-resumable", "1.0.0")
            .header("upload-offset", offset.to_string())
            .header("content-type", "application/offset+octet-stream")
            .body(part.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(sent.status(), StatusCode::NO_CONTENT, "{name}");
    }
    location.rsplit('/').next().unwrap().to_string()
}

// ---- WebSockets (the choir's and meetings' live rooms) --------------------------------

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// How long a socket test waits for an answer.
pub const WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// A socket to `path` (`/choir/rooms/{id}/socket`): on a bearer token, or on a guest pass
/// (as a browser, with its page's `Origin`).
pub async fn open_socket(
    app: &TestApp,
    path: &str,
    bearer: Option<&str>,
    guest: Option<&str>,
) -> Ws {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
    let base = app.base.replacen("http", "ws", 1);
    let mut url = format!("{base}{path}");
    if let Some(g) = guest {
        url = format!("{url}?guest={g}");
    }
    let mut request = url.into_client_request().unwrap();
    if let Some(t) = bearer {
        request.headers_mut().insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {t}")).unwrap(),
        );
    } else {
        request
            .headers_mut()
            .insert("origin", HeaderValue::from_str(&app.base).unwrap());
    }
    let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request))
        .await
        .expect("the handshake is answered")
        .expect("the upgrade is accepted");
    ws
}

pub async fn send(ws: &mut Ws, message: Value) {
    use futures::SinkExt as _;
    ws.send(tokio_tungstenite::tungstenite::Message::Text(
        message.to_string().into(),
    ))
    .await
    .unwrap();
}

/// The next JSON message of `kind`, skipping binary frames and other messages.
pub async fn expect(ws: &mut Ws, kind: &str) -> Value {
    use futures::StreamExt as _;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let message = tokio::time::timeout(left, ws.next())
            .await
            .unwrap_or_else(|_| panic!("no {kind} message arrived"))
            .expect("the socket is open")
            .unwrap();
        if let tokio_tungstenite::tungstenite::Message::Text(text) = message {
            let v: Value = serde_json::from_str(&text).unwrap();
            if v["type"] == kind {
                return v;
            }
            assert_ne!(v["type"], "error", "the server refused something: {v}");
        }
    }
}
