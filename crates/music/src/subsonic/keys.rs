//! App passwords for Subsonic's token authentication. A client proves it knows the
//! password by sending `t = md5(password + s)` with a fresh salt `s`, so the server
//! must hold the password itself, not a hash of it. They are therefore sealed with
//! AES-256-GCM under a key kept outside the database (a file in the data folder, or
//! one named in the settings): a copy of the database alone reveals none of them.
//! They are random, made by the server, and never a person's sign-in password.

use std::path::{Path, PathBuf};

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use md5::{Digest, Md5};
use subtle::ConstantTimeEq;

use crate::MusicError;

/// The key app passwords are sealed with, read (or made, on first use) from its file.
#[derive(Clone)]
pub struct SealKey(Aes256Gcm);

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealKey(..)")
    }
}

impl SealKey {
    /// Reads the key file, creating it (readable by this user only) when it is missing.
    pub fn load_or_create(path: &Path) -> Result<SealKey, MusicError> {
        let raw = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(path)?,
            Err(e) => {
                return Err(MusicError::internal(format!(
                    "cannot read the app password key {}: {e}",
                    path.display()
                )));
            }
        };
        let bytes = STANDARD.decode(raw.trim()).ok().filter(|b| b.len() == 32);
        let Some(bytes) = bytes else {
            return Err(MusicError::internal(format!(
                "{} does not hold a key (32 bytes in base64); restore it from a backup, or \
                 delete it to make a new one, which voids every app password",
                path.display()
            )));
        };
        Aes256Gcm::new_from_slice(&bytes)
            .map(SealKey)
            .map_err(MusicError::internal)
    }

    /// `nonce || ciphertext`, in base64, bound to the account it belongs to.
    pub fn seal(&self, user_id: &str, password: &str) -> Result<String, MusicError> {
        let nonce_bytes: [u8; 12] = rand::random();
        let nonce = Nonce::from(nonce_bytes);
        let sealed = self
            .0
            .encrypt(
                &nonce,
                aes_gcm::aead::Payload {
                    msg: password.as_bytes(),
                    aad: user_id.as_bytes(),
                },
            )
            .map_err(|_| MusicError::internal("sealing an app password failed"))?;
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&sealed);
        Ok(STANDARD.encode(out))
    }

    /// The password sealed for `user_id`; None when it was sealed under another key or
    /// for another account (a row copied between accounts opens nothing).
    pub fn open(&self, user_id: &str, sealed: &str) -> Option<String> {
        let bytes = STANDARD.decode(sealed).ok()?;
        if bytes.len() < 12 {
            return None;
        }
        let (nonce, body) = bytes.split_at(12);
        let nonce = Nonce::try_from(nonce).ok()?;
        let clear = self
            .0
            .decrypt(
                &nonce,
                aes_gcm::aead::Payload {
                    msg: body,
                    aad: user_id.as_bytes(),
                },
            )
            .ok()?;
        String::from_utf8(clear).ok()
    }
}

fn create(path: &Path) -> Result<String, MusicError> {
    let key: [u8; 32] = rand::random();
    let text = STANDARD.encode(key);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(MusicError::internal)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(mut file) => {
            use std::io::Write;
            file.write_all(text.as_bytes())
                .and_then(|_| file.sync_all())
                .map_err(MusicError::internal)?;
            Ok(text)
        }
        // Another process made it first: theirs is the key.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            std::fs::read_to_string(path).map_err(MusicError::internal)
        }
        Err(e) => Err(MusicError::internal(format!(
            "cannot create the app password key {}: {e}",
            path.display()
        ))),
    }
}

/// Where the key lives when the settings name no file.
pub fn default_key_file(data_dir: &Path) -> PathBuf {
    data_dir.join("music-app-passwords.key")
}

/// A new app password: easy to type into a phone (no look-alike characters), 20
/// characters from 31 (about 99 bits).
pub fn new_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    (0..20)
        .map(|i| {
            let c = ALPHABET[rand::random_range(0..ALPHABET.len())] as char;
            if i > 0 && i % 5 == 0 {
                format!("-{c}")
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Whether `token` is `md5(password + salt)` in hex, compared in constant time.
pub fn token_matches(password: &str, salt: &str, token: &str) -> bool {
    let mut md5 = Md5::new();
    md5.update(password.as_bytes());
    md5.update(salt.as_bytes());
    let expected = hex::encode(md5.finalize());
    expected
        .as_bytes()
        .ct_eq(token.to_ascii_lowercase().as_bytes())
        .into()
}

/// Whether a clear `p` (or its `enc:`-hex form) is the password.
pub fn password_matches(password: &str, given: &str) -> bool {
    let given = match given.strip_prefix("enc:") {
        Some(hexed) => match hex::decode(hexed)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
        {
            Some(clear) => clear,
            None => return false,
        },
        None => given.to_string(),
    };
    password.as_bytes().ct_eq(given.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_password_opens_for_its_account_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        let key = SealKey::load_or_create(&path).unwrap();
        let sealed = key.seal("u1", "sesame").unwrap();
        assert!(!sealed.contains("sesame"));
        assert_eq!(key.open("u1", &sealed).as_deref(), Some("sesame"));
        assert_eq!(key.open("u2", &sealed), None);
        let again = SealKey::load_or_create(&path).unwrap();
        assert_eq!(again.open("u1", &sealed).as_deref(), Some("sesame"));
        let other = SealKey::load_or_create(&dir.path().join("other")).unwrap();
        assert_eq!(other.open("u1", &sealed), None);
    }

    #[test]
    fn tokens_follow_the_subsonic_recipe() {
        // The example in the Subsonic API documentation.
        assert!(token_matches(
            "sesame",
            "c19b2d",
            "26719a1196d2a940705a59634eb18eab"
        ));
        assert!(!token_matches(
            "sesame",
            "c19b2e",
            "26719a1196d2a940705a59634eb18eab"
        ));
        assert!(password_matches("sesame", "enc:736573616d65"));
        assert!(password_matches("sesame", "sesame"));
        assert!(!password_matches("sesame", "enc:zz"));
    }

    #[test]
    fn new_passwords_are_long_and_unlike() {
        let a = new_password();
        assert_eq!(a.len(), 23);
        assert_ne!(a, new_password());
    }
}
