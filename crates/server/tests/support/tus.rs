//! A small tus 1.0 client for the tests, with what real networks do to uploads: PATCH
//! bodies written over a raw TCP connection that the client can cut part-way (a closed
//! socket or a reset), then HEAD and resume, the way `tus-js-client` recovers. The bytes
//! are a deterministic pseudo-random sequence, so any range can be made again without
//! holding the whole upload in memory.

#![allow(dead_code)]

use std::time::Duration;

use base64::Engine as _;
use reqwest::{Client, StatusCode};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const MIB: u64 = 1024 * 1024;

/// The upload's byte at each position: a keyed pseudo-random sequence.
pub fn fill(seed: u64, offset: u64, buf: &mut [u8]) {
    let mut pos = offset;
    let mut i = 0;
    while i < buf.len() {
        let word = splitmix(seed ^ (pos / 8));
        let bytes = word.to_le_bytes();
        let from = (pos % 8) as usize;
        let n = (8 - from).min(buf.len() - i);
        buf[i..i + n].copy_from_slice(&bytes[from..from + n]);
        i += n;
        pos += n as u64;
    }
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// `len` bytes of the sequence from `offset`.
pub fn bytes(seed: u64, offset: u64, len: usize) -> Vec<u8> {
    let mut buf = vec![0; len];
    fill(seed, offset, &mut buf);
    buf
}

/// SHA-256 (hex) of the first `len` bytes of the sequence, computed in pieces.
pub fn sha256_of(seed: u64, len: u64) -> String {
    let mut hasher = Sha256::new();
    let mut buf = vec![0; MIB as usize];
    let mut at = 0;
    while at < len {
        let n = (len - at).min(MIB) as usize;
        fill(seed, at, &mut buf[..n]);
        hasher.update(&buf[..n]);
        at += n as u64;
    }
    hex(&hasher.finalize())
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// `Upload-Checksum` for a body.
pub fn sha256_checksum(body: &[u8]) -> String {
    format!("sha256 {}", b64(&Sha256::digest(body)))
}

/// A tus client holding an API token.
pub struct Tus {
    pub client: Client,
    /// e.g. `http://127.0.0.1:41234`
    pub base: String,
    pub token: String,
}

impl Tus {
    pub fn new(base: &str, token: &str) -> Tus {
        Tus {
            client: Client::builder()
                .timeout(Duration::from_secs(120))
                .build()
                .unwrap(),
            base: base.trim_end_matches('/').to_string(),
            token: token.to_string(),
        }
    }

    fn request(&self, method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, url)
            .bearer_auth(&self.token)
            .header("tus-resumable", "1.0.0")
    }

    /// POST: a new upload; the response as it came.
    pub async fn create_response(&self, length: u64, metadata: &str) -> reqwest::Response {
        let mut request = self
            .request(
                reqwest::Method::POST,
                &format!("{}/api/v1/uploads", self.base),
            )
            .header("upload-length", length.to_string());
        if !metadata.is_empty() {
            request = request.header("upload-metadata", metadata);
        }
        request.send().await.unwrap()
    }

    /// POST that must succeed: the upload's address.
    pub async fn create(&self, length: u64, metadata: &str) -> String {
        let response = self.create_response(length, metadata).await;
        assert_eq!(response.status(), StatusCode::CREATED, "create an upload");
        assert_eq!(response.headers()["tus-resumable"], "1.0.0");
        assert!(response.headers().contains_key("upload-expires"));
        response.headers()["location"].to_str().unwrap().to_string()
    }

    pub async fn head_response(&self, location: &str) -> reqwest::Response {
        self.request(reqwest::Method::HEAD, location)
            .send()
            .await
            .unwrap()
    }

    /// HEAD that must succeed: the offset to resume from.
    pub async fn offset(&self, location: &str) -> u64 {
        let response = self.head_response(location).await;
        assert_eq!(response.status(), StatusCode::OK, "HEAD {location}");
        assert_eq!(response.headers()["cache-control"], "no-store");
        header_u64(response.headers(), "upload-offset")
    }

    /// PATCH with a body held in memory.
    pub async fn patch(
        &self,
        location: &str,
        offset: u64,
        body: Vec<u8>,
        checksum: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self
            .request(reqwest::Method::PATCH, location)
            .header("upload-offset", offset.to_string())
            .header("content-type", "application/offset+octet-stream")
            .body(body);
        if let Some(checksum) = checksum {
            request = request.header("upload-checksum", checksum);
        }
        request.send().await.unwrap()
    }

    /// The upload's state as JSON.
    pub async fn status(&self, location: &str) -> serde_json::Value {
        let response = self
            .client
            .get(location)
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    /// Sends bytes `[offset, len)` of the sequence in one PATCH over a fresh connection,
    /// cutting the connection after `cut_after` body bytes when given (`reset`: with a TCP
    /// reset instead of a close). Returns the status and headers, or `None` when cut.
    pub async fn patch_raw(
        &self,
        location: &str,
        seed: u64,
        offset: u64,
        len: u64,
        cut_after: Option<u64>,
        reset: bool,
    ) -> Option<RawResponse> {
        let url = url::Url::parse(location).unwrap();
        let host = format!("{}:{}", url.host_str().unwrap(), url.port().unwrap());
        let mut stream = TcpStream::connect(&host).await.unwrap();
        let head = format!(
            "PATCH {} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {}\r\n\
             Tus-Resumable: 1.0.0\r\nUpload-Offset: {offset}\r\n\
             Content-Type: application/offset+octet-stream\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n",
            url.path(),
            self.token,
            len - offset
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut buf = vec![0u8; 256 * 1024];
        let mut sent = 0u64;
        let body_len = len - offset;
        while sent < body_len {
            if let Some(cut) = cut_after
                && sent >= cut
            {
                if reset {
                    // SO_LINGER 0: the close sends a reset instead of a FIN.
                    stream.set_zero_linger().unwrap();
                }
                drop(stream);
                return None;
            }
            let mut n = (body_len - sent).min(buf.len() as u64) as usize;
            if let Some(cut) = cut_after {
                n = n.min((cut - sent) as usize).max(1);
            }
            fill(seed, offset + sent, &mut buf[..n]);
            if stream.write_all(&buf[..n]).await.is_err() {
                break; // the server answered early and closed; read what it said
            }
            sent += n as u64;
        }
        let mut response = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(120), stream.read_to_end(&mut response))
            .await
            .expect("the server answers a PATCH");
        Some(RawResponse::parse(&response))
    }

    /// Uploads `len` bytes of the sequence through tus, cutting the connection once at
    /// each of `cuts` (absolute positions), resuming after each from HEAD's offset the
    /// way tus-js-client does. Returns the upload's address.
    pub async fn upload_with_cuts(
        &self,
        seed: u64,
        len: u64,
        cuts: &[u64],
        metadata: &str,
    ) -> String {
        let location = self.create(len, metadata).await;
        let mut offset = 0;
        let mut cuts = cuts.iter().copied().peekable();
        let mut attempts = 0;
        while offset < len {
            attempts += 1;
            assert!(
                attempts < 200,
                "the upload made no progress (offset {offset})"
            );
            let cut = cuts.peek().copied();
            let cut_after = cut.filter(|c| *c > offset).map(|c| c - offset);
            let reset = cuts.len() % 2 == 0;
            match self
                .patch_raw(&location, seed, offset, len, cut_after, reset)
                .await
            {
                None => {
                    cuts.next();
                    // What the server kept of the cut body may still be landing.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Some(r) if r.status == 204 => {
                    let kept = r.header_u64("upload-offset");
                    assert!(kept > offset || len == 0, "a PATCH kept nothing: {r:?}");
                    offset = kept;
                    continue;
                }
                Some(r) if r.status == 409 || r.status == 423 => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Some(r) => panic!("PATCH at {offset} answered {r:?}"),
            }
            let before = offset;
            offset = self.offset(&location).await;
            assert!(
                offset >= before,
                "the offset went back from {before} to {offset}"
            );
        }
        assert_eq!(offset, len);
        location
    }
}

fn header_u64(headers: &reqwest::header::HeaderMap, name: &str) -> u64 {
    headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// A response read off a raw connection.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl RawResponse {
    fn parse(raw: &[u8]) -> RawResponse {
        let text = String::from_utf8_lossy(raw);
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("not an HTTP response: {text:?}"));
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        RawResponse {
            status,
            headers,
            body: body.to_string(),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn header_u64(&self, name: &str) -> u64 {
        self.header(name)
            .unwrap_or_else(|| panic!("no {name} in {self:?}"))
            .parse()
            .unwrap()
    }
}
