use std::process::{Command, Output};

use tutti_store::testing::{TestBlobs, TestDb};

/// The `tutti` binary pointed at a fresh database and blob store.
struct Operator {
    db: TestDb,
    blobs: TestBlobs,
    dir: tempfile::TempDir,
}

impl Operator {
    async fn new() -> Operator {
        Operator {
            db: TestDb::new().await,
            blobs: TestBlobs::new(),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tutti"));
        command
            .args(args)
            .arg("--data-dir")
            .arg(self.dir.path())
            .arg("--database-url")
            .arg(&self.db.url)
            .arg("--blob-url")
            .arg(&self.blobs.location)
            .current_dir(self.dir.path())
            .env_remove("RUST_LOG")
            .env_remove("TUTTI_CONFIG");
        for (key, value) in &self.blobs.options {
            command.env(format!("TUTTI_BLOB_OPTIONS__{}", key.to_uppercase()), value);
        }
        command.output().expect("run tutti")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "tutti {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(!out.status.success(), "tutti {args:?} should fail");
        String::from_utf8(out.stderr).unwrap()
    }
}

#[tokio::test]
async fn an_operator_sets_up_people_from_the_shell() {
    let op = Operator::new().await;
    assert!(op.ok(&["migrate"]).contains("up to date"));

    let created = op.ok(&[
        "admin",
        "create-user",
        "--email",
        "ada@example.org",
        "--name",
        "Ada",
        "--role",
        "admin",
    ]);
    assert!(created.contains("ada@example.org"), "{created}");
    assert!(
        created.contains("/invite/"),
        "no password, so a link: {created}"
    );

    op.ok(&[
        "admin",
        "grant-role",
        "--email",
        "ben@example.org",
        "--role",
        "admin",
    ]);
    let users = op.ok(&["admin", "list-users"]);
    let ben = users
        .lines()
        .find(|l| l.contains("ben@example.org"))
        .unwrap();
    assert!(
        ben.contains("admin") && ben.contains("(invited)"),
        "{users}"
    );

    op.ok(&[
        "admin",
        "revoke-role",
        "--email",
        "ben@example.org",
        "--role",
        "admin",
    ]);
    let users: serde_json::Value =
        serde_json::from_str(&op.ok(&["admin", "list-users", "--json"])).unwrap();
    assert_eq!(users[0]["roles"], serde_json::json!(["admin"]));

    let token = op.ok(&[
        "admin",
        "create-token",
        "--email",
        "ada@example.org",
        "--name",
        "backup",
    ]);
    assert_eq!(token.trim().lines().count(), 1, "only the token on stdout");
    assert!(token.trim().len() >= 20, "{token}");

    let again = op.fails(&["admin", "create-user", "--email", "ada@example.org"]);
    assert!(again.contains("email: "), "names the field: {again}");
    assert!(again.contains("already exists"), "{again}");
}

#[tokio::test]
async fn an_operator_looks_after_the_job_queue() {
    let op = Operator::new().await;
    op.ok(&["migrate"]);
    let listed = op.ok(&["jobs", "list"]);
    assert!(listed.starts_with("ID"), "{listed}");
    // The first run may include this period's retention job; the second finds nothing.
    op.ok(&["jobs", "run-once"]);
    let again = op.ok(&["jobs", "run-once"]);
    assert!(again.contains("Ran 0 jobs"), "{again}");
    let missing = op.fails(&["jobs", "retry", "nope"]);
    assert!(missing.contains("no failed job with id nope"), "{missing}");
    let wrong = op.fails(&["jobs", "list", "--status", "lost"]);
    assert!(wrong.contains("queued, running, done, failed"), "{wrong}");
}

#[tokio::test]
async fn config_shows_the_effective_settings_without_secrets() {
    let op = Operator::new().await;
    let out = Command::new(env!("CARGO_BIN_EXE_tutti"))
        .args([
            "config",
            "--database-url",
            "postgres://tutti:hunter2@db/tutti",
        ])
        .current_dir(op.dir.path())
        .env("TUTTI_OIDC__ISSUER", "https://id.example.org")
        .env("TUTTI_OIDC__CLIENT_ID", "tutti")
        .env("TUTTI_OIDC__CLIENT_SECRET", "oidc-secret")
        .env("TUTTI_SESSION_DAYS", "7")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("session_days = 7"), "{text}");
    assert!(
        text.contains("postgres://tutti:REDACTED@db/tutti"),
        "{text}"
    );
    assert!(
        !text.contains("hunter2") && !text.contains("oidc-secret"),
        "{text}"
    );

    // `config` takes the flags of `serve` and shows what it would run with.
    let out = Command::new(env!("CARGO_BIN_EXE_tutti"))
        .args([
            "config",
            "--listen",
            "127.0.0.1:9",
            "--public-url",
            "https://tutti.example.org",
            "--no-migrate",
        ])
        .current_dir(op.dir.path())
        .env_remove("TUTTI_CONFIG")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for line in [
        "listen = \"127.0.0.1:9\"",
        "public_url = \"https://tutti.example.org/\"",
        "migrate_on_start = false",
    ] {
        assert!(text.lines().any(|l| l == line), "{line}:\n{text}");
    }

    let bad = Command::new(env!("CARGO_BIN_EXE_tutti"))
        .args(["config", "--listen", "x"])
        .current_dir(op.dir.path())
        .env_remove("TUTTI_CONFIG")
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let err = String::from_utf8(bad.stderr).unwrap();
    assert!(
        err.contains("listen = \"x\" is not an address"),
        "checked like serve checks it: {err}"
    );
}

#[tokio::test]
async fn settings_flags_before_the_command_still_work() {
    let op = Operator::new().await;
    op.ok(&["migrate"]);
    let mut command = Command::new(env!("CARGO_BIN_EXE_tutti"));
    command
        .arg("--data-dir")
        .arg(op.dir.path())
        .args([
            "--database-url",
            &op.db.url,
            "--blob-url",
            &op.blobs.location,
        ])
        .args(["admin", "list-users", "--json"])
        .current_dir(op.dir.path())
        .env_remove("RUST_LOG")
        .env_remove("TUTTI_CONFIG");
    for (key, value) in &op.blobs.options {
        command.env(format!("TUTTI_BLOB_OPTIONS__{}", key.to_uppercase()), value);
    }
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let users: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(users, serde_json::json!([]));
}

/// A server that cannot listen stops before it touches storage: no data folder, no
/// database file, nothing migrated.
#[test]
fn serve_on_a_busy_port_fails_before_it_creates_anything() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut command = Command::new(env!("CARGO_BIN_EXE_tutti"));
    command
        .args(["serve", "--listen", &listen, "--data-dir"])
        .arg(&data)
        .current_dir(dir.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("TUTTI_") {
            command.env_remove(key);
        }
    }
    let mut child = command.spawn().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("tutti serve on the busy {listen} kept running");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    drop(taken);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains(&format!("could not listen on {listen}")) && err.contains("another program"),
        "{err}"
    );
    assert!(
        !data.exists(),
        "the data folder (and the database in it) was created"
    );
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "wrote {left:?}");
}

/// A short stereo tone written by the media engine with `preset`.
fn tone_file(path: &std::path::Path, preset: &str, seconds: f32, hz: f32) {
    use tutti_media::encode::Output;
    use tutti_media::pcm::MemorySource;
    use tutti_media::presets::Preset;
    use tutti_media::transcode::{Target, transcode};
    let spec = tutti_media::AudioSpec::new(44_100, 2).unwrap();
    let n = (seconds * 44_100.0) as usize;
    let samples: Vec<f32> = (0..n)
        .flat_map(|i| {
            let s = 0.3 * (i as f32 / 44_100.0 * hz * std::f32::consts::TAU).sin();
            [s, s]
        })
        .collect();
    let target = Target {
        preset: *Preset::by_name(preset).unwrap(),
        output: Output::seekable(std::fs::File::create(path).unwrap()),
    };
    transcode(
        &mut MemorySource::new(spec, samples),
        vec![target],
        None,
        &mut |_| {},
    )
    .unwrap();
}

#[tokio::test]
async fn an_album_folder_is_imported_processed_and_published_from_the_shell() {
    let op = Operator::new().await;
    op.ok(&["migrate"]);
    let folder = op.dir.path().join("Ágætis byrjun");
    std::fs::create_dir(&folder).unwrap();
    tone_file(
        &folder.join("02 Svefn-g-englar.flac"),
        "flac-16",
        2.0,
        330.0,
    );
    tone_file(&folder.join("01 Intro.wav"), "wav-16", 1.0, 440.0);
    std::fs::write(
        folder.join("02 Svefn-g-englar.lrc"),
        "[00:00.50]Tu ert\n[00:01.20]Hopp\n",
    )
    .unwrap();
    let folder_arg = folder.to_str().unwrap();

    // No artist and no owner: nothing to attach the album to.
    let refused = op.fails(&["music", "import", folder_arg, "--artist", "sigur-ros"]);
    assert!(refused.contains("--owner"), "{refused}");
    op.ok(&[
        "admin",
        "create-user",
        "--email",
        "jonsi@example.test",
        "--name",
        "Jónsi",
    ]);

    // A file that is not audio stops the import before anything is made, by its name.
    let junk = folder.join("03 Notes.mp3");
    std::fs::write(&junk, b"liner notes").unwrap();
    let failed = op.fails(&[
        "music",
        "import",
        folder_arg,
        "--artist",
        "sigur-ros",
        "--owner",
        "jonsi@example.test",
    ]);
    assert!(failed.contains("03 Notes.mp3"), "{failed}");
    std::fs::remove_file(&junk).unwrap();

    let out = op.ok(&[
        "music",
        "import",
        folder_arg,
        "--artist",
        "sigur-ros",
        "--owner",
        "jonsi@example.test",
        "--publish",
    ]);
    assert!(
        out.contains("Published") && out.contains("/music/sigur-ros/"),
        "{out}"
    );
    let users = op.ok(&["admin", "list-users"]);
    assert!(
        users.contains("artist"),
        "the owner became an artist: {users}"
    );

    // The second import of the same folder is a second release beside the first.
    let again = op.ok(&["music", "import", folder_arg, "--artist", "sigur-ros"]);
    assert!(again.contains("Imported as a draft"), "{again}");
    let slugs: Vec<&str> = [&out, &again]
        .iter()
        .map(|o| o.trim().rsplit('/').next().unwrap())
        .collect();
    assert_ne!(slugs[0], slugs[1]);
}
