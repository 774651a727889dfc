//! What `tutti admin backup`, `restore` and `move` share: finding the SQLite file behind
//! a URL and whether a server has it open, pairing the tables of two databases, copying
//! a table in key-ordered batches (optionally recording progress so a rerun resumes),
//! progress bars, and the verification table printed at the end.

use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use tutti_platform::Composition;
use tutti_store::Db;
use tutti_store::sqlx;
use tutti_store::tables::{self, Column, Table, Value};

use crate::config::Settings;

/// The file of a `sqlite:` database URL; `None` for PostgreSQL.
pub fn sqlite_file(database_url: &str) -> Option<PathBuf> {
    let rest = database_url.strip_prefix("sqlite:")?;
    let rest = rest.trim_start_matches("//");
    let path = rest.split('?').next().unwrap_or(rest);
    Some(PathBuf::from(path))
}

/// Whether another process (a running `tutti serve`, a `sqlite3` shell) has the SQLite
/// file open. Every open connection to a database in WAL mode holds a shared lock on the
/// file for as long as it is open, so an exclusive lock taken without waiting fails
/// exactly when somebody else is there.
pub async fn sqlite_in_use(path: &Path) -> anyhow::Result<bool> {
    use sqlx::sqlite::{SqliteConnectOptions, SqliteLockingMode};
    use sqlx::{ConnectOptions as _, Connection as _};

    if !path.exists() {
        return Ok(false);
    }
    let mut conn = SqliteConnectOptions::new()
        .filename(path)
        .locking_mode(SqliteLockingMode::Exclusive)
        .busy_timeout(Duration::ZERO)
        .connect()
        .await
        .with_context(|| format!("could not open {}", path.display()))?;
    let taken = sqlx::query("BEGIN EXCLUSIVE").execute(&mut conn).await;
    let busy = match taken {
        Ok(_) => {
            sqlx::query("ROLLBACK").execute(&mut conn).await?;
            false
        }
        Err(sqlx::Error::Database(e))
            if matches!(e.code().as_deref(), Some("5" | "6" | "261" | "517" | "773"))
                || e.message().contains("locked") =>
        {
            true
        }
        Err(e) => return Err(e).context(format!("could not lock {}", path.display())),
    };
    conn.close().await?;
    Ok(busy)
}

/// Refuses to go on while a server has this installation's SQLite file open.
pub async fn ensure_stopped(database_url: &str, what: &str) -> anyhow::Result<()> {
    if let Some(path) = sqlite_file(database_url)
        && sqlite_in_use(&path).await?
    {
        anyhow::bail!(
            "{} is in use by another process (is `tutti serve` running on it?): stop the \
             server of the {what} first",
            path.display()
        );
    }
    Ok(())
}

/// The migration versions this build of Tutti knows, oldest first.
pub fn known_migrations(settings: &Settings) -> anyhow::Result<Vec<i64>> {
    let composition = Composition::new(crate::app::studios(settings)?)?;
    let mut versions: Vec<i64> = composition
        .migrations()?
        .iter()
        .flat_map(|m| m.iter().map(|migration| migration.version))
        .collect();
    versions.sort_unstable();
    Ok(versions)
}

/// A table of the source and the same table of the target, with the target's columns in
/// the source's order (and the target's kinds), so rows read from one go into the other.
#[derive(Debug, Clone)]
pub struct TablePair {
    pub source: Table,
    pub target: Table,
}

impl TablePair {
    pub fn name(&self) -> &str {
        &self.source.name
    }
}

/// Pairs every application table of `source` with the one of the same name in `target`;
/// both must have the same tables with the same columns (they are at the same schema
/// version), or nothing is copied.
pub async fn pair_tables(source: &Db, target: &Db) -> anyhow::Result<Vec<TablePair>> {
    let sources = tables::list(source).await?;
    let mut targets = tables::list(target).await?;
    let mut pairs = Vec::new();
    let mut problems = Vec::new();
    for s in sources {
        let Some(at) = targets.iter().position(|t| t.name == s.name) else {
            problems.push(format!("table {} is missing in the target", s.name));
            continue;
        };
        let t = targets.remove(at);
        let mut columns = Vec::new();
        for c in &s.columns {
            match t.columns.iter().find(|tc| tc.name == c.name) {
                Some(tc) => columns.push(Column {
                    name: c.name.clone(),
                    kind: tc.kind,
                }),
                None => problems.push(format!(
                    "column {}.{} is missing in the target",
                    s.name, c.name
                )),
            }
        }
        for tc in &t.columns {
            if !s.columns.iter().any(|c| c.name == tc.name) {
                problems.push(format!(
                    "column {}.{} of the target is not in the source",
                    t.name, tc.name
                ));
            }
        }
        pairs.push(TablePair {
            target: Table { columns, ..t },
            source: s,
        });
    }
    for t in targets {
        problems.push(format!(
            "table {} of the target is not in the source",
            t.name
        ));
    }
    if !problems.is_empty() {
        anyhow::bail!(
            "the two databases do not have the same tables (are both at the same schema \
             version? run `tutti migrate` on the older one):\n  - {}",
            problems.join("\n  - ")
        );
    }
    Ok(pairs)
}

/// Where a table's copy stands: the key of the last row copied, how many rows were
/// copied, and whether the table is complete.
#[derive(Debug, Clone, Default)]
pub struct TableProgress {
    pub last_key: Option<Vec<Value>>,
    pub copied: u64,
    pub done: bool,
}

/// Somewhere a copy records its progress inside the target's transactions, so that the
/// rows and the record of having copied them commit together.
pub trait Ledger {
    async fn load(&self, table: &str) -> anyhow::Result<TableProgress>;
    async fn save(
        &self,
        tx: &mut tutti_store::Tx,
        table: &str,
        progress: &TableProgress,
    ) -> anyhow::Result<()>;
    /// Called after each commit (the move's failpoint lives here).
    fn committed(&self) {}
}

/// Copies one table in primary-key order, `batch` rows per target transaction. Rows are
/// inserted with `ON CONFLICT DO NOTHING` and each batch commits with its progress, so
/// the copy can stop at any moment and continue from the last commit. A table without a
/// primary key is copied in one transaction.
pub async fn copy_table(
    source: &Db,
    target: &Db,
    pair: &TablePair,
    batch: usize,
    ledger: &impl Ledger,
    bar: &ProgressBar,
) -> anyhow::Result<u64> {
    let name = pair.name();
    let mut progress = ledger.load(name).await?;
    bar.inc(progress.copied);
    if progress.done {
        return Ok(progress.copied);
    }
    let keys = pair.source.key_positions();
    loop {
        let rows = tables::read_batch(source, &pair.source, progress.last_key.as_deref(), batch)
            .await
            .with_context(|| format!("could not read the rows of {name}"))?;
        let mut tx = target.begin().await?;
        tables::insert_rows(&mut tx, &pair.target, &rows)
            .await
            .with_context(|| format!("could not write the rows of {name}"))?;
        progress.copied += rows.len() as u64;
        progress.done = keys.is_empty() || rows.len() < batch;
        if let Some(last) = rows.last()
            && !keys.is_empty()
        {
            progress.last_key = Some(keys.iter().map(|&i| last[i].clone()).collect());
        }
        ledger.save(&mut tx, name, &progress).await?;
        tx.commit().await?;
        bar.inc(rows.len() as u64);
        ledger.committed();
        if progress.done {
            return Ok(progress.copied);
        }
    }
}

/// A ledger that remembers nothing: a copy that starts over when repeated.
pub struct NoLedger;

impl Ledger for NoLedger {
    async fn load(&self, _: &str) -> anyhow::Result<TableProgress> {
        Ok(TableProgress::default())
    }
    async fn save(
        &self,
        _: &mut tutti_store::Tx,
        _: &str,
        _: &TableProgress,
    ) -> anyhow::Result<()> {
        Ok(())
    }
}

/// Deletes every row of every application table, children first.
pub async fn empty_tables(db: &Db, pairs: &[TablePair]) -> anyhow::Result<()> {
    let mut tx = db.begin().await?;
    for pair in pairs.iter().rev() {
        let sql = format!("DELETE FROM {}", tables::quote(&pair.target.name));
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The application tables that hold at least one row.
pub async fn tables_with_rows(db: &Db) -> anyhow::Result<Vec<String>> {
    let mut found = Vec::new();
    for table in tables::list(db).await? {
        if tables::count(db, &table.name).await? > 0 {
            found.push(table.name);
        }
    }
    Ok(found)
}

/// Progress bars on standard error when it is a terminal; plain lines otherwise.
pub struct Ui {
    multi: MultiProgress,
}

impl Ui {
    pub fn new() -> Ui {
        Ui {
            multi: MultiProgress::new(),
        }
    }

    /// A line above the bars (or on its own when there are none).
    pub fn say(&self, line: impl AsRef<str>) {
        if self.multi.is_hidden() {
            eprintln!("{}", line.as_ref());
        } else {
            let _ = self.multi.println(line);
        }
    }

    pub fn rows(&self, total: u64) -> ProgressBar {
        self.bar(total, "{prefix:>6} {bar:40} {pos}/{len} rows {msg}")
    }

    pub fn bytes(&self, total: u64) -> ProgressBar {
        self.bar(
            total,
            "{prefix:>6} {bar:40} {bytes}/{total_bytes} {msg} eta {eta}",
        )
    }

    fn bar(&self, total: u64, template: &str) -> ProgressBar {
        let bar = self.multi.add(ProgressBar::new(total));
        bar.set_style(
            ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    }
}

impl Default for Ui {
    fn default() -> Self {
        Ui::new()
    }
}

/// One line of the verification table.
pub struct Check {
    pub what: String,
    pub expected: String,
    pub found: String,
    pub ok: bool,
}

impl Check {
    pub fn new(what: impl Into<String>, expected: String, found: String) -> Check {
        let ok = expected == found;
        Check {
            what: what.into(),
            expected,
            found,
            ok,
        }
    }
}

/// Prints the checks as a table under the two column titles given; true when all agree.
pub fn print_checks(expected: &str, found: &str, checks: &[Check]) -> bool {
    let header = ["", expected, found, "RESULT"];
    let rows: Vec<[String; 4]> = checks
        .iter()
        .map(|c| {
            [
                c.what.clone(),
                c.expected.clone(),
                c.found.clone(),
                if c.ok { "ok" } else { "MISMATCH" }.to_string(),
            ]
        })
        .collect();
    let mut widths = header.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 4]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(header);
    for row in &rows {
        line([&row[0], &row[1], &row[2], &row[3]]);
    }
    checks.iter().all(|c| c.ok)
}

/// A table's summary as one cell: its rows and the start of its checksum.
pub fn summary_cell(summary: &tables::Summary) -> String {
    format!("{} rows {}", summary.rows, &summary.checksum[..12])
}

/// Bytes for people: 1.5 MiB.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Whether two settings name the same database, so a copy would read what it writes.
pub fn same_database(a: &str, b: &str) -> bool {
    match (sqlite_file(a), sqlite_file(b)) {
        (Some(x), Some(y)) => same_path(&x, &y),
        _ => tutti_store::db::redact_url(a) == tutti_store::db::redact_url(b),
    }
}

/// Whether two blob locations are the same place.
pub fn same_blobs(a: &str, b: &str) -> bool {
    let local = |s: &str| !s.contains("://") || s.starts_with("file://");
    if local(a) && local(b) {
        same_path(
            Path::new(a.trim_start_matches("file://")),
            Path::new(b.trim_start_matches("file://")),
        )
    } else {
        a.trim_end_matches('/') == b.trim_end_matches('/')
    }
}

fn same_path(a: &Path, b: &Path) -> bool {
    let canon = |p: &Path| {
        p.canonicalize().unwrap_or_else(|_| {
            // Not there yet: compare the absolute paths with `.` and `..` worked out.
            let absolute = std::env::current_dir()
                .map(|d| d.join(p))
                .unwrap_or_else(|_| p.to_path_buf());
            let mut clean = PathBuf::new();
            for part in absolute.components() {
                match part {
                    Component::CurDir => {}
                    Component::ParentDir => {
                        clean.pop();
                    }
                    other => clean.push(other),
                }
            }
            clean
        })
    };
    canon(a) == canon(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_name_their_file() {
        assert_eq!(
            sqlite_file("sqlite://./tutti-data/tutti.db"),
            Some(PathBuf::from("./tutti-data/tutti.db"))
        );
        assert_eq!(
            sqlite_file("sqlite:///srv/tutti.db?mode=rwc"),
            Some(PathBuf::from("/srv/tutti.db"))
        );
        assert_eq!(sqlite_file("postgres://u@h/db"), None);
        assert!(same_database(
            "sqlite://./x/tutti.db",
            "sqlite://x/../x/tutti.db"
        ));
        assert!(!same_database(
            "postgres://u:a@h/db1",
            "postgres://u:a@h/db2"
        ));
        assert!(same_blobs("s3://b/p/", "s3://b/p"));
        assert!(same_blobs("./a/blobs", "file://./a/blobs"));
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(5 * 1024 * 1024), "5.0 MiB");
    }

    #[tokio::test]
    async fn an_open_sqlite_database_is_in_use_and_a_closed_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tutti.db");
        let url = format!("sqlite://{}", path.display());
        let db = Db::connect(&url).await.unwrap();
        // A database with something in it is in WAL mode, as a server's always is.
        sqlx::query("CREATE TABLE t (x TEXT)")
            .execute(db.pool())
            .await
            .unwrap();
        assert!(sqlite_in_use(&path).await.unwrap());
        let err = ensure_stopped(&url, "target").await.unwrap_err();
        assert!(err.to_string().contains("stop the server"), "{err}");
        db.close().await;
        assert!(!sqlite_in_use(&path).await.unwrap());
        assert!(!sqlite_in_use(&dir.path().join("none.db")).await.unwrap());
    }
}
