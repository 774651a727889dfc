//! Limits on what can be guessed or flooded: sign-ins, password-reset requests and the
//! redemption of one-time links, per account (the email typed) and per client address,
//! plus how many password hashes run at once. The counts live in this process's memory
//! ([`tutti_platform::RateLimiter`]); with several nodes each counts its own share.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tutti_platform::{ClientIp, RateLimiter};

use crate::error::{AccountsError, Limit};
use crate::secrets::Hasher;

/// The `[limits]` section of the settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitSettings {
    /// The period the counts below are per, in seconds.
    pub window_secs: u64,
    /// Failed sign-ins, and password-reset requests, per email per window (0: no limit).
    pub per_account: u32,
    /// Failed sign-ins and one-time link redemptions, and password-reset requests, per
    /// client address (an IPv6 client's /64) per window (0: no limit).
    pub per_address: u32,
    /// Password hashes computed at once (0: twice the number of CPU cores).
    pub hashing_at_once: usize,
    /// How long a request waits for its turn to hash before it is told to come back.
    pub hashing_wait_secs: u64,
}

impl Default for LimitSettings {
    fn default() -> Self {
        LimitSettings {
            window_secs: 60,
            per_account: 5,
            per_address: 30,
            hashing_at_once: 0,
            hashing_wait_secs: 5,
        }
    }
}

impl LimitSettings {
    /// The rules this section breaks, each naming its setting.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.window_secs == 0 {
            problems.push(
                "limits.window_secs must be at least 1 (the seconds the counts are per)".into(),
            );
        }
        if self.hashing_wait_secs == 0 {
            problems.push(
                "limits.hashing_wait_secs must be at least 1 (how long a sign-in waits for \
                 its turn to check a password)"
                    .into(),
            );
        }
        problems
    }
}

/// The limits of one process.
#[derive(Debug)]
pub struct Limits {
    accounts: RateLimiter,
    addresses: RateLimiter,
    pub hasher: Hasher,
}

impl Limits {
    pub fn new(settings: &LimitSettings) -> Limits {
        let window = Duration::from_secs(settings.window_secs.max(1));
        Limits {
            accounts: RateLimiter::new(settings.per_account, window),
            addresses: RateLimiter::new(settings.per_address, window),
            hasher: Hasher::new(
                settings.hashing_at_once,
                Duration::from_secs(settings.hashing_wait_secs.max(1)),
            ),
        }
    }

    /// Counts one attempt from `client`; refuses when its address has used its share.
    pub fn address(&self, client: ClientIp) -> Result<(), AccountsError> {
        let Some(key) = client.limit_key() else {
            return Ok(());
        };
        self.addresses
            .take(&key)
            .map_err(|wait| AccountsError::Throttled {
                by: Limit::Address,
                retry_after: wait,
            })
    }

    /// Gives back the attempt [`Limits::address`] counted for `client` (it succeeded: only
    /// failures and mail-sending requests use up an address's share).
    pub fn refund_address(&self, client: ClientIp) {
        if let Some(key) = client.limit_key() {
            self.addresses.refund(&key);
        }
    }

    /// Counts one `action` (`sign-in`, `reset`) at the account `email`; refuses when the
    /// account has used its share.
    pub fn account(&self, action: &str, email: &str) -> Result<(), AccountsError> {
        self.accounts
            .take(&account_key(action, email))
            .map_err(|wait| AccountsError::Throttled {
                by: Limit::Account,
                retry_after: wait,
            })
    }

    /// Gives back the attempt [`Limits::account`] counted (a sign-in that succeeded).
    pub fn refund_account(&self, action: &str, email: &str) {
        self.accounts.refund(&account_key(action, email));
    }
}

/// The key of an account's count: the email as typed, trimmed and lower-cased (so every
/// spelling of one address shares it), cut to the longest an email can be.
fn account_key(action: &str, email: &str) -> String {
    let email: String = email.trim().to_lowercase().chars().take(254).collect();
    format!("{action}:{email}")
}
