//! The meetings studio: small video meetings with notes written together while they run,
//! recordings, teams and their calendars (the job of the Dictate app).
//!
//! It owns teams and their members (owner, admins, members; invitation links that
//! expire and can be revoked), meetings started on the spot or scheduled once or weekly
//! in a time zone (`domain`: the rules and the occurrences; `db`: the queries;
//! `service`: each act once for API, pages and jobs), their calendars and iCalendar
//! feeds (`ics`), mail (invitations when a team meeting is scheduled, reminders shortly
//! before each occurrence: `jobs`), the JSON API (`routes`) and the pages (`pages`).
//!
//! The call: a running meeting is one task (`live`) owning its rules (`room`: the
//! waiting room, lock, the host's powers, hands, chat), its notes (`notes`: a Yjs
//! document kept by yrs, every update stored before it is passed on) and its
//! participants' sockets (wire format in `protocol`), and it drives the SFU (`sfu`, on
//! str0m) that carries their audio and video. Who may enter is `domain::may_join`, the
//! host's powers go to the meeting's host and its team's managers
//! (`service::call_role`), and the room records when the meeting really ran.
//! Recordings are not built yet.

pub mod db;
pub mod domain;
pub mod error;
pub mod ics;
pub mod jobs;
pub mod live;
pub mod notes;
pub mod pages;
pub mod protocol;
pub mod room;
pub mod routes;
pub mod service;
pub mod sfu;

use std::sync::Arc;

use async_trait::async_trait;
use axum::extract::FromRef;
use tutti_accounts::{Mailer, SmtpSettings};
use tutti_platform::{Forget, Mounted, NavEntry, Platform, PlatformError, Studio};

pub use domain::{JoinRole, Joiner, TeamRole, may_join};
pub use error::MeetingError;

/// The studio's tables.
pub static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// `[studios.meetings]`.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct MeetingsSettings {
    /// Where the media of calls comes and goes (UDP and ICE-TCP on one port), and the
    /// TURN server browsers are told about.
    pub sfu: sfu::SfuSettings,
}

/// The studio's state, handed to its routes and jobs.
#[derive(Clone)]
pub struct Meetings {
    pub platform: Platform,
    /// Writes invitations and reminders to the outbox (sent when SMTP is set up).
    pub mailer: Mailer,
    /// The meetings running in this process.
    pub live: live::Live,
}

impl FromRef<Meetings> for Platform {
    fn from_ref(m: &Meetings) -> Platform {
        m.platform.clone()
    }
}

impl Meetings {
    pub fn new(
        platform: Platform,
        smtp: Option<SmtpSettings>,
        settings: MeetingsSettings,
    ) -> Result<Meetings, MeetingError> {
        let mailer = Mailer::new(platform.db.clone(), platform.queue.clone(), smtp)?;
        let live = live::Live::new(platform.db.clone(), settings.sfu);
        Ok(Meetings {
            platform,
            mailer,
            live,
        })
    }
}

/// The studio as the server lists it, with the server's mail settings (the accounts'
/// job sends what it writes to the outbox).
pub struct MeetingsStudio {
    pub smtp: Option<SmtpSettings>,
    pub settings: MeetingsSettings,
}

/// One source per language.
pub const MESSAGES: &[(&str, &str)] = &[
    (
        "en",
        concat!(
            include_str!("../locales/en/meetings.ftl"),
            "\n",
            include_str!("../locales/en/call.ftl")
        ),
    ),
    (
        "he",
        concat!(
            include_str!("../locales/he/meetings.ftl"),
            "\n",
            include_str!("../locales/he/call.ftl")
        ),
    ),
];

/// What a deleted account leaves behind here (see [`db::forget`]).
struct Forgetter(Platform);

#[async_trait]
impl Forget for Forgetter {
    async fn forget(&self, user_id: &str) -> Result<(), PlatformError> {
        let mut tx = self.0.db.begin().await?;
        db::forget(&mut tx, user_id)
            .await
            .map_err(|e| PlatformError::Problem(e.into()))?;
        tx.commit().await?;
        Ok(())
    }
}

impl Studio for MeetingsStudio {
    fn name(&self) -> &'static str {
        "meetings"
    }

    fn migrations(&self) -> Option<&'static sqlx::migrate::Migrator> {
        Some(&MIGRATIONS)
    }

    fn templates(&self) -> &'static [(&'static str, &'static str)] {
        pages::TEMPLATES
    }

    fn messages(&self) -> &'static [(&'static str, &'static str)] {
        MESSAGES
    }

    fn assets(&self) -> &'static [(&'static str, &'static str)] {
        pages::ASSETS
    }

    fn nav(&self) -> Option<NavEntry> {
        Some(NavEntry {
            href: "/meetings",
            label: "meetings",
            about: "meetings-about",
        })
    }

    fn settings(&self) -> Option<serde_json::Value> {
        serde_json::to_value(&self.settings).ok()
    }

    fn secret_paths(&self) -> &'static [&'static str] {
        &[
            "/meetings/invite/",
            "/meetings/feeds/",
            "/api/v1/meetings/invites/",
        ]
    }

    fn mount(&self, platform: &Platform) -> Result<Mounted, PlatformError> {
        let meetings = Meetings::new(platform.clone(), self.smtp.clone(), self.settings.clone())
            .map_err(|e| PlatformError::Problem(e.into()))?;
        let routes = routes::routes(meetings.clone());
        Ok(Mounted {
            routes,
            jobs: Some(Arc::new(move |worker| jobs::register(worker, &meetings))),
            identity: None,
            forget: Some(Arc::new(Forgetter(platform.clone()))),
        })
    }
}
