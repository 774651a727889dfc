//! The music studio: independent artists publish and stream their own albums. It owns
//! artist profiles (with slugs that keep redirecting after a rename), releases (albums
//! and singles, with licence, release date and cover), tracks (their originals, the
//! streaming copies the media engine makes in the job queue, loudness, waveform, lyrics),
//! the public pages and player, streaming with ranges, and private play counts. No
//! social features, by design.
//!
//! `domain` holds the rules (slugs, licences, when a release is public, lyrics);
//! `process` is the media work of one track; `db`, `routes`, `pages`, `jobs` and
//! `service` (what the routes, pages and command line share) are the edges.

pub mod db;
pub mod domain;
pub mod error;
pub mod jobs;
pub mod pages;
pub mod process;
pub mod routes;
pub mod service;

use std::sync::Arc;

use axum::extract::FromRef;
use tutti_platform::{Mounted, NavEntry, Platform, PlatformError, Role, RoleDef, Studio};

pub use error::MusicError;

/// People who publish music (granted by an administrator).
pub const ARTIST: Role = Role::declare("artist");

/// The studio's tables.
pub static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The studio's state, handed to its routes and jobs.
#[derive(Clone)]
pub struct Music {
    pub platform: Platform,
}

impl Music {
    pub fn new(platform: Platform) -> Music {
        Music { platform }
    }
}

impl FromRef<Music> for Platform {
    fn from_ref(m: &Music) -> Platform {
        m.platform.clone()
    }
}

/// The studio as the server lists it.
pub struct MusicStudio;

pub const MESSAGES: &[(&str, &str)] = &[
    ("en", include_str!("../locales/en/music.ftl")),
    ("he", include_str!("../locales/he/music.ftl")),
];

impl Studio for MusicStudio {
    fn name(&self) -> &'static str {
        "music"
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
        vec![RoleDef {
            role: ARTIST,
            label: "role-artist",
            studio: "music",
        }]
    }

    fn nav(&self) -> Option<NavEntry> {
        Some(NavEntry {
            href: "/music",
            label: "music",
            about: "music-about",
        })
    }

    fn mount(&self, platform: &Platform) -> Result<Mounted, PlatformError> {
        let music = Music::new(platform.clone());
        let routes = routes::routes(music.clone());
        Ok(Mounted {
            routes,
            jobs: Some(Arc::new(move |worker| jobs::register(worker, &music))),
            identity: None,
            forget: None,
        })
    }
}
