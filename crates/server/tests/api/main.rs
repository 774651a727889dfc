//! The platform's stories told over HTTP against the real server, started in-process on a
//! free port with a fresh database and blob store: SQLite and a local folder by default,
//! PostgreSQL and S3 when `TUTTI_TEST_DATABASE_URL` / `TUTTI_TEST_BLOB_URL` name them.

mod helpers;
mod rehearsal;

mod accounts;
mod choir;
mod errors;
mod jobs;
mod meetings;
mod meetings_live;
mod music;
mod music_editor;
mod music_hostile;
mod music_media;
mod music_share;
mod music_unlock;
mod oidc;
mod operations;
mod pages;
mod recital;
mod roles;
mod security;
mod settings;
mod sockets;
mod tokens;
mod uploads;
