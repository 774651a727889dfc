//! `tutti-load pages` against the real server (in this process, on a fresh database and
//! blob store): it signs its users in, runs briefly at a low rate, and ends with a JSON
//! summary with no errors. No timings are asserted.

use serde_json::Value;
use tutti_accounts::admin::{self, Actor};
use tutti_server::{Settings, spawn_for_tests};
use tutti_store::testing::{TestBlobs, TestDb};

const PASSWORD: &str = "correct horse battery";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_runs_signed_in_users_and_prints_a_json_summary() {
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
    for n in 1..=3 {
        admin::create_user(
            &running.app.accounts,
            &format!("load{n}@example.org"),
            "",
            Some(PASSWORD),
            &[],
            Actor::Cli,
        )
        .await
        .expect("create user");
    }

    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_tutti-load"))
        .args(["pages", "--url", running.url.as_str()])
        .args(["--rate", "20", "--duration", "2s", "--users", "3"])
        .args(["--email", "load%n@example.org", "--json"])
        .env("TUTTI_LOAD_PASSWORD", PASSWORD)
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

    let sign_in = &lines[0];
    assert_eq!(sign_in["phase"], "sign-in");
    assert_eq!(sign_in["ok"], 3);
    assert_eq!(sign_in["errors"], 0);
    assert!(sign_in["p99_ms"].is_number());

    let summary = lines.last().unwrap();
    assert_eq!(summary["phase"], "summary", "{summary}");
    assert_eq!(summary["scenario"], "pages");
    assert_eq!(summary["offered_rps"], 20.0);
    assert_eq!(summary["requests"], 40);
    assert_eq!(summary["ok"], 40, "{summary}");
    assert_eq!(summary["errors"], 0, "{summary}");
    assert_eq!(summary["users"], 3);
    assert_eq!(summary["sources"], 3, "each user from its own address");
    for field in ["achieved_rps", "p50_ms", "p99_ms", "p999_ms", "max_ms"] {
        assert!(
            summary[field].as_f64().is_some_and(|v| v > 0.0),
            "{field} in {summary}"
        );
    }
    for op in ["home", "api_me"] {
        assert_eq!(summary["operations"][op]["requests"], 20, "{summary}");
        assert_eq!(summary["operations"][op]["errors"], 0, "{summary}");
    }

    running.stop_token().cancel();
    running.wait().await.unwrap();
}
