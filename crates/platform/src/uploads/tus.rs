//! The tus 1.0 endpoints under `/api/v1/uploads`: `OPTIONS` (what this server supports),
//! `POST` (creation), `HEAD` (the offset to resume from), `PATCH` (bytes), `DELETE`
//! (termination), and a JSON `GET` with the upload's state and checksum. Every answer
//! carries `Tus-Resumable: 1.0.0`; every error is a problem document.

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use tutti_store::{new_id, now_ms};
use tutti_web::{Json, Problem};
use utoipa_axum::routes;

use super::checksum::{ALGORITHMS, Expected};
use super::db::{self, UploadRow};
use super::write::{self, Outcome, Writer};
use super::{Upload, Uploads, not_found};
use crate::Platform;
use crate::access::{Access, BodyLimit, Routes};
use crate::error::PlatformError;
use crate::identity::Identity;

const VERSION: &str = "1.0.0";

/// The one tus version this server speaks, as the API document states it for the
/// `Tus-Resumable` header.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
enum TusVersion {
    #[schema(rename = "1.0.0")]
    V1,
}
const EXTENSIONS: &str = "creation,termination,checksum,expiration";
const OFFSET_STREAM: &str = "application/offset+octet-stream";
/// `Upload-Metadata` longer than this is refused.
const MAX_METADATA: usize = 4096;

pub fn routes() -> Routes<Uploads> {
    Routes::new()
        .api(Access::Public, routes!(options))
        .api(Access::SignedIn, routes!(create))
        .api(Access::SignedIn, routes!(head, status, terminate))
        .api_with_limit(Access::SignedIn, BodyLimit::Unlimited, routes!(patch))
}

fn h(name: &'static str) -> HeaderName {
    HeaderName::from_static(name)
}

/// A response with the tus headers every answer carries.
fn tus(status: StatusCode, headers: Vec<(&'static str, String)>) -> Response {
    let mut response = status.into_response();
    let map = response.headers_mut();
    map.insert(h("tus-resumable"), HeaderValue::from_static(VERSION));
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            map.insert(h(name), value);
        }
    }
    response
}

/// A problem document with the tus headers.
pub(super) fn refuse(problem: Problem) -> Response {
    let mut response = problem.into_response();
    response
        .headers_mut()
        .insert(h("tus-resumable"), HeaderValue::from_static(VERSION));
    response
}

pub(super) fn fail(e: PlatformError) -> Response {
    refuse(e.into())
}

pub(super) fn bad_header(field: &str, detail: impl Into<String>) -> Response {
    refuse(Problem::bad_request("invalid-header", detail).with_field(field))
}

/// A header's text; an empty value counts as absent, as some proxies and clients send an
/// optional header with nothing in it. A value that is not visible ASCII is no valid value
/// of any tus header, so it comes back as one that every parse here refuses.
pub(super) fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .map(|v| v.to_str().unwrap_or("\u{FFFD}"))
        .filter(|v| !v.trim().is_empty())
}

/// Requests other than OPTIONS must speak this protocol version.
fn check_version(headers: &HeaderMap) -> Option<Response> {
    if header_str(headers, "tus-resumable") == Some(VERSION) {
        return None;
    }
    let mut response = refuse(
        Problem::new(
            StatusCode::PRECONDITION_FAILED,
            "tus-version",
            format!("This server speaks tus {VERSION}; send `Tus-Resumable: {VERSION}`."),
        )
        .with_field("Tus-Resumable"),
    );
    response
        .headers_mut()
        .insert(h("tus-version"), HeaderValue::from_static(VERSION));
    Some(response)
}

fn http_date(ms: i64) -> String {
    httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64))
}

/// What the protocol says about this server.
#[utoipa::path(options, path = "/uploads", tag = "uploads",
    summary = "What this tus server supports",
    description = "Answers `Tus-Version`, `Tus-Extension` (creation, termination, checksum, \
        expiration), `Tus-Max-Size` and `Tus-Checksum-Algorithm`. Needs no sign-in.",
    responses((status = 204, description = "The server's capabilities, in headers")))]
async fn options(State(u): State<Uploads>) -> Response {
    tus(
        StatusCode::NO_CONTENT,
        vec![
            ("tus-version", VERSION.into()),
            ("tus-extension", EXTENSIONS.into()),
            ("tus-max-size", u.settings.max_bytes.to_string()),
            ("tus-checksum-algorithm", ALGORITHMS.into()),
        ],
    )
}

/// Parses `Upload-Metadata`: comma-separated `key base64value` pairs (the value may be
/// missing), keys unique.
fn parse_metadata(raw: &str) -> Result<BTreeMap<String, String>, String> {
    if raw.len() > MAX_METADATA {
        return Err(format!(
            "Upload-Metadata may be at most {MAX_METADATA} bytes."
        ));
    }
    let mut map = BTreeMap::new();
    for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = match pair.split_once(' ') {
            Some((k, v)) => (k, v.trim()),
            None => (pair, ""),
        };
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err(format!("{key:?} is not a metadata key."));
        }
        // tus allows any bytes; ours are text (file names, types), so bytes that are not
        // UTF-8 are kept as U+FFFD rather than failing an upload over its name.
        let value = base64::engine::general_purpose::STANDARD
            .decode(value)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .map_err(|_| format!("The value of {key:?} is not base64."))?;
        if map.insert(key.to_string(), value).is_some() {
            return Err(format!("The key {key:?} appears twice."));
        }
    }
    Ok(map)
}

fn encode_metadata(map: &BTreeMap<String, String>) -> String {
    map.iter()
        .map(|(k, v)| {
            if v.is_empty() {
                k.clone()
            } else {
                format!(
                    "{k} {}",
                    base64::engine::general_purpose::STANDARD.encode(v.as_bytes())
                )
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

pub(super) fn quota_problem(
    settings: &super::UploadSettings,
    reserved: i64,
    length: u64,
) -> Problem {
    Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "quota-exceeded",
        format!(
            "Your unfinished and unclaimed uploads already hold {reserved} bytes; {length} more \
             would pass your quota of {} bytes. Finish or delete an upload first.",
            settings.quota_bytes
        ),
    )
    .with_field("Upload-Length")
}

/// Creates an upload (tus creation extension).
#[utoipa::path(post, path = "/uploads", tag = "uploads",
    summary = "Start a resumable upload (tus 1.0 creation)",
    description = "Creates an upload of `Upload-Length` bytes and answers its address in \
        `Location`; send the bytes with PATCH (`Content-Type: application/offset+octet-stream`, \
        `Upload-Offset`), ask for the offset to resume from with HEAD, and cancel with DELETE. \
        `tus-js-client` and Uppy work unchanged.\n\n\
        `Upload-Metadata` is kept and answered back; its key `studio` names the studio the \
        upload is meant for, which takes the finished upload over.\n\n\
        Uploads larger than `Tus-Max-Size`, or that would take your unfinished and unclaimed \
        uploads past your quota, are refused here with 413 before any byte is stored.\n\n\
        **Authentication.** API clients send `Authorization: Bearer <token>`. Scripts in a \
        signed-in page use the session cookie and must send the page's CSRF token as \
        `X-CSRF-Token` on every POST, PATCH and DELETE (with tus-js-client: \
        `headers: {'X-CSRF-Token': token}`); the same holds for multipart form uploads \
        anywhere in this API.",
    params(
        ("Tus-Resumable" = inline(TusVersion), Header, description = "The tus version the client speaks"),
        ("Upload-Length" = u64, Header, description = "The size of the whole upload in bytes"),
        ("Upload-Metadata" = Option<String>, Header, pattern = "^[!-+--~]+( (?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/][AQgw]==|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=)?)?(,[!-+--~]+( (?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/][AQgw]==|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=)?)?)*$", description = "Comma-separated `key base64(value)` pairs, e.g. `filename dGFrZS53YXY=,studio bXVzaWM=`"),
        ("X-CSRF-Token" = Option<String>, Header, description = "The session's CSRF token, for cookie-authenticated scripts"),
    ),
    responses(
        (status = 201, description = "Created; `Location` is the upload's address, `Upload-Expires` when an unfinished upload is removed"),
        (status = 400, body = Problem, description = "A tus header is missing or malformed (`field` names it)"),
        (status = 401, body = Problem),
        (status = 403, body = Problem, description = "Missing CSRF token on a cookie request"),
        (status = 412, body = Problem, description = "Unsupported `Tus-Resumable` version"),
        (status = 413, body = Problem, description = "Larger than `Tus-Max-Size` (`upload-too-large`) or over the quota (`quota-exceeded`); `field` is `Upload-Length`"),
    ))]
async fn create(State(u): State<Uploads>, identity: Identity, headers: HeaderMap) -> Response {
    if let Some(refused) = check_version(&headers) {
        return refused;
    }
    if headers.contains_key("upload-defer-length") {
        return bad_header(
            "Upload-Defer-Length",
            "Deferred lengths are not supported; send Upload-Length.",
        );
    }
    let Some(length) = header_str(&headers, "upload-length").and_then(|v| v.parse::<u64>().ok())
    else {
        return bad_header(
            "Upload-Length",
            "Send the size of the whole upload in bytes as Upload-Length.",
        );
    };
    let metadata = match header_str(&headers, "upload-metadata")
        .map(parse_metadata)
        .transpose()
    {
        Ok(m) => m.unwrap_or_default(),
        Err(detail) => return bad_header("Upload-Metadata", detail),
    };
    let settings = &u.settings;
    if length > settings.max_bytes {
        return refuse(
            Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "upload-too-large",
                format!(
                    "An upload may be at most {} bytes (Tus-Max-Size); this one is {length}.",
                    settings.max_bytes
                ),
            )
            .with_field("Upload-Length"),
        );
    }
    let p = &u.platform;
    let owner = &identity.user.id;
    let reserved = match db::reserved_bytes(&p.db, owner, None).await {
        Ok(n) => n,
        Err(e) => return fail(e),
    };
    if reserved as u64 + length > settings.quota_bytes {
        return refuse(quota_problem(settings, reserved, length));
    }
    let studio = metadata
        .get("studio")
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    if studio.as_ref().is_some_and(|s| s.len() > 64) {
        return bad_header("Upload-Metadata", "A studio name is at most 64 characters.");
    }
    match begin(p, settings, owner, length, metadata, studio).await {
        Ok(row) => tus(
            StatusCode::CREATED,
            vec![
                (
                    "location",
                    p.settings.link(&format!("/api/v1/uploads/{}", row.id)),
                ),
                ("upload-expires", http_date(row.expires_at)),
                ("upload-offset", row.offset_bytes.to_string()),
            ],
        ),
        Err(e) => fail(e),
    }
}

async fn begin(
    p: &Platform,
    settings: &super::UploadSettings,
    owner: &str,
    length: u64,
    metadata: BTreeMap<String, String>,
    studio: Option<String>,
) -> Result<UploadRow, PlatformError> {
    let kind = p.blobs.parts_kind().ok_or_else(|| {
        PlatformError::Store(tutti_store::StoreError::Config(format!(
            "the blob store {} cannot keep resumable uploads",
            p.blobs.description()
        )))
    })?;
    let id = new_id();
    let key = format!("uploads/files/{id}");
    let now = now_ms();
    let mut row = UploadRow {
        id: id.clone(),
        owner_id: owner.to_string(),
        length_bytes: length as i64,
        offset_bytes: 0,
        metadata: serde_json::to_string(&metadata).unwrap_or_else(|_| "{}".into()),
        studio,
        blob_key: key.clone(),
        storage: kind.as_str().to_string(),
        storage_id: String::new(),
        parts: 0,
        tail_bytes: 0,
        hash_state: write::fresh_state(),
        sha256: None,
        status: db::RECEIVING.to_string(),
        created_at: now,
        updated_at: now,
        expires_at: now + settings.expire_ms(),
        completed_at: None,
        taken_at: None,
    };
    if length == 0 {
        p.blobs.put(&key, bytes::Bytes::new()).await?;
        row.status = db::COMPLETE.to_string();
        row.sha256 = Some(write::finish_hex(&row.hash_state)?);
        row.completed_at = Some(now);
        row.storage_id = "-".into();
        db::insert(&p.db, &row).await?;
        return Ok(row);
    }
    row.storage_id = p.blobs.parts_begin(&key).await?;
    if let Err(e) = db::insert(&p.db, &row).await {
        let _ = p.blobs.parts_abort(&key, &row.storage_id).await;
        return Err(e);
    }
    Ok(row)
}

/// Loads an upload of the caller's; others' uploads do not exist for them.
async fn load(p: &Platform, identity: &Identity, id: &str) -> Result<UploadRow, PlatformError> {
    match db::get(&p.db, id).await? {
        Some(row) if row.owner_id == identity.user.id => Ok(row),
        _ => Err(not_found()),
    }
}

fn gone() -> Response {
    refuse(Problem::new(
        StatusCode::GONE,
        "upload-expired",
        "This upload expired unfinished; start a new one.",
    ))
}

/// An unfinished upload past its expiry, or begun on a store this server no longer uses.
fn expired(p: &Platform, row: &UploadRow) -> bool {
    row.status == db::RECEIVING
        && (row.expires_at < now_ms() || !super::expire::stored_here(p, row))
}

/// Joins an upload whose last byte is stored but that is not yet marked complete (the
/// request that stored it was cut off, or its node died).
pub(super) async fn ensure_finished(p: &Platform, row: &UploadRow) -> Result<(), PlatformError> {
    let token = new_id();
    if !db::lock(&p.db, &row.id, &token, Some(row.length_bytes)).await? {
        return Ok(());
    }
    let result = match db::get(&p.db, &row.id).await? {
        Some(fresh)
            if fresh.status == db::RECEIVING && fresh.offset_bytes == fresh.length_bytes =>
        {
            write::finish(p, &fresh).await
        }
        _ => Ok(()),
    };
    db::unlock(&p.db, &row.id, &token).await?;
    result
}

/// The offset to resume from.
#[utoipa::path(head, path = "/uploads/{id}", tag = "uploads",
    summary = "Where to resume an upload (tus HEAD)",
    params(("id" = String, Path), ("Tus-Resumable" = inline(TusVersion), Header, description = "The tus version the client speaks")),
    responses(
        (status = 200, description = "`Upload-Offset` (bytes durably kept), `Upload-Length`, `Upload-Metadata`, `Upload-Expires`; `Cache-Control: no-store`"),
        (status = 401, body = Problem), (status = 404, body = Problem), (status = 410, body = Problem),
        (status = 412, body = Problem),
    ))]
async fn head(
    State(u): State<Uploads>,
    identity: Identity,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = check_version(&headers) {
        return refused;
    }
    let p = &u.platform;
    let mut row = match load(p, &identity, &id).await {
        Ok(row) => row,
        Err(e) => return fail(e),
    };
    if expired(p, &row) {
        return gone();
    }
    if row.status == db::RECEIVING && row.offset_bytes == row.length_bytes {
        if let Err(e) = ensure_finished(p, &row).await {
            return fail(e);
        }
        row = match load(p, &identity, &id).await {
            Ok(row) => row,
            Err(e) => return fail(e),
        };
    }
    let metadata: BTreeMap<String, String> =
        serde_json::from_str(&row.metadata).unwrap_or_default();
    let mut out = vec![
        ("upload-offset", row.offset_bytes.to_string()),
        ("upload-length", row.length_bytes.to_string()),
        ("cache-control", "no-store".to_string()),
    ];
    if !metadata.is_empty() {
        out.push(("upload-metadata", encode_metadata(&metadata)));
    }
    if row.status == db::RECEIVING {
        out.push(("upload-expires", http_date(row.expires_at)));
    }
    tus(StatusCode::OK, out)
}

/// An upload's state as JSON (not part of tus): its status, offset and, once complete,
/// its blob key and SHA-256.
#[utoipa::path(get, path = "/uploads/{id}", tag = "uploads",
    summary = "An upload's state and checksum",
    params(("id" = String, Path)),
    responses((status = 200, body = Upload), (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn status(
    State(u): State<Uploads>,
    identity: Identity,
    Path(id): Path<String>,
) -> Result<Json<Upload>, Problem> {
    let p = &u.platform;
    let row = super::owned(p, &id, &identity.user.id).await?;
    if row.status == db::RECEIVING && row.offset_bytes == row.length_bytes {
        ensure_finished(p, &row).await?;
    }
    Ok(Json(super::get(p, &id, &identity.user.id).await?))
}

/// Bytes of an upload, from `Upload-Offset` on.
#[utoipa::path(patch, path = "/uploads/{id}", tag = "uploads",
    summary = "Send bytes of an upload (tus PATCH)",
    description = "The body continues the upload at `Upload-Offset`, which must be the offset \
        HEAD reports (409 otherwise). The answer's `Upload-Offset` is what the server kept: \
        everything that arrived, durably, also when the connection broke off (ask HEAD, then \
        resume). With `Upload-Checksum: sha1|sha256 <base64>` the body counts only if it \
        matches (460 otherwise, and nothing of it is kept). Cookie-authenticated scripts \
        send `X-CSRF-Token`. Another request still writing to the same upload gets 423.",
    params(
        ("id" = String, Path),
        ("Tus-Resumable" = inline(TusVersion), Header, description = "The tus version the client speaks"),
        ("Upload-Offset" = u64, Header, description = "Where this body starts"),
        ("Upload-Checksum" = Option<String>, Header, pattern = "^(sha1 [A-Za-z0-9+/]{26}[AEIMQUYcgkosw048]=|sha256 [A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=)?$", description = "`sha1 <base64>` or `sha256 <base64>` of this body"),
        ("X-CSRF-Token" = Option<String>, Header, description = "The session's CSRF token, for cookie-authenticated scripts"),
    ),
    request_body(content = Vec<u8>, content_type = "application/offset+octet-stream"),
    responses(
        (status = 204, description = "Kept; `Upload-Offset` is the new offset, `Upload-Expires` when an unfinished upload is removed"),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem),
        (status = 409, body = Problem, description = "`Upload-Offset` is not the upload's offset"),
        (status = 410, body = Problem, description = "The upload expired"),
        (status = 412, body = Problem),
        (status = 413, body = Problem, description = "More bytes than `Upload-Length`, or over the quota"),
        (status = 415, body = Problem),
        (status = 423, body = Problem, description = "Another request is writing to this upload; retry"),
        (status = 460, body = Problem, description = "The body does not match `Upload-Checksum`"),
    ))]
async fn patch(
    State(u): State<Uploads>,
    identity: Identity,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Some(refused) = check_version(&headers) {
        return refused;
    }
    if header_str(&headers, "content-type").map(|v| v.split(';').next().unwrap_or("").trim())
        != Some(OFFSET_STREAM)
    {
        return refuse(
            Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                format!("Send the bytes with `Content-Type: {OFFSET_STREAM}`."),
            )
            .with_field("Content-Type"),
        );
    }
    let Some(offset) = header_str(&headers, "upload-offset").and_then(|v| v.parse::<i64>().ok())
    else {
        return bad_header(
            "Upload-Offset",
            "Send where this body starts as Upload-Offset (ask HEAD for it).",
        );
    };
    let check = match header_str(&headers, "upload-checksum").map(Expected::parse) {
        None => None,
        Some(Ok(expected)) => Some(expected),
        Some(Err(detail)) => return bad_header("Upload-Checksum", detail),
    };
    let p = u.platform.clone();
    let row = match load(&p, &identity, &id).await {
        Ok(row) => row,
        Err(e) => return fail(e),
    };
    if expired(&p, &row) {
        return gone();
    }
    let mismatch = |row: &UploadRow| {
        let mut response = refuse(
            Problem::conflict(
                "offset-mismatch",
                format!(
                    "This upload is at offset {}, not {offset}; ask HEAD and resume from there.",
                    row.offset_bytes
                ),
            )
            .with_field("Upload-Offset"),
        );
        if let Ok(v) = HeaderValue::from_str(&row.offset_bytes.to_string()) {
            response.headers_mut().insert(h("upload-offset"), v);
        }
        response
    };
    if row.status != db::RECEIVING {
        return if offset == row.length_bytes {
            tus(
                StatusCode::NO_CONTENT,
                vec![("upload-offset", row.length_bytes.to_string())],
            )
        } else {
            mismatch(&row)
        };
    }
    if offset != row.offset_bytes {
        return mismatch(&row);
    }
    let remaining = (row.length_bytes - row.offset_bytes) as u64;
    if header_str(&headers, header::CONTENT_LENGTH.as_str())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > remaining)
    {
        return too_long(&row);
    }
    let settings = u.settings.clone();
    match db::reserved_bytes(&p.db, &row.owner_id, Some(&row.id)).await {
        Ok(others) if (others + row.length_bytes) as u64 > settings.quota_bytes => {
            return refuse(quota_problem(&settings, others, row.length_bytes as u64));
        }
        Ok(_) => {}
        Err(e) => return fail(e),
    }
    let token = new_id();
    match db::lock(&p.db, &id, &token, Some(offset)).await {
        Ok(true) => {}
        Ok(false) => {
            return match db::get(&p.db, &id).await {
                Ok(Some(now)) if now.offset_bytes != offset || now.status != db::RECEIVING => {
                    mismatch(&now)
                }
                Ok(_) => refuse(Problem::new(
                    StatusCode::LOCKED,
                    "upload-locked",
                    "Another request is still writing to this upload; ask HEAD again in a moment.",
                )),
                Err(e) => fail(e),
            };
        }
        Err(e) => return fail(e),
    }
    // The work runs on its own task, so a client that goes away mid-body cannot cancel it
    // half-way: what arrived is kept and the lock is given back.
    let task = tokio::spawn(async move {
        let mut writer = Writer::new(
            p.clone(),
            row,
            token.clone(),
            settings.part_bytes(),
            settings.expire_ms(),
        );
        let outcome = writer.receive(body, check).await;
        let outcome = match outcome {
            Ok(Outcome::Stored(offset)) if offset == writer.row.length_bytes => {
                write::finish(&p, &writer.row)
                    .await
                    .map(|_| Outcome::Stored(offset))
            }
            other => other,
        };
        if let Err(e) = db::unlock(&p.db, &writer.row.id, &token).await {
            tracing::warn!(error = %e, upload = %writer.row.id, "could not unlock an upload");
        }
        (outcome, writer.row)
    });
    let (outcome, row) = match task.await {
        Ok(done) => done,
        Err(e) => return fail(PlatformError::Problem(Problem::internal(&e))),
    };
    match outcome {
        Ok(Outcome::Stored(offset)) => {
            let mut out = vec![("upload-offset", offset.to_string())];
            if offset < row.length_bytes {
                out.push(("upload-expires", http_date(row.expires_at)));
            }
            tus(StatusCode::NO_CONTENT, out)
        }
        Ok(Outcome::ChecksumMismatch) => refuse(
            Problem::new(
                StatusCode::from_u16(460).expect("460 is a valid status"),
                "checksum-mismatch",
                "The body does not match Upload-Checksum; nothing of it was kept. Send it again.",
            )
            .with_field("Upload-Checksum"),
        ),
        Ok(Outcome::TooLong) => too_long(&row),
        Ok(Outcome::Abandoned) => refuse(Problem::bad_request(
            "body-incomplete",
            "The body broke off before its checksum could be checked; nothing of it was kept.",
        )),
        Ok(Outcome::LostLock) => refuse(Problem::new(
            StatusCode::LOCKED,
            "upload-locked",
            "Another request took this upload over; ask HEAD and resume.",
        )),
        Err(e) => fail(e),
    }
}

fn too_long(row: &UploadRow) -> Response {
    refuse(
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "upload-too-large",
            format!(
                "This upload is {} bytes long and has {} of them; the body would go past its end.",
                row.length_bytes, row.offset_bytes
            ),
        )
        .with_field("Upload-Length"),
    )
}

/// Cancels an upload (tus termination) and frees what it stored.
#[utoipa::path(delete, path = "/uploads/{id}", tag = "uploads",
    summary = "Cancel an upload (tus termination)",
    params(("id" = String, Path), ("Tus-Resumable" = inline(TusVersion), Header, description = "The tus version the client speaks")),
    responses(
        (status = 204, description = "Removed with everything it stored"),
        (status = 401, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "Already handed to a studio"),
        (status = 412, body = Problem), (status = 423, body = Problem),
    ))]
async fn terminate(
    State(u): State<Uploads>,
    identity: Identity,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = check_version(&headers) {
        return refused;
    }
    let p = &u.platform;
    let row = match load(p, &identity, &id).await {
        Ok(row) => row,
        Err(e) => return fail(e),
    };
    if row.status == db::TAKEN {
        return refuse(Problem::conflict(
            "upload-taken",
            "This upload was already handed to a studio; it is the studio's to delete.",
        ));
    }
    let token = new_id();
    match db::lock(&p.db, &id, &token, None).await {
        Ok(true) => {}
        Ok(false) => {
            return refuse(Problem::new(
                StatusCode::LOCKED,
                "upload-locked",
                "A request is still writing to this upload; try again in a moment.",
            ));
        }
        Err(e) => return fail(e),
    }
    let removed = async {
        if row.status == db::RECEIVING {
            super::expire::discard(p, &row).await?;
        } else {
            p.blobs.delete(&row.blob_key).await?;
        }
        db::delete(&p.db, &id).await
    }
    .await;
    match removed {
        Ok(()) => tus(StatusCode::NO_CONTENT, Vec::new()),
        Err(e) => {
            let _ = db::unlock(&p.db, &id, &token).await;
            fail(e)
        }
    }
}
