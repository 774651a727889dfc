//! The real `tutti` binary as a child process: what an operator runs, started, killed
//! and restarted the way a machine does it. Each test has its own data folder, database
//! and blob store (SQLite and a folder by default; PostgreSQL and S3 when the
//! `TUTTI_TEST_*` variables name them), free ports, and a guard that kills every child
//! it started, so a failing test leaves no process behind.

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tutti_store::testing::{TestBlobs, TestDb};

const TUTTI: &str = env!("CARGO_BIN_EXE_tutti");
const ADMIN: &str = "admin@example.test";
const PASSWORD: &str = "correct horse battery";

/// A port nobody listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind an ephemeral port")
        .port()
}

/// One installation: a data folder, a database and a blob store, and the flags and
/// environment that point the binary at them.
struct Site {
    dir: tempfile::TempDir,
    db: TestDb,
    blobs: TestBlobs,
}

impl Site {
    async fn new() -> Site {
        Site {
            dir: tempfile::tempdir().expect("temp dir"),
            db: TestDb::new().await,
            blobs: TestBlobs::new(),
        }
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// `tutti ARGS --data-dir DIR`, run from the site's folder (which has no
    /// `tutti.toml`), with no `TUTTI_*` setting of the outer shell leaking in.
    fn bare(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(TUTTI);
        cmd.args(args)
            .arg("--data-dir")
            .arg(self.data_dir())
            .current_dir(self.dir.path())
            .stdin(Stdio::null());
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("TUTTI_") {
                cmd.env_remove(key);
            }
        }
        cmd
    }

    /// `tutti ARGS` against this site's database and blob store.
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = self.bare(args);
        cmd.args(["--database-url", &self.db.url])
            .args(["--blob-url", &self.blobs.location]);
        for (key, value) in &self.blobs.options {
            cmd.env(format!("TUTTI_BLOB_OPTIONS__{}", key.to_uppercase()), value);
        }
        cmd.env("TUTTI_LOG_FORMAT", "pretty");
        cmd
    }

    /// Runs a command to its end and returns what it printed.
    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run tutti")
    }

    /// Runs a command that must succeed; returns its standard output.
    fn run_ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "`tutti {}` failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Creates the admin account and an API token for it with the CLI.
    fn admin_token(&self) -> String {
        self.run_ok(&[
            "admin",
            "create-user",
            "--email",
            ADMIN,
            "--password",
            PASSWORD,
            "--role",
            "admin",
        ]);
        let out = self.run_ok(&[
            "admin",
            "create-token",
            "--email",
            ADMIN,
            "--name",
            "process-test",
        ]);
        let token = out.trim().to_string();
        assert!(
            !token.is_empty() && !token.contains(char::is_whitespace),
            "create-token printed {out:?}, not one token"
        );
        token
    }

    /// Starts `tutti serve` on a free port with extra environment, and waits until it
    /// answers `/healthz`.
    async fn serve(&self, env: &[(&str, &str)]) -> Server {
        let port = free_port();
        self.serve_on(port, env).await
    }

    async fn serve_on(&self, port: u16, env: &[(&str, &str)]) -> Server {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let url = format!("http://{addr}");
        let log_path = self.dir.path().join("serve.log");
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .expect("open the server log");
        writeln!(&log, "==== tutti serve on {addr}").expect("write the server log");
        let mut cmd = self.command(&["serve", "--listen", &addr.to_string(), "--public-url", &url]);
        cmd.env("TUTTI_JOBS__POLL_MS", "100");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.stdout(log.try_clone().expect("log handle")).stderr(log);
        let child = cmd.spawn().expect("start tutti serve");
        let mut server = Server {
            child: Some(child),
            url,
            log: log_path,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("HTTP client"),
        };
        server.wait_healthy().await;
        server
    }
}

/// A running `tutti serve`; killed when dropped, its log printed if the test failed.
struct Server {
    child: Option<Child>,
    url: String,
    log: PathBuf,
    client: reqwest::Client,
}

impl Server {
    async fn wait_healthy(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().expect("poll the child"))
            {
                panic!(
                    "tutti serve exited ({status}) before it was healthy:\n{}",
                    read(&self.log)
                );
            }
            if let Ok(r) = self.client.get(self.url("/healthz")).send().await
                && r.status().is_success()
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "tutti serve was not healthy within 30 s:\n{}",
                read(&self.log)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// SIGKILL: no graceful stop, no chance to finish or release anything.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("kill tutti serve");
            child.wait().expect("reap tutti serve");
        }
    }

    async fn get(&self, token: &str, path: &str) -> Value {
        let r = self
            .client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let status = r.status();
        let body = r.text().await.expect("response body");
        assert!(status.is_success(), "GET {path}: {status}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
    }

    async fn post(&self, token: &str, path: &str, body: Value) -> Value {
        let r = self
            .client
            .post(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {path}: {e}"));
        let status = r.status();
        let body = r.text().await.expect("response body");
        assert_eq!(status.as_u16(), 201, "POST {path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("POST {path}: {e}: {body}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!(
                "--- tutti serve log ({})\n{}",
                self.log.display(),
                read(&self.log)
            );
        }
    }
}

/// Any other child process, killed when dropped.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| format!("({}: {e})", path.display()))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Polls `check` every 100 ms until it gives a value, failing after `limit`.
async fn eventually<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?}: {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The self-test jobs among the newest ones, by id: (status, attempts).
async fn selftest_jobs(server: &Server, token: &str) -> BTreeMap<String, (String, i64)> {
    let list = server.get(token, "/api/v1/admin/jobs?limit=1000").await;
    list["jobs"]
        .as_array()
        .expect("a job list")
        .iter()
        .filter(|j| j["kind"] == "platform.selftest")
        .map(|j| {
            (
                j["id"].as_str().expect("job id").to_string(),
                (
                    j["status"].as_str().expect("job status").to_string(),
                    j["attempts"].as_i64().expect("job attempts"),
                ),
            )
        })
        .collect()
}

#[tokio::test]
async fn jobs_survive_a_hard_kill_and_each_completes_exactly_once() {
    let site = Site::new().await;
    let token = site.admin_token();
    let env = [
        ("TUTTI_JOBS__STALE_AFTER_SECS", "2"),
        ("TUTTI_JOBS__WORKERS", "2"),
    ];
    let port = free_port();
    let mut server = site.serve_on(port, &env).await;

    let queued = server
        .post(
            &token,
            "/api/v1/admin/jobs/selftest",
            json!({"count": 20, "sleep_ms": 400}),
        )
        .await;
    let ids: HashSet<String> = queued["ids"]
        .as_array()
        .expect("queued ids")
        .iter()
        .map(|v| v.as_str().expect("an id").to_string())
        .collect();
    assert_eq!(ids.len(), 20, "{queued}");

    // Kill while jobs are in flight: some done, some running, most still queued.
    let at_kill = eventually(
        Duration::from_secs(30),
        "self-test jobs done and running",
        || async {
            let jobs = selftest_jobs(&server, &token).await;
            let running: Vec<String> = jobs
                .iter()
                .filter(|(_, (s, _))| s == "running")
                .map(|(id, _)| id.clone())
                .collect();
            let done = jobs.values().filter(|(s, _)| s == "done").count();
            (!running.is_empty() && done >= 2).then_some(running)
        },
    )
    .await;
    server.kill();
    drop(server);

    let server = site.serve_on(port, &env).await;
    let jobs = eventually(Duration::from_secs(60), "all 20 jobs done", || async {
        let jobs = selftest_jobs(&server, &token).await;
        let failed: Vec<_> = jobs.iter().filter(|(_, (s, _))| s == "failed").collect();
        assert!(failed.is_empty(), "jobs failed: {failed:?}");
        let done = jobs.values().filter(|(s, _)| s == "done").count();
        (done == 20).then_some(jobs)
    })
    .await;
    assert_eq!(jobs.keys().cloned().collect::<HashSet<_>>(), ids);

    // Every job left exactly one completion record, interrupted ones included.
    let db = tutti_store::Db::connect(&site.db.url)
        .await
        .expect("connect to the server's database");
    let runs: Vec<(String, i64)> =
        sqlx::query_as("SELECT job_id, COUNT(*) FROM job_selftest_runs GROUP BY job_id")
            .fetch_all(db.pool())
            .await
            .expect("count the self-test runs");
    db.close().await;
    let runs: BTreeMap<String, i64> = runs.into_iter().collect();
    for id in &ids {
        assert_eq!(
            runs.get(id).copied(),
            Some(1),
            "job {id} completed {:?} times (runs: {runs:?})",
            runs.get(id)
        );
    }
    assert_eq!(runs.len(), 20, "runs of unknown jobs: {runs:?}");

    // A job running at the kill was started again: its attempts count both runs.
    let retried: Vec<_> = at_kill.iter().filter(|id| jobs[*id].1 >= 2).collect();
    assert!(
        !retried.is_empty(),
        "none of the jobs running at the kill ({at_kill:?}) ran again: {jobs:?}"
    );
}

/// Starts aiosmtpd writing every message it accepts into a Maildir.
fn smtp_server(maildir: &Path) -> (Guard, u16) {
    let port = free_port();
    let child = Command::new("python3")
        .args(["-m", "aiosmtpd", "-n", "-l"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["-c", "aiosmtpd.handlers.Mailbox"])
        .arg(maildir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(File::create(maildir.with_extension("log")).expect("smtp log"))
        .spawn()
        .expect("start aiosmtpd (python3 -m aiosmtpd)");
    let mut guard = Guard(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Some(status) = guard.0.try_wait().expect("poll aiosmtpd") {
            panic!(
                "aiosmtpd exited ({status}): {}",
                read(&maildir.with_extension("log"))
            );
        }
        assert!(
            Instant::now() < deadline,
            "aiosmtpd did not listen within 20 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (guard, port)
}

/// Undoes quoted-printable soft line breaks and `=XX` escapes, in case the mailer chose
/// that transfer encoding.
fn decode_quoted_printable(text: &str) -> String {
    let joined = text.replace("=\r\n", "").replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'='
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn mail_goes_out_through_a_real_smtp_server() {
    let site = Site::new().await;
    let maildir = site.dir.path().join("maildir");
    let (_smtp, smtp_port) = smtp_server(&maildir);
    let token = site.admin_token();
    let smtp_url = format!("smtp://127.0.0.1:{smtp_port}");
    let server = site
        .serve(&[
            ("TUTTI_SMTP__URL", &smtp_url),
            ("TUTTI_SMTP__FROM", "Tutti <tutti@example.test>"),
        ])
        .await;

    let invited = server
        .post(
            &token,
            "/api/v1/admin/invitations",
            json!({"email": "new@example.test", "roles": []}),
        )
        .await;
    assert_eq!(invited["mailed"], true, "{invited}");
    let link = invited["link"].as_str().expect("an invitation link");
    assert!(
        link.starts_with(&server.url) && link.contains("/invite/"),
        "{link}"
    );

    let new = maildir.join("new");
    let message = eventually(
        Duration::from_secs(30),
        "the invitation at the SMTP server",
        || {
            let new = new.clone();
            async move {
                let mut files: Vec<_> = fs::read_dir(&new).ok()?.flatten().collect();
                assert!(files.len() <= 1, "more than one message arrived");
                files.pop().map(|f| read(&f.path()))
            }
        },
    )
    .await;
    let lower = message.to_lowercase();
    assert!(
        lower.contains("\nto: new@example.test") || lower.contains("\nto: <new@example.test>"),
        "{message}"
    );
    assert!(lower.contains("x-rcptto: new@example.test"), "{message}");
    assert!(
        lower.contains("from: tutti <tutti@example.test>"),
        "{message}"
    );
    assert!(
        message.contains(link) || decode_quoted_printable(&message).contains(link),
        "the message lacks the link {link}:\n{message}"
    );

    let outbox = eventually(Duration::from_secs(15), "the outbox says sent", || async {
        let outbox = server.get(&token, "/api/v1/admin/outbox").await;
        let messages = outbox.as_array().expect("outbox messages").clone();
        (!messages.is_empty() && messages.iter().all(|m| m["status"] == "sent")).then_some(messages)
    })
    .await;
    assert_eq!(outbox.len(), 1, "{outbox:?}");
    assert_eq!(outbox[0]["to_email"], "new@example.test");
    // Sent: the outbox no longer holds a working link.
    let secret = link.rsplit('/').next().expect("a secret");
    assert_eq!(outbox[0]["link"], Value::Null, "{outbox:?}");
    assert!(
        !outbox[0]["body"].as_str().unwrap_or("").contains(secret),
        "{outbox:?}"
    );
}

#[tokio::test]
async fn mail_without_smtp_is_held_in_the_outbox_with_its_link() {
    let site = Site::new().await;
    let token = site.admin_token();
    let server = site.serve(&[]).await;

    let invited = server
        .post(
            &token,
            "/api/v1/admin/invitations",
            json!({"email": "new@example.test", "roles": []}),
        )
        .await;
    assert_eq!(invited["mailed"], false, "{invited}");
    let link = invited["link"].as_str().expect("an invitation link");
    assert!(link.contains("/invite/"), "{link}");

    let outbox = server.get(&token, "/api/v1/admin/outbox").await;
    let messages = outbox.as_array().expect("outbox messages");
    assert_eq!(messages.len(), 1, "{outbox}");
    assert_eq!(messages[0]["status"], "held", "{outbox}");
    assert_eq!(messages[0]["to_email"], "new@example.test");
    assert_eq!(messages[0]["link"], link);
    assert!(
        messages[0]["body"].as_str().unwrap_or("").contains(link),
        "{outbox}"
    );
}

#[tokio::test]
async fn the_cli_prints_redacted_settings_and_manages_roles() {
    let site = Site::new().await;

    let out = site
        .bare(&[
            "config",
            "--database-url",
            "postgres://u:s3cret@127.0.0.1/db",
        ])
        .env("TUTTI_BLOB_OPTIONS__AWS_SECRET_ACCESS_KEY", "blobsecret")
        .output()
        .expect("run tutti config");
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(printed.contains("REDACTED"), "{printed}");
    assert!(!printed.contains("s3cret"), "{printed}");
    assert!(!printed.contains("blobsecret"), "{printed}");
    assert!(printed.contains("127.0.0.1/db"), "{printed}");

    // A role granted before the person signs up is listed with their email.
    site.run_ok(&[
        "admin",
        "grant-role",
        "--email",
        "later@example.test",
        "--role",
        "admin",
    ]);
    let users = site.run_ok(&["admin", "list-users"]);
    let line = users
        .lines()
        .find(|l| l.contains("later@example.test"))
        .unwrap_or_else(|| panic!("later@example.test is not listed:\n{users}"));
    assert!(line.contains("admin"), "{users}");
    let users: Value =
        serde_json::from_str(&site.run_ok(&["admin", "list-users", "--json"])).expect("JSON");
    let later = users
        .as_array()
        .expect("a list")
        .iter()
        .find(|u| u["email"] == "later@example.test")
        .expect("later@example.test in the JSON");
    assert_eq!(later["roles"], json!(["admin"]), "{later}");
    assert_eq!(later["id"], Value::Null, "not signed up yet: {later}");

    let out = site.run(&[
        "admin",
        "grant-role",
        "--email",
        "later@example.test",
        "--role",
        "boss",
    ]);
    assert!(!out.status.success(), "an unknown role was accepted");
    let err = stderr(&out);
    assert!(
        err.contains("use one of admin"),
        "the error names the declared roles: {err}"
    );

    let jobs = site.run_ok(&["jobs", "list"]);
    assert!(jobs.contains("STATUS"), "{jobs}");
    let jobs: Value =
        serde_json::from_str(&site.run_ok(&["jobs", "list", "--json"])).expect("JSON");
    assert!(jobs.is_array(), "{jobs}");
}

#[tokio::test]
async fn serve_refuses_bad_settings_with_a_clear_message() {
    let site = Site::new().await;
    let port = free_port().to_string();
    let listen = format!("127.0.0.1:{port}");

    let bare = |args: &[&str]| site.bare(args);
    let finish = |mut cmd: Command| -> Output {
        let mut child = Guard(
            cmd.stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start tutti"),
        );
        // A refused start exits at once; one that starts is a failure of this test.
        let deadline = Instant::now() + Duration::from_secs(20);
        while child.0.try_wait().expect("poll tutti").is_none() {
            assert!(
                Instant::now() < deadline,
                "tutti serve started despite bad settings"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let Guard(inner) = &mut child;
        let mut out = Output {
            status: inner.try_wait().expect("status").expect("exited"),
            stdout: Vec::new(),
            stderr: Vec::new(),
        };
        use std::io::Read as _;
        if let Some(mut s) = inner.stdout.take() {
            s.read_to_end(&mut out.stdout).expect("stdout");
        }
        if let Some(mut s) = inner.stderr.take() {
            s.read_to_end(&mut out.stderr).expect("stderr");
        }
        out
    };

    let out = finish({
        let mut c = bare(&["serve", "--listen", &listen]);
        c.args(["--database-url", "mysql://x"]);
        c
    });
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("database_url"), "{err}");
    assert!(
        err.contains("sqlite://") && err.contains("postgres://"),
        "{err}"
    );

    // In the environment (the flags insist on both at parse time).
    let out = finish({
        let mut c = bare(&["serve", "--listen", &listen]);
        c.env("TUTTI_TLS_CERT", site.dir.path().join("cert.pem"));
        c
    });
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("tls_cert") && err.contains("tls_key"), "{err}");

    let out = finish(bare(&[
        "serve",
        "--tls-cert",
        "cert.pem",
        "--listen",
        &listen,
    ]));
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("--tls-key"), "{err}");

    // Every broken rule at once, each named.
    let out = finish({
        let mut c = bare(&["serve", "--listen", "not-an-address"]);
        c.env("TUTTI_JOBS__WORKERS", "0")
            .env("TUTTI_SMTP__URL", "http://mail.example.test")
            .env("TUTTI_SMTP__FROM", "Tutti <tutti@example.test>");
        c
    });
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    for name in ["listen", "jobs.workers", "smtp.url"] {
        assert!(err.contains(name), "the error does not name {name}: {err}");
    }

    // A misspelt setting is named, not ignored.
    let out = finish({
        let mut c = bare(&["serve", "--listen", &listen]);
        c.env("TUTTI_JOBS__WORKRES", "3");
        c
    });
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("workres"), "{err}");
}

#[tokio::test]
async fn a_stopping_server_gives_long_jobs_back_after_its_grace_period() {
    let site = Site::new().await;
    let token = site.admin_token();
    let mut server = site.serve(&[("TUTTI_JOBS__GRACE_SECS", "1")]).await;
    let queued = server
        .post(
            &token,
            "/api/v1/admin/jobs/selftest",
            json!({"count": 1, "sleep_ms": 60000}),
        )
        .await;
    let id = queued["ids"][0].as_str().expect("an id").to_string();
    eventually(Duration::from_secs(30), "the long job running", || async {
        let jobs = selftest_jobs(&server, &token).await;
        (jobs.get(&id).map(|(s, _)| s.as_str()) == Some("running")).then_some(())
    })
    .await;

    let mut child = server.child.take().expect("the server runs");
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("send SIGTERM");
    assert!(term.success());
    let status = eventually(Duration::from_secs(30), "tutti serve to exit", || {
        let exited = child.try_wait().expect("poll the child");
        async move { exited }
    })
    .await;
    assert!(status.success(), "a graceful stop exits 0: {status}");
    let log = read(&server.log);
    assert!(
        log.contains("put it back"),
        "the log says the job went back:\n{log}"
    );

    let jobs: Value =
        serde_json::from_str(&site.run_ok(&["jobs", "list", "--json"])).expect("JSON");
    let job = jobs
        .as_array()
        .expect("a list")
        .iter()
        .find(|j| j["id"] == id.as_str())
        .expect("the job is listed");
    assert_eq!(job["status"], "queued", "{job}");
    assert_eq!(
        job["attempts"], 0,
        "the cut-short run does not count: {job}"
    );
}

/// The part of a site's server log written since the last `tutti serve` started.
fn last_run(log: &Path) -> String {
    let text = read(log);
    let at = text.rfind("==== tutti serve").unwrap_or(0);
    text[at..].to_string()
}

#[tokio::test]
async fn no_one_time_secret_reaches_the_log() {
    let site = Site::new().await;
    let token = site.admin_token();
    let server = site.serve(&[]).await;

    let invited = server
        .post(
            &token,
            "/api/v1/admin/invitations",
            json!({"email": "new@example.test", "roles": []}),
        )
        .await;
    let link = invited["link"].as_str().expect("an invitation link");
    let secret = link.rsplit('/').next().expect("a secret");
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client");
    let page = browser.get(link).send().await.expect("the invitation page");
    assert_eq!(page.status(), 200);
    let accepted = browser
        .post(link)
        .form(&[("name", "Newcomer"), ("password", PASSWORD)])
        .send()
        .await
        .expect("accept the invitation");
    assert_eq!(accepted.status(), 303);

    let log = eventually(
        Duration::from_secs(10),
        "the redemption in the request log",
        || async {
            let log = read(&server.log);
            (log.matches("/invite/REDACTED").count() >= 2).then_some(log)
        },
    )
    .await;
    assert!(
        !log.contains(secret),
        "the invitation secret is in the log:\n{log}"
    );
}

#[tokio::test]
async fn one_setup_link_is_open_at_a_time_and_the_cli_replaces_it() {
    let site = Site::new().await;
    let mut server = site.serve(&[]).await;
    let marker = "Open this link to create the first admin: ";
    let first = eventually(Duration::from_secs(10), "the setup link in the log", || {
        let log = last_run(&server.log);
        async move {
            log.lines().find_map(|l| {
                l.split_once(marker)
                    .map(|(_, link)| link.trim().to_string())
            })
        }
    })
    .await;
    assert!(first.contains("/setup/"), "{first}");
    server.kill();

    // A second start makes no new link while the first is open, and says how to get one.
    let server = site.serve(&[]).await;
    let log = eventually(Duration::from_secs(10), "the setup notice", || {
        let log = last_run(&server.log);
        async move { log.contains("tutti admin setup-link").then_some(log) }
    })
    .await;
    assert!(!log.contains(marker), "a second link was made:\n{log}");
    let first_path = first.split_once("/setup/").expect("a setup path").1;
    let open = |path: String| {
        let url = server.url(&format!("/setup/{path}"));
        let client = server.client.clone();
        async move { client.get(url).send().await.expect("GET").status() }
    };
    assert_eq!(open(first_path.to_string()).await, 200, "still valid");

    let fresh = site.run_ok(&["admin", "setup-link"]);
    let fresh_path = fresh
        .trim()
        .split_once("/setup/")
        .expect("a link")
        .1
        .to_string();
    assert_eq!(
        open(first_path.to_string()).await,
        410,
        "the old link was revoked"
    );
    assert_eq!(open(fresh_path).await, 200);

    site.admin_token();
    let out = site.run(&["admin", "setup-link"]);
    assert!(!out.status.success(), "no setup link once accounts exist");
    assert!(stderr(&out).contains("create-user"), "{}", stderr(&out));
}
