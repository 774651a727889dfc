//! `tutti-load meetings` against the real server (in this process, on a fresh database and
//! blob store, its SFU on loopback): one meeting of three (a host with an API token, two
//! guests it admits), briefly. Media must have flowed both ways between everyone, through
//! the server's SFU, with no protocol errors; no timings are asserted.

use serde_json::Value;
use tutti_accounts::admin::{self, Actor};
use tutti_accounts::{Role, TokenScope};
use tutti_server::{Settings, spawn_for_tests};
use tutti_store::testing::{TestBlobs, TestDb};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meetings_forwards_everyones_media_to_everyone() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new().await;
    let blobs = TestBlobs::new();
    let mut settings = Settings::with_data_dir(dir.path());
    settings.database_url = db.url.clone();
    settings.blob_url = blobs.location.clone();
    settings.blob_options = blobs.options.clone();
    settings.listen = "127.0.0.1:0".parse().unwrap();
    settings.public_url = "http://127.0.0.1:0".parse().unwrap();
    settings.access_log = false;
    let running = spawn_for_tests(settings).await.expect("server starts");
    let email = "host@example.org";
    admin::create_user(
        &running.app.accounts,
        email,
        "Load host",
        None,
        &[Role::MEMBER],
        Actor::Cli,
    )
    .await
    .expect("create user");
    let token = admin::create_token(&running.app.accounts, email, "load", TokenScope::Api)
        .await
        .expect("create token");

    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_tutti-load"))
        .args(["meetings", "--url", running.url.as_str()])
        .args([
            "--rooms",
            "2",
            "--size",
            "3",
            "--seconds",
            "2",
            "--warmup",
            "1",
        ])
        .arg("--json")
        .env("TUTTI_LOAD_TOKEN", token)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "tutti-load failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is JSON"))
        .collect();
    assert_eq!(lines[0]["phase"], "setup");
    // Two meetings at once: their participants are told apart by the one SFU.
    assert_eq!(lines[0]["joined"], 6, "{}", lines[0]);

    let s = lines.last().unwrap();
    assert_eq!(s["phase"], "summary", "{s}");
    assert_eq!(s["scenario"], "meetings");
    assert_eq!(s["participants"], 6, "{s}");
    assert_eq!(s["connected"], 6, "{s}");
    assert_eq!(s["errors"], 0, "{s}");
    // In each meeting, each of three hears the other two's audio and video.
    assert_eq!(s["expected_tracks"], 24, "{s}");
    assert_eq!(s["forwarded_tracks"], 24, "{s}");
    assert!(s["frames_received"].as_u64().unwrap() > 0, "{s}");
    assert_eq!(
        s["unknown_frames"], 0,
        "every frame is traced to its sender: {s}"
    );
    for field in ["loss", "p50_ms", "p99_ms"] {
        assert!(s[field].is_number(), "{field} in {s}");
    }
    assert!(s["p99_ms"].as_f64().unwrap() > 0.0, "{s}");

    running.stop_token().cancel();
    running.wait().await.unwrap();
}
