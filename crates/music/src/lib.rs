//! The music studio: independent artists publish and stream their own albums. It owns
//! artist profiles (with slugs that keep redirecting after a rename), releases (albums
//! and singles, with licence, release date and cover), tracks (their originals, the
//! streaming copies the media engine makes in the job queue, loudness, waveform, lyrics),
//! the public pages and player, streaming with ranges, and private play counts. No
//! social features, by design.
//!
//! `domain` holds the rules (slugs, licences, when a release is public, lyrics);
//! `process` is the media work of one track; `db`, `routes`, `pages`, `jobs` and
//! `service` (what the routes, pages and command line share) are the edges; `editor`
//! is the studio's track editor and picture uploads (covers, artist pictures); `share`
//! takes public releases to other sites and apps (embedded player, oEmbed, feeds,
//! playlists); `unlock` is downloads, download codes and private pre-release links;
//! `subsonic` is the API music apps speak; `admin` takes music down; `hot` remembers
//! public streams for a moment, so a player's ranges do not each cost database reads.

pub mod admin;
pub mod db;
pub mod domain;
pub mod editor;
pub mod error;
pub mod hot;
pub mod jobs;
pub mod pages;
pub mod process;
pub mod routes;
pub mod service;
pub mod share;
pub mod subsonic;
pub mod unlock;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use axum::extract::FromRef;
use serde::{Deserialize, Serialize};
use tutti_platform::{Mounted, NavEntry, Platform, PlatformError, Role, RoleDef, Studio};

pub use error::MusicError;

/// People who publish music (granted by an administrator).
pub const ARTIST: Role = Role::declare("artist");

/// The studio's tables.
pub static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// `[studios.music]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MusicSettings {
    /// The file holding the key Subsonic app passwords are sealed with; by default
    /// `music-app-passwords.key` in the data folder. Servers sharing one database must
    /// share this file too, and a backup of the database needs it to be useful.
    pub app_password_key_file: Option<PathBuf>,
    /// With an S3 blob store, answer streams with a redirect to a short-lived presigned
    /// URL, so media bytes go from the store to listeners without passing through Tutti.
    pub presigned_streams: bool,
    /// How long such a URL works (a player that seeks later asks Tutti again).
    pub presigned_seconds: u64,
}

impl Default for MusicSettings {
    fn default() -> Self {
        MusicSettings {
            app_password_key_file: None,
            presigned_streams: false,
            presigned_seconds: 600,
        }
    }
}

/// The studio's state, handed to its routes and jobs; one pointer, since axum clones it
/// for every request.
#[derive(Clone)]
pub struct Music(Arc<MusicParts>);

impl std::ops::Deref for Music {
    type Target = MusicParts;

    fn deref(&self) -> &MusicParts {
        &self.0
    }
}

/// What [`Music`] shares.
pub struct MusicParts {
    pub platform: Platform,
    pub settings: Arc<MusicSettings>,
    /// Where the app password key is (read on first use, made when missing).
    pub key_file: Arc<PathBuf>,
    seal_key: Arc<OnceLock<subsonic::keys::SealKey>>,
    /// The key of download codes, private links and their grants, read once.
    pub keys: unlock::Keys,
    /// Public streams resolved a moment ago, so a player's next range skips the database.
    pub streams: Arc<hot::Streams>,
}

impl Music {
    pub fn new(platform: Platform, settings: MusicSettings, key_file: PathBuf) -> Music {
        Music(Arc::new(MusicParts {
            platform,
            settings: Arc::new(settings),
            key_file: Arc::new(key_file),
            seal_key: Arc::default(),
            keys: unlock::Keys::default(),
            streams: Arc::default(),
        }))
    }

    /// Answers a media blob: a redirect to the store when the settings say so and the
    /// store can sign URLs (S3), the bytes with ranges otherwise.
    pub async fn media(
        &self,
        key: &str,
        media_type: &str,
        caching: tutti_platform::serve::Caching,
        headers: &axum::http::HeaderMap,
    ) -> Result<axum::response::Response, tutti_web::Problem> {
        use axum::http::{HeaderValue, StatusCode, header};
        use axum::response::IntoResponse;
        if self.settings.presigned_streams {
            let ttl = std::time::Duration::from_secs(self.settings.presigned_seconds.max(60));
            if let Some(url) = self.platform.blobs.presigned_get(key, ttl).await? {
                let mut r = StatusCode::TEMPORARY_REDIRECT.into_response();
                if let Ok(v) = HeaderValue::from_str(url.as_str()) {
                    r.headers_mut().insert(header::LOCATION, v);
                }
                // The address expires: nobody may keep the redirect longer than it works.
                let age = format!("private, max-age={}", ttl.as_secs() / 2);
                if let Ok(v) = HeaderValue::from_str(&age) {
                    r.headers_mut().insert(header::CACHE_CONTROL, v);
                }
                return Ok(r);
            }
        }
        tutti_platform::serve::blob(&self.platform.blobs, key, media_type, caching, headers).await
    }

    /// The key app passwords are sealed with.
    pub fn seal_key(&self) -> Result<&subsonic::keys::SealKey, MusicError> {
        if let Some(key) = self.seal_key.get() {
            return Ok(key);
        }
        let key = subsonic::keys::SealKey::load_or_create(&self.key_file)?;
        Ok(self.seal_key.get_or_init(|| key))
    }
}

impl FromRef<Music> for Platform {
    fn from_ref(m: &Music) -> Platform {
        m.platform.clone()
    }
}

/// The studio as the server lists it.
pub struct MusicStudio {
    pub settings: MusicSettings,
    /// The server's data folder, where the app password key lives by default.
    pub data_dir: PathBuf,
}

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

    fn secret_paths(&self) -> &'static [&'static str] {
        &["/music/listen/"]
    }

    fn nav(&self) -> Option<NavEntry> {
        Some(NavEntry {
            href: "/music",
            label: "music",
            about: "music-about",
        })
    }

    fn admin_tabs(&self) -> Vec<NavEntry> {
        vec![NavEntry {
            href: admin::PATH,
            label: "music-admin",
            about: "music-admin-about",
        }]
    }

    fn own_credentials(&self) -> &'static [&'static str] {
        &["/rest/"]
    }

    fn settings(&self) -> Option<serde_json::Value> {
        serde_json::to_value(&self.settings).ok()
    }

    fn mount(&self, platform: &Platform) -> Result<Mounted, PlatformError> {
        let key_file = self
            .settings
            .app_password_key_file
            .clone()
            .unwrap_or_else(|| subsonic::keys::default_key_file(&self.data_dir));
        let music = Music::new(platform.clone(), self.settings.clone(), key_file);
        let mut routes = routes::routes(music.clone());
        // A change made through this server (unpublish, take-down, deletion, new audio)
        // reaches streams at once; other servers' changes take up to `hot::STREAM_TTL`.
        // A counted play changes nothing a stream depends on, and players send one per
        // track: forgetting on each would defeat the cache; nor can music apps' calls.
        let streams = music.streams.clone();
        routes.router = tutti_platform::brief::forget_on_writes(
            routes.router,
            Arc::new(move || streams.brief().forget_all()),
            |path| path.ends_with("/plays") || path.starts_with("/rest/"),
        );
        let forget = Arc::new(service::Forgetter(music.platform.clone()));
        Ok(Mounted {
            routes,
            jobs: Some(Arc::new(move |worker| jobs::register(worker, &music))),
            identity: None,
            forget: Some(forget),
        })
    }
}
