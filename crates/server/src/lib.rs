//! The `tutti` program: reads the settings, connects the database and blob store, composes
//! every crate's routes into one server (with health checks, metrics, TLS and tracing),
//! runs the job workers beside it, and offers the operator's command line (`migrate`,
//! `config`, `admin …` including backup, restore and move, `jobs …`, `media …`).
//!
//! It is also a library so integration tests can start the real server in-process with
//! [`app::spawn_for_tests`] and talk HTTP to it.

pub mod app;
mod backup;
pub mod cli;
pub mod config;
pub mod health;
pub mod media_cli;
pub mod metrics;
pub mod music_cli;
pub mod recital_cli;
mod relocate;
pub mod serve;
pub mod telemetry;
pub mod tls;
mod transfer;

pub use app::{App, Running, spawn_for_tests};
pub use config::Settings;
