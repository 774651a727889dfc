//! Working out who is asking, once per request, for every studio's routes: an API token
//! (`Authorization: Bearer`), possibly acting on behalf of someone else, or a browser
//! session cookie. How a token or session maps to a person is the [`IdentityProvider`]'s
//! business (the accounts crate); the rules every request obeys live here: requests from
//! cookie sessions that change something carry the session's CSRF token (a form field
//! `csrf`, an `X-CSRF-Token` header, or `?csrf=` on a multipart file form) and, when
//! the browser says where they come from, come from this site; problems on page
//! navigations become error pages.

use std::sync::Arc;

use async_trait::async_trait;
use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tutti_web::i18n::cookie_value;
use tutti_web::render::Viewer;
use tutti_web::{Lang, Problem};

use crate::access::Role;
use crate::audit::AuditEntry;
use crate::error::PlatformError;
use crate::{Platform, Settings, page, same_secret};

/// The session cookie's name before [`session_cookie`] prefixes it under https.
pub const SESSION_COOKIE: &str = "tutti_session";
/// The header a delegate token names its user with.
pub const ON_BEHALF_OF: &str = "x-tutti-on-behalf-of";
/// The header scripts running in a signed-in page send the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Forms larger than this are not parsed for their CSRF field.
const MAX_FORM_BYTES: usize = 1 << 20;

/// A person as every studio sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Person {
    pub id: String,
    pub email: String,
    pub name: String,
}

/// How the request proved who it is.
#[derive(Debug, Clone)]
pub enum Via {
    Session {
        csrf: String,
    },
    Token {
        token_id: String,
    },
    /// A delegate token of `actor` acting for the identity's person.
    Delegated {
        token_id: String,
        actor: Person,
    },
}

/// The person a request acts as, with their roles.
#[derive(Debug, Clone)]
pub struct Identity {
    pub user: Person,
    pub roles: Vec<Role>,
    pub via: Via,
}

impl Identity {
    pub fn is_admin(&self) -> bool {
        self.roles.contains(&Role::ADMIN)
    }

    /// Whether the person holds `role`; admins hold every role.
    pub fn has(&self, role: &Role) -> bool {
        self.is_admin() || self.roles.contains(role)
    }

    /// Refuses unless the person holds `role`.
    pub fn require(&self, role: &Role) -> Result<(), PlatformError> {
        if self.has(role) {
            Ok(())
        } else {
            Err(PlatformError::Forbidden {
                detail: format!(
                    "This needs the {role} role. Ask an administrator to grant it to {}.",
                    self.user.email
                ),
                field: None,
            })
        }
    }

    /// The audit fields naming who did something.
    pub fn audit(&self, action: &str, detail: String) -> AuditEntry {
        let (actor, on_behalf, token_id) = match &self.via {
            Via::Delegated { token_id, actor } => (actor, Some(&self.user), Some(token_id.clone())),
            Via::Token { token_id } => (&self.user, None, Some(token_id.clone())),
            Via::Session { .. } => (&self.user, None, None),
        };
        AuditEntry {
            actor_id: Some(actor.id.clone()),
            actor_email: Some(actor.email.clone()),
            on_behalf_of_id: on_behalf.map(|u| u.id.clone()),
            on_behalf_of_email: on_behalf.map(|u| u.email.clone()),
            token_id,
            action: action.to_string(),
            detail,
            ..Default::default()
        }
    }

    pub(crate) fn viewer(&self) -> Viewer {
        Viewer {
            name: self.user.name.clone(),
            email: self.user.email.clone(),
            roles: self.roles.iter().map(|r| r.to_string()).collect(),
            is_admin: self.is_admin(),
        }
    }

    /// The session's CSRF token, empty for token requests.
    pub fn csrf(&self) -> String {
        match &self.via {
            Via::Session { csrf } => csrf.clone(),
            _ => String::new(),
        }
    }
}

/// Turns the secrets a request carries into a person. Implemented by the accounts crate.
#[async_trait]
pub trait IdentityProvider: Send + Sync + 'static {
    /// The person behind an API token; `action` (`METHOD /path`) is for the audit log
    /// when the token acts on behalf of someone. An unknown token is an error.
    async fn identify_token(
        &self,
        secret: &str,
        headers: &HeaderMap,
        action: &str,
    ) -> Result<Identity, Problem>;

    /// The person behind a session cookie, if the session is still open.
    async fn identify_session(&self, secret: &str) -> Result<Option<Identity>, Problem>;

    /// Whether the server still waits for its first administrator (the home page says so).
    async fn setup_pending(&self) -> Result<bool, Problem>;

    /// The owner of a live key made for one kind of app (`scope`, e.g. `subsonic`): such
    /// keys travel in URLs, so they are refused as bearer tokens and only open the
    /// protocol they were made for. None when no live key of that scope matches.
    async fn identify_app_key(
        &self,
        secret: &str,
        scope: &str,
    ) -> Result<Option<Identity>, Problem>;

    /// The person with this email (case-insensitive), for protocols that name their user
    /// and prove it with a secret the studio keeps itself (Subsonic's app passwords).
    async fn identify_email(&self, email: &str) -> Result<Option<Identity>, Problem>;

    /// Something may have changed who is who (a key revoked, a role taken, an account
    /// gone): drop whatever the provider remembers. The server calls it after every
    /// request that may write.
    fn forget_remembered(&self) {}
}

/// What the gate needs: the platform and the one identity provider.
#[derive(Clone)]
pub struct Gate {
    pub platform: Platform,
    pub provider: Arc<dyn IdentityProvider>,
    /// Path prefixes whose clients bring their own credentials in every request
    /// ([`crate::Studio::own_credentials`]): no cookie, CSRF or Origin rules there.
    pub own_credentials: Arc<Vec<&'static str>>,
}

/// Marks requests that are a browser navigating, so problems become pages.
#[derive(Clone, Copy)]
pub(crate) struct WantsPage;

/// Resolves the identity, enforces CSRF and same-origin rules, and turns problems on page
/// navigations into error pages. Applied once by the server around every studio's routes.
pub async fn gate(State(gate): State<Gate>, req: Request, next: Next) -> Response {
    let wants_page = is_page_navigation(req.method(), req.uri().path(), req.headers());
    let (mut parts, body) = req.into_parts();
    // Only a page navigation gets an error page, which needs the language and the address.
    let for_page = if wants_page {
        let lang = Lang::from_request_parts(&mut parts, &())
            .await
            .unwrap_or_else(|e| match e {});
        let here = parts
            .uri
            .path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_default();
        Some((lang, here))
    } else {
        None
    };
    let path = parts.uri.path();
    if gate.own_credentials.iter().any(|p| path.starts_with(p)) {
        // Apps (not pages) call these with credentials in the request itself; a cookie
        // the browser adds proves nothing here, so none is read and no CSRF is asked.
        let mut req = Request::from_parts(parts, body);
        req.extensions_mut().insert(None::<Identity>);
        req.extensions_mut().insert(gate.clone());
        return next.run(req).await;
    }
    let mut req = match authenticate(&gate, Request::from_parts(parts, body)).await {
        Ok(req) => req,
        // A refused navigation (a stale form's CSRF token, another site's form) is a page too.
        Err(problem) => {
            let response = problem.into_response();
            return match for_page {
                Some((lang, here)) => {
                    page::problem_page(&gate.platform, lang, None, here, response).await
                }
                None => response,
            };
        }
    };
    if wants_page {
        req.extensions_mut().insert(WantsPage);
    }
    let identity = match for_page {
        Some(_) => req
            .extensions()
            .get::<Option<Identity>>()
            .cloned()
            .flatten(),
        None => None,
    };
    req.extensions_mut().insert(gate.clone());
    let response = next.run(req).await;
    match for_page {
        Some((lang, here)) if is_problem(&response) => {
            page::problem_page(&gate.platform, lang, identity, here, response).await
        }
        _ => response,
    }
}

async fn authenticate(gate: &Gate, req: Request) -> Result<Request, Problem> {
    if let Some(secret) = bearer(req.headers()) {
        let action = format!("{} {}", req.method(), req.uri().path());
        let identity = gate
            .provider
            .identify_token(&secret, req.headers(), &action)
            .await?;
        let mut req = req;
        req.extensions_mut().insert(Some(identity));
        return Ok(req);
    }
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if unsafe_method {
        check_origin(&gate.platform, req.headers())?;
    }
    let identity = match session_cookie_of(&gate.platform.settings, req.headers()) {
        Some(secret) => gate.provider.identify_session(&secret).await?,
        None => None,
    };
    let mut req = match (&identity, unsafe_method) {
        (
            Some(Identity {
                via: Via::Session { csrf },
                ..
            }),
            true,
        ) => check_csrf(req, csrf).await?,
        _ => req,
    };
    req.extensions_mut().insert(identity);
    Ok(req)
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

/// The session cookie's name on this server: `__Host-tutti_session` over https.
pub fn session_cookie(settings: &Settings) -> String {
    settings.cookie_name(SESSION_COOKIE)
}

/// The session secret a request carries, if any.
pub fn session_cookie_of(settings: &Settings, headers: &HeaderMap) -> Option<String> {
    cookie_of(headers, &session_cookie(settings))
}

/// The value of the cookie `name` a request carries, if any.
pub fn cookie_of(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut parts = Request::new(()).into_parts().0;
    parts.headers = headers.clone();
    cookie_value(&parts, name)
}

/// Browsers name the page a request comes from; another site's page is refused.
fn check_origin(p: &Platform, headers: &HeaderMap) -> Result<(), Problem> {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let public = p.settings.public_url.origin().ascii_serialization();
    let host_matches = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|host| {
            origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"))
                == Some(host)
        });
    if origin == public || host_matches {
        Ok(())
    } else {
        Err(Problem::forbidden(format!(
            "Requests that change something must come from this site, not from {origin}."
        ))
        .with_field("Origin"))
    }
}

async fn check_csrf(req: Request, expected: &str) -> Result<Request, Problem> {
    let refused = || {
        Problem::forbidden(
            "The form was stale or came from elsewhere (missing CSRF token). Reload the page and try again.",
        )
        .with_field("csrf")
    };
    if let Some(sent) = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()) {
        return if same_secret(sent, expected) {
            Ok(req)
        } else {
            Err(refused())
        };
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // A file form posted without JavaScript cannot set a header, and its body may be
    // tens of megabytes: reading it here to find a `csrf` part would hold it all in
    // memory before the route's own limit and handler see it. So such forms carry the
    // token in their action's query (`?csrf=`), which is checked without the body.
    if content_type.starts_with("multipart/form-data") {
        let sent = req.uri().query().and_then(|q| {
            form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "csrf")
                .map(|(_, v)| v.into_owned())
        });
        return match sent {
            Some(sent) if same_secret(&sent, expected) => Ok(req),
            _ => Err(refused()),
        };
    }
    let is_form = content_type.starts_with("application/x-www-form-urlencoded");
    if !is_form {
        return Err(refused());
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
        .await
        .map_err(|_| Problem::from_status(StatusCode::PAYLOAD_TOO_LARGE))?;
    let sent = form_urlencoded::parse(&bytes)
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.into_owned());
    match sent {
        Some(sent) if same_secret(&sent, expected) => {
            Ok(Request::from_parts(parts, Body::from(bytes)))
        }
        _ => Err(refused()),
    }
}

fn is_page_navigation(method: &Method, path: &str, headers: &HeaderMap) -> bool {
    !path.starts_with("/api/")
        && (*method == Method::GET || *method == Method::POST)
        && headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"))
}

fn is_problem(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"))
}

/// The signed-in person. The route's [`crate::Access`] has already turned away requests
/// without one; on a public route this answers 401 itself.
impl<S: Send + Sync> FromRequestParts<S> for Identity {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Response> {
        parts
            .extensions
            .get::<Option<Identity>>()
            .cloned()
            .flatten()
            .ok_or_else(|| Problem::unauthorized().into_response())
    }
}

/// The signed-in person, if any.
pub struct MaybeIdentity(pub Option<Identity>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeIdentity {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(MaybeIdentity(
            parts
                .extensions
                .get::<Option<Identity>>()
                .cloned()
                .flatten(),
        ))
    }
}
