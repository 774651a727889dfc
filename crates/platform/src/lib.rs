//! What every studio plugs into. A studio (accounts, recital, choir, meetings, music) is
//! one crate that implements [`Studio`]: it declares its migrations, templates,
//! messages, assets, roles, navigation entry and routes, and the server composes them.
//! This crate owns what they share: the [`Platform`] state handed to every route, who is
//! asking ([`Identity`], resolved once per request by the gate in [`identity`]), the
//! declaration of who may call each route ([`access`]), the page shell ([`page`]), the
//! audit log ([`audit`]), WebSockets ([`ws`]) and the platform's own admin pages (jobs,
//! audit log) and home page ([`core`]); [`brief`] remembers hot reads for a moment.
//!
//! Who people are is not decided here: the accounts crate implements
//! [`IdentityProvider`] for sessions and API tokens, so this crate knows an identity only
//! by its id, email, name and roles.

pub mod access;
pub mod audit;
pub mod bodies;
pub mod brief;
pub mod core;
pub mod error;
pub mod forget;
pub mod identity;
pub mod limits;
pub mod openapi;
pub mod page;
pub mod security;
pub mod serve;
pub mod studio;
pub mod uploads;
pub mod ws;

use std::sync::Arc;

use tutti_store::{Blobs, Db, Queue};
use tutti_web::Web;

pub use access::{Access, BodyLimit, Role, RoleDef, RouteDecl, Routes, StudioRoutes};
pub use audit::AuditEntry;
pub use error::PlatformError;
pub use forget::{Forget, Forgetting};
pub use identity::{Identity, IdentityProvider, MaybeIdentity, Person, Via};
pub use limits::RateLimiter;
pub use page::Page;
pub use security::{AllowFraming, ClientIp};
pub use studio::{Composition, Mounted, NavEntry, Studio};

/// The platform's own tables (the audit log, server-made secrets).
pub static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// What every studio's routes share about the server.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where browsers reach this server; links in mail and OIDC redirects use it.
    pub public_url: url::Url,
    /// Behind a reverse proxy: the client address comes from `X-Forwarded-For`.
    pub trust_proxy_headers: bool,
}

impl Settings {
    /// Cookies are marked Secure whenever the public address is https.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.scheme() == "https"
    }

    /// The name of one of this server's cookies: over https with the `__Host-` prefix, so
    /// browsers keep it only when it is Secure, for this host alone and for every path
    /// (another site on a sibling domain, or plain http, cannot plant one).
    pub fn cookie_name(&self, name: &str) -> String {
        if self.secure_cookies() {
            format!("__Host-{name}")
        } else {
            name.to_string()
        }
    }

    /// An absolute link to a path on this server.
    pub fn link(&self, path: &str) -> String {
        let base = self.public_url.as_str().trim_end_matches('/');
        format!("{base}{path}")
    }
}

/// The services every route needs, behind one pointer: axum clones a route's state for
/// every request, and each service holds several shared handles of its own.
#[derive(Clone, Debug)]
pub struct Platform(Arc<Services>);

impl Platform {
    pub fn new(services: Services) -> Platform {
        Platform(Arc::new(services))
    }
}

impl std::ops::Deref for Platform {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

/// What [`Platform`] shares.
#[derive(Debug)]
pub struct Services {
    pub db: Db,
    pub blobs: Blobs,
    pub queue: Queue,
    pub web: Web,
    pub settings: Arc<Settings>,
    /// Every role some studio declared; grants of anything else are refused.
    pub roles: Arc<access::Roles>,
    /// The studios' entries for the home page and the header.
    pub nav: Arc<Vec<NavEntry>>,
    /// The tabs of the admin area, from every studio that has admin pages.
    pub admin_tabs: Arc<Vec<NavEntry>>,
    /// This process's WebSockets: limits, guest tokens, shutdown ([`ws`]).
    pub sockets: ws::Hub,
    /// What every studio does when an account is deleted ([`forget`]).
    pub forgetting: Forgetting,
}

/// A key the server makes for itself on first use (`platform_secrets`), the same on
/// every node behind one database: it signs tokens that need no table of their own
/// (WebSocket guests, campaign invitations) and salts ids that must not be reversible.
pub async fn server_secret(db: &Db, name: &str) -> Result<Vec<u8>, PlatformError> {
    use base64::Engine as _;
    let fresh: [u8; 32] = rand::random();
    let encoded = base64::engine::general_purpose::STANDARD.encode(fresh);
    sqlx::query(
        "INSERT INTO platform_secrets (name, value, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (name) DO NOTHING",
    )
    .bind(name)
    .bind(&encoded)
    .bind(tutti_store::now_ms())
    .execute(db.pool())
    .await?;
    let stored: String = sqlx::query_scalar("SELECT value FROM platform_secrets WHERE name = $1")
        .bind(name)
        .fetch_one(db.pool())
        .await?;
    base64::engine::general_purpose::STANDARD
        .decode(stored.trim())
        .ok()
        .filter(|k| k.len() >= 16)
        .ok_or_else(|| {
            PlatformError::Problem(tutti_web::Problem::internal(&format!(
                "platform_secrets holds an unreadable {name} key; delete the row to make a new one"
            )))
        })
}

/// Compares two secrets in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}
