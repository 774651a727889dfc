//! `tutti admin backup OUT` and `tutti admin restore IN`.
//!
//! A backup is a folder: `tutti.db` (on SQLite, a consistent snapshot made with
//! `VACUUM INTO` while the server keeps writing), `blobs/` (every blob, streamed from the
//! blob store) and, written last, `manifest.json`: the Tutti version, the schema's
//! migration versions, every table's row count and checksum, and every blob's size and
//! SHA-256. On PostgreSQL the database itself is left to `pg_dump`, whose command is
//! printed. The database snapshot is taken before the blobs are listed, so every blob a
//! row of the snapshot names is in the backup (blobs added later may be too; they are
//! harmless).
//!
//! A restore checks every checksum of the manifest while it copies, and refuses to
//! overwrite an installation that holds anything unless told `--force`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context as _;
use futures::{StreamExt as _, TryStreamExt as _};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use tokio::io::AsyncReadExt as _;
use tutti_store::copy::{self, Digest};
use tutti_store::tables::{self, Summary};
use tutti_store::{Backend, Blobs, Db, StoreError, sqlx};

use crate::config::Settings;
use crate::transfer::{self, Check, NoLedger, Ui};

/// The manifest's own format; a restore refuses versions it does not know.
pub const FORMAT: u32 = 1;
pub const MANIFEST: &str = "manifest.json";
pub const DB_FILE: &str = "tutti.db";
pub const BLOBS_DIR: &str = "blobs";
/// The file the printed `pg_dump` command writes.
pub const PG_DUMP_FILE: &str = "tutti.pgdump";

/// Blobs copied at once.
const BLOB_COPIES: usize = 4;

/// What a backup holds, written last so a folder with a manifest is a complete backup.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub tutti_version: String,
    /// When the snapshot was taken: Unix milliseconds, and the same as UTC text.
    pub created_at_ms: i64,
    pub created_at: String,
    pub database: DatabasePart,
    pub blobs: BlobsPart,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DatabasePart {
    /// `sqlite` or `postgres`.
    pub backend: String,
    /// Where it came from, without the password.
    pub source: String,
    /// The snapshot file (SQLite only).
    pub file: Option<FileEntry>,
    /// Versions of the applied migrations, oldest first.
    pub migrations: Vec<i64>,
    /// Every table's rows and checksum (on PostgreSQL, as they were while the backup
    /// ran, which `pg_dump` need not match exactly).
    pub tables: BTreeMap<String, Summary>,
    /// On PostgreSQL: the command that dumps the database beside this backup.
    pub pg_dump: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileEntry {
    pub name: String,
    pub size: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BlobsPart {
    /// Where they came from (never with credentials).
    pub source: String,
    pub count: u64,
    pub bytes: u64,
    pub items: Vec<BlobEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BlobEntry {
    pub key: String,
    pub size: u64,
    pub sha256: String,
}

/// `tutti admin backup OUT`.
pub async fn backup(settings: &Settings, out: &Path) -> anyhow::Result<()> {
    let started = Instant::now();
    if out.extension().is_some_and(|e| e == "tar") {
        anyhow::bail!(
            "backups are written to a folder; give a folder name and pack it afterwards \
             (tar -cf {} -C {} .)",
            out.display(),
            out.with_extension("").display()
        );
    }
    prepare_out(out)?;
    let ui = Ui::new();
    let backend = Backend::from_url(&settings.database_url)?;
    let source_url = tutti_store::db::redact_url(&settings.database_url);

    let created_at_ms = tutti_store::now_ms();
    let database = match backend {
        Backend::Sqlite => {
            let path = transfer::sqlite_file(&settings.database_url).context("a SQLite URL")?;
            anyhow::ensure!(
                path.is_file(),
                "there is no database at {} to back up: check database_url / --data-dir",
                path.display()
            );
            let db = Db::connect(&settings.database_url).await?;
            ui.say(format!("Snapshot of {} …", path.display()));
            let snapshot = out.join(DB_FILE);
            let into = snapshot
                .to_str()
                .context("the backup folder's path is not UTF-8")?
                .to_string();
            // One read transaction: consistent even while the server writes.
            sqlx::query("VACUUM INTO $1")
                .bind(into)
                .execute(db.pool())
                .await
                .context("could not write the database snapshot (VACUUM INTO)")?;
            db.close().await;
            let (migrations, summaries) = describe_file(&snapshot).await?;
            let (size, sha256) = hash_file(&snapshot).await?;
            DatabasePart {
                backend: "sqlite".into(),
                source: source_url,
                file: Some(FileEntry {
                    name: DB_FILE.into(),
                    size,
                    sha256,
                }),
                migrations,
                tables: summaries,
                pg_dump: None,
            }
        }
        Backend::Postgres => {
            let db = Db::connect(&settings.database_url).await?;
            let migrations = tables::migration_versions(&db).await?;
            let mut summaries = BTreeMap::new();
            for table in tables::list(&db).await? {
                summaries.insert(table.name.clone(), tables::summarize(&db, &table).await?);
            }
            db.close().await;
            DatabasePart {
                backend: "postgres".into(),
                pg_dump: Some(pg_dump_command(&settings.database_url, out)),
                source: source_url,
                file: None,
                migrations,
                tables: summaries,
            }
        }
    };

    let blobs = open_blobs(settings)?;
    let listed = blobs.list("").await?;
    let total: u64 = listed.iter().map(|b| b.size).sum();
    let target = Blobs::open(&out.join(BLOBS_DIR).display().to_string(), &BTreeMap::new())?;
    let bar = ui.bytes(total);
    bar.set_prefix("blobs");
    let bar_ref = &bar;
    let copies = futures::stream::iter(listed.iter().map(|info| {
        let (blobs, target) = (&blobs, &target);
        async move {
            let inc = |n: u64| bar_ref.inc(n);
            match copy::copy_blob(blobs, &info.key, target, &info.key, &inc).await {
                Ok(d) => Ok(Some(BlobEntry {
                    key: info.key.clone(),
                    size: d.size,
                    sha256: d.sha256,
                })),
                // Deleted since it was listed: the snapshot taken before cannot need it.
                Err(StoreError::BlobNotFound(_)) => Ok(None),
                Err(e) => Err(anyhow::Error::from(e).context(format!("blob {}", info.key))),
            }
        }
    }))
    .buffer_unordered(BLOB_COPIES)
    .try_collect::<Vec<_>>()
    .await?;
    bar.finish_and_clear();
    let mut items: Vec<BlobEntry> = copies.into_iter().flatten().collect();
    items.sort_by(|a, b| a.key.cmp(&b.key));

    let manifest = Manifest {
        format: FORMAT,
        tutti_version: env!("CARGO_PKG_VERSION").into(),
        created_at_ms,
        created_at: format_time(created_at_ms),
        blobs: BlobsPart {
            source: blobs.description().to_string(),
            count: items.len() as u64,
            bytes: items.iter().map(|b| b.size).sum(),
            items,
        },
        database,
    };
    write_manifest(out, &manifest)?;

    let rows: u64 = manifest.database.tables.values().map(|s| s.rows).sum();
    println!(
        "Backed up {} tables ({rows} rows) and {} blobs ({}) to {} in {:.1} s.",
        manifest.database.tables.len(),
        manifest.blobs.count,
        transfer::human_bytes(manifest.blobs.bytes),
        out.display(),
        started.elapsed().as_secs_f64()
    );
    if let Some(command) = &manifest.database.pg_dump {
        println!(
            "\nThe database is on PostgreSQL: this backup holds the blobs and the manifest.\n\
             Dump the database beside them now (the password goes in PGPASSWORD or\n\
             ~/.pgpass):\n\n    {command}\n"
        );
    }
    Ok(())
}

/// The folder must be new or empty: a backup never mixes with older files.
fn prepare_out(out: &Path) -> anyhow::Result<()> {
    if out.exists() {
        anyhow::ensure!(out.is_dir(), "{} exists and is not a folder", out.display());
        let mut entries = std::fs::read_dir(out)?;
        anyhow::ensure!(
            entries.next().is_none(),
            "{} is not empty: back up into a new folder",
            out.display()
        );
    }
    std::fs::create_dir_all(out)
        .with_context(|| format!("could not create the folder {}", out.display()))?;
    Ok(())
}

fn open_blobs(settings: &Settings) -> anyhow::Result<Blobs> {
    Blobs::open(&settings.blob_url, &settings.blob_options).with_context(|| {
        format!(
            "could not open the blob store {}: check blob_url and blob_options",
            tutti_store::db::redact_url(&settings.blob_url)
        )
    })
}

/// Migrations and table summaries of the snapshot. It is opened as the server opens a
/// database (which puts it in WAL mode, as the server would anyway) and closed again, all
/// before its checksum is taken.
async fn describe_file(path: &Path) -> anyhow::Result<(Vec<i64>, BTreeMap<String, Summary>)> {
    let url = format!("sqlite://{}", path.display());
    let db = Db::connect(&url)
        .await
        .with_context(|| format!("could not open {}", path.display()))?;
    let migrations = tables::migration_versions(&db).await?;
    let mut summaries = BTreeMap::new();
    for table in tables::list(&db).await? {
        summaries.insert(table.name.clone(), tables::summarize(&db, &table).await?);
    }
    db.close().await;
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    anyhow::ensure!(
        !Path::new(&wal).exists(),
        "the snapshot {} was not closed cleanly",
        path.display()
    );
    Ok((migrations, summaries))
}

/// Size and SHA-256 of a file, read in chunks.
async fn hash_file(path: &Path) -> anyhow::Result<(u64, String)> {
    let mut file = tokio::fs::File::open(path)
        .await
        .with_context(|| format!("could not read {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((size, copy::hex(&hasher.finalize())))
}

fn write_manifest(out: &Path, manifest: &Manifest) -> anyhow::Result<()> {
    use std::io::Write as _;
    let tmp = out.join(format!("{MANIFEST}.tmp"));
    let mut file = std::fs::File::create(&tmp)?;
    serde_json::to_writer_pretty(&mut file, manifest)?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    std::fs::rename(&tmp, out.join(MANIFEST))?;
    if let Ok(dir) = std::fs::File::open(out) {
        let _ = dir.sync_all();
    }
    Ok(())
}

fn read_manifest(input: &Path) -> anyhow::Result<Manifest> {
    let path = input.join(MANIFEST);
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "{} is not a complete Tutti backup: it has no {MANIFEST} (a backup writes it \
             last, so an interrupted one has none)",
            input.display()
        )
    })?;
    let manifest: Manifest = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a Tutti backup manifest", path.display()))?;
    anyhow::ensure!(
        manifest.format == FORMAT,
        "{} is a backup in format {}, which this Tutti ({}) does not know: restore it with \
         Tutti {} or newer",
        input.display(),
        manifest.format,
        env!("CARGO_PKG_VERSION"),
        manifest.tutti_version
    );
    Ok(manifest)
}

/// The `pg_dump` command that pairs with a backup in `out`, its password hidden.
pub fn pg_dump_command(database_url: &str, out: &Path) -> String {
    format!(
        "pg_dump --format=custom --no-owner --file={} {}",
        shell_quote(&out.join(PG_DUMP_FILE).display().to_string()),
        shell_quote(&tutti_store::db::redact_url(database_url))
    )
}

fn pg_restore_command(database_url: &str, input: &Path) -> String {
    format!(
        "pg_restore --no-owner --dbname={} {}",
        shell_quote(&tutti_store::db::redact_url(database_url)),
        shell_quote(&input.join(PG_DUMP_FILE).display().to_string())
    )
}

fn shell_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./:@=%+,".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// `tutti admin restore IN [--force]`.
pub async fn restore(settings: &Settings, input: &Path, force: bool) -> anyhow::Result<()> {
    let started = Instant::now();
    let manifest = read_manifest(input)?;
    let ui = Ui::new();
    let target_backend = Backend::from_url(&settings.database_url)?;
    let known = transfer::known_migrations(settings)?;
    let unknown: Vec<i64> = manifest
        .database
        .migrations
        .iter()
        .filter(|v| !known.contains(v))
        .copied()
        .collect();
    anyhow::ensure!(
        unknown.is_empty(),
        "the backup was made by Tutti {} with migrations this Tutti ({}) does not have \
         ({unknown:?}): restore it with that version or a newer one",
        manifest.tutti_version,
        env!("CARGO_PKG_VERSION")
    );
    transfer::ensure_stopped(&settings.database_url, "installation to restore into").await?;

    let blobs = open_blobs(settings)?;
    let restores_db = manifest.database.file.is_some();
    // What is there already: refused unless --force.
    let mut found = Vec::new();
    if restores_db
        && let Some(users) = user_count(settings).await?
        && users > 0
    {
        found.push(match users {
            1 => "an account in the database".to_string(),
            n => format!("{n} accounts in the database"),
        });
    }
    if !copy::is_empty(&blobs).await? {
        found.push(format!("blobs in {}", blobs.description()));
    }
    if !found.is_empty() {
        anyhow::ensure!(
            force,
            "the installation to restore into is not empty ({}): restore into a new data \
             folder, database and blob store, or pass --force to overwrite it",
            found.join(", ")
        );
        ui.say(format!(
            "Overwriting an installation that is not empty ({}), as --force asks.",
            found.join(", ")
        ));
    }

    let mut checks = Vec::new();
    // The database file first: cheap to check, and nothing is written if it is damaged.
    if let Some(file) = &manifest.database.file {
        let (size, sha256) = hash_file(&input.join(&file.name)).await?;
        let check = Check::new(
            format!("file {}", file.name),
            short(&file.sha256),
            short(&sha256),
        );
        anyhow::ensure!(
            check.ok && size == file.size,
            "{} in the backup is damaged: its SHA-256 is {sha256} ({size} bytes), the \
             manifest says {} ({} bytes)",
            file.name,
            file.sha256,
            file.size
        );
        checks.push(check);
    }

    // Blobs, each checked as it streams in; a damaged one is removed again.
    let source = Blobs::open(
        &input.join(BLOBS_DIR).display().to_string(),
        &BTreeMap::new(),
    )?;
    let bar = ui.bytes(manifest.blobs.bytes);
    bar.set_prefix("blobs");
    let bar_ref = &bar;
    let results: Vec<Result<u64, String>> =
        futures::stream::iter(manifest.blobs.items.iter().map(|item| {
            let (source, blobs) = (&source, &blobs);
            async move {
                let inc = |n: u64| bar_ref.inc(n);
                let copied = copy::copy_blob(source, &item.key, blobs, &item.key, &inc).await;
                match copied {
                    Ok(Digest { size, sha256 }) if size == item.size && sha256 == item.sha256 => {
                        Ok(Ok(size))
                    }
                    Ok(d) => {
                        blobs.delete(&item.key).await?;
                        Ok(Err(format!(
                            "{}: SHA-256 {} ({} bytes), the manifest says {} ({} bytes)",
                            item.key, d.sha256, d.size, item.sha256, item.size
                        )))
                    }
                    Err(StoreError::BlobNotFound(_)) => {
                        Ok(Err(format!("{}: missing from the backup", item.key)))
                    }
                    Err(e) => Err(anyhow::Error::from(e).context(format!("blob {}", item.key))),
                }
            }
        }))
        .buffer_unordered(BLOB_COPIES)
        .try_collect()
        .await?;
    bar.finish_and_clear();
    let damaged: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    anyhow::ensure!(
        damaged.is_empty(),
        "{} of the backup's blobs do not match the manifest, so the restore stopped before \
         the database:\n  - {}",
        damaged.len(),
        damaged
            .iter()
            .map(|d| d.as_str())
            .collect::<Vec<_>>()
            .join("\n  - ")
    );
    let verified: Vec<u64> = results.into_iter().filter_map(Result::ok).collect();
    let cell = |n: usize, bytes: u64| format!("{n} ({})", transfer::human_bytes(bytes));
    checks.push(Check::new(
        "blobs",
        cell(manifest.blobs.items.len(), manifest.blobs.bytes),
        cell(verified.len(), verified.iter().sum()),
    ));

    // The database.
    let restored = match (&manifest.database.file, target_backend) {
        (Some(file), Backend::Sqlite) => {
            let path = transfer::sqlite_file(&settings.database_url).context("a SQLite URL")?;
            replace_sqlite_file(&input.join(&file.name), &path).await?;
            let db = Db::connect(&settings.database_url).await?;
            Some(db)
        }
        (Some(file), Backend::Postgres) => {
            Some(restore_into_postgres(settings, &input.join(&file.name), force, &ui).await?)
        }
        (None, _) => None,
    };
    let mut verified = true;
    if let Some(db) = restored {
        for table in tables::list(&db).await? {
            let found = tables::summarize(&db, &table).await?;
            let expected = manifest.database.tables.get(&table.name);
            checks.push(Check::new(
                format!("table {}", table.name),
                expected
                    .map(transfer::summary_cell)
                    .unwrap_or_else(|| "–".into()),
                transfer::summary_cell(&found),
            ));
        }
        db.close().await;
    }
    println!();
    verified &= transfer::print_checks("BACKUP", "RESTORED", &checks);
    println!();
    anyhow::ensure!(
        verified,
        "the restored data does not match the backup's manifest (see MISMATCH above)"
    );
    println!(
        "Restored the backup of {} ({} tables, {} blobs) in {:.1} s.",
        manifest.created_at,
        manifest.database.tables.len(),
        manifest.blobs.count,
        started.elapsed().as_secs_f64()
    );
    if manifest.database.file.is_none() {
        match target_backend {
            Backend::Postgres => println!(
                "\nThe backup's database is a PostgreSQL dump. Restore it into an empty\n\
                 database with:\n\n    {}\n",
                pg_restore_command(&settings.database_url, input)
            ),
            Backend::Sqlite => println!(
                "\nThe backup's database is a PostgreSQL dump, which cannot be restored into\n\
                 SQLite: restore it into PostgreSQL with pg_restore, then use\n\
                 `tutti admin move` to go to SQLite."
            ),
        }
    }
    Ok(())
}

/// Accounts in the target database, or `None` when it has no accounts table yet (or, on
/// SQLite, no file).
async fn user_count(settings: &Settings) -> anyhow::Result<Option<i64>> {
    if let Some(path) = transfer::sqlite_file(&settings.database_url)
        && !path.exists()
    {
        return Ok(None);
    }
    let db = Db::connect(&settings.database_url).await?;
    let count = if tables::exists(&db, "users").await? {
        Some(tables::count(&db, "users").await?)
    } else {
        None
    };
    db.close().await;
    Ok(count)
}

/// Puts the backup's file in place of the target's: copied beside it, synced, the old
/// file's WAL removed (its frames would be replayed onto the new file), then renamed
/// over it in one step.
async fn replace_sqlite_file(backup: &Path, target: &Path) -> anyhow::Result<()> {
    let dir = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    tokio::fs::create_dir_all(&dir).await?;
    let tmp = target.with_extension("db.restoring");
    tokio::fs::copy(backup, &tmp)
        .await
        .with_context(|| format!("could not copy the database to {}", tmp.display()))?;
    tokio::fs::File::open(&tmp).await?.sync_all().await?;
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut side = target.as_os_str().to_owned();
        side.push(suffix);
        match tokio::fs::remove_file(&side).await {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).context(format!("could not remove {side:?}")),
        }
    }
    tokio::fs::rename(&tmp, target).await?;
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// A SQLite backup restored into PostgreSQL: the target is migrated, then every row is
/// copied over from the snapshot (a copy of it, so the backup stays untouched).
async fn restore_into_postgres(
    settings: &Settings,
    file: &Path,
    force: bool,
    ui: &Ui,
) -> anyhow::Result<Db> {
    let scratch = tempfile::tempdir()?;
    let copy_path = scratch.path().join(DB_FILE);
    tokio::fs::copy(file, &copy_path).await?;
    let source = Db::connect(&format!("sqlite://{}", copy_path.display())).await?;
    let target = Db::connect(&settings.database_url).await?;
    crate::app::migrate(&source, settings).await?;
    crate::app::migrate(&target, settings).await?;
    let pairs = transfer::pair_tables(&source, &target).await?;
    let filled = transfer::tables_with_rows(&target).await?;
    if !filled.is_empty() {
        anyhow::ensure!(
            force,
            "the target database has rows in {}: restore into an empty database, or pass \
             --force to delete them first",
            filled.join(", ")
        );
        transfer::empty_tables(&target, &pairs).await?;
    }
    let mut total = 0;
    for pair in &pairs {
        total += tables::count(&source, pair.name()).await? as u64;
    }
    let bar = ui.rows(total);
    bar.set_prefix("rows");
    for pair in &pairs {
        bar.set_message(pair.name().to_string());
        transfer::copy_table(&source, &target, pair, 1000, &NoLedger, &bar).await?;
    }
    bar.finish_and_clear();
    source.close().await;
    Ok(target)
}

fn short(sha: &str) -> String {
    sha.chars().take(12).collect()
}

/// Milliseconds since the epoch as UTC, to the second.
fn format_time(ms: i64) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]Z");
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| ms.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pg_dump_command_hides_the_password_and_quotes_paths() {
        let cmd = pg_dump_command(
            "postgres://tutti:s3cret@db.internal/tutti",
            Path::new("/srv/backups/monday night"),
        );
        assert!(!cmd.contains("s3cret"), "{cmd}");
        assert_eq!(
            cmd,
            "pg_dump --format=custom --no-owner --file='/srv/backups/monday night/tutti.pgdump' \
             postgres://tutti:REDACTED@db.internal/tutti"
        );
    }

    #[test]
    fn a_backup_folder_must_be_new_or_empty() {
        let dir = tempfile::tempdir().unwrap();
        prepare_out(&dir.path().join("new")).unwrap();
        prepare_out(&dir.path().join("new")).unwrap();
        std::fs::write(dir.path().join("new/x"), "x").unwrap();
        let err = prepare_out(&dir.path().join("new")).unwrap_err();
        assert!(err.to_string().contains("not empty"), "{err}");
    }
}
