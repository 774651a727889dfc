//! TURN credentials in coturn's `use-auth-secret` scheme (the "TURN REST API"): the
//! server and Tutti share a secret, and Tutti mints credentials that expire by
//! themselves, so nothing has to be stored or revoked.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{KeyInit, Mac};
use serde::Serialize;

use super::TurnSettings;

/// One entry of `RTCConfiguration.iceServers`, as the page hands it to the browser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IceServer {
    pub urls: Vec<String>,
    pub username: String,
    pub credential: String,
}

/// The username (`expiry:user`, expiry in Unix seconds) and password
/// (base64 of HMAC-SHA1 of the username under the secret) coturn accepts until
/// `now + ttl`.
pub fn turn_credentials(
    secret: &str,
    user: &str,
    ttl_seconds: u64,
    now_unix: u64,
) -> (String, String) {
    let username = format!("{}:{user}", now_unix.saturating_add(ttl_seconds));
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(username.as_bytes());
    let password = STANDARD.encode(mac.finalize().into_bytes());
    (username, password)
}

impl TurnSettings {
    /// The ICE server entry for `user` (a participant id or name; it shows in coturn's
    /// logs), valid from `now_unix` for the configured time.
    pub fn ice_server(&self, user: &str, now_unix: u64) -> IceServer {
        let (username, credential) =
            turn_credentials(&self.secret, user, self.ttl_seconds, now_unix);
        IceServer {
            urls: self.urls.clone(),
            username,
            credential,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_match_coturn_use_auth_secret() {
        // The expected password was computed independently with Python's hmac/hashlib:
        // base64(hmac.new(b"coturn-shared-secret", b"1700086400:42", sha1).digest()).
        let (user, pass) = turn_credentials("coturn-shared-secret", "42", 86_400, 1_700_000_000);
        assert_eq!(user, "1700086400:42");
        assert_eq!(pass, "hmVQJ9H3Ptku1cscF2adQHFMngc=");
    }

    #[test]
    fn credentials_expire_after_the_ttl_and_depend_on_the_secret() {
        let a = turn_credentials("s1", "alice", 60, 1000);
        let b = turn_credentials("s2", "alice", 60, 1000);
        assert_eq!(a.0, "1060:alice");
        assert_eq!(a.0, b.0);
        assert_ne!(a.1, b.1);
    }
}
