//! The application's tables seen generically, for backups and for moving a whole
//! installation from one database to another: what tables exist (read from the
//! database's own catalog, so every crate's migrations are covered without a list to keep
//! up to date), their columns and keys, their rows as dialect-neutral [`Value`]s read in
//! primary-key order and written back with `ON CONFLICT DO NOTHING`, and an
//! order-independent checksum of a table's contents that comes out the same on SQLite
//! and PostgreSQL when the rows are the same.

use std::collections::{BTreeMap, BTreeSet};

use futures::TryStreamExt as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row as _, ValueRef as _};

use crate::copy::hex;
use crate::db::{Backend, Db};
use crate::error::{Result, StoreError};

/// Tables that belong to the tools rather than to the application: sqlx's record of
/// applied migrations (a target gets its own by migrating) and a move's progress.
pub const BOOKKEEPING: &[&str] = &["_sqlx_migrations", "_tutti_move"];

/// The kind of value a column holds, as both dialects agree on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Int,
    Real,
    Text,
    Bytes,
    Bool,
}

impl Kind {
    /// The kind of a declared column type: SQLite's affinity rules, which also read
    /// PostgreSQL's type names right (`bigint`, `character varying`, `bytea` …).
    pub fn of_declared(declared: &str) -> Kind {
        let t = declared.to_ascii_uppercase();
        if t.contains("INT") {
            Kind::Int
        } else if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") {
            Kind::Text
        } else if t.contains("BLOB") || t.contains("BYTEA") || t.is_empty() {
            Kind::Bytes
        } else if t.contains("BOOL") {
            Kind::Bool
        } else {
            Kind::Real
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub kind: Kind,
}

/// One table as the catalog describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub name: String,
    pub columns: Vec<Column>,
    /// The primary key's columns in key order; empty when the table has none.
    pub primary_key: Vec<String>,
    /// Tables this one references with foreign keys.
    pub references: Vec<String>,
}

impl Table {
    fn column_list(&self) -> String {
        self.columns
            .iter()
            .map(|c| quote(&c.name))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The columns to select. On SQLite each is a `+column` expression: the value as
    /// stored, but without its declared type, which sqlx's `Any` driver refuses for some
    /// names SQLite accepts (`BOOLEAN`, `DATETIME`).
    fn select_list(&self, backend: Backend) -> String {
        let prefix = match backend {
            Backend::Sqlite => "+",
            Backend::Postgres => "",
        };
        self.columns
            .iter()
            .map(|c| format!("{prefix}{}", quote(&c.name)))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Positions of the primary key's columns in [`Table::columns`].
    pub fn key_positions(&self) -> Vec<usize> {
        self.primary_key
            .iter()
            .filter_map(|k| self.columns.iter().position(|c| &c.name == k))
            .collect()
    }
}

/// One value of one row, whichever database it came from. Booleans are read as
/// integers, as SQLite stores them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Bytes(Vec<u8>),
}

/// Quotes an identifier for both dialects.
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Every application table of the database (all but [`BOOKKEEPING`]), ordered so that
/// each comes after the tables it references: the order to fill an empty database in.
pub async fn list(db: &Db) -> Result<Vec<Table>> {
    let names: Vec<String> = match db.backend() {
        Backend::Sqlite => {
            sqlx::query_scalar(
                "SELECT name FROM sqlite_master WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
            )
            .fetch_all(db.pool())
            .await?
        }
        Backend::Postgres => {
            sqlx::query_scalar(
                "SELECT table_name::text FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
                 ORDER BY table_name",
            )
            .fetch_all(db.pool())
            .await?
        }
    };
    let mut tables = Vec::new();
    for name in names {
        if BOOKKEEPING.contains(&name.as_str()) {
            continue;
        }
        tables.push(describe(db, &name).await?);
    }
    dependency_order(tables)
}

/// Columns, key and references of one table.
async fn describe(db: &Db, name: &str) -> Result<Table> {
    let (columns, primary_key, references) = match db.backend() {
        Backend::Sqlite => {
            let rows: Vec<(String, String, i64)> =
                sqlx::query_as("SELECT name, type, pk FROM pragma_table_info($1) ORDER BY cid")
                    .bind(name)
                    .fetch_all(db.pool())
                    .await?;
            let mut key: Vec<(i64, String)> = rows
                .iter()
                .filter(|(_, _, pk)| *pk > 0)
                .map(|(n, _, pk)| (*pk, n.clone()))
                .collect();
            key.sort();
            let references: Vec<String> =
                sqlx::query_scalar("SELECT DISTINCT \"table\" FROM pragma_foreign_key_list($1)")
                    .bind(name)
                    .fetch_all(db.pool())
                    .await?;
            let columns = rows
                .into_iter()
                .map(|(n, t, _)| Column {
                    name: n,
                    kind: Kind::of_declared(&t),
                })
                .collect();
            (
                columns,
                key.into_iter().map(|(_, n)| n).collect(),
                references,
            )
        }
        Backend::Postgres => {
            let rows: Vec<(String, String)> = sqlx::query_as(
                "SELECT column_name::text, data_type::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1 \
                 ORDER BY ordinal_position",
            )
            .bind(name)
            .fetch_all(db.pool())
            .await?;
            let key: Vec<String> = sqlx::query_scalar(
                "SELECT a.attname::text FROM pg_index i \
                 JOIN pg_class t ON t.oid = i.indrelid \
                 JOIN pg_namespace n ON n.oid = t.relnamespace \
                 JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = ANY (i.indkey) \
                 WHERE i.indisprimary AND t.relname = $1 AND n.nspname = current_schema() \
                 ORDER BY array_position(i.indkey::int2[], a.attnum)",
            )
            .bind(name)
            .fetch_all(db.pool())
            .await?;
            let references: Vec<String> = sqlx::query_scalar(
                "SELECT DISTINCT r.relname::text FROM pg_constraint c \
                 JOIN pg_class t ON t.oid = c.conrelid \
                 JOIN pg_class r ON r.oid = c.confrelid \
                 JOIN pg_namespace n ON n.oid = t.relnamespace \
                 WHERE c.contype = 'f' AND t.relname = $1 AND n.nspname = current_schema()",
            )
            .bind(name)
            .fetch_all(db.pool())
            .await?;
            let columns = rows
                .into_iter()
                .map(|(n, t)| Column {
                    name: n,
                    kind: Kind::of_declared(&t),
                })
                .collect();
            (columns, key, references)
        }
    };
    Ok(Table {
        name: name.to_string(),
        columns,
        primary_key,
        references: references.into_iter().filter(|r| r != name).collect(),
    })
}

/// Parents before children; alphabetical where the references leave a choice.
fn dependency_order(tables: Vec<Table>) -> Result<Vec<Table>> {
    let mut pending: BTreeMap<String, Table> =
        tables.into_iter().map(|t| (t.name.clone(), t)).collect();
    let mut placed: BTreeSet<String> = BTreeSet::new();
    let mut ordered = Vec::new();
    while !pending.is_empty() {
        let ready: Vec<String> = pending
            .values()
            .filter(|t| {
                t.references
                    .iter()
                    .all(|r| placed.contains(r) || !pending.contains_key(r))
            })
            .map(|t| t.name.clone())
            .collect();
        if ready.is_empty() {
            return Err(StoreError::Config(format!(
                "the tables {:?} reference each other in a cycle; they cannot be filled one \
                 after another",
                pending.keys().collect::<Vec<_>>()
            )));
        }
        for name in ready {
            if let Some(t) = pending.remove(&name) {
                placed.insert(name);
                ordered.push(t);
            }
        }
    }
    Ok(ordered)
}

/// The versions of the migrations applied to the database, oldest first (empty before
/// the first migration).
pub async fn migration_versions(db: &Db) -> Result<Vec<i64>> {
    if !exists(db, "_sqlx_migrations").await? {
        return Ok(Vec::new());
    }
    Ok(
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(db.pool())
            .await?,
    )
}

/// Whether a table of this name exists.
pub async fn exists(db: &Db, table: &str) -> Result<bool> {
    let sql = match db.backend() {
        Backend::Sqlite => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1",
        Backend::Postgres => {
            "SELECT COUNT(*) FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = $1"
        }
    };
    let n: i64 = sqlx::query_scalar(sql)
        .bind(table)
        .fetch_one(db.pool())
        .await?;
    Ok(n > 0)
}

pub async fn count(db: &Db, table: &str) -> Result<i64> {
    let sql = format!("SELECT COUNT(*) FROM {}", quote(table));
    Ok(sqlx::query_scalar(AssertSqlSafe(sql))
        .fetch_one(db.pool())
        .await?)
}

/// Up to `limit` rows in primary-key order, after the row whose key is `after` (from the
/// start when `None`). A table without a primary key comes whole, in no set order.
pub async fn read_batch(
    db: &Db,
    table: &Table,
    after: Option<&[Value]>,
    limit: usize,
) -> Result<Vec<Vec<Value>>> {
    let mut sql = format!(
        "SELECT {} FROM {}",
        table.select_list(db.backend()),
        quote(&table.name)
    );
    if table.primary_key.is_empty() {
        return read_all(db, table, sql).await;
    }
    let key = table
        .primary_key
        .iter()
        .map(|k| quote(k))
        .collect::<Vec<_>>()
        .join(", ");
    if let Some(after) = after {
        let params = (1..=after.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        sql.push_str(&format!(" WHERE ({key}) > ({params})"));
    }
    sql.push_str(&format!(" ORDER BY {key} LIMIT {limit}"));
    let mut query = sqlx::query(AssertSqlSafe(sql));
    if let Some(after) = after {
        let kinds = table
            .key_positions()
            .into_iter()
            .map(|i| table.columns[i].kind);
        for (value, kind) in after.iter().zip(kinds) {
            query = bind(query, value, kind);
        }
    }
    let rows = query.fetch_all(db.pool()).await?;
    rows.iter().map(|r| decode_row(table, r)).collect()
}

async fn read_all(db: &Db, table: &Table, sql: String) -> Result<Vec<Vec<Value>>> {
    let mut rows = sqlx::query(AssertSqlSafe(sql)).fetch(db.pool());
    let mut out = Vec::new();
    while let Some(row) = rows.try_next().await? {
        out.push(decode_row(table, &row)?);
    }
    Ok(out)
}

/// The most rows one `INSERT` carries: both dialects cap the parameters of a statement
/// (SQLite at 32766), so wide tables get fewer rows per statement.
pub fn rows_per_insert(table: &Table) -> usize {
    (30_000 / table.columns.len().max(1)).clamp(1, 1000)
}

/// Inserts rows into `table` (whose columns the rows follow), skipping any that are
/// already there, so a copy interrupted after a commit can simply be repeated. Each
/// value is converted to the target column's kind (an integer into a `BOOLEAN`, say).
/// Returns how many rows were new.
pub async fn insert_rows(
    conn: &mut sqlx::AnyConnection,
    table: &Table,
    rows: &[Vec<Value>],
) -> Result<u64> {
    let mut inserted = 0;
    for chunk in rows.chunks(rows_per_insert(table)) {
        let width = table.columns.len();
        let tuples = (0..chunk.len())
            .map(|r| {
                let params = (1..=width)
                    .map(|c| format!("${}", r * width + c))
                    .collect::<Vec<_>>()
                    .join(", ");
                format!("({params})")
            })
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO {} ({}) VALUES {tuples} ON CONFLICT DO NOTHING",
            quote(&table.name),
            table.column_list()
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for row in chunk {
            if row.len() != width {
                return Err(StoreError::Config(format!(
                    "a row for {} has {} values for {width} columns",
                    table.name,
                    row.len()
                )));
            }
            for (value, column) in row.iter().zip(&table.columns) {
                let value = convert(value, column.kind).map_err(|e| {
                    StoreError::Config(format!("{}.{}: {e}", table.name, column.name))
                })?;
                query = bind(query, &value, column.kind);
            }
        }
        inserted += query.execute(&mut *conn).await?.rows_affected();
    }
    Ok(inserted)
}

/// A table's row count and a checksum of its contents that does not depend on the order
/// rows come in (the sum of each row's SHA-256), so both dialects agree on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub rows: u64,
    pub checksum: String,
}

pub async fn summarize(db: &Db, table: &Table) -> Result<Summary> {
    let sql = format!(
        "SELECT {} FROM {}",
        table.select_list(db.backend()),
        quote(&table.name)
    );
    let mut rows = sqlx::query(AssertSqlSafe(sql)).fetch(db.pool());
    let mut count = 0u64;
    let mut sum = 0u128;
    while let Some(row) = rows.try_next().await? {
        let values = decode_row(table, &row)?;
        sum = sum.wrapping_add(row_hash(&values));
        count += 1;
    }
    Ok(Summary {
        rows: count,
        checksum: hex(&sum.to_be_bytes()),
    })
}

/// The first 128 bits of the SHA-256 of a row's values in a fixed encoding.
fn row_hash(values: &[Value]) -> u128 {
    let mut h = Sha256::new();
    for v in values {
        match v {
            Value::Null => h.update([0u8]),
            Value::Int(i) => {
                h.update([1u8]);
                h.update(i.to_le_bytes());
            }
            Value::Real(f) => {
                h.update([2u8]);
                h.update(f.to_bits().to_le_bytes());
            }
            Value::Text(s) => {
                h.update([3u8]);
                h.update((s.len() as u64).to_le_bytes());
                h.update(s.as_bytes());
            }
            Value::Bytes(b) => {
                h.update([4u8]);
                h.update((b.len() as u64).to_le_bytes());
                h.update(b);
            }
        }
    }
    let digest = h.finalize();
    let mut first = [0u8; 16];
    first.copy_from_slice(&digest[..16]);
    u128::from_be_bytes(first)
}

/// A row's values, each read by what the database says it is and then normalised to
/// its column's kind.
fn decode_row(table: &Table, row: &AnyRow) -> Result<Vec<Value>> {
    table
        .columns
        .iter()
        .enumerate()
        .map(|(i, column)| {
            let value = decode(row, i).and_then(|v| convert(&v, column.kind));
            value.map_err(|e| StoreError::Config(format!("{}.{}: {e}", table.name, column.name)))
        })
        .collect()
}

fn decode(row: &AnyRow, i: usize) -> std::result::Result<Value, String> {
    use sqlx::any::AnyTypeInfoKind as K;
    let raw = row.try_get_raw(i).map_err(|e| e.to_string())?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let kind = raw.type_info().kind();
    let get_err = |e: sqlx::Error| e.to_string();
    Ok(match kind {
        K::Null => Value::Null,
        K::Bool => Value::Int(i64::from(row.try_get::<bool, _>(i).map_err(get_err)?)),
        K::SmallInt | K::Integer | K::BigInt => {
            Value::Int(row.try_get::<i64, _>(i).map_err(get_err)?)
        }
        K::Real | K::Double => Value::Real(row.try_get::<f64, _>(i).map_err(get_err)?),
        K::Text => Value::Text(row.try_get::<String, _>(i).map_err(get_err)?),
        K::Blob => Value::Bytes(row.try_get::<Vec<u8>, _>(i).map_err(get_err)?),
    })
}

/// A value as a column of `kind` holds it; refuses what would lose information.
fn convert(value: &Value, kind: Kind) -> std::result::Result<Value, String> {
    Ok(match (value, kind) {
        (Value::Null, _) => Value::Null,
        (Value::Int(i), Kind::Int | Kind::Bool) => Value::Int(*i),
        (Value::Int(i), Kind::Real) => Value::Real(*i as f64),
        (Value::Real(f), Kind::Real) => Value::Real(*f),
        (Value::Real(f), Kind::Int) if f.fract() == 0.0 && f.abs() < 9.0e15 => {
            Value::Int(*f as i64)
        }
        (Value::Text(s), Kind::Text) => Value::Text(s.clone()),
        (Value::Bytes(b), Kind::Bytes) => Value::Bytes(b.clone()),
        (Value::Text(s), Kind::Bytes) => Value::Bytes(s.as_bytes().to_vec()),
        (value, kind) => {
            return Err(format!(
                "the value {} does not fit a column of kind {kind:?}",
                describe_value(value)
            ));
        }
    })
}

fn describe_value(value: &Value) -> String {
    match value {
        Value::Text(s) if s.chars().count() > 40 => {
            format!("{:?}…", s.chars().take(40).collect::<String>())
        }
        Value::Bytes(b) => format!("({} bytes)", b.len()),
        other => format!("{other:?}"),
    }
}

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

/// Binds a value with the type the target column wants, NULLs included: PostgreSQL
/// refuses a NULL declared as text for a BIGINT column.
fn bind<'q>(query: AnyQuery<'q>, value: &Value, kind: Kind) -> AnyQuery<'q> {
    match (value, kind) {
        (Value::Null, Kind::Int) => query.bind(None::<i64>),
        (Value::Null, Kind::Real) => query.bind(None::<f64>),
        (Value::Null, Kind::Text) => query.bind(None::<String>),
        (Value::Null, Kind::Bytes) => query.bind(None::<Vec<u8>>),
        (Value::Null, Kind::Bool) => query.bind(None::<bool>),
        (Value::Int(i), Kind::Bool) => query.bind(*i != 0),
        (Value::Int(i), _) => query.bind(*i),
        (Value::Real(f), _) => query.bind(*f),
        (Value::Text(s), _) => query.bind(s.clone()),
        (Value::Bytes(b), _) => query.bind(b.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestDb;
    use sqlx::Acquire as _;

    async fn schema(db: &Db) {
        for sql in [
            "CREATE TABLE parents (id TEXT PRIMARY KEY, n BIGINT NOT NULL, note TEXT)",
            "CREATE TABLE children (parent TEXT NOT NULL REFERENCES parents (id), \
             pos BIGINT NOT NULL, at BIGINT, flag BOOLEAN, score DOUBLE PRECISION, \
             PRIMARY KEY (parent, pos))",
            "CREATE TABLE loose (a TEXT, b BIGINT)",
        ] {
            sqlx::query(sql).execute(db.pool()).await.unwrap();
        }
    }

    #[tokio::test]
    async fn rows_copy_between_databases_with_keys_nulls_and_types_intact() {
        let (a, b) = (TestDb::new().await, TestDb::new().await);
        let (from, to) = (a.connect().await, b.connect().await);
        schema(&from).await;
        schema(&to).await;
        for i in 0..25 {
            sqlx::query("INSERT INTO parents (id, n, note) VALUES ($1, $2, $3)")
                .bind(format!("p{i:02}"))
                .bind(i64::MAX - i)
                .bind((i % 3 == 0).then(|| format!("note \"{i}\"")))
                .execute(from.pool())
                .await
                .unwrap();
            for pos in 0..3 {
                sqlx::query(
                    "INSERT INTO children (parent, pos, at, flag, score) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(format!("p{i:02}"))
                .bind(pos)
                .bind((pos != 1).then_some(1_700_000_000_000i64 + i))
                .bind((pos == 2).then_some(i % 2 == 0))
                .bind(0.5 * pos as f64)
                .execute(from.pool())
                .await
                .unwrap();
            }
        }
        for _ in 0..2 {
            sqlx::query("INSERT INTO loose (a, b) VALUES (NULL, 7)")
                .execute(from.pool())
                .await
                .unwrap();
        }

        let tables = list(&from).await.unwrap();
        let names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
        let parents_at = names.iter().position(|n| *n == "parents").unwrap();
        let children_at = names.iter().position(|n| *n == "children").unwrap();
        assert!(parents_at < children_at, "{names:?}");
        let children = &tables[children_at];
        assert_eq!(children.primary_key, ["parent", "pos"]);
        assert_eq!(children.references, ["parents"]);
        let kinds: Vec<Kind> = children.columns.iter().map(|c| c.kind).collect();
        assert_eq!(
            kinds,
            [Kind::Text, Kind::Int, Kind::Int, Kind::Bool, Kind::Real]
        );

        let targets = list(&to).await.unwrap();
        let mut conn = to.pool().acquire().await.unwrap();
        for (table, target) in tables.iter().zip(&targets) {
            assert_eq!(table.name, target.name);
            let mut after: Option<Vec<Value>> = None;
            loop {
                let batch = read_batch(&from, table, after.as_deref(), 7).await.unwrap();
                if batch.is_empty() {
                    break;
                }
                let mut tx = conn.begin().await.unwrap();
                insert_rows(&mut tx, target, &batch).await.unwrap();
                if !table.primary_key.is_empty() {
                    // Repeating a batch adds nothing.
                    assert_eq!(insert_rows(&mut tx, target, &batch).await.unwrap(), 0);
                }
                tx.commit().await.unwrap();
                if table.primary_key.is_empty() {
                    break;
                }
                let last = batch.last().unwrap();
                after = Some(
                    table
                        .key_positions()
                        .iter()
                        .map(|&i| last[i].clone())
                        .collect(),
                );
            }
            let (s, t) = (
                summarize(&from, table).await.unwrap(),
                summarize(&to, target).await.unwrap(),
            );
            assert_eq!(s, t, "{}", table.name);
        }
        drop(conn);
        assert_eq!(count(&to, "children").await.unwrap(), 75);
        assert_eq!(count(&to, "loose").await.unwrap(), 2);
        let (n, note): (i64, Option<String>) =
            sqlx::query_as("SELECT n, note FROM parents WHERE id = 'p03'")
                .fetch_one(to.pool())
                .await
                .unwrap();
        assert_eq!((n, note.as_deref()), (i64::MAX - 3, Some("note \"3\"")));

        // A changed value changes the checksum; the count alone would not see it.
        let children_to = targets.iter().find(|t| t.name == "children").unwrap();
        let before = summarize(&to, children_to).await.unwrap();
        sqlx::query("UPDATE children SET at = NULL WHERE parent = 'p00' AND pos = 0")
            .execute(to.pool())
            .await
            .unwrap();
        let after = summarize(&to, children_to).await.unwrap();
        assert_eq!(before.rows, after.rows);
        assert_ne!(before.checksum, after.checksum);
    }

    #[test]
    fn declared_types_map_to_kinds_in_both_dialects() {
        for (declared, kind) in [
            ("BIGINT", Kind::Int),
            ("integer", Kind::Int),
            ("smallint", Kind::Int),
            ("TEXT", Kind::Text),
            ("character varying", Kind::Text),
            ("bytea", Kind::Bytes),
            ("BLOB", Kind::Bytes),
            ("boolean", Kind::Bool),
            ("double precision", Kind::Real),
            ("REAL", Kind::Real),
        ] {
            assert_eq!(Kind::of_declared(declared), kind, "{declared}");
        }
    }
}
