//! Helpers for tests in every crate: a fresh database and blob store per test, on the
//! backends the environment names (`TUTTI_TEST_DATABASE_URL`, `TUTTI_TEST_BLOB_URL`,
//! `TUTTI_TEST_BLOB_OPTIONS`), or SQLite and a local folder when it names none. The same
//! test code thus runs against the embedded defaults and the real engines.

use std::collections::BTreeMap;

use sqlx::{AssertSqlSafe, Connection};

use crate::{Blobs, Db, new_id};

/// A database created for one test; dropped databases on PostgreSQL are left for the
/// throwaway cluster to discard.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub async fn new() -> TestDb {
        match std::env::var("TUTTI_TEST_DATABASE_URL") {
            Ok(admin_url) if !admin_url.is_empty() => {
                sqlx::any::install_default_drivers();
                let name = format!("tutti_test_{}", new_id());
                let mut conn = sqlx::AnyConnection::connect(&admin_url)
                    .await
                    .expect("connect to TUTTI_TEST_DATABASE_URL");
                sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                    .expect("create test database");
                let mut url = url::Url::parse(&admin_url).expect("valid postgres URL");
                url.set_path(&format!("/{name}"));
                TestDb {
                    url: url.to_string(),
                    _dir: None,
                }
            }
            _ => {
                let dir = tempfile::tempdir().expect("temp dir");
                TestDb {
                    url: format!("sqlite://{}", dir.path().join("tutti.db").display()),
                    _dir: Some(dir),
                }
            }
        }
    }

    pub async fn connect(&self) -> Db {
        Db::connect(&self.url).await.expect("connect test database")
    }
}

/// Where the test's blobs go: a fresh prefix in the configured object store, or a
/// fresh temporary folder.
pub struct TestBlobs {
    pub location: String,
    pub options: BTreeMap<String, String>,
    _dir: Option<tempfile::TempDir>,
}

impl TestBlobs {
    pub fn new() -> TestBlobs {
        match std::env::var("TUTTI_TEST_BLOB_URL") {
            Ok(base) if !base.is_empty() => TestBlobs {
                location: format!("{}/{}", base.trim_end_matches('/'), new_id()),
                options: parse_options(
                    &std::env::var("TUTTI_TEST_BLOB_OPTIONS").unwrap_or_default(),
                ),
                _dir: None,
            },
            _ => {
                let dir = tempfile::tempdir().expect("temp dir");
                TestBlobs {
                    location: dir.path().join("blobs").display().to_string(),
                    options: BTreeMap::new(),
                    _dir: Some(dir),
                }
            }
        }
    }

    pub fn open(&self) -> Blobs {
        Blobs::open(&self.location, &self.options).expect("open test blob store")
    }
}

impl Default for TestBlobs {
    fn default() -> Self {
        Self::new()
    }
}

/// Parses `key=value,key=value` as the tests' environment writes object-store options.
pub fn parse_options(s: &str) -> BTreeMap<String, String> {
    s.split(',')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}
