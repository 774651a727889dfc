//! Sign-in with any OpenID Connect provider (Google, Auth0, Keycloak …) configured by
//! issuer URL, client id and secret: authorization code flow with PKCE and a nonce. The
//! flow's secrets wait in the database between the redirect and the callback, so any node
//! can finish a sign-in another node started.

use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use serde::{Deserialize, Serialize};
use tokio::sync::RwLock;
use tutti_store::now_ms;

use crate::Settings;
use crate::db::{self, OidcLogin};
use crate::error::{AccountsError, OidcError};

/// A provider, as configured: the `[oidc]` section of the settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcSettings {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// The provider's name on the sign-in button.
    #[serde(default = "default_oidc_name")]
    pub name: String,
    #[serde(default = "default_oidc_scopes")]
    pub scopes: Vec<String>,
}

fn default_oidc_name() -> String {
    "OpenID Connect".into()
}

fn default_oidc_scopes() -> Vec<String> {
    ["openid", "email", "profile"].map(String::from).to_vec()
}

/// The configured provider and its discovered metadata.
pub struct Oidc {
    settings: OidcSettings,
    issuer: IssuerUrl,
    redirect: RedirectUrl,
    http: openidconnect::reqwest::Client,
    /// Discovered on first use and kept; a failed discovery is retried on the next sign-in.
    metadata: RwLock<Option<(CoreProviderMetadata, i64)>>,
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oidc")
            .field("issuer", &self.settings.issuer)
            .finish()
    }
}

/// What the provider told us about the person.
#[derive(Debug, Clone)]
pub struct Claims {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    pub next_path: String,
}

/// Metadata is refreshed after this long, so rotated keys are picked up.
const METADATA_TTL_MS: i64 = 3_600_000;

impl Oidc {
    pub fn new(settings: OidcSettings, server: &Settings) -> Result<Oidc, AccountsError> {
        let issuer = IssuerUrl::new(settings.issuer.clone()).map_err(|e| {
            AccountsError::invalid("oidc.issuer", format!("The issuer is not a URL: {e}."))
        })?;
        let redirect = RedirectUrl::new(server.link("/auth/oidc/callback")).map_err(|e| {
            AccountsError::invalid("public_url", format!("The public URL is not usable: {e}."))
        })?;
        let http = openidconnect::reqwest::ClientBuilder::new()
            // Following redirects would let a provider response steer us elsewhere (SSRF).
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(15))
            .build()
            .map_err(|e| AccountsError::Internal(e.to_string()))?;
        Ok(Oidc {
            settings,
            issuer,
            redirect,
            http,
            metadata: RwLock::new(None),
        })
    }

    /// The sign-in button's label.
    pub fn name(&self) -> &str {
        &self.settings.name
    }

    /// The issuer as configured, which the provider's `iss` callback parameter (RFC 9207)
    /// must equal.
    pub fn issuer(&self) -> &str {
        &self.settings.issuer
    }

    async fn client(&self) -> Result<ConfiguredClient, AccountsError> {
        let cached = self.metadata.read().await.clone();
        let metadata = match cached {
            Some((m, at)) if now_ms() - at < METADATA_TTL_MS => m,
            _ => {
                let m = CoreProviderMetadata::discover_async(self.issuer.clone(), &self.http)
                    .await
                    .map_err(|e| {
                        tracing::warn!(error = %e, issuer = %self.settings.issuer, "OIDC discovery failed");
                        OidcError::Unreachable {
                            provider: self.settings.name.clone(),
                        }
                    })?;
                *self.metadata.write().await = Some((m.clone(), now_ms()));
                m
            }
        };
        Ok(CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.settings.client_id.clone()),
            Some(ClientSecret::new(self.settings.client_secret.clone())),
        )
        .set_redirect_uri(self.redirect.clone()))
    }

    /// Starts a sign-in: remembers the flow's secrets and returns the provider URL and the
    /// `state`, which the caller binds to the browser (a cookie the callback checks).
    pub async fn start(
        &self,
        db: &tutti_store::Db,
        next_path: String,
    ) -> Result<(String, String), AccountsError> {
        let client = self.client().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client.authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        );
        for scope in extra_scopes(&self.settings.scopes) {
            request = request.add_scope(scope);
        }
        let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
        let login = OidcLogin {
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            next_path,
            created_at: now_ms(),
        };
        db::save_oidc_login(db.pool(), state.secret(), &login).await?;
        Ok((url.to_string(), state.secret().clone()))
    }

    /// Finishes a sign-in from the provider's callback.
    pub async fn finish(
        &self,
        db: &tutti_store::Db,
        state: &str,
        code: &str,
    ) -> Result<Claims, AccountsError> {
        let login = db::take_oidc_login(db, state)
            .await?
            .ok_or(OidcError::Expired)?;
        let client = self.client().await?;
        let refused = |what: &str, e: &dyn std::fmt::Display| {
            tracing::warn!(error = %e, "OIDC {what} failed");
            OidcError::Refused {
                step: what.to_string(),
            }
        };
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| refused("token endpoint", &e))?
            .set_pkce_verifier(PkceCodeVerifier::new(login.pkce_verifier))
            .request_async(&self.http)
            .await
            .map_err(|e| refused("code exchange", &e))?;
        let id_token = response
            .id_token()
            .ok_or_else(|| refused("ID token", &"missing"))?;
        let verifier = client.id_token_verifier();
        let claims = id_token
            .claims(&verifier, &Nonce::new(login.nonce))
            .map_err(|e| refused("ID token check", &e))?;
        let mut out = Claims {
            issuer: claims.issuer().to_string(),
            subject: claims.subject().to_string(),
            email: claims.email().map(|e| e.to_string()),
            email_verified: claims.email_verified().unwrap_or(false),
            name: claims
                .name()
                .and_then(|n| n.get(None))
                .map(|n| n.to_string()),
            next_path: login.next_path,
        };
        // Many providers put email and name only in the userinfo answer.
        if out.email.is_none() || out.name.is_none() {
            self.fill_from_userinfo(&client, response.access_token(), &mut out)
                .await;
        }
        Ok(out)
    }
}

impl Oidc {
    async fn fill_from_userinfo(
        &self,
        client: &ConfiguredClient,
        token: &openidconnect::AccessToken,
        out: &mut Claims,
    ) {
        let Ok(request) = client.user_info(token.clone(), None) else {
            return;
        };
        let info: Result<CoreUserInfoClaims, _> = request.request_async(&self.http).await;
        let Ok(info) = info else {
            return;
        };
        if info.subject().as_str() != out.subject {
            return;
        }
        if out.email.is_none() {
            out.email = info.email().map(|e| e.to_string());
            out.email_verified = info.email_verified().unwrap_or(false);
        }
        if out.name.is_none() {
            out.name = info.name().and_then(|n| n.get(None)).map(|n| n.to_string());
        }
    }
}

/// The configured scopes the client must add: all but `openid`, which the OpenID Connect
/// client always sends itself (sending it twice confuses some providers).
fn extra_scopes(scopes: &[String]) -> Vec<Scope> {
    let mut seen = std::collections::BTreeSet::new();
    scopes
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty() && *s != "openid" && seen.insert(*s))
        .map(|s| Scope::new(s.to_string()))
        .collect()
}

/// A client built from discovered metadata: authorization endpoint set, token and
/// userinfo endpoints as the provider announced them.
type ConfiguredClient = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openid_is_not_asked_for_twice() {
        let scopes: Vec<String> = ["openid", "email", "profile", "email"]
            .map(String::from)
            .to_vec();
        let extra: Vec<String> = extra_scopes(&scopes)
            .into_iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(extra, ["email", "profile"]);
    }
}
