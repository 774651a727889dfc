//! The meetings studio: small video meetings with notes written together while they run,
//! recordings, teams and their calendars (the job of the Dictate app).
//!
//! It owns teams and their members (`domain`, `db`), meetings once or weekly with their
//! calendars and iCalendar feeds, the live room of each running meeting (its WebSocket,
//! roster, chat and host controls; media forwarded by an SFU inside the process), the
//! meeting's notes as a CRDT document, and recordings written while the meeting runs and
//! merged by a job. The pieces land one at a time; this is the registration point.

pub mod notes;

use tutti_platform::{Mounted, Platform, PlatformError, Routes, Studio};

/// The meetings' tables.
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

    fn assets(&self) -> &'static [(&'static str, &'static str)] {
        notes::ASSETS
    }

    fn mount(&self, platform: &Platform) -> Result<Mounted, PlatformError> {
        let meetings = Meetings {
            platform: platform.clone(),
        };
        Ok(Mounted::routes(Routes::new().with_state(meetings)))
    }
}
