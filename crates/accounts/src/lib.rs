//! Who people are and what they may do: accounts, roles (granted to an email, so they can
//! wait for someone to sign up), browser sessions with CSRF protection, local passwords
//! and OpenID Connect sign-in, API tokens (including audited delegation), one-time links
//! (first-admin setup, invitations, password resets), outgoing mail, the audit log, and
//! the admin area that manages them and the job queue.
//!
//! It also owns [`Platform`], the state every studio's routes receive: the accounts crate
//! is the lowest one that knows who is asking, and every studio route needs that together
//! with the database, blob store, queue and page renderer.

pub mod admin;
pub mod auth;
pub mod db;
pub mod domain;
pub mod mail;
pub mod oidc;
pub mod pages;
pub mod routes;
pub mod secrets;

use std::sync::Arc;

use tutti_store::{Blobs, Db, Queue, Worker};
use tutti_web::{Problem, Web};

pub use auth::{Identity, MaybeIdentity, Page};
pub use domain::{Email, Role, TokenScope};
pub use mail::{Mailer, SmtpSettings};
pub use oidc::OidcSettings;

/// Errors from this crate are already problem documents: each function decides the
/// status and the words a person sees.
pub type AccountsError = Problem;

/// The accounts' tables.
pub static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub const TEMPLATES: &[(&str, &str)] = pages::TEMPLATES;

pub const MESSAGES: &[(&str, &str)] = &[
    ("en", include_str!("../locales/en/accounts.ftl")),
    ("he", include_str!("../locales/he/accounts.ftl")),
];

/// Who may create an account by signing in with OpenID Connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Signup {
    /// Only people who were invited or granted a role beforehand.
    Invited,
    /// Anyone the identity provider vouches for (with a verified email).
    Open,
}

/// The accounts' share of the server settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where browsers reach this server; links in mail and OIDC redirects use it.
    pub public_url: url::Url,
    pub signup: Signup,
    pub session_days: i64,
    pub trust_proxy_headers: bool,
}

impl Settings {
    /// Cookies are marked Secure whenever the public address is https.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.scheme() == "https"
    }

    /// An absolute link to a path on this server.
    pub fn link(&self, path: &str) -> String {
        let base = self.public_url.as_str().trim_end_matches('/');
        format!("{base}{path}")
    }
}

/// The services every route needs; cheap to clone.
#[derive(Clone, Debug)]
pub struct Platform {
    pub db: Db,
    pub blobs: Blobs,
    pub queue: Queue,
    pub web: Web,
    pub mailer: Mailer,
    pub settings: Arc<Settings>,
    pub oidc: Option<Arc<oidc::Oidc>>,
}

impl Platform {
    pub fn new(
        db: Db,
        blobs: Blobs,
        queue: Queue,
        web: Web,
        settings: Settings,
        oidc: Option<OidcSettings>,
        smtp: Option<SmtpSettings>,
    ) -> Result<Platform, AccountsError> {
        let mailer = Mailer::new(db.clone(), queue.clone(), smtp)?;
        let oidc = oidc
            .map(|s| oidc::Oidc::new(s, &settings).map(Arc::new))
            .transpose()?;
        Ok(Platform {
            db,
            blobs,
            queue,
            web,
            mailer,
            settings: Arc::new(settings),
            oidc,
        })
    }
}

/// Every account page and API route, with the authentication layer applied, and the
/// OpenAPI description of the API part.
pub fn router(platform: Platform) -> (axum::Router, utoipa::openapi::OpenApi) {
    let (api, openapi) = routes::api().split_for_parts();
    let router = axum::Router::new()
        .merge(pages::router())
        .merge(api)
        .layer(axum::middleware::from_fn_with_state(
            platform.clone(),
            auth::middleware,
        ))
        .with_state(platform);
    (router, openapi)
}

/// Adds the accounts' background jobs (sending mail) to a worker.
pub fn register_jobs(worker: Worker, platform: &Platform) -> Worker {
    worker.register(mail::SEND_MAIL, mail::SendMail(platform.mailer.clone()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_english_message_has_a_hebrew_translation() {
        let ids = |source: &str| -> Vec<String> {
            source
                .lines()
                .filter_map(|l| l.split_once(" = ").map(|(id, _)| id.trim().to_string()))
                .filter(|id| !id.starts_with('#') && !id.is_empty())
                .collect()
        };
        let english = ids(super::MESSAGES[0].1);
        let hebrew = ids(super::MESSAGES[1].1);
        for id in &english {
            assert!(hebrew.contains(id), "{id} has no Hebrew translation");
        }
        assert_eq!(
            english.len(),
            hebrew.len(),
            "Hebrew has messages English lacks"
        );
        // Every message a template asks for exists.
        let web = tutti_web::Web::builder()
            .add_messages(super::MESSAGES)
            .add_templates(super::TEMPLATES)
            .build();
        for (_, template) in super::TEMPLATES.iter().chain(tutti_web::render::TEMPLATES) {
            for part in template.split("t(\"").skip(1) {
                let id = part.split('"').next().unwrap();
                if !id.ends_with('-') {
                    assert!(web.i18n().has("en", id), "template asks for {id}");
                    assert!(web.i18n().has("he", id), "template asks for {id} in Hebrew");
                }
            }
        }
    }
}
