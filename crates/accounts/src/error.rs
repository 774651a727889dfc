//! The accounts' error enum. Code here says what went wrong in the accounts' own terms;
//! the one mapping to HTTP (status, problem type, field, `Retry-After`) is
//! `From<AccountsError> for Problem`.

use std::time::Duration;

use axum::http::StatusCode;
use tutti_platform::PlatformError;
use tutti_store::StoreError;
use tutti_web::Problem;

use crate::domain::Email;

#[derive(Debug, thiserror::Error)]
pub enum AccountsError {
    /// A field broke a rule; the detail says which and how to fix it.
    #[error("{field}: {detail}")]
    Invalid { field: String, detail: String },
    /// The thing asked for needs someone signed in (an API token's owner is gone).
    #[error("not signed in")]
    Unauthenticated,
    /// The API token sent is unknown, revoked or expired.
    #[error("unknown, revoked or expired API token")]
    InvalidToken,
    /// The person may not do this.
    #[error("{detail}")]
    Forbidden {
        detail: String,
        field: Option<String>,
    },
    #[error("{detail}")]
    NotFound {
        detail: String,
        field: Option<String>,
    },
    /// A one-time link (setup, invitation, reset) was used already or has expired.
    #[error("the link was already used or has expired")]
    LinkExpired,
    /// The server has its first account (administrator) already; the detail says what to
    /// do instead.
    #[error("{detail}")]
    AlreadySetUp { detail: String },
    /// An account with this email exists.
    #[error("an account with the email {email} already exists")]
    AccountExists { email: Email },
    /// Open sign-up is off (`signup = "invited"`), or the server still waits for its
    /// first administrator (`before_setup`), whose setup link a first sign-up would spoil.
    #[error("sign-up is closed")]
    SignupClosed { before_setup: bool },
    /// Revoking this admin role would leave the server without an administrator.
    #[error("the last administrator keeps the admin role")]
    LastAdmin,
    /// Too many attempts counted against `by`; come back after `retry_after`.
    #[error("too many attempts ({by:?}); wait {retry_after:?}")]
    Throttled { by: Limit, retry_after: Duration },
    /// Every password-hashing turn stayed taken; come back after `retry_after`.
    #[error("too busy hashing passwords; wait {retry_after:?}")]
    Busy { retry_after: Duration },
    #[error(transparent)]
    Oidc(#[from] OidcError),
    /// A failure on our side (the cause is logged, never shown).
    #[error("{0}")]
    Internal(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Platform(PlatformError),
}

/// What a sign-in or link attempt was counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// The client's address (an IPv6 client's /64).
    Address,
    /// The account, by the email typed.
    Account,
}

/// What went wrong signing in with OpenID Connect.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The provider's metadata could not be fetched; `provider` is its configured name.
    #[error("could not reach the sign-in provider {provider}")]
    Unreachable { provider: String },
    /// The provider did not confirm who the person is at `step`.
    #[error("the sign-in provider refused at {step}")]
    Refused { step: String },
    /// The sign-in's state is unknown: used already, or it took too long.
    #[error("the sign-in was already used or took too long")]
    Expired,
}

impl AccountsError {
    pub fn invalid(field: &str, detail: impl Into<String>) -> AccountsError {
        AccountsError::Invalid {
            field: field.to_string(),
            detail: detail.into(),
        }
    }

    pub fn forbidden(detail: impl Into<String>, field: Option<&str>) -> AccountsError {
        AccountsError::Forbidden {
            detail: detail.into(),
            field: field.map(str::to_string),
        }
    }

    pub fn not_found(detail: impl Into<String>, field: Option<&str>) -> AccountsError {
        AccountsError::NotFound {
            detail: detail.into(),
            field: field.map(str::to_string),
        }
    }

    /// A field's problem from the shared text rules (`tutti_web::text`), in these terms.
    pub(crate) fn from_text(problem: Problem, field: &str) -> AccountsError {
        AccountsError::Invalid {
            field: problem.field.unwrap_or_else(|| field.to_string()),
            detail: problem.detail,
        }
    }
}

impl From<tutti_store::sqlx::Error> for AccountsError {
    fn from(e: tutti_store::sqlx::Error) -> AccountsError {
        AccountsError::Store(StoreError::from(e))
    }
}

/// The platform's errors in the accounts' terms where they have them (a field broke a
/// rule, a role is missing …), so that callers match one enum.
impl From<PlatformError> for AccountsError {
    fn from(e: PlatformError) -> AccountsError {
        match e {
            PlatformError::Invalid { field, detail } => AccountsError::Invalid { field, detail },
            PlatformError::Unauthenticated => AccountsError::Unauthenticated,
            PlatformError::Forbidden { detail, field } => {
                AccountsError::Forbidden { detail, field }
            }
            PlatformError::NotFound { detail, field } => AccountsError::NotFound { detail, field },
            PlatformError::Store(e) => AccountsError::Store(e),
            e => AccountsError::Platform(e),
        }
    }
}

impl From<AccountsError> for Problem {
    fn from(e: AccountsError) -> Problem {
        match e {
            AccountsError::Invalid { field, detail } => Problem::invalid(&field, detail),
            AccountsError::Unauthenticated => Problem::unauthorized(),
            AccountsError::InvalidToken => Problem::new(
                StatusCode::UNAUTHORIZED,
                "invalid-token",
                "This API token is unknown, was revoked or has expired. Create a new one on your profile page.",
            ),
            AccountsError::Forbidden { detail, field } => with(Problem::forbidden(detail), field),
            AccountsError::NotFound { detail, field } => with(Problem::not_found(detail), field),
            AccountsError::LinkExpired => Problem::bad_request(
                "link-expired",
                "This link was already used or has expired. Ask for a new one.",
            )
            .with_field("token"),
            AccountsError::AlreadySetUp { detail } => Problem::conflict("already-set-up", detail),
            AccountsError::AccountExists { email } => Problem::conflict(
                "account-exists",
                format!("An account with the email {email} already exists."),
            )
            .with_field("email"),
            AccountsError::SignupClosed { before_setup } => Problem::new(
                StatusCode::FORBIDDEN,
                "signup-closed",
                if before_setup {
                    "Sign-up opens once this server has its first administrator."
                } else {
                    "Sign-up on this server is by invitation only. Ask an administrator to invite you."
                },
            ),
            AccountsError::LastAdmin => Problem::conflict(
                "last-admin",
                "This is the last administrator. Make someone else an administrator first.",
            )
            .with_field("role"),
            AccountsError::Throttled {
                by: Limit::Address,
                retry_after,
            } => Problem::too_many_requests(
                format!(
                    "Too many attempts from your address. Wait {} and try again.",
                    seconds(retry_after)
                ),
                retry_after,
            ),
            AccountsError::Throttled {
                by: Limit::Account,
                retry_after,
            } => Problem::too_many_requests(
                format!(
                    "Too many attempts for this account. Wait {} and try again.",
                    seconds(retry_after)
                ),
                retry_after,
            )
            .with_field("email"),
            AccountsError::Busy { retry_after } => Problem::busy(
                "The server is busy checking other passwords. Try again in a few seconds.",
                retry_after,
            ),
            AccountsError::Oidc(OidcError::Unreachable { provider }) => Problem::new(
                StatusCode::BAD_GATEWAY,
                "identity-provider-unreachable",
                format!(
                    "Could not reach the sign-in provider {provider}. Try again in a minute, or sign in with a password."
                ),
            ),
            AccountsError::Oidc(OidcError::Refused { step }) => Problem::new(
                StatusCode::BAD_GATEWAY,
                "identity-provider-refused",
                format!("The sign-in provider did not confirm who you are ({step}). Try again."),
            ),
            AccountsError::Oidc(OidcError::Expired) => Problem::bad_request(
                "sign-in-expired",
                "This sign-in was already used or took too long. Start it again from the sign-in page.",
            )
            .with_field("state"),
            AccountsError::Internal(cause) => Problem::internal(&cause),
            AccountsError::Store(e) => e.into(),
            AccountsError::Platform(e) => e.into(),
        }
    }
}

impl From<AccountsError> for PlatformError {
    fn from(e: AccountsError) -> PlatformError {
        PlatformError::Problem(e.into())
    }
}

fn with(problem: Problem, field: Option<String>) -> Problem {
    match field {
        Some(f) => problem.with_field(f),
        None => problem,
    }
}

/// `wait` as a person reads it: "a second", "3 seconds".
fn seconds(wait: Duration) -> String {
    match wait.as_millis().div_ceil(1000).max(1) {
        1 => "a second".into(),
        n => format!("{n} seconds"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapped(e: AccountsError) -> (u16, String, Option<String>, Option<u64>) {
        let p = Problem::from(e);
        (p.status, p.kind, p.field, p.retry_after)
    }

    #[test]
    fn each_error_keeps_its_status_type_and_field() {
        let kind = |k: &str| format!("urn:tutti:problem:{k}");
        assert_eq!(
            mapped(AccountsError::invalid("email", "x")),
            (422, kind("invalid-field"), Some("email".into()), None)
        );
        assert_eq!(
            mapped(AccountsError::LinkExpired),
            (400, kind("link-expired"), Some("token".into()), None)
        );
        assert_eq!(
            mapped(AccountsError::LastAdmin),
            (409, kind("last-admin"), Some("role".into()), None)
        );
        assert_eq!(
            mapped(AccountsError::Throttled {
                by: Limit::Account,
                retry_after: Duration::from_millis(1500),
            }),
            (
                429,
                kind("too-many-requests"),
                Some("email".into()),
                Some(2)
            )
        );
        assert_eq!(
            mapped(AccountsError::Busy {
                retry_after: Duration::from_secs(2),
            }),
            (503, kind("busy"), None, Some(2))
        );
        assert_eq!(
            mapped(AccountsError::Oidc(OidcError::Expired)),
            (400, kind("sign-in-expired"), Some("state".into()), None)
        );
        assert_eq!(
            mapped(AccountsError::SignupClosed {
                before_setup: false
            }),
            (403, kind("signup-closed"), None, None)
        );
        assert_eq!(
            mapped(AccountsError::InvalidToken),
            (401, kind("invalid-token"), None, None)
        );
    }

    #[test]
    fn platform_errors_read_in_the_accounts_terms() {
        let e = AccountsError::from(PlatformError::invalid("role", "no such role"));
        assert!(matches!(&e, AccountsError::Invalid { field, .. } if field == "role"));
    }
}
