//! The meetings studio: small video meetings with notes written together while they run,
//! recordings, teams and their calendars (the job of the Dictate app).
//!
//! It owns teams and their members (owner, admins, members), meetings started on the
//! spot or scheduled once or weekly in a time zone (`domain`: the rules and the
//! occurrences; `db`: the queries) and their iCalendar form (`ics`). The API, pages and
//! mail come next; this step is the schema and the rules.

pub mod db;
pub mod domain;
pub mod error;
pub mod ics;

use tutti_platform::{Mounted, Platform, PlatformError, Routes, Studio};

pub use domain::{JoinRole, Joiner, TeamRole, may_join};
pub use error::MeetingError;

/// The studio's tables.
pub static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The studio's state, handed to its routes and jobs.
#[derive(Clone)]
pub struct Meetings {
    pub platform: Platform,
}

/// The studio as the server lists it.
pub struct MeetingsStudio;

impl Studio for MeetingsStudio {
    fn name(&self) -> &'static str {
        "meetings"
    }

    fn migrations(&self) -> Option<&'static sqlx::migrate::Migrator> {
        Some(&MIGRATIONS)
    }

    fn mount(&self, platform: &Platform) -> Result<Mounted, PlatformError> {
        let meetings = Meetings {
            platform: platform.clone(),
        };
        Ok(Mounted::routes(Routes::new().with_state(meetings)))
    }
}
