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

    let bad = Command::new(env!("CARGO_BIN_EXE_tutti"))
        .args(["config", "--listen", "x"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let err = String::from_utf8(bad.stderr).unwrap();
    assert!(
        err.contains("unexpected argument"),
        "--listen is for serve only: {err}"
    );
}
