//! The accounts' answer to "who is asking?": the platform's gate hands over a session
//! cookie or an API token and gets back an [`Identity`]. Delegate tokens name the person
//! they act for in `X-Tutti-On-Behalf-Of`, and every such request is audited with both.

use async_trait::async_trait;
use axum::http::{HeaderMap, HeaderValue};
use tutti_platform::identity::ON_BEHALF_OF;
use tutti_platform::{Identity, IdentityProvider, Person, Role, Via};
use tutti_web::Problem;

use crate::db::{self, User};
use crate::domain::{Email, TokenScope};
use crate::secrets::hash_secret;
use crate::{Accounts, AccountsError};

pub use tutti_platform::identity::{cookie_of, session_cookie_of};

/// The platform's [`IdentityProvider`], backed by the accounts' tables.
pub struct Provider(pub Accounts);

impl From<&User> for Person {
    fn from(u: &User) -> Person {
        Person {
            id: u.id.clone(),
            email: u.email.clone(),
            name: u.name.clone(),
        }
    }
}

#[async_trait]
impl IdentityProvider for Provider {
    async fn identify_token(
        &self,
        secret: &str,
        headers: &HeaderMap,
        action: &str,
    ) -> Result<Identity, Problem> {
        Ok(token_identity(&self.0, secret, headers, action).await?)
    }

    async fn identify_session(&self, secret: &str) -> Result<Option<Identity>, Problem> {
        let p = &self.0;
        let Some(session) = db::find_session(p.db.pool(), secret).await? else {
            return Ok(None);
        };
        let Some(user) = db::user_by_id(p.db.pool(), &session.user_id).await? else {
            return Ok(None);
        };
        Ok(Some(Identity {
            roles: db::roles_of(p.db.pool(), &user.email).await?,
            user: Person::from(&user),
            via: Via::Session {
                csrf: session.csrf_token,
            },
        }))
    }

    async fn setup_pending(&self) -> Result<bool, Problem> {
        Ok(crate::admin::needs_setup(&self.0).await?)
    }

    async fn identify_app_key(
        &self,
        secret: &str,
        scope: &str,
    ) -> Result<Option<Identity>, Problem> {
        let p = &self.0;
        // Music apps send their key with every call, several calls a second.
        let remembered = (hash_secret(secret), scope.to_string());
        if let Some(known) = p.app_keys.get(&remembered) {
            return Ok(Some(known));
        }
        let Some(token) = db::use_token(&p.db, secret)
            .await?
            .filter(|t| t.scope == scope)
        else {
            return Ok(None);
        };
        let Some(owner) = db::user_by_id(p.db.pool(), &token.user_id).await? else {
            return Ok(None);
        };
        let identity = Identity {
            roles: db::roles_of(p.db.pool(), &owner.email).await?,
            user: Person::from(&owner),
            via: Via::Token { token_id: token.id },
        };
        p.app_keys.remember(remembered, identity.clone());
        Ok(Some(identity))
    }

    fn forget_remembered(&self) {
        self.0.app_keys.forget_all();
    }

    async fn identify_email(&self, email: &str) -> Result<Option<Identity>, Problem> {
        let p = &self.0;
        let Ok(email) = Email::parse(email) else {
            return Ok(None);
        };
        let Some(user) = db::user_by_email(p.db.pool(), &email).await? else {
            return Ok(None);
        };
        Ok(Some(Identity {
            roles: db::roles_of(p.db.pool(), &user.email).await?,
            user: Person::from(&user),
            via: Via::Token {
                token_id: String::new(),
            },
        }))
    }
}

async fn token_identity(
    p: &Accounts,
    secret: &str,
    headers: &HeaderMap,
    action: &str,
) -> Result<Identity, AccountsError> {
    let Some(token) = db::use_token(&p.db, secret).await? else {
        return Err(AccountsError::InvalidToken);
    };
    if token.scope == TokenScope::Subsonic.as_str() {
        // An app key rides in URLs that proxies and players log; it must not open the API.
        return Err(AccountsError::forbidden(
            "This key is for music apps (Subsonic, under /rest/); create an API token for the API.",
            None,
        ));
    }
    let owner = db::user_by_id(p.db.pool(), &token.user_id)
        .await?
        .ok_or(AccountsError::Unauthenticated)?;
    let owner_roles = db::roles_of(p.db.pool(), &owner.email).await?;
    let Some(target) = headers.get(ON_BEHALF_OF) else {
        return Ok(Identity {
            user: Person::from(&owner),
            roles: owner_roles,
            via: Via::Token { token_id: token.id },
        });
    };
    if token.scope != TokenScope::Delegate.as_str() || !owner_roles.contains(&Role::ADMIN) {
        return Err(AccountsError::forbidden(
            "Only a delegate token, created by an administrator, may act on behalf of someone.",
            Some(ON_BEHALF_OF),
        ));
    }
    let email = Email::parse(target.to_str().unwrap_or_default()).map_err(|e| match e {
        AccountsError::Invalid { detail, .. } => AccountsError::invalid(ON_BEHALF_OF, detail),
        e => e,
    })?;
    let user = db::user_by_email(p.db.pool(), &email)
        .await?
        .ok_or_else(|| {
            AccountsError::not_found(
                format!("No account has the email {email}."),
                Some(ON_BEHALF_OF),
            )
        })?;
    let roles = db::roles_of(p.db.pool(), &user.email).await?;
    if roles.contains(&Role::ADMIN) {
        return Err(AccountsError::forbidden(
            "A delegate token cannot act on behalf of an administrator.",
            Some(ON_BEHALF_OF),
        ));
    }
    let identity = Identity {
        user: Person::from(&user),
        roles,
        via: Via::Delegated {
            token_id: token.id,
            actor: Person::from(&owner),
        },
    };
    tutti_platform::audit::record(
        p.db.pool(),
        identity
            .audit("delegated-request", action.to_string())
            .arg("request", action),
    )
    .await?;
    Ok(identity)
}

/// A `Set-Cookie` header value for this server's cookies.
pub fn cookie(p: &Accounts, name: &str, value: &str, max_age_secs: i64) -> HeaderValue {
    tutti_platform::page::cookie(&p.platform, name, value, max_age_secs)
}
