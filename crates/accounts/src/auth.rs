//! Working out who is asking, once per request: an API token (`Authorization: Bearer`),
//! possibly acting on behalf of someone else, or a browser session cookie. Requests from
//! cookie sessions that change something must carry the session's CSRF token (a form
//! field `csrf` or an `X-CSRF-Token` header) and, when the browser says where they come
//! from, come from this site.

use axum::body::Body;
use axum::extract::{FromRef, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use tutti_web::i18n::cookie_value;
use tutti_web::render::Viewer;
use tutti_web::{Lang, PageCtx, Problem, Web};

use crate::Platform;
use crate::db::{self, AuditEntry, User};
use crate::domain::{Email, Role, TokenScope};
use crate::secrets::same_secret;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "tutti_session";
/// The header a delegate token names its user with.
pub const ON_BEHALF_OF: &str = "x-tutti-on-behalf-of";
/// The header scripts running in a signed-in page send the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Forms larger than this are not parsed for their CSRF field.
const MAX_FORM_BYTES: usize = 1 << 20;

/// How the request proved who it is.
#[derive(Debug, Clone)]
pub enum Via {
    Session {
        csrf: String,
    },
    Token {
        token_id: String,
    },
    /// A delegate token of `actor` acting for the identity's user.
    Delegated {
        token_id: String,
        actor: User,
    },
}

/// The person a request acts as, with their roles.
#[derive(Debug, Clone)]
pub struct Identity {
    pub user: User,
    pub roles: Vec<Role>,
    pub via: Via,
}

impl Identity {
    pub fn is_admin(&self) -> bool {
        self.roles.contains(&Role::Admin)
    }

    /// Whether the person holds `role`; admins hold every role.
    pub fn has(&self, role: Role) -> bool {
        self.is_admin() || self.roles.contains(&role)
    }

    /// Refuses with 403 unless the person holds `role`.
    pub fn require(&self, role: Role) -> Result<(), Problem> {
        if self.has(role) {
            Ok(())
        } else {
            Err(Problem::forbidden(format!(
                "This needs the {role} role. Ask an administrator to grant it to {}.",
                self.user.email
            )))
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

    fn viewer(&self) -> Viewer {
        Viewer {
            name: self.user.name.clone(),
            email: self.user.email.clone(),
            roles: self.roles.iter().map(|r| r.to_string()).collect(),
            is_admin: self.is_admin(),
        }
    }

    fn csrf(&self) -> String {
        match &self.via {
            Via::Session { csrf } => csrf.clone(),
            _ => String::new(),
        }
    }
}

/// Resolves the identity, enforces CSRF and same-origin rules, and turns problems on page
/// navigations into error pages.
pub async fn middleware(State(p): State<Platform>, req: Request, next: Next) -> Response {
    let wants_page = is_page_navigation(req.method(), req.uri().path(), req.headers());
    let mut req = match authenticate(&p, req).await {
        Ok(req) => req,
        Err(problem) => return problem.into_response(),
    };
    if wants_page {
        req.extensions_mut().insert(WantsPage);
    }
    let lang = {
        let (mut parts, body) = req.into_parts();
        let lang = Lang::from_request_parts(&mut parts, &())
            .await
            .unwrap_or_else(|e| match e {});
        req = Request::from_parts(parts, body);
        lang
    };
    let identity = req
        .extensions()
        .get::<Option<Identity>>()
        .cloned()
        .flatten();
    let here = req
        .uri()
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    let response = next.run(req).await;
    if wants_page && is_problem(&response) {
        return problem_page(&p.web, lang, identity, here, response).await;
    }
    response
}

#[derive(Clone, Copy)]
struct WantsPage;

async fn authenticate(p: &Platform, req: Request) -> Result<Request, Problem> {
    if let Some(secret) = bearer(req.headers()) {
        let action = format!("{} {}", req.method(), req.uri().path());
        let identity = token_identity(p, &secret, req.headers().clone(), action).await?;
        let mut req = req;
        req.extensions_mut().insert(Some(identity));
        return Ok(req);
    }
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if unsafe_method {
        check_origin(p, req.headers())?;
    }
    let session = match session_secret(req.headers()) {
        Some(secret) => db::find_session(p.db.pool(), &secret).await?,
        None => None,
    };
    let identity = match session {
        Some(session) => match db::user_by_id(p.db.pool(), &session.user_id).await? {
            Some(user) => Some(Identity {
                roles: db::roles_of(p.db.pool(), &user.email).await?,
                user,
                via: Via::Session {
                    csrf: session.csrf_token,
                },
            }),
            None => None,
        },
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

async fn token_identity(
    p: &Platform,
    secret: &str,
    headers: HeaderMap,
    action: String,
) -> Result<Identity, Problem> {
    let Some(token) = db::use_token(&p.db, secret).await? else {
        return Err(Problem::new(
            StatusCode::UNAUTHORIZED,
            "invalid-token",
            "This API token is unknown or was revoked. Create a new one on your profile page.",
        ));
    };
    let owner = db::user_by_id(p.db.pool(), &token.user_id)
        .await?
        .ok_or_else(Problem::unauthorized)?;
    let owner_roles = db::roles_of(p.db.pool(), &owner.email).await?;
    let Some(target) = headers.get(ON_BEHALF_OF) else {
        return Ok(Identity {
            user: owner,
            roles: owner_roles,
            via: Via::Token { token_id: token.id },
        });
    };
    if token.scope != TokenScope::Delegate.as_str() || !owner_roles.contains(&Role::Admin) {
        return Err(Problem::forbidden(
            "Only a delegate token, created by an administrator, may act on behalf of someone.",
        )
        .with_field(ON_BEHALF_OF));
    }
    let email = Email::parse(target.to_str().unwrap_or_default())
        .map_err(|p| p.with_field(ON_BEHALF_OF))?;
    let user = db::user_by_email(p.db.pool(), &email)
        .await?
        .ok_or_else(|| {
            Problem::not_found(format!("No account has the email {email}."))
                .with_field(ON_BEHALF_OF)
        })?;
    let roles = db::roles_of(p.db.pool(), &user.email).await?;
    if roles.contains(&Role::Admin) {
        return Err(Problem::forbidden(
            "A delegate token cannot act on behalf of an administrator.",
        )
        .with_field(ON_BEHALF_OF));
    }
    let identity = Identity {
        user,
        roles,
        via: Via::Delegated {
            token_id: token.id,
            actor: owner,
        },
    };
    db::audit(p.db.pool(), identity.audit("delegated-request", action)).await?;
    Ok(identity)
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

fn session_secret(headers: &HeaderMap) -> Option<String> {
    let mut parts = Request::new(()).into_parts().0;
    parts.headers = headers.clone();
    cookie_value(&parts, SESSION_COOKIE)
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
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
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

async fn problem_page(
    web: &Web,
    lang: Lang,
    identity: Option<Identity>,
    here: String,
    response: Response,
) -> Response {
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    let problem: Problem =
        serde_json::from_slice(&bytes).unwrap_or_else(|_| Problem::from_status(status));
    let csrf = identity.as_ref().map(Identity::csrf).unwrap_or_default();
    let ctx = PageCtx::new(lang, identity.as_ref().map(Identity::viewer), csrf, here);
    match web.render(
        &ctx,
        "error.html",
        serde_json::json!({ "problem": problem }),
    ) {
        Ok(html) => (status, html).into_response(),
        Err(p) => p.into_response(),
    }
}

/// The signed-in person; pages redirect to sign-in without one, the API answers 401.
impl<S: Send + Sync> FromRequestParts<S> for Identity {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Response> {
        match parts
            .extensions
            .get::<Option<Identity>>()
            .cloned()
            .flatten()
        {
            Some(identity) => Ok(identity),
            None if parts.extensions.get::<WantsPage>().is_some()
                && parts.method == Method::GET =>
            {
                let here = parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str())
                    .unwrap_or("/");
                let next: String = form_urlencoded::byte_serialize(here.as_bytes()).collect();
                Err(Redirect::to(&format!("/login?next={next}")).into_response())
            }
            None => Err(Problem::unauthorized().into_response()),
        }
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

/// What a page handler needs: the renderer, the layout context and the person, if any.
pub struct Page {
    pub web: Web,
    pub ctx: PageCtx,
    pub identity: Option<Identity>,
}

impl Page {
    /// Renders a template with this request's layout context.
    pub fn render(&self, template: &str, data: impl serde::Serialize) -> Result<Response, Problem> {
        self.web
            .render(&self.ctx, template, data)
            .map(IntoResponse::into_response)
    }

    pub fn t(&self, key: &str) -> String {
        self.web.t(&self.ctx, key)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Page
where
    Platform: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let platform = Platform::from_ref(state);
        let lang = Lang::from_request_parts(parts, state).await?;
        let identity = parts
            .extensions
            .get::<Option<Identity>>()
            .cloned()
            .flatten();
        let here = parts
            .uri
            .path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_default();
        let csrf = identity.as_ref().map(Identity::csrf).unwrap_or_default();
        let ctx = PageCtx::new(lang, identity.as_ref().map(Identity::viewer), csrf, here);
        Ok(Page {
            web: platform.web,
            ctx,
            identity,
        })
    }
}

/// A `Set-Cookie` header value for this server's cookies.
pub fn cookie(p: &Platform, name: &str, value: &str, max_age_secs: i64) -> HeaderValue {
    let secure = if p.settings.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}"
    ))
    .expect("cookie values are URL-safe")
}

/// The session secret a request carries, if any.
pub fn session_cookie_of(headers: &HeaderMap) -> Option<String> {
    session_secret(headers)
}
