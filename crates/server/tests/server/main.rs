//! The real server, started in-process on a free port, driven over HTTP like a client
//! would; and the real `tutti` binary, driven like an operator would. Backends follow the
//! environment (`TUTTI_TEST_DATABASE_URL`, `TUTTI_TEST_BLOB_URL`), SQLite and a temporary
//! folder otherwise.

mod cli;
mod errors;
mod health;
mod helpers;
mod jobs;
mod media;
mod metrics;
mod tls;
