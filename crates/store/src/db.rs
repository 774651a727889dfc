//! One connection pool over SQLite or PostgreSQL. Queries are written once in the SQL both
//! dialects agree on (`$1` placeholders, BIGINT times, TEXT ids); the few places that need
//! a dialect of their own ask [`Db::backend`].

use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{Migration, Migrator};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Executor};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::error::{Result, StoreError};

/// A write transaction on whichever backend is configured. On SQLite it also holds the
/// process's write turn (see [`Db::write`]) until it commits or is dropped.
pub struct Tx {
    // Declared first so the transaction ends (and rolls back when dropped) before the
    // turn passes to the next writer.
    tx: sqlx::Transaction<'static, Any>,
    _turn: Option<Turn>,
}

impl Tx {
    pub async fn commit(self) -> std::result::Result<(), sqlx::Error> {
        self.tx.commit().await
    }

    pub async fn rollback(self) -> std::result::Result<(), sqlx::Error> {
        self.tx.rollback().await
    }
}

impl Deref for Tx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}

/// One connection for a single writing statement, holding the write turn on SQLite.
pub struct Write {
    conn: PoolConnection<Any>,
    _turn: Option<Turn>,
}

impl Deref for Write {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.conn
    }
}

impl DerefMut for Write {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.conn
    }
}

/// Which engine sits behind the pool; only dialect differences should look at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Picks the backend from a database URL, naming the schemes we accept when it is wrong.
    pub fn from_url(url: &str) -> Result<Backend> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::Config(format!(
                "database URL {:?} is not supported: use sqlite://PATH or postgres://USER@HOST/DB",
                redact_url(url)
            )))
        }
    }

    /// The database's own clock in Unix milliseconds, as an SQL expression to splice into a
    /// query. Every time the job queue and the leases compare (heartbeats, expiries, run
    /// times, schedule periods) comes from here, so nodes whose clocks disagree still
    /// agree on what is stale. It is a scalar subquery so PostgreSQL evaluates it once per
    /// statement and can still use an index on the column it is compared with.
    pub fn now_ms_sql(self) -> &'static str {
        match self {
            Backend::Sqlite => "(SELECT CAST(unixepoch('subsec') * 1000 AS INTEGER))",
            Backend::Postgres => "(SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint)",
        }
    }
}

/// The database pool shared by every crate.
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    /// SQLite only: writers of this process take turns here, first come first served.
    /// SQLite itself lets one writer in at a time and makes the others poll with growing
    /// sleeps (up to 100 ms each), which under steady writes turned a 1 ms insert into a
    /// wait of most of a second for the unlucky ones.
    turns: Option<Arc<Turns>>,
}

/// The two locks of SQLite's write turn: every writer holds `lock` while it writes;
/// ordinary writers queue on `queue` first, so a writer [`Db::write_ahead`] waits behind
/// at most one of them.
#[derive(Debug, Default)]
struct Turns {
    queue: Arc<Mutex<()>>,
    lock: Arc<Mutex<()>>,
}

/// A held write turn (fields drop in order: the queue passes on after the lock).
struct Turn {
    _lock: OwnedMutexGuard<()>,
    _queue: Option<OwnedMutexGuard<()>>,
}

/// SQLite connection settings: WAL lets readers run beside the writer, `synchronous=FULL`
/// makes every acknowledged commit survive a power cut, and the busy timeout makes writers
/// queue instead of failing.
const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; \
     PRAGMA foreign_keys=ON; PRAGMA busy_timeout=10000;";

impl Db {
    /// Connects, creating the SQLite file (and its folder) when it does not exist yet.
    pub async fn connect(url: &str) -> Result<Db> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let url = match backend {
            Backend::Sqlite => {
                let path = sqlite_path(url);
                if let Some(parent) = Path::new(path).parent()
                    && !parent.as_os_str().is_empty()
                {
                    std::fs::create_dir_all(parent)?;
                }
                if url.contains('?') {
                    url.to_string()
                } else {
                    format!("{url}?mode=rwc")
                }
            }
            Backend::Postgres => url.to_string(),
        };
        let options = AnyConnectOptions::from_str(&url)?;
        // No ping before every acquire (sqlx's default): it doubled the round trips of a
        // page's queries. A connection PostgreSQL dropped fails the one statement that
        // finds out, and the pool then discards it.
        let mut pool = AnyPoolOptions::new()
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .test_before_acquire(false);
        pool = match backend {
            Backend::Sqlite => pool.max_connections(8).after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute(SQLITE_PRAGMAS).await?;
                    Ok(())
                })
            }),
            Backend::Postgres => pool.max_connections(16),
        };
        let pool = pool.connect_with(options).await?;
        let turns = (backend == Backend::Sqlite).then(Arc::default);
        Ok(Db {
            pool,
            backend,
            turns,
        })
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Starts a write transaction. On SQLite it takes the write lock up front
    /// (`BEGIN IMMEDIATE`) so two writers queue on the busy timeout instead of one failing
    /// when it upgrades a read lock.
    pub async fn begin(&self) -> Result<Tx> {
        let turn = self.turn(false).await;
        let tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        Ok(Tx { tx, _turn: turn })
    }

    /// A connection for one writing statement outside a transaction. Hot paths write
    /// through it (or [`Db::begin`]) so that on SQLite they queue in order in the process
    /// instead of on SQLite's busy timeout.
    pub async fn write(&self) -> Result<Write> {
        self.write_with(false).await
    }

    /// [`Db::write`] ahead of the queue: for a writer that gathers many requests' rows
    /// into one statement, so those requests wait for one write, not for everyone's.
    pub async fn write_ahead(&self) -> Result<Write> {
        self.write_with(true).await
    }

    async fn write_with(&self, ahead: bool) -> Result<Write> {
        let turn = self.turn(ahead).await;
        Ok(Write {
            conn: self.pool.acquire().await?,
            _turn: turn,
        })
    }

    async fn turn(&self, ahead: bool) -> Option<Turn> {
        let turns = self.turns.as_ref()?;
        let queue = match ahead {
            true => None,
            false => Some(turns.queue.clone().lock_owned().await),
        };
        Some(Turn {
            _lock: turns.lock.clone().lock_owned().await,
            _queue: queue,
        })
    }

    /// Applies every pending migration of the given crates, in version order. Each crate
    /// embeds its own `migrations/` folder; versions are dated so they interleave safely.
    pub async fn migrate(&self, sets: &[&Migrator]) -> Result<()> {
        let mut all: Vec<Migration> = sets.iter().flat_map(|m| m.iter().cloned()).collect();
        all.sort_by_key(|m| m.version);
        let migrator = Migrator::with_migrations(all);
        migrator.run(&self.pool).await?;
        Ok(())
    }

    /// The database's clock in Unix milliseconds (see [`Backend::now_ms_sql`]).
    pub async fn now_ms(&self) -> Result<i64> {
        let sql = format!("SELECT {}", self.backend.now_ms_sql());
        Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(&self.pool)
            .await?)
    }

    /// A cheap round trip, for readiness checks.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await
    }
}

/// How long a request waits for a database connection before it is told the database is
/// unavailable (a 503 with Retry-After) instead of hanging.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// The platform's own tables (the job queue); other crates bring theirs.
pub static MIGRATIONS: Migrator = sqlx::migrate!("./migrations");

fn sqlite_path(url: &str) -> &str {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    rest.split('?').next().unwrap_or(rest)
}

/// Hides the password of a URL so it can be logged or printed.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("REDACTED"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}
