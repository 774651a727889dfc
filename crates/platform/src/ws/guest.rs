//! Guest tokens: a signed pass into one room for someone without an account (a choir
//! singer or meeting guest following a link). The token carries the room, the display
//! name and an expiry, and an HMAC-SHA256 over them with the server's secret; it is
//! checked in constant time and refused for any other room or after it expires.
//!
//! Format: `base64url(payload) "." base64url(mac)`, where the payload is the JSON object
//! `{"room":…,"name":…,"exp":<unix seconds>}` and the MAC covers a version label and the
//! encoded payload. Nothing is stored per token: a leaked token is good until it expires.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::RoomKey;

/// Bytes of the server secret guest tokens are signed with.
pub const SECRET_BYTES: usize = 32;
/// Display names longer than this are cut when a token is made.
pub const MAX_NAME_CHARS: usize = 80;
const LABEL: &[u8] = b"tutti-guest-v1\n";

/// Someone in a room on a guest token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Guest {
    pub room: RoomKey,
    /// The name they gave, as shown to the others in the room.
    pub name: String,
    /// Unix seconds after which the token is refused.
    #[serde(rename = "exp")]
    pub expires_at: i64,
}

/// Why a guest token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GuestError {
    #[error("the guest token is malformed")]
    Malformed,
    #[error("the guest token's signature does not match")]
    BadSignature,
    #[error("the guest token has expired")]
    Expired,
}

fn mac(secret: &[u8], payload_b64: &str) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes any key");
    mac.update(LABEL);
    mac.update(payload_b64.as_bytes());
    mac.finalize().into_bytes().into()
}

/// A token admitting `name` to `room` until `expires_at` (Unix seconds).
pub fn sign(secret: &[u8], room: &RoomKey, name: &str, expires_at: i64) -> String {
    let name: String = name.trim().chars().take(MAX_NAME_CHARS).collect();
    let guest = Guest {
        room: room.clone(),
        name,
        expires_at,
    };
    let payload = B64.encode(serde_json::to_vec(&guest).expect("a guest serializes"));
    let mac = B64.encode(mac(secret, &payload));
    format!("{payload}.{mac}")
}

/// The guest a token admits, if its signature is ours and it has not expired at `now`
/// (Unix seconds). The signature is compared in constant time before anything in the
/// payload is trusted.
pub fn verify(secret: &[u8], token: &str, now: i64) -> Result<Guest, GuestError> {
    let (payload, sent) = token.trim().split_once('.').ok_or(GuestError::Malformed)?;
    let sent = B64.decode(sent).map_err(|_| GuestError::Malformed)?;
    let expected = mac(secret, payload);
    if !bool::from(sent.as_slice().ct_eq(&expected)) {
        return Err(GuestError::BadSignature);
    }
    let bytes = B64.decode(payload).map_err(|_| GuestError::Malformed)?;
    let guest: Guest = serde_json::from_slice(&bytes).map_err(|_| GuestError::Malformed)?;
    if guest.expires_at <= now {
        return Err(GuestError::Expired);
    }
    Ok(guest)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn a_token_admits_its_guest_to_its_room_until_it_expires() {
        let room = RoomKey::new("choir", "tuesday");
        let token = sign(KEY, &room, "  Ada  ", 1_000);
        let guest = verify(KEY, &token, 999).unwrap();
        assert_eq!(guest.room, room);
        assert_eq!(guest.name, "Ada");
        assert_eq!(verify(KEY, &token, 1_000), Err(GuestError::Expired));
    }

    #[test]
    fn another_key_or_a_changed_payload_is_refused() {
        let room = RoomKey::new("choir", "a");
        let token = sign(KEY, &room, "Ada", 1_000);
        assert_eq!(
            verify(b"another key of the right length!", &token, 0),
            Err(GuestError::BadSignature)
        );
        // Re-encode the payload for room b with the original signature.
        let (_, mac) = token.split_once('.').unwrap();
        let forged = sign(KEY, &RoomKey::new("choir", "b"), "Ada", 1_000);
        let (payload, _) = forged.split_once('.').unwrap();
        assert_eq!(
            verify(KEY, &format!("{payload}.{mac}"), 0),
            Err(GuestError::BadSignature)
        );
        assert_eq!(verify(KEY, "nonsense", 0), Err(GuestError::Malformed));
        assert_eq!(verify(KEY, "a.b!", 0), Err(GuestError::Malformed));
    }

    #[test]
    fn long_names_are_cut() {
        let token = sign(KEY, &RoomKey::new("m", "r"), &"x".repeat(500), 10);
        assert_eq!(verify(KEY, &token, 0).unwrap().name.len(), MAX_NAME_CHARS);
    }
}
