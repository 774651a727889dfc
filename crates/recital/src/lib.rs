//! The recital studio: volunteers read texts aloud in the browser and the server turns
//! their takes into a speech dataset. It owns campaigns (texts, consent, who may speak,
//! labels such as an acted emotion), recording sessions (audio chunks streamed while the
//! speaker reads, the time each sentence ended), their processing (one stream, WebVTT,
//! archive and web copies, per-sentence clips, quality checks), validation by other
//! people (Common Voice's vote rule), and dataset exports.
//!
//! `text` turns pasted text, files and web pages into paragraphs of sentences; `domain`
//! holds the rules (session states, cue timing, votes, verdicts); `process` is the media
//! work of one session; `export` writes the dataset layouts; `db`, `routes`, `pages`,
//! `jobs` and `service` (what the routes, pages and command line share) are the edges.

pub mod chunk_log;
pub mod db;
pub mod domain;
pub mod error;
pub mod export;
pub mod jobs;
pub mod pages;
pub mod process;
pub mod routes;
pub mod service;
pub mod text;

use std::sync::Arc;

use axum::extract::FromRef;
use serde::{Deserialize, Serialize};
use tutti_platform::{Mounted, NavEntry, Platform, PlatformError, Role, RoleDef, Studio};

pub use error::RecitalError;

/// People who read for campaigns (granted on joining one).
pub const SPEAKER: Role = Role::declare("speaker");
/// People who run campaigns: texts, reports, speakers, exports.
pub const REVIEWER: Role = Role::declare("reviewer");

/// The recital's tables.
pub static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// `[studios.recital]`: limits and quality rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RecitalSettings {
    /// Largest audio chunk a browser may send (MediaRecorder's 2 s slices are ~10 KiB).
    pub max_chunk_bytes: u64,
    /// Largest text file or web page imported.
    pub max_import_bytes: u64,
    /// How long fetching a web page for import may take.
    pub fetch_timeout_seconds: u64,
    /// Let imports fetch from loopback and private addresses (an intranet wiki).
    pub fetch_private_addresses: bool,
    /// Limits a take is judged against.
    pub quality: domain::QualityRules,
    /// People shown on the public leaderboard.
    pub leaderboard_size: u32,
}

impl Default for RecitalSettings {
    fn default() -> Self {
        RecitalSettings {
            max_chunk_bytes: 8 * 1024 * 1024,
            max_import_bytes: 10 * 1024 * 1024,
            fetch_timeout_seconds: 15,
            fetch_private_addresses: false,
            quality: domain::QualityRules::default(),
            leaderboard_size: 20,
        }
    }
}

/// The studio's state, handed to its routes and jobs.
#[derive(Clone)]
pub struct Recital {
    pub platform: Platform,
    pub settings: Arc<RecitalSettings>,
    pub chunk_log: chunk_log::ChunkLog,
}

impl Recital {
    pub fn new(platform: Platform, settings: RecitalSettings) -> Recital {
        Recital {
            chunk_log: chunk_log::ChunkLog::new(platform.db.clone()),
            platform,
            settings: Arc::new(settings),
        }
    }
}

impl FromRef<Recital> for Platform {
    fn from_ref(r: &Recital) -> Platform {
        r.platform.clone()
    }
}

/// The studio as the server lists it.
pub struct RecitalStudio {
    pub settings: RecitalSettings,
}

/// One source per language: the admin and campaign pages' messages, then the recording
/// pages' (`speak-…`).
pub const MESSAGES: &[(&str, &str)] = &[
    (
        "en",
        concat!(
            include_str!("../locales/en/recital.ftl"),
            "\n",
            include_str!("../locales/en/speak.ftl")
        ),
    ),
    (
        "he",
        concat!(
            include_str!("../locales/he/recital.ftl"),
            "\n",
            include_str!("../locales/he/speak.ftl")
        ),
    ),
];

impl Studio for RecitalStudio {
    fn name(&self) -> &'static str {
        "recital"
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

    fn roles(&self) -> Vec<RoleDef> {
        [(SPEAKER, "role-speaker"), (REVIEWER, "role-reviewer")]
            .into_iter()
            .map(|(role, label)| RoleDef {
                role,
                label,
                studio: "recital",
            })
            .collect()
    }

    fn nav(&self) -> Option<NavEntry> {
        Some(NavEntry {
            href: "/recital",
            label: "recital",
            about: "recital-about",
        })
    }

    fn admin_tabs(&self) -> Vec<NavEntry> {
        vec![NavEntry {
            href: "/recital/admin",
            label: "recital-admin",
            about: "recital-admin-about",
        }]
    }

    fn secret_paths(&self) -> &'static [&'static str] {
        &["/recital/invite/"]
    }

    fn settings(&self) -> Option<serde_json::Value> {
        serde_json::to_value(&self.settings).ok()
    }

    fn mount(&self, platform: &Platform) -> Result<Mounted, PlatformError> {
        let recital = Recital::new(platform.clone(), self.settings.clone());
        let routes = routes::routes(recital.clone());
        let forget = Arc::new(service::Forgetter(recital.platform.clone()));
        Ok(Mounted {
            routes,
            jobs: Some(Arc::new(move |worker| jobs::register(worker, &recital))),
            identity: None,
            forget: Some(forget),
        })
    }
}
