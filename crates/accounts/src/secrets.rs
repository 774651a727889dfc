//! Password hashes (argon2id) and random secrets. Secrets are shown once and stored only
//! as SHA-256 hashes: they are long and random, so a fast hash is enough to look them up.
//!
//! Argon2 is slow and takes 19 MiB on purpose, so every hash runs through one [`Hasher`]
//! that bounds how many run at once; a request that cannot get a turn in time is told the
//! server is busy instead of piling up. Checking a password for an email with no account
//! (or no password) does the same work against a dummy hash, so the time a sign-in takes
//! does not tell whether the account exists.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::AccountsError;
use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

fn hash_now(password: &str) -> String {
    Argon2::default()
        .hash_password(password.as_bytes())
        .expect("argon2 with default parameters cannot fail")
        .to_string()
}

fn verify_now(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash of a random password nobody knows, made with the same parameters as real ones;
/// checked against when there is no real hash, so that takes as long as a real check.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_now(&random_secret("")))
}

/// Runs password hashing on the blocking pool, at most a fixed number at once.
#[derive(Debug, Clone)]
pub struct Hasher {
    permits: Arc<Semaphore>,
    wait: Duration,
}

impl Hasher {
    /// At most `at_once` hashes at a time (0: twice the number of CPU cores); a request
    /// waits at most `wait` for its turn.
    pub fn new(at_once: usize, wait: Duration) -> Hasher {
        let at_once = match at_once {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()) * 2,
            n => n,
        };
        Hasher {
            permits: Arc::new(Semaphore::new(at_once)),
            wait,
        }
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AccountsError> {
        let busy = || AccountsError::Busy {
            retry_after: Duration::from_secs(2),
        };
        let permit = tokio::time::timeout(self.wait, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| busy())?
            .map_err(|_| busy())?;
        // The permit moves into the task, so it is held until the hash is done even when
        // the request that asked for it has gone.
        tokio::task::spawn_blocking(move || {
            let out = work();
            drop(permit);
            out
        })
        .await
        .map_err(|e| AccountsError::Internal(e.to_string()))
    }

    /// Hashes a password for storage.
    pub async fn hash(&self, password: &str) -> Result<String, AccountsError> {
        let password = password.to_string();
        self.run(move || hash_now(&password)).await
    }

    /// Checks a password against a stored hash; with no hash (no such account, or one
    /// without a password) it checks against the dummy and answers false. A malformed
    /// hash never matches.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> Result<bool, AccountsError> {
        let password = password.to_string();
        let hash = hash.map(str::to_string);
        self.run(move || match hash {
            Some(hash) => verify_now(&password, &hash),
            None => {
                verify_now(&password, dummy_hash());
                false
            }
        })
        .await
    }
}

/// A new random secret with a prefix saying what it is (`tutti_` tokens stand out in
/// logs and secret scanners).
pub fn random_secret(prefix: &str) -> String {
    let bytes: [u8; 32] = rand::random();
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// The stored form of a secret.
pub fn hash_secret(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_password_verifies_only_against_its_own_hash() {
        let hasher = Hasher::new(2, Duration::from_secs(30));
        let hash = hasher.hash("correct horse battery").await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(
            hasher
                .verify("correct horse battery", Some(&hash))
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify("wrong horse battery", Some(&hash))
                .await
                .unwrap()
        );
        assert!(!hasher.verify("anything", Some("not a hash")).await.unwrap());
        assert!(!hasher.verify("anything", None).await.unwrap());
    }

    #[test]
    fn the_dummy_costs_what_a_real_hash_costs() {
        let real = PasswordHash::new(&hash_now("x"))
            .unwrap()
            .params
            .to_string();
        let dummy = PasswordHash::new(dummy_hash()).unwrap().params.to_string();
        assert_eq!(real, dummy);
    }

    #[tokio::test]
    async fn a_full_hasher_says_busy_after_its_wait() {
        let hasher = Hasher::new(1, Duration::from_millis(20));
        let held = hasher.permits.clone().acquire_owned().await.unwrap();
        let busy = hasher.hash("correct horse battery").await.unwrap_err();
        assert!(matches!(busy, AccountsError::Busy { .. }), "{busy:?}");
        let problem = tutti_web::Problem::from(busy);
        assert_eq!(problem.status, 503);
        assert!(problem.retry_after.is_some());
        drop(held);
        hasher.hash("correct horse battery").await.unwrap();
    }

    #[test]
    fn secrets_are_random_and_hash_stably() {
        let a = random_secret("tutti_");
        assert!(a.starts_with("tutti_") && a.len() > 40);
        assert_ne!(a, random_secret("tutti_"));
        assert_eq!(hash_secret(&a), hash_secret(&a));
        assert_eq!(hash_secret("abc").len(), 64);
    }
}
