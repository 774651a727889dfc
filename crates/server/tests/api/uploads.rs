//! Resumable uploads over tus 1.0, against the real server: connections cut mid-PATCH,
//! a restart between PATCHes, checksums, quotas, expiry, and the hand-over of a finished
//! upload to a studio. On SQLite + a local folder by default, on PostgreSQL + S3 when the
//! test environment names them (then the parts are a real multipart upload).

#[path = "../support/tus.rs"]
mod tus;

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use tutti_accounts::{Role, TokenScope};
use tutti_server::Settings;
use tutti_server::app::{Running, spawn_for_tests};
use tutti_store::testing::{TestBlobs, TestDb};
use tutti_store::{Blobs, Db};

use self::tus::{MIB, Tus, b64, sha256_checksum, sha256_of};
use crate::helpers::*;

/// Small body limit for everything else: uploads must not depend on it.
fn small_bodies(s: &mut Settings) {
    s.max_body_bytes = 64 * 1024;
}

async fn uploader(app: &TestApp, email: &str) -> Tus {
    app.user(email, &[]).await;
    let token = app.token(email, TokenScope::Api).await;
    Tus::new(&app.base, &token)
}

fn running(app: &TestApp) -> &Running {
    app.running.as_ref().unwrap()
}

/// SHA-256 of a stored blob, read back from the store in pieces.
async fn stored_sha256(blobs: &Blobs, key: &str) -> (u64, String) {
    use sha2::Digest;
    let size = blobs.size(key).await.unwrap().expect("the blob exists");
    let mut hasher = sha2::Sha256::new();
    let mut at = 0;
    while at < size {
        let end = (at + 4 * MIB).min(size);
        hasher.update(blobs.get_range(key, at..end).await.unwrap());
        at = end;
    }
    (size, tus::hex(&hasher.finalize()))
}

async fn me_id(tus: &Tus) -> String {
    let me: Value = tus
        .client
        .get(format!("{}/api/v1/me", tus.base))
        .bearer_auth(&tus.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    me["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn tus_announces_itself_and_insists_on_its_version() {
    let app = spawn_app_with(small_bodies).await;
    let options = reqwest::Client::new()
        .request(Method::OPTIONS, app.url("/api/v1/uploads"))
        .send()
        .await
        .unwrap();
    assert_eq!(options.status(), StatusCode::NO_CONTENT);
    let h = options.headers();
    assert_eq!(h["tus-resumable"], "1.0.0");
    assert_eq!(h["tus-version"], "1.0.0");
    let extensions = h["tus-extension"].to_str().unwrap();
    for ext in ["creation", "termination", "checksum", "expiration"] {
        assert!(extensions.contains(ext), "{extensions}");
    }
    assert_eq!(h["tus-max-size"], (4u64 << 30).to_string());
    assert!(
        h["tus-checksum-algorithm"]
            .to_str()
            .unwrap()
            .contains("sha1")
    );

    let tus = uploader(&app, "ada@example.test").await;
    let unversioned = tus
        .client
        .post(app.url("/api/v1/uploads"))
        .bearer_auth(&tus.token)
        .header("upload-length", "10")
        .send()
        .await
        .unwrap();
    assert_eq!(unversioned.headers()["tus-version"], "1.0.0");
    let body = problem(unversioned, StatusCode::PRECONDITION_FAILED).await;
    assert_eq!(body["field"], "Tus-Resumable");
    let no_length = tus
        .client
        .post(app.url("/api/v1/uploads"))
        .bearer_auth(&tus.token)
        .header("tus-resumable", "1.0.0")
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(no_length, StatusCode::BAD_REQUEST).await["field"],
        "Upload-Length"
    );
    let bad_metadata = tus.create_response(10, "name not-base64!").await;
    assert_eq!(
        problem(bad_metadata, StatusCode::BAD_REQUEST).await["field"],
        "Upload-Metadata"
    );
}

#[tokio::test]
async fn an_upload_cut_twice_resumes_and_ends_byte_identical() {
    let app = spawn_app_with(small_bodies).await;
    let tus = uploader(&app, "ada@example.test").await;
    let seed = 7;
    let len = 30 * MIB + 12_345;
    let metadata = format!("filename {},studio {}", b64(b"take.wav"), b64(b"rehearsal"));
    // One cut inside the first part, one after the second part began: both leave a
    // part boundary and a tail behind on object stores.
    let location = tus
        .upload_with_cuts(seed, len, &[3 * MIB + 17, 19 * MIB + 5], &metadata)
        .await;

    let head = tus.head_response(&location).await;
    assert_eq!(head.headers()["upload-offset"], len.to_string());
    assert_eq!(head.headers()["upload-length"], len.to_string());
    let meta = head.headers()["upload-metadata"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        meta.contains(&format!("filename {}", b64(b"take.wav"))),
        "{meta}"
    );

    let status = tus.status(&location).await;
    assert_eq!(status["status"], "complete");
    assert_eq!(status["studio"], "rehearsal");
    assert_eq!(status["metadata"]["filename"], "take.wav");
    let expected = sha256_of(seed, len);
    assert_eq!(
        status["sha256"],
        expected.as_str(),
        "the checksum computed on the way"
    );
    let key = status["blob_key"].as_str().unwrap().to_string();
    let blobs = &running(&app).app.blobs;
    assert_eq!(
        stored_sha256(blobs, &key).await,
        (len, expected.clone()),
        "the stored blob is byte-identical"
    );

    // The studio it was meant for finds it and takes it over, once.
    let platform = &running(&app).app.platform;
    let waiting = tutti_platform::uploads::finished_for(platform, "rehearsal", 10)
        .await
        .unwrap();
    assert_eq!(waiting.len(), 1);
    let id = waiting[0].id.clone();
    let owner = me_id(&tus).await;
    let other = tutti_platform::uploads::take(platform, &id, "someone-else").await;
    assert!(other.is_err(), "only the owner's uploads are handed over");
    let blob = tutti_platform::uploads::take(platform, &id, &owner)
        .await
        .unwrap();
    assert_eq!((blob.key.as_str(), blob.size), (key.as_str(), len));
    assert_eq!(blob.sha256, expected);
    let again = tutti_platform::uploads::take(platform, &id, &owner).await;
    assert!(again.is_err(), "a finished upload is handed over once");
    assert!(
        tutti_platform::uploads::finished_for(platform, "rehearsal", 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(tus.status(&location).await["status"], "taken");
}

#[tokio::test]
async fn a_checksum_mismatch_is_refused_with_460_and_nothing_is_kept() {
    let app = spawn_app_with(small_bodies).await;
    let tus = uploader(&app, "ada@example.test").await;
    let seed = 11;
    // Larger than a part, so an object store has stored parts by the time it checks.
    let len = 10 * MIB;
    let location = tus.create(len, "").await;
    let body = tus::bytes(seed, 0, len as usize);

    let wrong_sha1 = format!("sha1 {}", b64(&[0u8; 20]));
    let refused = tus
        .patch(&location, 0, body.clone(), Some(&wrong_sha1))
        .await;
    assert_eq!(refused.status().as_u16(), 460);
    assert_eq!(refused.headers()["tus-resumable"], "1.0.0");
    let problem_body: Value = refused.json().await.unwrap();
    assert_eq!(problem_body["type"], "urn:tutti:problem:checksum-mismatch");
    assert_eq!(problem_body["field"], "Upload-Checksum");
    assert_eq!(
        tus.offset(&location).await,
        0,
        "nothing of the body was kept"
    );
    assert!(
        running(&app)
            .app
            .blobs
            .list("uploads/files")
            .await
            .unwrap()
            .is_empty(),
        "no blob was stored"
    );

    let unknown = tus
        .patch(&location, 0, body.clone(), Some("crc32 AAAA"))
        .await;
    assert_eq!(
        problem(unknown, StatusCode::BAD_REQUEST).await["field"],
        "Upload-Checksum"
    );

    let first = 6 * MIB as usize;
    let kept = tus
        .patch(
            &location,
            0,
            body[..first].to_vec(),
            Some(&sha256_checksum(&body[..first])),
        )
        .await;
    assert_eq!(kept.status(), StatusCode::NO_CONTENT);
    assert_eq!(kept.headers()["upload-offset"], first.to_string());
    let rest = tus
        .patch(
            &location,
            first as u64,
            body[first..].to_vec(),
            Some(&sha256_checksum(&body[first..])),
        )
        .await;
    assert_eq!(rest.status(), StatusCode::NO_CONTENT);
    assert_eq!(rest.headers()["upload-offset"], len.to_string());
    assert_eq!(tus.status(&location).await["sha256"], sha256_of(seed, len));
}

#[tokio::test]
async fn sizes_and_quotas_are_refused_before_any_byte_is_stored() {
    let app = spawn_app_with(|s| {
        small_bodies(s);
        s.uploads.max_bytes = 20 * MIB;
        s.uploads.quota_bytes = 30 * MIB;
    })
    .await;
    let tus = uploader(&app, "ada@example.test").await;

    let huge = tus.create_response(20 * MIB + 1, "").await;
    let body = problem(huge, StatusCode::PAYLOAD_TOO_LARGE).await;
    assert_eq!(body["type"], "urn:tutti:problem:upload-too-large");
    assert_eq!(body["field"], "Upload-Length");

    let first = tus.create(16 * MIB, "").await;
    let over = tus.create_response(16 * MIB, "").await;
    let body = problem(over, StatusCode::PAYLOAD_TOO_LARGE).await;
    assert_eq!(body["type"], "urn:tutti:problem:quota-exceeded");
    assert_eq!(body["field"], "Upload-Length");
    assert!(body["detail"].as_str().unwrap().contains("quota"));

    // A body longer than the upload is refused before it is read.
    let small = tus.create(1000, "").await;
    let long = tus.patch(&small, 0, vec![1; 1001], None).await;
    assert_eq!(
        problem(long, StatusCode::PAYLOAD_TOO_LARGE).await["field"],
        "Upload-Length"
    );
    assert_eq!(tus.offset(&small).await, 0);

    // Nothing of the refused uploads exists; another person's quota is their own.
    assert!(
        running(&app)
            .app
            .blobs
            .list("uploads/files")
            .await
            .unwrap()
            .is_empty()
    );
    let grace = uploader(&app, "grace@example.test").await;
    grace.create(16 * MIB, "").await;

    // Terminating an upload gives its share of the quota back.
    let deleted = tus
        .client
        .delete(&first)
        .bearer_auth(&tus.token)
        .header("tus-resumable", "1.0.0")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        tus.head_response(&first).await.status(),
        StatusCode::NOT_FOUND
    );
    tus.create(16 * MIB, "").await;
}

#[tokio::test]
async fn uploads_are_private_and_offsets_must_match() {
    let app = spawn_app_with(small_bodies).await;
    let tus = uploader(&app, "ada@example.test").await;
    let location = tus.create(100, "").await;

    let mallory = uploader(&app, "mallory@example.test").await;
    let theirs = Tus::new(&app.base, &mallory.token);
    assert_eq!(
        theirs.head_response(&location).await.status(),
        StatusCode::NOT_FOUND
    );
    let poke = theirs.patch(&location, 0, vec![0; 10], None).await;
    assert_eq!(poke.status(), StatusCode::NOT_FOUND);

    let ahead = tus.patch(&location, 10, vec![0; 10], None).await;
    assert_eq!(ahead.headers()["upload-offset"], "0");
    assert_eq!(
        problem(ahead, StatusCode::CONFLICT).await["field"],
        "Upload-Offset"
    );
    let untyped = tus
        .client
        .patch(&location)
        .bearer_auth(&tus.token)
        .header("tus-resumable", "1.0.0")
        .header("upload-offset", "0")
        .body(vec![0; 10])
        .send()
        .await
        .unwrap();
    problem(untyped, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;

    let done = tus.patch(&location, 0, vec![5; 100], None).await;
    assert_eq!(done.status(), StatusCode::NO_CONTENT);
    assert_eq!(done.headers()["upload-offset"], "100");
    // Sending the last PATCH again (its answer was lost) is harmless.
    let repeat = tus.patch(&location, 100, Vec::new(), None).await;
    assert_eq!(repeat.status(), StatusCode::NO_CONTENT);

    let empty = tus.create(0, "").await;
    assert_eq!(tus.status(&empty).await["status"], "complete");
}

#[tokio::test]
async fn a_page_script_uploads_with_its_session_and_csrf_token() {
    let app = spawn_app_with(small_bodies).await;
    let browser = app.signed_in("ada@example.test", &[Role::ADMIN]).await;
    let create = |csrf: Option<&str>| {
        let mut request = browser
            .client
            .post(app.url("/api/v1/uploads"))
            .header("tus-resumable", "1.0.0")
            .header("upload-length", "5");
        if let Some(csrf) = csrf {
            request = request.header("x-csrf-token", csrf);
        }
        request.send()
    };
    let refused = create(None).await.unwrap();
    assert_eq!(
        problem(refused, StatusCode::FORBIDDEN).await["field"],
        "csrf"
    );
    let created = create(Some(&browser.csrf)).await.unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let location = created.headers()["location"].to_str().unwrap().to_string();
    let patched = browser
        .client
        .patch(&location)
        .header("x-csrf-token", &browser.csrf)
        .header("tus-resumable", "1.0.0")
        .header("upload-offset", "0")
        .header("content-type", "application/offset+octet-stream")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), StatusCode::NO_CONTENT);

    let openapi: Value = reqwest::get(app.url("/api/v1/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let create_doc = &openapi["paths"]["/api/v1/uploads"]["post"];
    assert!(create_doc.is_object(), "the creation endpoint is described");
    assert!(
        create_doc["description"]
            .as_str()
            .unwrap()
            .contains("X-CSRF-Token"),
        "the description tells scripts about the CSRF header"
    );
    assert!(openapi["paths"]["/api/v1/uploads/{id}"]["patch"].is_object());
}

#[tokio::test]
async fn the_expiry_job_removes_an_abandoned_upload_and_its_parts() {
    let app = spawn_app_with(small_bodies).await;
    let tus = uploader(&app, "ada@example.test").await;
    let seed = 3;
    let len = 20 * MIB;
    let location = tus.create(len, "").await;
    // One part and a tail on object stores, a partial file on a local folder.
    let sent = 9 * MIB + 100;
    let patched = tus
        .patch(&location, 0, tus::bytes(seed, 0, sent as usize), None)
        .await;
    assert_eq!(patched.headers()["upload-offset"], sent.to_string());
    let kept = tus.create(10, "").await;

    let app_state = &running(&app).app;
    let id = location.rsplit('/').next().unwrap().to_string();
    let parts_before = count(&app_state.db, "SELECT COUNT(*) FROM upload_parts").await;
    // Nothing is due yet.
    assert_eq!(
        tutti_platform::uploads::expire_now(&app_state.platform)
            .await
            .unwrap(),
        0
    );
    sqlx::query("UPDATE uploads SET expires_at = $1 WHERE id = $2")
        .bind(tutti_store::now_ms() - 1000)
        .bind(&id)
        .execute(app_state.db.pool())
        .await
        .unwrap();
    let expired = tus.head_response(&location).await;
    assert_eq!(expired.status(), StatusCode::GONE);

    // The server's worker runs the job (every 15 minutes on its own; now, asked).
    let job = app_state
        .queue
        .enqueue_typed::<tutti_platform::uploads::ExpireUploads>(&())
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let status = app_state.queue.get(&job).await.unwrap().unwrap().status;
        if status == "done" {
            break;
        }
        assert!(status != "failed", "the expiry job failed");
        assert!(
            std::time::Instant::now() < deadline,
            "the expiry job did not run"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    assert_eq!(
        tus.head_response(&location).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(tus.offset(&kept).await, 0, "uploads not yet due stay");

    assert_eq!(
        count(
            &app_state.db,
            &format!("SELECT COUNT(*) FROM upload_parts WHERE upload_id = '{id}'")
        )
        .await,
        0
    );
    if app_state.blobs.parts_kind() == Some(tutti_store::blobs::PartsKind::Multipart) {
        assert!(parts_before >= 1, "a part was recorded");
        assert_eq!(
            app_state
                .blobs
                .size(&format!("uploads/tails/{id}"))
                .await
                .unwrap(),
            None,
            "the tail is gone"
        );
    } else {
        let incomplete = std::path::Path::new(&app_state.settings.blob_url).join(".incomplete");
        let left: Vec<_> = std::fs::read_dir(&incomplete)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            left.len(),
            1,
            "only the upload not yet due keeps a file: {left:?}"
        );
    }

    // An upload begun on another kind of store (before a move) is gone for its client,
    // and the job removes its row without touching this store.
    let moved = tus.create(10, "").await;
    let moved_id = moved.rsplit('/').next().unwrap().to_string();
    sqlx::query("UPDATE uploads SET storage = 'elsewhere' WHERE id = $1")
        .bind(&moved_id)
        .execute(app_state.db.pool())
        .await
        .unwrap();
    assert_eq!(tus.head_response(&moved).await.status(), StatusCode::GONE);
    assert_eq!(
        tus.patch(&moved, 0, vec![1; 10], None).await.status(),
        StatusCode::GONE
    );
    sqlx::query("UPDATE uploads SET expires_at = $1 WHERE id = $2")
        .bind(tutti_store::now_ms() - 1000)
        .bind(&moved_id)
        .execute(app_state.db.pool())
        .await
        .unwrap();
    assert_eq!(
        tutti_platform::uploads::expire_now(&app_state.platform)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        tus.head_response(&moved).await.status(),
        StatusCode::NOT_FOUND
    );
}

async fn count(db: &Db, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(db.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_restart_between_patches_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new().await;
    let blobs = TestBlobs::new();
    let mut settings = Settings::with_data_dir(dir.path());
    settings.database_url = db.url.clone();
    settings.blob_url = blobs.location.clone();
    settings.blob_options = blobs.options.clone();
    settings.listen = "127.0.0.1:0".parse().unwrap();
    settings.public_url = "http://127.0.0.1:0".parse().unwrap();

    let first = spawn_for_tests(settings.clone())
        .await
        .expect("server starts");
    tutti_accounts::admin::create_user(
        &first.app.accounts,
        "ada@example.test",
        "",
        Some(PASSWORD),
        &[],
        tutti_accounts::admin::Actor::Cli,
    )
    .await
    .unwrap();
    let token = tutti_accounts::admin::create_token(
        &first.app.accounts,
        "ada@example.test",
        "test",
        TokenScope::Api,
    )
    .await
    .unwrap();
    let seed = 5;
    let len = 18 * MIB + 3;
    let tus = Tus::new(first.url.as_str(), &token);
    let location = tus.create(len, "").await;
    let acknowledged = 9 * MIB + 7;
    let patched = tus
        .patch(
            &location,
            0,
            tus::bytes(seed, 0, acknowledged as usize),
            None,
        )
        .await;
    assert_eq!(patched.headers()["upload-offset"], acknowledged.to_string());
    first.shutdown().await.unwrap();

    let second = spawn_for_tests(settings)
        .await
        .expect("server starts again");
    let tus = Tus::new(second.url.as_str(), &token);
    let location = format!(
        "{}api/v1/uploads/{}",
        second.url,
        location.rsplit('/').next().unwrap()
    );
    assert_eq!(
        tus.offset(&location).await,
        acknowledged,
        "nothing acknowledged was lost"
    );
    let rest = tus
        .patch(
            &location,
            acknowledged,
            tus::bytes(seed, acknowledged, (len - acknowledged) as usize),
            None,
        )
        .await;
    assert_eq!(rest.status(), StatusCode::NO_CONTENT);
    let status = tus.status(&location).await;
    assert_eq!(status["sha256"], sha256_of(seed, len));
    let key = status["blob_key"].as_str().unwrap();
    assert_eq!(
        stored_sha256(&second.app.blobs, key).await,
        (len, sha256_of(seed, len))
    );
    second.shutdown().await.unwrap();
    drop(dir);
    tokio::time::sleep(Duration::from_millis(10)).await;
}

/// A `multipart/form-data` body with a `studio` field and the file.
fn form_body(boundary: &str, studio: &str, file: &[u8]) -> Vec<u8> {
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"studio\"\r\n\r\n{studio}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"take.flac\"\r\n\
         Content-Type: audio/flac\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    body
}

#[tokio::test]
async fn a_form_upload_streams_to_the_store_and_checks_its_checksum() {
    let app = spawn_app_with(|s| {
        small_bodies(s);
        s.uploads.quota_bytes = 8 * MIB;
    })
    .await;
    let tus = uploader(&app, "ada@example.test").await;
    let boundary = "tutti-test-boundary-1234";
    let file = tus::bytes(9, 0, 3 * MIB as usize + 17);
    let post = |body: Vec<u8>, checksum: Option<String>| {
        let mut request = tus
            .client
            .post(app.url("/api/v1/uploads/form"))
            .bearer_auth(&tus.token)
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body);
        if let Some(checksum) = checksum {
            request = request.header("upload-checksum", checksum);
        }
        request.send()
    };

    let wrong = post(
        form_body(boundary, "rehearsal", &file),
        Some(format!("sha256 {}", b64(&[7u8; 32]))),
    )
    .await
    .unwrap();
    assert_eq!(wrong.status().as_u16(), 460);
    let blobs = &running(&app).app.blobs;
    assert!(
        blobs.list("uploads/files").await.unwrap().is_empty(),
        "nothing kept"
    );

    let created = post(
        form_body(boundary, "rehearsal", &file),
        Some(sha256_checksum(&file)),
    )
    .await
    .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let location = created.headers()["location"].to_str().unwrap().to_string();
    let upload: Value = created.json().await.unwrap();
    assert_eq!(upload["status"], "complete");
    assert_eq!(upload["studio"], "rehearsal");
    assert_eq!(upload["metadata"]["filename"], "take.flac");
    assert_eq!(upload["length"], file.len());
    let key = upload["blob_key"].as_str().unwrap();
    assert_eq!(
        stored_sha256(blobs, key).await,
        (file.len() as u64, sha256_of(9, file.len() as u64))
    );
    assert_eq!(upload["sha256"], sha256_of(9, file.len() as u64));
    assert_eq!(tus.status(&location).await["status"], "complete");

    // Past the quota: refused from the declared length, before the body is stored.
    let big = tus::bytes(9, 0, 6 * MIB as usize);
    let over = post(form_body(boundary, "rehearsal", &big), None)
        .await
        .unwrap();
    let body = problem(over, StatusCode::PAYLOAD_TOO_LARGE).await;
    assert_eq!(body["type"], "urn:tutti:problem:quota-exceeded");
    assert_eq!(blobs.list("uploads/files").await.unwrap().len(), 1);

    // A page script needs the CSRF header, as for every other change.
    let browser = app.signed_in("grace@example.test", &[]).await;
    let send = |csrf: Option<&str>| {
        let mut request = browser
            .client
            .post(app.url("/api/v1/uploads/form"))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(form_body(boundary, "", b"short take"));
        if let Some(csrf) = csrf {
            request = request.header("x-csrf-token", csrf);
        }
        request.send()
    };
    let refused = send(None).await.unwrap();
    assert_eq!(
        problem(refused, StatusCode::FORBIDDEN).await["field"],
        "csrf"
    );
    let accepted = send(Some(&browser.csrf)).await.unwrap();
    assert_eq!(accepted.status(), StatusCode::CREATED);

    let openapi: Value = reqwest::get(app.url("/api/v1/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let described = openapi["paths"]["/api/v1/uploads/form"]["post"]["description"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(described.contains("X-CSRF-Token"), "{described}");
}
