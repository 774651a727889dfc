//! One file in one `multipart/form-data` request: for small files and simple clients that
//! do not speak tus. The file part streams to the store ([`tutti_store::Blobs::put_stream`])
//! without being held in memory, its SHA-256 computed on the way and checked against
//! `Upload-Checksum: sha256 <base64>` when the client sent one; the result is a finished
//! upload, taken over by a studio like one that came through tus.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use futures_util::StreamExt;
use tutti_store::{Checksum, StoreError, new_id, now_ms};
use tutti_web::{Json, Problem};
use utoipa::ToSchema;
use utoipa_axum::routes;

use super::db::{self, UploadRow};
use super::tus::{bad_header, fail, header_str, quota_problem, refuse};
use super::{Upload, UploadSettings, Uploads};
use crate::access::{Access, BodyLimit, Routes};
use crate::identity::Identity;

/// Room for the multipart framing and the small fields around the file.
const FORM_OVERHEAD: u64 = 64 * 1024;

pub fn routes(settings: &UploadSettings) -> Routes<Uploads> {
    let limit =
        usize::try_from(settings.max_bytes.saturating_add(FORM_OVERHEAD)).unwrap_or(usize::MAX);
    Routes::new().api_with_limit(
        Access::SignedIn,
        BodyLimit::Max(limit),
        routes!(upload_form),
    )
}

/// The fields of the form.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct FormUpload {
    /// The studio the file is meant for.
    studio: Option<String>,
    /// The file itself; its file name and type are kept as metadata.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// Uploads one file in a multipart form.
#[utoipa::path(post, path = "/uploads/form", tag = "uploads",
    summary = "Upload one file in a multipart form (not resumable)",
    description = "A `multipart/form-data` body with the file in the field `file` and, \
        optionally, the field `studio`; any other field is refused (422). The file streams to the store; with \
        `Upload-Checksum: sha256 <base64>` it is kept only if it matches (460 otherwise). \
        The answer is the finished upload (status `complete`), which the studio takes over \
        like one that came through tus. Files over `Tus-Max-Size` or past your quota are \
        refused with 413 (before reading the body when it has a `Content-Length`).\n\n\
        **Authentication.** Cookie-authenticated scripts (a signed-in page's `fetch` with \
        `FormData`) must send the page's CSRF token as `X-CSRF-Token`; without it the \
        request is refused with 403. API clients send `Authorization: Bearer <token>`.",
    params(
        ("Upload-Checksum" = Option<String>, Header, pattern = "^(sha256 [A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=)?$", description = "`sha256 <base64>` of the file"),
        ("X-CSRF-Token" = Option<String>, Header, description = "The session's CSRF token, for cookie-authenticated scripts"),
    ),
    request_body(content = FormUpload, content_type = "multipart/form-data"),
    responses(
        (status = 201, body = Upload, description = "Stored; `Location` is the upload's address"),
        (status = 400, body = Problem, description = "Not a multipart form, or no `file` field"),
        (status = 401, body = Problem),
        (status = 403, body = Problem, description = "Missing CSRF token on a cookie request"),
        (status = 413, body = Problem, description = "Larger than `Tus-Max-Size`, or over the quota"),
        (status = 460, body = Problem, description = "The file does not match `Upload-Checksum`"),
    ))]
async fn upload_form(
    State(u): State<Uploads>,
    identity: Identity,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let mut multipart = match multipart {
        Ok(m) => m,
        Err(e) => {
            return refuse(
                Problem::bad_request(
                    "not-a-form",
                    format!("Send the file as multipart/form-data: {e}."),
                )
                .with_field("Content-Type"),
            );
        }
    };
    let expected = match header_str(&headers, "upload-checksum") {
        None => None,
        Some(value) => match sha256_of_header(value) {
            Some(c) => Some(c),
            None => {
                return bad_header(
                    "Upload-Checksum",
                    "Send `Upload-Checksum: sha256 <base64 digest>` of the file.",
                );
            }
        },
    };
    let p = &u.platform;
    let settings = &u.settings;
    let owner = identity.user.id.clone();
    let reserved = match db::reserved_bytes(&p.db, &owner, None).await {
        Ok(n) => n,
        Err(e) => return fail(e),
    };
    let declared = header_str(&headers, header::CONTENT_LENGTH.as_str())
        .and_then(|v| v.parse::<u64>().ok())
        .map(|n| n.saturating_sub(FORM_OVERHEAD));
    if let Some(n) = declared
        && reserved as u64 + n > settings.quota_bytes
    {
        return refuse(quota_problem(settings, reserved, n));
    }
    let allowed = settings
        .max_bytes
        .min(settings.quota_bytes.saturating_sub(reserved as u64));

    let mut metadata = BTreeMap::new();
    let id = new_id();
    let key = format!("uploads/files/{id}");
    let stored = loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => {
                return refuse(
                    Problem::bad_request("no-file", "The form has no `file` field.")
                        .with_field("file"),
                );
            }
            Err(e) => return refuse(Problem::bad_request("not-a-form", e.body_text())),
        };
        match field.name() {
            Some("file") => {
                if let Some(name) = field.file_name() {
                    metadata.insert("filename".to_string(), name.to_string());
                }
                if let Some(kind) = field.content_type() {
                    metadata.insert("filetype".to_string(), kind.to_string());
                }
                let seen = Arc::new(AtomicU64::new(0));
                let counted = seen.clone();
                let limited = field.map(move |chunk| {
                    let chunk = chunk.map_err(|e| e.body_text())?;
                    let total = counted.fetch_add(chunk.len() as u64, Ordering::Relaxed)
                        + chunk.len() as u64;
                    if total > allowed {
                        return Err(TOO_LARGE.to_string());
                    }
                    Ok(chunk)
                });
                break p.blobs.put_stream(&key, limited, expected).await;
            }
            Some("studio") => match field.text().await {
                Ok(studio) if studio.trim().len() <= 64 => {
                    metadata.insert("studio".to_string(), studio.trim().to_string());
                }
                Ok(_) => return bad_header("studio", "A studio name is at most 64 characters."),
                Err(e) => return refuse(Problem::bad_request("not-a-form", e.body_text())),
            },
            // Refused as JSON bodies refuse unknown fields: a misspelt `studio` would
            // otherwise leave the file unclaimed without a word.
            other => return refuse(unknown_field(other)),
        }
    };
    let blob = match stored {
        Ok(blob) => blob,
        Err(StoreError::ChecksumMismatch { .. }) => {
            return refuse(
                Problem::new(
                    StatusCode::from_u16(460).expect("460 is a valid status"),
                    "checksum-mismatch",
                    "The file does not match Upload-Checksum; nothing was kept. Send it again.",
                )
                .with_field("Upload-Checksum"),
            );
        }
        Err(StoreError::Incoming(reason)) if reason == TOO_LARGE => {
            return refuse(
                Problem::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "upload-too-large",
                    format!(
                        "The file is larger than you may upload now ({allowed} bytes: the \
                         smaller of the largest upload and what is left of your quota); \
                         nothing was kept."
                    ),
                )
                .with_field("file"),
            );
        }
        Err(StoreError::Incoming(reason)) => {
            return refuse(Problem::bad_request(
                "body-incomplete",
                format!("The form broke off ({reason}); nothing was kept."),
            ));
        }
        Err(e) => return fail(e.into()),
    };
    // `studio` may also follow the file; anything else is refused as before it, and the
    // stored file goes with the refusal.
    let trailing = loop {
        match multipart.next_field().await {
            Ok(None) => break None,
            Ok(Some(field)) => match field.name() {
                Some("studio") => match field.text().await {
                    Ok(studio) if studio.trim().len() <= 64 => {
                        metadata.insert("studio".to_string(), studio.trim().to_string());
                    }
                    Ok(_) => {
                        break Some(Problem::invalid(
                            "studio",
                            "A studio name is at most 64 characters.",
                        ));
                    }
                    Err(e) => break Some(Problem::bad_request("not-a-form", e.body_text())),
                },
                other => break Some(unknown_field(other)),
            },
            Err(e) => break Some(Problem::bad_request("not-a-form", e.body_text())),
        }
    };
    if let Some(problem) = trailing {
        let _ = p.blobs.delete(&key).await;
        return refuse(problem);
    }
    let now = now_ms();
    let studio = metadata.get("studio").cloned().filter(|s| !s.is_empty());
    let row = UploadRow {
        id: id.clone(),
        owner_id: owner,
        length_bytes: blob.size as i64,
        offset_bytes: blob.size as i64,
        metadata: serde_json::to_string(&metadata).unwrap_or_else(|_| "{}".into()),
        studio,
        blob_key: key.clone(),
        storage: "stream".into(),
        storage_id: "-".into(),
        parts: 0,
        tail_bytes: 0,
        hash_state: String::new(),
        sha256: Some(blob.sha256.clone()),
        status: db::COMPLETE.to_string(),
        created_at: now,
        updated_at: now,
        expires_at: now,
        completed_at: Some(now),
        taken_at: None,
    };
    if let Err(e) = db::insert(&p.db, &row).await {
        let _ = p.blobs.delete(&key).await;
        return fail(e);
    }
    let mut response = (StatusCode::CREATED, Json(Upload::from(&row))).into_response();
    if let Ok(location) = HeaderValue::from_str(&p.settings.link(&format!("/api/v1/uploads/{id}")))
    {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

const TOO_LARGE: &str = "the file is larger than allowed";

fn unknown_field(name: Option<&str>) -> Problem {
    let name: String = name.unwrap_or("").chars().take(64).collect();
    Problem::invalid(
        &name,
        format!("This form has no field `{name}`; send `file` and optionally `studio`."),
    )
}

fn sha256_of_header(value: &str) -> Option<Checksum> {
    let (algorithm, digest) = value.trim().split_once(' ')?;
    if !algorithm.eq_ignore_ascii_case("sha256") {
        return None;
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(digest.trim())
        .ok()?;
    Checksum::sha256_bytes(&bytes)
}
