//! `tutti admin backup`, `restore` and `move` as an operator runs them: the real binary
//! as a child process, beside a real `tutti serve`. Each test has its own folders,
//! databases and blob stores (SQLite and a folder, or PostgreSQL and S3 when the
//! `TUTTI_TEST_*` variables name them), and every child it starts is killed when it ends.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tutti_store::testing::{TestBlobs, TestDb};
use tutti_store::{Blobs, Db};

const TUTTI: &str = env!("CARGO_BIN_EXE_tutti");
const ADMIN: &str = "admin@example.test";
const PASSWORD: &str = "correct horse battery";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind an ephemeral port")
        .port()
}

fn postgres_and_s3() -> bool {
    let set = |k: &str| std::env::var(k).is_ok_and(|v| !v.is_empty());
    set("TUTTI_TEST_DATABASE_URL") && set("TUTTI_TEST_BLOB_URL")
}

/// Where one installation keeps its data.
enum Store {
    /// The embedded defaults: `tutti.db` and `blobs/` in the data folder.
    Embedded,
    /// What the environment names (PostgreSQL and S3, or SQLite and a folder).
    Test(TestDb, TestBlobs),
    /// A settings file naming them (what `tutti admin move --to` reads).
    Config(PathBuf, TestDb, TestBlobs),
}

/// One installation: a folder, its store, and the `tutti` commands that act on it.
struct Site {
    dir: tempfile::TempDir,
    store: Store,
}

impl Site {
    /// SQLite and local files in the data folder, whatever the environment says.
    fn embedded() -> Site {
        Site {
            dir: tempfile::tempdir().expect("temp dir"),
            store: Store::Embedded,
        }
    }

    /// The backends the test environment names.
    async fn test() -> Site {
        Site {
            dir: tempfile::tempdir().expect("temp dir"),
            store: Store::Test(TestDb::new().await, TestBlobs::new()),
        }
    }

    /// The test environment's backends, named only in a settings file `new.toml`.
    async fn configured() -> Site {
        let dir = tempfile::tempdir().expect("temp dir");
        let (db, blobs) = (TestDb::new().await, TestBlobs::new());
        let mut toml = format!(
            "data_dir = {:?}\ndatabase_url = {:?}\nblob_url = {:?}\n",
            dir.path().join("data").display().to_string(),
            db.url,
            blobs.location
        );
        if !blobs.options.is_empty() {
            toml.push_str("\n[blob_options]\n");
            for (k, v) in &blobs.options {
                toml.push_str(&format!("{k} = {v:?}\n"));
            }
        }
        let path = dir.path().join("new.toml");
        fs::write(&path, toml).expect("write new.toml");
        Site {
            dir,
            store: Store::Config(path, db, blobs),
        }
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn config(&self) -> &Path {
        match &self.store {
            Store::Config(path, _, _) => path,
            _ => panic!("this site has no settings file"),
        }
    }

    fn database_url(&self) -> String {
        match &self.store {
            Store::Embedded => format!("sqlite://{}/tutti.db", self.data_dir().display()),
            Store::Test(db, _) | Store::Config(_, db, _) => db.url.clone(),
        }
    }

    fn is_sqlite(&self) -> bool {
        self.database_url().starts_with("sqlite:")
    }

    fn blobs(&self) -> Blobs {
        match &self.store {
            Store::Embedded => Blobs::open(
                &self.data_dir().join("blobs").display().to_string(),
                &BTreeMap::new(),
            )
            .expect("open the blob folder"),
            Store::Test(_, blobs) | Store::Config(_, _, blobs) => blobs.open(),
        }
    }

    async fn db(&self) -> Db {
        Db::connect(&self.database_url())
            .await
            .expect("connect to the site's database")
    }

    /// `tutti ARGS` against this installation, run from its folder, with no `TUTTI_*`
    /// setting of the outer shell leaking in.
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(TUTTI);
        cmd.args(args)
            .current_dir(self.dir.path())
            .stdin(Stdio::null());
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("TUTTI_") {
                cmd.env_remove(key);
            }
        }
        cmd.env("TUTTI_LOG_FORMAT", "pretty");
        match &self.store {
            Store::Embedded => {
                cmd.arg("--data-dir").arg(self.data_dir());
            }
            Store::Test(db, blobs) => {
                cmd.arg("--data-dir")
                    .arg(self.data_dir())
                    .args(["--database-url", &db.url])
                    .args(["--blob-url", &blobs.location]);
                for (key, value) in &blobs.options {
                    cmd.env(format!("TUTTI_BLOB_OPTIONS__{}", key.to_uppercase()), value);
                }
            }
            Store::Config(path, _, _) => {
                cmd.arg("--config").arg(path);
            }
        }
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run tutti")
    }

    fn run_ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "`tutti {}` failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
            args.join(" "),
            out.status,
            text(&out.stdout),
            text(&out.stderr),
        );
        text(&out.stdout)
    }

    /// An admin with a password and an API token, made with the CLI.
    fn admin_token(&self) -> String {
        let mut cmd = self.command(&[
            "admin",
            "create-user",
            "--email",
            ADMIN,
            "--role",
            "admin",
            "--password",
            "-",
        ]);
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start tutti admin create-user");
        writeln!(child.stdin.take().expect("stdin"), "{PASSWORD}").expect("write the password");
        let out = child.wait_with_output().expect("create-user");
        assert!(out.status.success(), "{}", text(&out.stderr));
        self.run_ok(&[
            "admin",
            "create-token",
            "--email",
            ADMIN,
            "--name",
            "backup-test",
        ])
        .trim()
        .to_string()
    }

    /// Starts `tutti serve` on a free port and waits until it answers `/healthz`.
    async fn serve(&self) -> Server {
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let url = format!("http://{addr}");
        let log_path = self.dir.path().join("serve.log");
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .expect("open the server log");
        let mut cmd = self.command(&["serve", "--listen", &addr.to_string(), "--public-url", &url]);
        cmd.env("TUTTI_JOBS__POLL_MS", "100")
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log);
        let mut server = Server {
            child: Some(cmd.spawn().expect("start tutti serve")),
            url,
            log: log_path,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("HTTP client"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = server.child.as_mut().and_then(|c| c.try_wait().unwrap()) {
                panic!("tutti serve exited ({status}):\n{}", read(&server.log));
            }
            if let Ok(r) = server.client.get(server.url("/healthz")).send().await
                && r.status().is_success()
            {
                return server;
            }
            assert!(
                Instant::now() < deadline,
                "not healthy:\n{}",
                read(&server.log)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A running `tutti serve`, killed when dropped (its log printed if the test failed).
struct Server {
    child: Option<Child>,
    url: String,
    log: PathBuf,
    client: reqwest::Client,
}

impl Server {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// Stops it (SIGKILL; SQLite's WAL makes that safe) and waits until it is gone.
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
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
        let body = r.text().await.expect("body");
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
        let body = r.text().await.expect("body");
        assert!(status.is_success(), "POST {path}: {status}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("POST {path}: {e}: {body}"))
    }

    /// Signs in with the password form, as a browser does; true when it let us in.
    async fn signs_in(&self, email: &str, password: &str) -> bool {
        let browser = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("browser client");
        let r = browser
            .post(self.url("/login"))
            .header("accept", "text/html")
            .form(&[("email", email), ("password", password)])
            .send()
            .await
            .expect("POST /login");
        if r.status().as_u16() != 303 {
            return false;
        }
        let profile = browser
            .get(self.url("/profile"))
            .header("accept", "text/html")
            .send()
            .await
            .expect("GET /profile");
        profile.status().is_success() && profile.text().await.unwrap_or_default().contains(email)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            eprintln!("--- tutti serve log\n{}", read(&self.log));
        }
    }
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| format!("({}: {e})", path.display()))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Bytes that are not all alike, so a misplaced chunk changes the checksum.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u64 * 2654435761 % 251) as u8 ^ seed)
        .collect()
}

async fn count(db: &Db, table: &str) -> i64 {
    tutti_store::tables::count(db, table)
        .await
        .unwrap_or_else(|e| panic!("count {table}: {e}"))
}

/// Rows of `one_time_links`, which every invitation adds.
async fn invitations(site: &Site) -> i64 {
    let db = site.db().await;
    let n = count(&db, "one_time_links").await;
    db.close().await;
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_writes_restores_into_a_fresh_site_that_signs_in() {
    let site = Site::test().await;
    let token = site.admin_token();
    let blobs = site.blobs();
    let big = pattern(9 * 1024 * 1024 + 17, 1);
    blobs.put("media/take-1.webm", big.clone()).await.unwrap();
    blobs
        .put("media/notes.txt", &b"la la la"[..])
        .await
        .unwrap();
    let server = Arc::new(site.serve().await);

    // Someone keeps inviting people while the backup runs.
    let stop = Arc::new(AtomicBool::new(false));
    let made = Arc::new(AtomicUsize::new(0));
    let writer = {
        let (server, token, stop, made) =
            (server.clone(), token.clone(), stop.clone(), made.clone());
        tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) {
                server
                    .post(
                        &token,
                        "/api/v1/admin/invitations",
                        json!({"email": format!("guest{i}@example.test"), "roles": []}),
                    )
                    .await;
                i += 1;
                made.store(i, Ordering::SeqCst);
            }
        })
    };
    let wait_for = |n: usize| {
        let made = made.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(30);
            while made.load(Ordering::SeqCst) < n {
                assert!(Instant::now() < deadline, "the writer is stuck");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    wait_for(5).await;

    let out_dir = site.dir.path().join("backup");
    let out = out_dir.display().to_string();
    let backup = {
        let mut cmd = site.command(&["admin", "backup", &out]);
        tokio::task::spawn_blocking(move || cmd.output().expect("run tutti admin backup"))
            .await
            .unwrap()
    };
    assert!(backup.status.success(), "{}", text(&backup.stderr));
    let during = made.load(Ordering::SeqCst);
    wait_for(during + 3).await;
    stop.store(true, Ordering::SeqCst);
    writer.await.unwrap();
    let written = made.load(Ordering::SeqCst) as i64;

    let manifest: Value =
        serde_json::from_str(&read(&out_dir.join("manifest.json"))).expect("manifest JSON");
    assert_eq!(manifest["format"], 1);
    assert_eq!(manifest["tutti_version"], env!("CARGO_PKG_VERSION"));
    assert!(
        manifest["database"]["migrations"].as_array().unwrap().len() >= 4,
        "{manifest}"
    );
    let items = manifest["blobs"]["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{manifest}");
    assert_eq!(items[0]["key"], "media/notes.txt");
    assert_eq!(items[1]["size"], big.len() as u64);
    assert_eq!(
        items[1]["sha256"].as_str().unwrap(),
        tutti_store::copy::hex(&<sha2::Sha256 as sha2::Digest>::digest(&big))
    );
    let in_manifest = manifest["database"]["tables"]["one_time_links"]["rows"]
        .as_i64()
        .unwrap();
    assert_eq!(manifest["database"]["tables"]["users"]["rows"], 1);

    // A fresh installation gets it all back.
    let fresh = Site::test().await;
    if site.is_sqlite() {
        assert!(out_dir.join("tutti.db").is_file());
        // The snapshot is one moment: some invitations before it, more after.
        assert!(
            (5..written).contains(&in_manifest),
            "the snapshot has {in_manifest} of {written} invitations"
        );
        let restored = fresh.run_ok(&["admin", "restore", &out]);
        assert!(restored.contains("table users"), "{restored}");
        assert!(!restored.contains("MISMATCH"), "{restored}");
        assert_eq!(invitations(&fresh).await, in_manifest);
    } else {
        // PostgreSQL: the printed pg_dump command goes beside the backup.
        let printed = text(&backup.stdout);
        assert!(printed.contains("pg_dump --format=custom"), "{printed}");
        let dump = out_dir.join("tutti.pgdump");
        let status = Command::new("pg_dump")
            .args(["--format=custom", "--no-owner"])
            .arg(format!("--file={}", dump.display()))
            .arg(site.database_url())
            .status()
            .expect("run pg_dump");
        assert!(status.success());
        let restored = fresh.run_ok(&["admin", "restore", &out]);
        assert!(restored.contains("pg_restore"), "{restored}");
        let status = Command::new("pg_restore")
            .args(["--no-owner"])
            .arg(format!("--dbname={}", fresh.database_url()))
            .arg(&dump)
            .status()
            .expect("run pg_restore");
        assert!(status.success());
    }
    let copy = fresh.blobs();
    assert_eq!(copy.get("media/take-1.webm").await.unwrap(), big);
    assert_eq!(copy.get("media/notes.txt").await.unwrap(), &b"la la la"[..]);

    drop(server);
    let restored = fresh.serve().await;
    assert!(restored.signs_in(ADMIN, PASSWORD).await, "the old password");
    assert!(!restored.signs_in(ADMIN, "not the password").await);
    let me = restored.get(&token, "/api/v1/me").await;
    assert_eq!(me["email"], ADMIN, "the old API token: {me}");
}

#[tokio::test]
async fn restore_refuses_a_target_that_is_not_empty_unless_forced() {
    let source = Site::test().await;
    source.admin_token();
    source
        .blobs()
        .put("media/a.txt", &b"from the backup"[..])
        .await
        .unwrap();
    let out = source.dir.path().join("backup").display().to_string();
    source.run_ok(&["admin", "backup", &out]);

    // A backup folder is never mixed into: a second backup there is refused.
    let again = source.run(&["admin", "backup", &out]);
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("not empty"),
        "{}",
        text(&again.stderr)
    );

    let target = Site::test().await;
    target.run_ok(&[
        "admin",
        "create-user",
        "--email",
        "other@example.test",
        "--password",
        "another good password",
    ]);
    target
        .blobs()
        .put("media/b.txt", &b"already here"[..])
        .await
        .unwrap();
    let refused = target.run(&["admin", "restore", &out]);
    assert!(!refused.status.success());
    let err = text(&refused.stderr);
    assert!(
        err.contains("is not empty") && err.contains("--force"),
        "{err}"
    );
    assert!(err.contains("blobs in"), "{err}");
    if source.is_sqlite() {
        assert!(err.contains("an account in the database"), "{err}");
    }
    assert!(
        target.blobs().get("media/a.txt").await.is_err(),
        "nothing written"
    );
    assert!(
        target
            .run_ok(&["admin", "list-users"])
            .contains("other@example.test")
    );

    if target.is_sqlite() {
        // Not while a server has the database open.
        let mut server = target.serve().await;
        let busy = target.run(&["admin", "restore", &out, "--force"]);
        assert!(!busy.status.success());
        let err = text(&busy.stderr);
        assert!(
            err.contains("in use") && err.contains("stop the server"),
            "{err}"
        );
        server.stop();
    }

    let forced = target.run_ok(&["admin", "restore", &out, "--force"]);
    assert!(!forced.contains("MISMATCH"), "{forced}");
    assert_eq!(
        target.blobs().get("media/a.txt").await.unwrap(),
        &b"from the backup"[..]
    );
    if target.is_sqlite() {
        let users = target.run_ok(&["admin", "list-users"]);
        assert!(users.contains(ADMIN), "{users}");
        assert!(!users.contains("other@example.test"), "{users}");
    }

    // A damaged backup is refused before anything is written.
    let damaged = Site::test().await;
    fs::write(
        source.dir.path().join("backup/blobs/media/a.txt"),
        "tampered",
    )
    .unwrap();
    let err = damaged.run(&["admin", "restore", &out]);
    assert!(!err.status.success());
    let err = text(&err.stderr);
    assert!(
        err.contains("media/a.txt") && err.contains("manifest"),
        "{err}"
    );
    assert!(damaged.blobs().get("media/a.txt").await.is_err());
}

/// Everything an installation holds that people would miss after a move.
struct Before {
    token: String,
    jobs: Vec<String>,
    big: Vec<u8>,
}

/// A source installation on the embedded defaults with people, a token, jobs that ran,
/// role grants, invitations and blobs; its server stopped again.
async fn populated_source(invites: usize) -> (Site, Before) {
    let source = Site::embedded();
    let token = source.admin_token();
    let big = pattern(9 * 1024 * 1024 + 5, 7);
    let blobs = source.blobs();
    blobs.put("media/master.flac", big.clone()).await.unwrap();
    for i in 0..6 {
        blobs
            .put(&format!("media/small/{i}.txt"), format!("blob {i}"))
            .await
            .unwrap();
    }
    let mut server = source.serve().await;
    let queued = server
        .post(
            &token,
            "/api/v1/admin/jobs/selftest",
            json!({"count": 3, "sleep_ms": 0}),
        )
        .await;
    let mut jobs: Vec<String> = queued["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    jobs.sort();
    for i in 0..invites {
        server
            .post(
                &token,
                "/api/v1/admin/invitations",
                json!({"email": format!("singer{i}@example.test"), "roles": []}),
            )
            .await;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let list = server.get(&token, "/api/v1/admin/jobs?limit=100").await;
        let done = list["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|j| j["kind"] == "platform.selftest" && j["status"] == "done")
            .count();
        if done == 3 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "self-test jobs did not finish: {list}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.stop();
    (source, Before { token, jobs, big })
}

/// The target serves what the source had: the password, the token, the jobs, the blobs.
async fn serves_the_same(target: &Site, before: &Before) {
    let server = target.serve().await;
    assert!(server.signs_in(ADMIN, PASSWORD).await, "the same password");
    let me = server.get(&before.token, "/api/v1/me").await;
    assert_eq!(me["email"], ADMIN, "the same API token: {me}");
    let list = server
        .get(&before.token, "/api/v1/admin/jobs?limit=100")
        .await;
    let mut jobs: Vec<String> = list["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["kind"] == "platform.selftest")
        .map(|j| j["id"].as_str().unwrap().to_string())
        .collect();
    jobs.sort();
    assert_eq!(jobs, before.jobs, "the same jobs");
    let blobs = target.blobs();
    assert_eq!(blobs.get("media/master.flac").await.unwrap(), before.big);
    assert_eq!(
        blobs.get("media/small/5.txt").await.unwrap(),
        &b"blob 5"[..]
    );
}

#[tokio::test]
async fn move_from_sqlite_and_files_to_postgres_and_s3() {
    if !postgres_and_s3() {
        eprintln!(
            "skipped: set TUTTI_TEST_DATABASE_URL and TUTTI_TEST_BLOB_URL (see \
             tests/services/) to move to PostgreSQL and S3"
        );
        return;
    }
    let (source, before) = populated_source(4).await;
    let target = Site::configured().await;
    let to = target.config().display().to_string();
    let moved = source.run_ok(&["admin", "move", "--to", &to]);
    for line in [
        "table users",
        "table api_tokens",
        "table jobs",
        "blob checksums",
    ] {
        let row = moved
            .lines()
            .find(|l| l.starts_with(line))
            .unwrap_or_else(|| panic!("no {line} row:\n{moved}"));
        assert!(row.ends_with(" ok"), "{row}");
    }
    assert!(!moved.contains("MISMATCH"), "{moved}");
    assert!(moved.contains("tutti serve --config"), "{moved}");
    serves_the_same(&target, &before).await;

    // A second move into the same, now full, target names what it holds instead.
    let other = Site::embedded();
    other.admin_token();
    let refused = other.run(&["admin", "move", "--to", &to]);
    assert!(!refused.status.success());
    let err = text(&refused.stderr);
    assert!(err.contains("another installation"), "{err}");
}

#[tokio::test]
async fn an_interrupted_move_resumes_where_it_stopped_and_ends_verified() {
    let (source, before) = populated_source(12).await;
    let target = Site::configured().await;
    let to = target.config().display().to_string();
    let move_with = |crash: Option<&str>| {
        let mut cmd = source.command(&["admin", "move", "--to", &to, "--batch-size", "2"]);
        if let Some(at) = crash {
            cmd.env("TUTTI_TEST_MOVE_CRASH_AFTER", at);
        }
        cmd.output().expect("run tutti admin move")
    };

    // Killed in the middle of the rows: some are there, not all.
    let first = move_with(Some("rows:6"));
    assert_eq!(first.status.code(), Some(86), "{}", text(&first.stderr));
    let db = target.db().await;
    let links = count(&db, "one_time_links").await;
    assert!(links < 12, "{links} invitations copied before the crash");
    let progress: i64 = tutti_store::sqlx::query_scalar(
        "SELECT COUNT(*) FROM _tutti_move WHERE item LIKE 'table:%'",
    )
    .fetch_one(db.pool())
    .await
    .unwrap();
    assert!(progress > 0, "progress is kept in the target");
    db.close().await;
    assert!(target.blobs().get("media/master.flac").await.is_err());

    // Killed again while copying the blobs: the rows are done, some blobs too.
    let second = move_with(Some("blobs:3"));
    assert_eq!(second.status.code(), Some(86), "{}", text(&second.stderr));
    assert!(
        text(&second.stderr).contains("Resuming"),
        "{}",
        text(&second.stderr)
    );
    let db = target.db().await;
    assert_eq!(count(&db, "one_time_links").await, 12);
    db.close().await;
    let copied = target.blobs().list("").await.unwrap().len();
    assert!(
        (3..7).contains(&copied),
        "{copied} of 7 blobs before the crash"
    );

    // The third run finishes and verifies every row and blob.
    let third = move_with(None);
    let (out, err) = (text(&third.stdout), text(&third.stderr));
    assert!(third.status.success(), "{out}\n{err}");
    assert!(err.contains("Resuming"), "{err}");
    assert!(!out.contains("MISMATCH"), "{out}");
    let blobs_row = out
        .lines()
        .find(|l| l.starts_with("blob checksums"))
        .unwrap();
    assert!(
        blobs_row.contains("7 match") && blobs_row.ends_with(" ok"),
        "{out}"
    );

    // Run again after it has finished, it copies nothing and verifies again.
    let again = move_with(None);
    assert!(
        again.status.success(),
        "{}\n{}",
        text(&again.stdout),
        text(&again.stderr)
    );
    serves_the_same(&target, &before).await;
}

#[tokio::test]
async fn move_refuses_its_own_database_and_a_target_that_is_not_empty() {
    let source = Site::embedded();
    source.admin_token();
    let same = source.dir.path().join("same.toml");
    fs::write(
        &same,
        format!("data_dir = {:?}\n", source.data_dir().display().to_string()),
    )
    .unwrap();
    let out = source.run(&["admin", "move", "--to", &same.display().to_string()]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("already uses"),
        "{}",
        text(&out.stderr)
    );

    let target = Site::configured().await;
    target.admin_token();
    let out = source.run(&[
        "admin",
        "move",
        "--to",
        &target.config().display().to_string(),
    ]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("not empty") && err.contains("users"), "{err}");

    let missing = source.run(&["admin", "move", "--to", "nowhere.toml"]);
    assert!(text(&missing.stderr).contains("does not exist"));
}
