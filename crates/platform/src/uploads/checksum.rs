//! The tus checksum extension: `Upload-Checksum: <algorithm> <base64 digest>` over one
//! PATCH body. SHA-1 is the algorithm the protocol requires; SHA-256 is offered too.

use base64::Engine as _;
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// The algorithms announced in `Tus-Checksum-Algorithm`.
pub const ALGORITHMS: &str = "sha1,sha256";

/// A checksum the client announced for a PATCH body.
#[derive(Debug, Clone)]
pub enum Expected {
    Sha1(Vec<u8>),
    Sha256(Vec<u8>),
}

impl Expected {
    /// Parses `Upload-Checksum`; `Err` names what is wrong with it.
    pub fn parse(value: &str) -> Result<Expected, String> {
        let (algorithm, digest) = value
            .trim()
            .split_once(' ')
            .ok_or_else(|| "Send `Upload-Checksum: <algorithm> <base64 digest>`.".to_string())?;
        let digest = base64::engine::general_purpose::STANDARD
            .decode(digest.trim())
            .map_err(|_| "The checksum is not valid base64.".to_string())?;
        let (expected, len) = match algorithm.to_ascii_lowercase().as_str() {
            "sha1" => (Expected::Sha1(digest.clone()), 20),
            "sha256" => (Expected::Sha256(digest.clone()), 32),
            other => {
                return Err(format!(
                    "The checksum algorithm {other:?} is not supported; use one of {ALGORITHMS}."
                ));
            }
        };
        if digest.len() != len {
            return Err(format!("A {algorithm} digest is {len} bytes long."));
        }
        Ok(expected)
    }
}

/// A checksum being computed over a body.
pub enum Running {
    Sha1(Sha1),
    Sha256(Sha256),
}

impl Running {
    pub fn new(expected: &Expected) -> Running {
        match expected {
            Expected::Sha1(_) => Running::Sha1(Sha1::new()),
            Expected::Sha256(_) => Running::Sha256(Sha256::new()),
        }
    }

    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            Running::Sha1(h) => h.update(bytes),
            Running::Sha256(h) => h.update(bytes),
        }
    }

    pub fn matches(self, expected: &Expected) -> bool {
        match (self, expected) {
            (Running::Sha1(h), Expected::Sha1(d)) => h.finalize().as_slice() == d.as_slice(),
            (Running::Sha256(h), Expected::Sha256(d)) => h.finalize().as_slice() == d.as_slice(),
            _ => false,
        }
    }
}
