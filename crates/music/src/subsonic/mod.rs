//! The Subsonic REST API under `/rest/`, so the music apps people already use (on
//! phones and desktops) browse and stream the public library, and keep their own stars
//! and playlists. Every method answers with and without `.view`, by GET and by form
//! POST (the OpenSubsonic `formPost` extension), as XML or as JSON (`f=json`, or
//! `jsonp` with `callback`), inside the OpenSubsonic envelope (`type`, `serverVersion`,
//! `openSubsonic`). Errors are envelopes too, with the API's codes, never problem+json.
//!
//! Authentication is the API's own, on every call, and never the session cookie (the
//! gate exempts `/rest/`, see [`tutti_platform::Studio::own_credentials`]):
//! - `apiKey` (OpenSubsonic `apiKeyAuthentication`): a key of scope `subsonic` made on
//!   the profile page or with `tutti music api-key`; preferred, and the only way for
//!   people who sign in through OpenID Connect without a password;
//! - `u` with `t` = md5(app password + `s`) and a fresh salt `s`, or `u` with `p` (clear
//!   or `enc:`-hex), where the password is the account's app password made on
//!   `/music/apps` ([`keys`]), never the sign-in password.
//!
//! The request log writes paths only, so `p`, `t`, `s` and `apiKey` (query or form)
//! never reach it.

mod apps;
pub mod keys;
mod library;
pub mod reply;
pub mod store;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use tutti_platform::identity::Gate;
use tutti_platform::{Access, Identity, Routes};

use crate::Music;
use reply::{Code, El, Fail, Format};

/// The API key scope apps authenticate with ([`tutti_platform::IdentityProvider::identify_app_key`]).
pub const KEY_SCOPE: &str = "subsonic";

/// Adds `/rest/{method}` for GET and form POST, and the page that explains it.
pub fn routes(r: Routes<Music>) -> Routes<Music> {
    apps::routes(r)
        .page(Access::Public, Method::GET, "/rest/{method}", call)
        .page(Access::Public, Method::POST, "/rest/{method}", call)
}

/// A call's parameters, from the query and (for a form POST) the body; names repeat
/// for lists (`id=1&id=2`).
pub struct Params(Vec<(String, String)>);

impl Params {
    fn read(uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Params {
        let mut all: Vec<(String, String)> = uri
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        let form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if form {
            all.extend(form_urlencoded::parse(body).into_owned());
        }
        Params(all)
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    pub fn need(&self, name: &str) -> Result<&str, Fail> {
        self.get(name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| Fail::missing(name))
    }

    /// A whole number from `min` to `max`, `default` when absent.
    pub fn int(&self, name: &str, default: i64, min: i64, max: i64) -> Result<i64, Fail> {
        match self.get(name).filter(|v| !v.is_empty()) {
            None => Ok(default),
            Some(raw) => raw
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|n| (min..=max).contains(n))
                .ok_or_else(|| {
                    Fail::new(
                        Code::Generic,
                        format!("{name} must be a whole number from {min} to {max}"),
                    )
                }),
        }
    }

    /// `true`/`false`, `default` when absent.
    pub fn flag(&self, name: &str, default: bool) -> bool {
        match self.get(name) {
            Some(v) => !matches!(v.trim(), "false" | "0"),
            None => default,
        }
    }
}

/// What a method answers: a payload in the envelope, or bytes (streams, covers).
pub enum Answer {
    Payload(Option<El>),
    Raw(Response),
}

async fn call(
    State(m): State<Music>,
    Path(method): Path<String>,
    gate: Option<axum::Extension<Gate>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = Params::read(&uri, &headers, &body);
    let format = Format::from_params(params.get("f"), params.get("callback"));
    let name = method.strip_suffix(".view").unwrap_or(&method);
    // OpenSubsonic: clients ask which extensions a server has before signing in.
    if name == "getOpenSubsonicExtensions" {
        return reply::ok_many(&format, "openSubsonicExtensions", library::extensions());
    }
    let Some(axum::Extension(gate)) = gate else {
        return reply::failed(&format, &Fail::new(Code::Generic, "no gate"));
    };
    let who = match authenticate(&m, &gate, &params).await {
        Ok(who) => who,
        Err(fail) => return reply::failed(&format, &fail),
    };
    let ctx = library::Ctx {
        m: &m,
        who: &who,
        params: &params,
        headers: &headers,
        now: tutti_store::now_ms(),
    };
    match library::handle(name, &ctx).await {
        Ok(Answer::Payload(p)) => reply::ok(&format, p),
        Ok(Answer::Raw(r)) => r,
        Err(fail) if fail.code == Code::Generic && fail.message.starts_with("unknown method") => {
            let mut r = reply::failed(&format, &fail);
            *r.status_mut() = StatusCode::NOT_FOUND;
            r
        }
        Err(fail) => reply::failed(&format, &fail),
    }
}

/// Who calls, from the credentials in the call itself.
async fn authenticate(m: &Music, gate: &Gate, params: &Params) -> Result<Identity, Fail> {
    let trouble = |e: tutti_web::Problem| {
        tracing::error!(status = %e.status, "subsonic sign-in failed");
        Fail::new(Code::Generic, "the server could not check the credentials")
    };
    let user = params.get("u").filter(|u| !u.is_empty());
    if let Some(key) = params.get("apiKey") {
        if user.is_some() {
            return Err(Fail::new(
                Code::ConflictingMechanisms,
                "send apiKey alone, without u",
            ));
        }
        return gate
            .provider
            .identify_app_key(key, KEY_SCOPE)
            .await
            .map_err(trouble)?
            .ok_or_else(|| {
                Fail::new(
                    Code::InvalidApiKey,
                    "this API key is not valid: it was revoked, or mistyped",
                )
            });
    }
    let Some(user) = user else {
        return Err(Fail::missing("u"));
    };
    let (token, salt, clear) = (params.get("t"), params.get("s"), params.get("p"));
    if clear.is_none() && (token.is_none() || salt.is_none()) {
        return Err(Fail::missing(if token.is_none() { "t" } else { "s" }));
    }
    let wrong = || {
        Fail::new(
            Code::WrongCredentials,
            "wrong username or password (use your email and the app password from /music/apps)",
        )
    };
    let who = gate
        .provider
        .identify_email(user)
        .await
        .map_err(trouble)?
        .ok_or_else(wrong)?;
    let Some((sealed, _)) = store::app_password(m.platform.db.pool(), &who.user.id).await? else {
        return Err(wrong());
    };
    let password = m
        .seal_key()?
        .open(&who.user.id, &sealed)
        .ok_or_else(wrong)?;
    let good = match (token, salt, clear) {
        (Some(t), Some(s), _) => keys::token_matches(&password, s, t),
        (_, _, Some(p)) => keys::password_matches(&password, p),
        _ => false,
    };
    if good { Ok(who) } else { Err(wrong()) }
}

/// A blob with a download name, for `download`.
pub(crate) fn attachment(mut r: Response, file_name: &str) -> Response {
    let encoded: String = form_urlencoded::byte_serialize(file_name.as_bytes()).collect();
    let value = format!(
        "attachment; filename*=UTF-8''{}",
        encoded.replace('+', "%20")
    );
    if let Ok(v) = value.parse() {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    r.into_response()
}
