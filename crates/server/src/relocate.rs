//! `tutti admin move --to NEW.toml`: copies a whole installation (every row of every
//! table, every blob) into another one, typically from the embedded SQLite and local
//! files to PostgreSQL and S3 when one machine is no longer enough.
//!
//! The target is migrated first, so it has the same tables; rows are then copied table by
//! table in foreign-key order and primary-key order, in batches that each commit together
//! with a note of how far they got in the target's `_tutti_move` table. Blobs stream
//! across and are noted there too, with their SHA-256. A move that stops (a crash, a
//! Ctrl-C, a lost connection) continues where it stopped when run again. At the end
//! every table's row count and checksum and every blob's checksum are compared between
//! the two sides, printed as a table, and any difference makes the command fail.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::Context as _;
use futures::{StreamExt as _, TryStreamExt as _};
use tutti_store::copy::{self, Digest};
use tutti_store::tables::{self, Value};
use tutti_store::{Blobs, Db, StoreError, sqlx};

use crate::config::Settings;
use crate::transfer::{self, Check, Ledger, TableProgress, Ui};

/// The target's table of progress; never copied itself.
const PROGRESS: &str = "_tutti_move";

/// For tests: stop the process abruptly, as a crash would, after `rows:N` committed row
/// batches or `blobs:N` copied blobs (counted in this run).
pub const CRASH_AFTER_ENV: &str = "TUTTI_TEST_MOVE_CRASH_AFTER";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Rows,
    Blobs,
}

fn crash_point() -> Option<(Phase, u64)> {
    let raw = std::env::var(CRASH_AFTER_ENV).ok()?;
    let (phase, n) = raw.trim().split_once(':')?;
    let phase = match phase {
        "rows" => Phase::Rows,
        "blobs" => Phase::Blobs,
        _ => return None,
    };
    Some((phase, n.parse().ok()?))
}

/// Blobs copied (and verified) at once.
const BLOB_COPIES: usize = 4;

/// `tutti admin move --to NEW.toml`.
pub async fn run(settings: &Settings, to: &Path, batch: usize) -> anyhow::Result<()> {
    let started = Instant::now();
    anyhow::ensure!(batch > 0, "--batch-size must be at least 1");
    let target_settings = Settings::from_file(to)?;
    anyhow::ensure!(
        !transfer::same_database(&settings.database_url, &target_settings.database_url),
        "{} names the database this installation already uses ({}): set database_url \
         there to the new database",
        to.display(),
        tutti_store::db::redact_url(&settings.database_url)
    );
    anyhow::ensure!(
        !transfer::same_blobs(&settings.blob_url, &target_settings.blob_url),
        "{} names the blob store this installation already uses ({}): set blob_url there \
         to the new store",
        to.display(),
        settings.blob_url
    );
    if let Some(path) = transfer::sqlite_file(&settings.database_url) {
        anyhow::ensure!(
            path.is_file(),
            "there is no database at {} to move: check database_url / --data-dir",
            path.display()
        );
    }
    transfer::ensure_stopped(&settings.database_url, "current installation").await?;
    transfer::ensure_stopped(&target_settings.database_url, "target").await?;

    let source = Db::connect(&settings.database_url)
        .await
        .context("could not open this installation's database")?;
    let source_blobs = open_blobs(settings, "this installation's")?;
    let known = transfer::known_migrations(settings)?;
    let applied = tables::migration_versions(&source).await?;
    if applied != known {
        let behind = known.iter().any(|v| !applied.contains(v));
        anyhow::bail!(
            "{}",
            if behind {
                "this installation's database is not up to date: run `tutti migrate` first, \
                 so both sides have the same tables"
            } else {
                "this installation's database has migrations this Tutti does not know: run \
                 the move with the Tutti version that serves it"
            }
        );
    }

    let target = Db::connect(&target_settings.database_url)
        .await
        .with_context(|| {
            format!(
                "could not open the target database {}",
                tutti_store::db::redact_url(&target_settings.database_url)
            )
        })?;
    let target_blobs = open_blobs(&target_settings, "the target's")?;
    target_blobs
        .ping()
        .await
        .context("the target blob store does not answer")?;
    crate::app::migrate(&target, &target_settings).await?;

    let ui = Ui::new();
    let identity = format!(
        "{} + {}",
        tutti_store::db::redact_url(&settings.database_url),
        source_blobs.description()
    );
    let ledger = MoveLedger::open(&target, &target_blobs, &identity).await?;
    if ledger.resumed {
        ui.say("Resuming the move that was interrupted: what was copied stays.");
    }
    ui.say(format!(
        "Moving {} + {}\n    to {} + {}",
        tutti_store::db::redact_url(&settings.database_url),
        source_blobs.description(),
        tutti_store::db::redact_url(&target_settings.database_url),
        target_blobs.description()
    ));

    // Rows.
    let pairs = transfer::pair_tables(&source, &target).await?;
    let mut total = 0u64;
    for pair in &pairs {
        total += tables::count(&source, pair.name()).await? as u64;
    }
    let rows_bar = ui.rows(total);
    rows_bar.set_prefix("rows");
    for pair in &pairs {
        rows_bar.set_message(pair.name().to_string());
        transfer::copy_table(&source, &target, pair, batch, &ledger, &rows_bar).await?;
    }
    rows_bar.finish_and_clear();
    ui.say(format!("Copied {} tables ({total} rows).", pairs.len()));

    // Blobs.
    let listed = source_blobs.list("").await?;
    let bytes: u64 = listed.iter().map(|b| b.size).sum();
    let done = ledger.blobs_done().await?;
    let blob_bar = ui.bytes(bytes);
    blob_bar.set_prefix("blobs");
    blob_bar.inc(
        listed
            .iter()
            .filter(|b| done.contains_key(&b.key))
            .map(|b| b.size)
            .sum(),
    );
    let bar = &blob_bar;
    let ledger_ref = &ledger;
    let (from, into) = (&source_blobs, &target_blobs);
    futures::stream::iter(listed.iter().filter(|b| !done.contains_key(&b.key)))
        .map(|info| async move {
            let inc = |n: u64| bar.inc(n);
            let digest = copy::copy_blob(from, &info.key, into, &info.key, &inc)
                .await
                .with_context(|| format!("could not copy the blob {}", info.key))?;
            ledger_ref.record_blob(&info.key, &digest).await?;
            ledger_ref.step(Phase::Blobs);
            anyhow::Ok(())
        })
        .buffer_unordered(BLOB_COPIES)
        .try_collect::<Vec<()>>()
        .await?;
    blob_bar.finish_and_clear();
    ui.say(format!(
        "Copied {} blobs ({}).",
        listed.len(),
        transfer::human_bytes(bytes)
    ));

    // Verification: counts and checksums, read back from both sides.
    ui.say("Verifying …");
    let mut checks = Vec::new();
    for pair in &pairs {
        let (s, t) = (
            tables::summarize(&source, &pair.source).await?,
            tables::summarize(&target, &pair.target).await?,
        );
        checks.push(Check::new(
            format!("table {}", pair.name()),
            transfer::summary_cell(&s),
            transfer::summary_cell(&t),
        ));
    }
    let recorded = ledger.blobs_done().await?;
    let in_target = target_blobs.list("").await?;
    let count_cell = |n: usize, b: u64| format!("{n} ({})", transfer::human_bytes(b));
    checks.push(Check::new(
        "blobs",
        count_cell(listed.len(), bytes),
        count_cell(in_target.len(), in_target.iter().map(|b| b.size).sum()),
    ));
    let verify_bar = ui.bytes(bytes);
    verify_bar.set_prefix("verify");
    let vbar = &verify_bar;
    let recorded_ref = &recorded;
    let bad: Vec<String> = futures::stream::iter(listed.iter())
        .map(|info| async move {
            let expected = recorded_ref.get(&info.key);
            let found = match copy::hash_blob(into, &info.key).await {
                Ok(d) => Some(d),
                Err(StoreError::BlobNotFound(_)) => None,
                Err(e) => return Err(anyhow::Error::from(e)),
            };
            vbar.inc(info.size);
            let ok = matches!((expected, &found), (Some(e), Some(f))
                if e == f && f.size == info.size);
            anyhow::Ok((!ok).then(|| info.key.clone()))
        })
        .buffer_unordered(BLOB_COPIES)
        .try_collect::<Vec<Option<String>>>()
        .await?
        .into_iter()
        .flatten()
        .collect();
    verify_bar.finish_and_clear();
    checks.push(Check::new(
        "blob checksums",
        format!("{} match", listed.len()),
        format!("{} match", listed.len() - bad.len()),
    ));
    println!();
    let ok = transfer::print_checks("SOURCE", "TARGET", &checks);
    println!();
    source.close().await;
    if !ok {
        target.close().await;
        let mut message = String::from(
            "the target does not match the source (see MISMATCH above). If the server ran \
             during the move, stop it and run the move again to copy what changed",
        );
        if !bad.is_empty() {
            message.push_str(&format!(
                "; blobs that differ: {}",
                bad.iter().take(20).cloned().collect::<Vec<_>>().join(", ")
            ));
        }
        anyhow::bail!(message);
    }
    ledger.finish().await?;
    target.close().await;
    println!(
        "Moved everything in {:.1} s and verified it. Serve from the new place with:\n\n    \
         tutti serve --config {}\n",
        started.elapsed().as_secs_f64(),
        to.display()
    );
    Ok(())
}

fn open_blobs(settings: &Settings, whose: &str) -> anyhow::Result<Blobs> {
    Blobs::open(&settings.blob_url, &settings.blob_options).with_context(|| {
        format!(
            "could not open {whose} blob store {}: check blob_url and blob_options",
            tutti_store::db::redact_url(&settings.blob_url)
        )
    })
}

/// The move's progress, kept in the target database: one row per table (the last key
/// copied, rows copied, done), one per blob copied (size and SHA-256), one naming the
/// source, so a rerun continues the same move and never mixes in another.
struct MoveLedger {
    db: Db,
    resumed: bool,
    crash: Option<(Phase, u64)>,
    row_steps: AtomicU64,
    blob_steps: AtomicU64,
}

impl MoveLedger {
    async fn open(target: &Db, target_blobs: &Blobs, identity: &str) -> anyhow::Result<MoveLedger> {
        let existing: Option<String> = if tables::exists(target, PROGRESS).await? {
            sqlx::query_scalar("SELECT last_key FROM _tutti_move WHERE item = 'source'")
                .fetch_optional(target.pool())
                .await?
                .flatten()
        } else {
            None
        };
        let resumed = match existing {
            Some(id) if id == identity => true,
            Some(id) => anyhow::bail!(
                "the target holds a move from another installation ({id}); this one is \
                 {identity}. Use a new, empty target"
            ),
            None => {
                let filled = transfer::tables_with_rows(target).await?;
                anyhow::ensure!(
                    filled.is_empty(),
                    "the target database is not empty (rows in {}): a move fills a new, \
                     empty installation",
                    filled.join(", ")
                );
                anyhow::ensure!(
                    copy::is_empty(target_blobs).await?,
                    "the target blob store {} is not empty: a move fills a new, empty \
                     installation",
                    target_blobs.description()
                );
                let mut tx = target.begin().await?;
                sqlx::query(
                    "CREATE TABLE IF NOT EXISTS _tutti_move (
                        item TEXT PRIMARY KEY,
                        last_key TEXT,
                        copied BIGINT NOT NULL DEFAULT 0,
                        done BIGINT NOT NULL DEFAULT 0,
                        size BIGINT,
                        sha256 TEXT,
                        updated_at BIGINT NOT NULL
                    )",
                )
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO _tutti_move (item, last_key, updated_at) \
                     VALUES ('source', $1, $2)",
                )
                .bind(identity)
                .bind(tutti_store::now_ms())
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                false
            }
        };
        Ok(MoveLedger {
            db: target.clone(),
            resumed,
            crash: crash_point(),
            row_steps: AtomicU64::new(0),
            blob_steps: AtomicU64::new(0),
        })
    }

    async fn blobs_done(&self) -> anyhow::Result<BTreeMap<String, Digest>> {
        let rows: Vec<(String, Option<i64>, Option<String>)> = sqlx::query_as(
            "SELECT item, size, sha256 FROM _tutti_move WHERE item LIKE 'blob:%' AND done = 1",
        )
        .fetch_all(self.db.pool())
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(item, size, sha256)| {
                Some((
                    item.strip_prefix("blob:")?.to_string(),
                    Digest {
                        size: u64::try_from(size?).ok()?,
                        sha256: sha256?,
                    },
                ))
            })
            .collect())
    }

    async fn record_blob(&self, key: &str, digest: &Digest) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO _tutti_move (item, copied, done, size, sha256, updated_at) \
             VALUES ($1, 1, 1, $2, $3, $4) \
             ON CONFLICT (item) DO UPDATE SET done = 1, size = excluded.size, \
             sha256 = excluded.sha256, updated_at = excluded.updated_at",
        )
        .bind(format!("blob:{key}"))
        .bind(digest.size as i64)
        .bind(digest.sha256.clone())
        .bind(tutti_store::now_ms())
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// Counts a committed step, and stops the process here if the failpoint says so.
    fn step(&self, phase: Phase) {
        let counter = match phase {
            Phase::Rows => &self.row_steps,
            Phase::Blobs => &self.blob_steps,
        };
        let steps = counter.fetch_add(1, Ordering::SeqCst) + 1;
        if self.crash == Some((phase, steps)) {
            eprintln!("{CRASH_AFTER_ENV}: stopping abruptly after {steps} {phase:?} steps");
            std::process::exit(86);
        }
    }

    async fn finish(&self) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO _tutti_move (item, done, updated_at) VALUES ('verified', 1, $1) \
             ON CONFLICT (item) DO UPDATE SET updated_at = excluded.updated_at",
        )
        .bind(tutti_store::now_ms())
        .execute(self.db.pool())
        .await?;
        Ok(())
    }
}

impl Ledger for MoveLedger {
    async fn load(&self, table: &str) -> anyhow::Result<TableProgress> {
        let row: Option<(Option<String>, i64, i64)> =
            sqlx::query_as("SELECT last_key, copied, done FROM _tutti_move WHERE item = $1")
                .bind(format!("table:{table}"))
                .fetch_optional(self.db.pool())
                .await?;
        let Some((last_key, copied, done)) = row else {
            return Ok(TableProgress::default());
        };
        let last_key: Option<Vec<Value>> = last_key
            .map(|k| serde_json::from_str(&k))
            .transpose()
            .context("the move's progress record is unreadable")?;
        Ok(TableProgress {
            last_key,
            copied: copied.max(0) as u64,
            done: done != 0,
        })
    }

    async fn save(
        &self,
        tx: &mut tutti_store::Tx,
        table: &str,
        progress: &TableProgress,
    ) -> anyhow::Result<()> {
        let last_key = progress
            .last_key
            .as_ref()
            .map(serde_json::to_string)
            .transpose()?;
        sqlx::query(
            "INSERT INTO _tutti_move (item, last_key, copied, done, updated_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (item) DO UPDATE SET last_key = excluded.last_key, \
             copied = excluded.copied, done = excluded.done, updated_at = excluded.updated_at",
        )
        .bind(format!("table:{table}"))
        .bind(last_key)
        .bind(progress.copied as i64)
        .bind(i64::from(progress.done))
        .bind(tutti_store::now_ms())
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    fn committed(&self) {
        self.step(Phase::Rows);
    }
}
