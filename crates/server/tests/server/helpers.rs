use std::time::Duration;

use tutti_server::{Running, Settings};
use tutti_store::testing::{TestBlobs, TestDb};

/// A server of its own for one test, with its own database and blob store.
pub struct TestServer {
    pub running: Running,
    pub client: reqwest::Client,
    pub db: TestDb,
    _blobs: TestBlobs,
    _dir: tempfile::TempDir,
}

/// Settings for a fresh, isolated server; tests change what their story needs.
pub async fn test_settings() -> (Settings, TestDb, TestBlobs, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = TestDb::new().await;
    let blobs = TestBlobs::new();
    let mut settings = Settings::with_data_dir(dir.path());
    settings.database_url = db.url.clone();
    settings.blob_url = blobs.location.clone();
    settings.blob_options = blobs.options.clone();
    settings.jobs.poll_ms = 50;
    (settings, db, blobs, dir)
}

impl TestServer {
    pub async fn start() -> TestServer {
        TestServer::start_with(|_| {}).await
    }

    pub async fn start_with(change: impl FnOnce(&mut Settings)) -> TestServer {
        let (mut settings, db, blobs, dir) = test_settings().await;
        change(&mut settings);
        let running = tutti_server::spawn_for_tests(settings)
            .await
            .expect("the server starts");
        let client = reqwest::Client::builder()
            .danger_accept_invalid_certs(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("HTTP client");
        TestServer {
            running,
            client,
            db,
            _blobs: blobs,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!(
            "{}{}",
            self.running.url.as_str().trim_end_matches('/'),
            path
        )
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
    }
}

/// Asserts a response is a problem document and returns it.
pub async fn problem(response: reqwest::Response, status: u16) -> serde_json::Value {
    assert_eq!(response.status().as_u16(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: serde_json::Value = response.json().await.expect("problem JSON");
    assert_eq!(body["status"], status);
    assert!(
        body["type"]
            .as_str()
            .unwrap()
            .starts_with("urn:tutti:problem:"),
        "{body}"
    );
    assert!(!body["detail"].as_str().unwrap().is_empty(), "{body}");
    body
}
