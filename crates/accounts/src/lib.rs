//! Who people are: accounts, role grants (made to an email, so they can wait for someone
//! to sign up), browser sessions, local passwords and OpenID Connect sign-in, API tokens
//! (including audited delegation), one-time links (first-admin setup, invitations,
//! password resets, open sign-up's email verification) and outgoing mail, with the admin
//! pages that manage people and mail.
//!
//! It plugs into the server as a [`Studio`] like any other, and is the one that provides
//! the platform's [`IdentityProvider`]: the platform's gate asks it who a session cookie
//! or an API token belongs to.

pub mod admin;
pub mod db;
pub mod domain;
pub mod error;
pub mod identity;
pub mod limits;
pub mod mail;
pub mod oidc;
pub mod pages;
pub mod routes;
pub mod secrets;
pub mod sweep;

use std::sync::Arc;

use axum::extract::FromRef;
use tutti_platform::brief::Brief;
use tutti_platform::{Mounted, NavEntry, Platform, PlatformError, Studio};
use tutti_store::{Blobs, Db, Queue};
use tutti_web::Web;

pub use domain::{Email, TokenScope};
pub use error::{AccountsError, Limit, OidcError};
pub use limits::LimitSettings;
pub use mail::{Mailer, SmtpSettings};
pub use oidc::OidcSettings;
pub use tutti_platform::{Identity, MaybeIdentity, Page, Role};

/// The accounts' tables.
pub static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub const TEMPLATES: &[(&str, &str)] = pages::TEMPLATES;

pub const MESSAGES: &[(&str, &str)] = &[
    ("en", include_str!("../locales/en/accounts.ftl")),
    ("he", include_str!("../locales/he/accounts.ftl")),
];

/// Who may create an account without an invitation: the `signup` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Signup {
    /// Only people who were invited or granted a role beforehand; `/signup` says so.
    #[default]
    Invited,
    /// Anyone the identity provider vouches for (with a verified email), and anyone who
    /// signs up at `/signup` with an email and a password and then opens the link mailed
    /// to that email (see [`admin::request_signup`]); `/signup` waits until the server
    /// has its first administrator.
    Open,
}

/// The accounts' share of the server settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where browsers reach this server; links in mail and OIDC redirects use it.
    pub public_url: url::Url,
    pub signup: Signup,
    pub session_days: i64,
    pub oidc: Option<OidcSettings>,
    pub smtp: Option<SmtpSettings>,
    pub limits: LimitSettings,
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

/// The accounts' state: the platform's services plus mail and sign-in; cheap to clone.
#[derive(Clone, Debug)]
pub struct Accounts {
    pub platform: Platform,
    pub db: Db,
    pub blobs: Blobs,
    pub queue: Queue,
    pub web: Web,
    pub mailer: Mailer,
    pub settings: Arc<Settings>,
    pub oidc: Option<Arc<oidc::Oidc>>,
    /// Sign-in and link limits, and the bounded password hasher, of this process.
    pub limits: Arc<limits::Limits>,
    /// App keys (by hash and scope) resolved a moment ago: [`APP_KEY_TTL`] bounds how
    /// long a key revoked on another server keeps working here.
    pub app_keys: Arc<Brief<(String, String), tutti_platform::Identity>>,
}

/// How long a resolved app key is trusted without reading it again.
pub const APP_KEY_TTL: std::time::Duration = std::time::Duration::from_secs(2);

impl FromRef<Accounts> for Platform {
    fn from_ref(a: &Accounts) -> Platform {
        a.platform.clone()
    }
}

impl Accounts {
    pub fn new(platform: &Platform, settings: Settings) -> Result<Accounts, AccountsError> {
        let mailer = Mailer::new(
            platform.db.clone(),
            platform.queue.clone(),
            settings.smtp.clone(),
        )?;
        let oidc = settings
            .oidc
            .clone()
            .map(|s| oidc::Oidc::new(s, &settings).map(Arc::new))
            .transpose()?;
        let limits = Arc::new(limits::Limits::new(&settings.limits));
        Ok(Accounts {
            platform: platform.clone(),
            db: platform.db.clone(),
            blobs: platform.blobs.clone(),
            queue: platform.queue.clone(),
            web: platform.web.clone(),
            mailer,
            settings: Arc::new(settings),
            oidc,
            limits,
            app_keys: Arc::new(Brief::new(10_000, APP_KEY_TTL)),
        })
    }

    /// The bounded password hasher.
    pub fn hasher(&self) -> &secrets::Hasher {
        &self.limits.hasher
    }

    /// The session cookie's name on this server.
    pub fn session_cookie(&self) -> String {
        tutti_platform::identity::session_cookie(&self.platform.settings)
    }

    /// Parses a role name for the request field `field` against the declared roles.
    pub fn role(&self, raw: &str, field: &str) -> Result<Role, AccountsError> {
        Ok(self.platform.roles.parse(raw, field)?)
    }
}

/// The accounts studio, as the server lists it.
pub struct AccountsStudio {
    pub settings: Settings,
}

impl Studio for AccountsStudio {
    fn name(&self) -> &'static str {
        "accounts"
    }

    fn migrations(&self) -> Option<&'static sqlx::migrate::Migrator> {
        Some(&MIGRATIONS)
    }

    fn templates(&self) -> &'static [(&'static str, &'static str)] {
        TEMPLATES
    }

    fn messages(&self) -> &'static [(&'static str, &'static str)] {
        MESSAGES
    }

    fn admin_tabs(&self) -> Vec<NavEntry> {
        vec![
            NavEntry {
                href: "/admin/users",
                label: "admin-tab-users",
                about: "people-caption",
            },
            NavEntry {
                href: "/admin/outbox",
                label: "admin-tab-outbox",
                about: "outbox-caption",
            },
        ]
    }

    fn secret_paths(&self) -> &'static [&'static str] {
        &["/setup/", "/invite/", "/password/reset/", "/signup/verify/"]
    }

    fn mount(&self, platform: &Platform) -> Result<Mounted, PlatformError> {
        let accounts = Accounts::new(platform, self.settings.clone())?;
        let mailer = accounts.mailer.clone();
        let db = accounts.db.clone();
        let routes = pages::routes()
            .merge(routes::api())
            .with_state(accounts.clone());
        Ok(Mounted {
            routes,
            jobs: Some(Arc::new(move |worker| {
                worker
                    .register(mail::SEND_MAIL, mail::SendMail(mailer.clone()))
                    .periodic(sweep::Sweep(db.clone()), sweep::schedule())
            })),
            identity: Some(Arc::new(identity::Provider(accounts))),
            forget: None,
        })
    }
}
