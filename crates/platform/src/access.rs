//! Who may call each route, declared with the route. [`Routes`] is the only way a studio
//! adds routes, and each addition names its [`Access`]; the check runs as a route layer
//! before the handler, and every declaration is kept ([`RouteDecl`]) so the role-matrix
//! test walks all of them. A route cannot ship unprotected by omission.
//!
//! Roles are data: each studio declares the ones it uses ([`RoleDef`]); the platform
//! declares only [`Role::ADMIN`], who holds every role.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use axum::Router;
use axum::extract::Request;
use axum::handler::Handler;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{MethodFilter, MethodRouter, on};
use serde::{Deserialize, Serialize};
use utoipa::openapi::OpenApi;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};

use crate::error::PlatformError;
use crate::identity::{Identity, WantsPage};

/// A role's name, as stored with grants and shown in the API.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(transparent)]
#[schema(value_type = String, example = "admin")]
pub struct Role(Cow<'static, str>);

impl Role {
    /// The platform's own role: runs the server and holds every other role.
    pub const ADMIN: Role = Role::declare("admin");

    /// A member of the community the server serves, as opposed to someone who only
    /// signed up: the live studios (choir rooms, meeting teams) let members create.
    pub const MEMBER: Role = Role::declare("member");

    /// A role a studio declares, e.g. `Role::declare("speaker")`.
    pub const fn declare(name: &'static str) -> Role {
        Role(Cow::Borrowed(name))
    }

    /// A role name as stored; whether it is declared is for [`Roles`] to say.
    pub fn stored(name: impl Into<String>) -> Role {
        Role(Cow::Owned(name.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A role a studio uses, with the message id that names it to people.
#[derive(Debug, Clone, Serialize)]
pub struct RoleDef {
    pub role: Role,
    /// Fluent message id of the role's name; pages also look it up as `role-<name>`.
    pub label: &'static str,
    /// The studio that declared it.
    pub studio: &'static str,
}

/// Every declared role, in declaration order.
#[derive(Debug, Clone, Default)]
pub struct Roles(Vec<RoleDef>);

impl Roles {
    /// Collects declarations; a role declared twice is a composition error.
    pub fn new(defs: Vec<RoleDef>) -> Result<Roles, PlatformError> {
        let mut seen = BTreeMap::new();
        for def in &defs {
            if let Some(other) = seen.insert(def.role.clone(), def.studio) {
                return Err(PlatformError::Composition(format!(
                    "the role {} is declared by both {other} and {}",
                    def.role, def.studio
                )));
            }
        }
        Ok(Roles(defs))
    }

    pub fn all(&self) -> &[RoleDef] {
        &self.0
    }

    /// Parses a role for the request field `field`, naming the valid ones when wrong.
    pub fn parse(&self, raw: &str, field: &str) -> Result<Role, PlatformError> {
        let wanted = raw.trim().to_lowercase();
        self.0
            .iter()
            .find(|d| d.role.as_str() == wanted)
            .map(|d| d.role.clone())
            .ok_or_else(|| PlatformError::Invalid {
                field: field.to_string(),
                detail: format!("{raw:?} is not a role; use one of {}.", self.names()),
            })
    }

    /// Checks roles that arrived already typed (e.g. in a JSON array).
    pub fn check(&self, roles: &[Role], field: &str) -> Result<(), PlatformError> {
        if roles.len() > self.0.len() {
            return Err(PlatformError::invalid(
                field,
                format!(
                    "{} roles were given, but there are only {}: {}.",
                    roles.len(),
                    self.0.len(),
                    self.names()
                ),
            ));
        }
        for (i, role) in roles.iter().enumerate() {
            self.parse(role.as_str(), field)?;
            if roles[..i].contains(role) {
                return Err(PlatformError::invalid(
                    field,
                    format!("{role} is listed twice; name each role once."),
                ));
            }
        }
        Ok(())
    }

    /// The declared role names, comma separated, for error messages.
    pub fn names(&self) -> String {
        self.0
            .iter()
            .map(|d| d.role.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Who may call a route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not (sign-in pages, the home page, health checks).
    Public,
    /// Anyone signed in.
    SignedIn,
    /// People holding this role (admins hold every role).
    Role(Role),
}

impl Access {
    pub fn admin() -> Access {
        Access::Role(Role::ADMIN)
    }

    /// Whether a request with this identity may pass; the rejection when not.
    fn check(&self, req: &Request) -> Result<(), Box<Response>> {
        if *self == Access::Public {
            return Ok(());
        }
        let identity = req
            .extensions()
            .get::<Option<Identity>>()
            .cloned()
            .flatten();
        match (identity, self) {
            (None, _) => Err(Box::new(sign_in_first(req))),
            (Some(_), Access::SignedIn) => Ok(()),
            (Some(identity), Access::Role(role)) => identity
                .require(role)
                .map_err(|e| Box::new(crate::error::problem(e).into_response())),
            (Some(_), Access::Public) => Ok(()),
        }
    }
}

/// Pages send a person to sign in and back; API clients get a 401.
fn sign_in_first(req: &Request) -> Response {
    if req.extensions().get::<WantsPage>().is_some() && req.method() == Method::GET {
        let here = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        let next: String = form_urlencoded::byte_serialize(here.as_bytes()).collect();
        Redirect::to(&format!("/login?next={next}")).into_response()
    } else {
        crate::error::problem(PlatformError::Unauthenticated).into_response()
    }
}

/// One route as declared: what the role matrix test calls.
#[derive(Debug, Clone)]
pub struct RouteDecl {
    pub method: Method,
    /// The path with its `{placeholders}`, e.g. `/admin/jobs/{id}/retry`.
    pub path: String,
    pub access: Access,
    /// Whether the route answers pages (HTML) rather than the JSON API.
    pub page: bool,
    /// The largest request body it takes ([`BodyLimit::Default`]: the server's setting).
    pub body_limit: BodyLimit,
}

/// How large a request body a route takes. Routes declare it with
/// [`Routes::page_with_limit`] or [`Routes::api_with_limit`]; the server enforces it
/// ([`crate::bodies`]) in place of its default `max_body_bytes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BodyLimit {
    /// The server's `max_body_bytes`.
    #[default]
    Default,
    /// At most this many bytes.
    Max(usize),
    /// No limit: the handler streams the body and bounds it itself (uploads).
    Unlimited,
}

/// A studio's routes under construction, every one with its access declared.
pub struct Routes<S> {
    pages: Router<S>,
    api: OpenApiRouter<S>,
    decls: Vec<RouteDecl>,
}

impl<S: Clone + Send + Sync + 'static> Default for Routes<S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: Clone + Send + Sync + 'static> Routes<S> {
    pub fn new() -> Self {
        Routes {
            pages: Router::new(),
            api: OpenApiRouter::new(),
            decls: Vec::new(),
        }
    }

    /// A page route (HTML, forms): `method` on `path`, callable by `access`.
    pub fn page<H, T>(mut self, access: Access, method: Method, path: &str, handler: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone())
            .unwrap_or_else(|_| panic!("{method} cannot be routed"));
        let route: MethodRouter<S> = guard(on(filter, handler), access.clone());
        self.pages = self.pages.route(path, route);
        self.decls.push(RouteDecl {
            method,
            path: path.to_string(),
            access,
            page: true,
            body_limit: BodyLimit::Default,
        });
        self
    }

    /// [`Routes::page`] taking request bodies up to `limit` instead of the server's default.
    pub fn page_with_limit<H, T>(
        mut self,
        access: Access,
        limit: BodyLimit,
        method: Method,
        path: &str,
        handler: H,
    ) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone())
            .unwrap_or_else(|_| panic!("{method} cannot be routed"));
        let route: MethodRouter<S> = with_limit(guard(on(filter, handler), access.clone()), limit);
        self.pages = self.pages.route(path, route);
        self.decls.push(RouteDecl {
            method,
            path: path.to_string(),
            access,
            page: true,
            body_limit: limit,
        });
        self
    }

    /// JSON API operations (from `utoipa_axum::routes!`), mounted under `/api/v1` and
    /// described in the OpenAPI document, all callable by `access`.
    pub fn api(self, access: Access, routes: UtoipaMethodRouter<S>) -> Self {
        self.api_with_limit(access, BodyLimit::Default, routes)
    }

    /// [`Routes::api`] taking request bodies up to `limit` instead of the server's default.
    pub fn api_with_limit(
        mut self,
        access: Access,
        limit: BodyLimit,
        routes: UtoipaMethodRouter<S>,
    ) -> Self {
        let (schemas, mut paths, method_router) = routes;
        // Prefixed here rather than nested: utoipa's nesting replaces a path's whole entry,
        // so operations on one path declared in two calls (tus: HEAD and PATCH) would lose
        // all but the last from the document. Merging keeps each operation.
        paths.paths = std::mem::take(&mut paths.paths)
            .into_iter()
            .map(|(path, item)| (format!("/api/v1{path}"), item))
            .collect();
        for (path, item) in &paths.paths {
            for method in methods_of(item) {
                self.decls.push(RouteDecl {
                    method,
                    path: path.clone(),
                    access: access.clone(),
                    page: false,
                    body_limit: limit,
                });
            }
        }
        let guarded = with_limit(guard(method_router, access), limit);
        self.api = self
            .api
            .merge(OpenApiRouter::new().routes((schemas, paths, guarded)));
        self
    }

    /// Adds another set of routes with their declarations.
    pub fn merge(mut self, other: Routes<S>) -> Self {
        self.pages = self.pages.merge(other.pages);
        self.api = self.api.merge(other.api);
        self.decls.extend(other.decls);
        self
    }

    /// Binds the routes to their state.
    pub fn with_state(self, state: S) -> StudioRoutes {
        let (api, openapi) = self.api.split_for_parts();
        StudioRoutes {
            router: self.pages.merge(api).with_state(state),
            openapi,
            decls: self.decls,
        }
    }
}

fn guard<S: Clone + Send + Sync + 'static>(
    route: MethodRouter<S>,
    access: Access,
) -> MethodRouter<S> {
    route.route_layer(axum::middleware::from_fn(
        move |req: Request, next: Next| {
            let access = access.clone();
            async move {
                match access.check(&req) {
                    Ok(()) => next.run(req).await,
                    Err(refused) => *refused,
                }
            }
        },
    ))
}

/// A route with its own body limit also tells axum's extractors (`Bytes`, `String`, …),
/// which otherwise apply the server-wide default; the hard limit is [`crate::bodies`].
fn with_limit<S: Clone + Send + Sync + 'static>(
    route: MethodRouter<S>,
    limit: BodyLimit,
) -> MethodRouter<S> {
    match limit {
        BodyLimit::Default => route,
        BodyLimit::Max(n) => route.route_layer(axum::extract::DefaultBodyLimit::max(n)),
        BodyLimit::Unlimited => route.route_layer(axum::extract::DefaultBodyLimit::disable()),
    }
}

fn methods_of(item: &utoipa::openapi::PathItem) -> Vec<Method> {
    let pairs = [
        (&item.get, Method::GET),
        (&item.put, Method::PUT),
        (&item.post, Method::POST),
        (&item.delete, Method::DELETE),
        (&item.patch, Method::PATCH),
        (&item.head, Method::HEAD),
        (&item.options, Method::OPTIONS),
    ];
    pairs
        .into_iter()
        .filter(|(op, _)| op.is_some())
        .map(|(_, m)| m)
        .collect()
}

/// A studio's routes, bound to its state, with their API description and declarations.
pub struct StudioRoutes {
    pub router: Router,
    pub openapi: OpenApi,
    pub decls: Vec<RouteDecl>,
}
