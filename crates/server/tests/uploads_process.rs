//! A 200 MB upload through tus against the real `tutti` binary, with the connection cut
//! twice mid-PATCH, measured from outside: the stored blob is byte-identical (SHA-256 of
//! what the store holds) and the server's peak resident memory (`VmHWM` in
//! `/proc/<pid>/status`) stays under 100 MB, so bodies really stream to the store instead
//! of gathering in memory. On a local folder by default, on S3 when `TUTTI_TEST_BLOB_URL`
//! names one (then it is a real multipart upload of 8 MiB parts).

#[path = "support/tus.rs"]
mod tus;

use std::fs::OpenOptions;
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tus::{MIB, Tus, sha256_of};
use tutti_store::testing::{TestBlobs, TestDb};

const TUTTI: &str = env!("CARGO_BIN_EXE_tutti");
const PEAK_LIMIT_KB: u64 = 100 * 1024;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind an ephemeral port")
        .port()
}

/// `tutti ARGS` against the test's database and blob store, with no `TUTTI_*` of the
/// outer shell leaking in.
fn tutti(dir: &std::path::Path, db: &TestDb, blobs: &TestBlobs, args: &[&str]) -> Command {
    let mut cmd = Command::new(TUTTI);
    cmd.args(args)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .args(["--database-url", &db.url])
        .args(["--blob-url", &blobs.location])
        .current_dir(dir)
        .stdin(Stdio::null());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("TUTTI_") {
            cmd.env_remove(key);
        }
    }
    for (key, value) in &blobs.options {
        cmd.env(format!("TUTTI_BLOB_OPTIONS__{}", key.to_uppercase()), value);
    }
    cmd
}

fn run_ok(mut cmd: Command) -> String {
    let out = cmd.output().expect("run tutti");
    assert!(
        out.status.success(),
        "tutti failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The server process, killed when dropped (its log printed if the test failed).
struct Server(Child, std::path::PathBuf);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        if std::thread::panicking() {
            eprintln!(
                "--- tutti serve log\n{}",
                std::fs::read_to_string(&self.1).unwrap_or_default()
            );
        }
    }
}

/// Peak resident memory of a process so far, in KiB.
fn peak_rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/<pid>/status")
}

#[tokio::test]
async fn a_200_mb_upload_cut_twice_streams_in_bounded_memory_and_ends_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new().await;
    let blobs = TestBlobs::new();
    let email = "uploader@example.test";
    run_ok(tutti(
        dir.path(),
        &db,
        &blobs,
        &[
            "admin",
            "create-user",
            "--email",
            email,
            "--password",
            "correct horse battery",
        ],
    ));
    let token = run_ok(tutti(
        dir.path(),
        &db,
        &blobs,
        &[
            "admin",
            "create-token",
            "--email",
            email,
            "--name",
            "upload-test",
        ],
    ))
    .trim()
    .to_string();

    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let base = format!("http://{addr}");
    let log_path = dir.path().join("serve.log");
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .unwrap();
    let child = tutti(
        dir.path(),
        &db,
        &blobs,
        &[
            "serve",
            "--listen",
            &addr.to_string(),
            "--public-url",
            &base,
        ],
    )
    .env("TUTTI_LOG_FORMAT", "pretty")
    .stdout(log.try_clone().unwrap())
    .stderr(log)
    .spawn()
    .expect("start tutti serve");
    let server = Server(child, log_path);
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !client
        .get(format!("{base}/healthz"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(
            Instant::now() < deadline,
            "tutti serve did not become healthy"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let pid = server.0.id();
    let before = peak_rss_kb(pid);

    let seed = 200;
    let len = 200 * MIB + 4321;
    let tus = Tus::new(&base, &token);
    let location = tus
        .upload_with_cuts(seed, len, &[37 * MIB + 11, 141 * MIB + 333], "")
        .await;

    let status = tus.status(&location).await;
    assert_eq!(status["status"], "complete");
    let expected = sha256_of(seed, len);
    assert_eq!(status["sha256"], expected.as_str());
    let key = status["blob_key"].as_str().unwrap().to_string();
    let peak = peak_rss_kb(pid);

    // What the store holds, read back independently of the server.
    let store = blobs.open();
    assert_eq!(store.size(&key).await.unwrap(), Some(len));
    let mut hasher = <sha2::Sha256 as sha2::Digest>::new();
    let mut at = 0;
    while at < len {
        let end = (at + 8 * MIB).min(len);
        sha2::Digest::update(&mut hasher, store.get_range(&key, at..end).await.unwrap());
        at = end;
    }
    assert_eq!(
        tus::hex(&sha2::Digest::finalize(hasher)),
        expected,
        "the stored blob is byte-identical to what was sent"
    );
    eprintln!("server peak RSS: {before} KiB at start, {peak} KiB after the upload");
    assert!(
        peak < PEAK_LIMIT_KB,
        "the server's peak RSS reached {peak} KiB (limit {PEAK_LIMIT_KB} KiB)"
    );
    drop(server);
}
