//! The choir studio: singing together over ordinary internet connections, "bucket
//! brigade" style. Singers sit in a chain of buckets a few seconds apart on one shared
//! timeline; each hears everyone in earlier buckets, in time, whatever their network.
//!
//! The engine is independent of any transport: `timeline` is the shared mix (a circular
//! buffer of 48 kHz samples on the server's clock), and `domain` the room's rules
//! (buckets and the leader, the song and its rounds, metronome and backing track, the
//! mixing console, lag, the recording and each singer's aligned stem). `mixer` decodes
//! each voice once and encodes each bucket's mix once (Opus). `protocol` is the versioned
//! wire format (binary audio frames, JSON control messages).
//!
//! Around it, this crate owns the rooms people create (password, members only, a
//! backing-track library, a setlist, scheduled sessions: `db`), the live rooms of this
//! process and their sockets (`live`), recordings written while sung (`recorder`) and
//! made into files by a job (`jobs`), and the pages and API (`pages`, `routes`).
//!
//! **Spreading out.** Rooms share nothing, so one process runs each room on one task and
//! rooms spread over the runtime's threads. Across nodes, a room lives on one node: a
//! lease row (`tutti_store::leases`) names it, and the room page sends browsers to that
//! node's address. A room too big for one core would mix hierarchically (each node's
//! partial mix of its singers feeding the room's node); that is not built.

pub mod db;
pub mod domain;
pub mod error;
pub mod ics;
pub mod jobs;
pub mod live;
pub mod mixer;
pub mod pages;
pub mod protocol;
pub mod recorder;
pub mod routes;
pub mod timeline;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::FromRef;
use tutti_platform::{Mounted, NavEntry, Platform, PlatformError, Studio};

pub use domain::{Room, RoomError, SingerId};
pub use error::ChoirError;
pub use timeline::{Clock, SAMPLE_RATE, Timeline};

/// The choir's tables.
pub static MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The studio's state, handed to its routes and jobs.
#[derive(Clone)]
pub struct Choir {
    pub platform: Platform,
    pub live: live::Live,
}

impl FromRef<Choir> for Platform {
    fn from_ref(c: &Choir) -> Platform {
        c.platform.clone()
    }
}

impl Choir {
    pub fn new(platform: Platform) -> Choir {
        let for_jobs = platform.clone();
        let recorder = recorder::Recorder::start(platform.clone(), move |id| {
            let p = for_jobs.clone();
            Box::pin(async move {
                if let Err(e) = jobs::queue_recording(&p, &id).await {
                    tracing::error!(recording = %id, error = %e, "could not queue a recording");
                }
            })
        });
        let tracks = Arc::new(StoredTracks {
            platform: platform.clone(),
            cache: Arc::new(Mutex::new(HashMap::new())),
        });
        Choir {
            live: live::Live::new(recorder, tracks),
            platform,
        }
    }
}

/// Converted backing tracks, the few most recently led kept decoded.
struct StoredTracks {
    platform: Platform,
    cache: Arc<Mutex<HashMap<String, Arc<[f32]>>>>,
}

/// A `lead`'s track naming a recording of the room plays that recording back to the
/// room (`recording:<id>`), right after it was sung.
pub const RECORDING_TRACK: &str = "recording:";

/// A finished recording's mix, decoded, to play back as a song's backing track.
async fn recording_samples(p: &Platform, room: &str, id: &str) -> Result<Arc<[f32]>, String> {
    let rec = db::recording(p.db.pool(), id)
        .await
        .map_err(|e| e.to_string())?
        .filter(|r| r.room_id == room)
        .ok_or("There is no such recording in this room.")?;
    let key = rec
        .mix_key
        .filter(|_| rec.status == "ready")
        .ok_or("That recording's files are still being made; try again in a moment.")?;
    let bytes = p.blobs.get(&key).await.map_err(|e| e.to_string())?.to_vec();
    let pcm = tokio::task::spawn_blocking(move || jobs::to_pcm16(bytes, Some("ogg")))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    Ok(pcm
        .chunks_exact(2)
        .map(|c| i16::from_le_bytes([c[0], c[1]]) as f32 / 32767.0)
        .collect())
}

/// Decoded tracks kept at once (a minute of track is 11 MB of samples).
const CACHED_TRACKS: usize = 8;

impl live::Tracks for StoredTracks {
    fn load(&self, room: String, id: String) -> live::Loading {
        let platform = self.platform.clone();
        let cache = self.cache.clone();
        Box::pin(async move {
            if let Some(rec) = id.strip_prefix(RECORDING_TRACK) {
                return recording_samples(&platform, &room, rec).await;
            }
            let missing = || "That backing track is not in this room's library.".to_string();
            let track = db::track(platform.db.pool(), &id)
                .await
                .map_err(|e| e.to_string())?
                .filter(|t| t.room_id == room)
                .ok_or_else(missing)?;
            if let Some(samples) = cache.lock().expect("tracks lock").get(&id) {
                return Ok(samples.clone());
            }
            let key = track
                .pcm_key
                .filter(|_| track.status == "ready")
                .ok_or_else(|| format!("{} is not converted yet.", track.name))?;
            let bytes = platform.blobs.get(&key).await.map_err(|e| e.to_string())?;
            let samples: Arc<[f32]> = bytes
                .chunks_exact(2)
                .map(|c| i16::from_le_bytes([c[0], c[1]]) as f32 / 32767.0)
                .collect();
            let mut cache = cache.lock().expect("tracks lock");
            if cache.len() >= CACHED_TRACKS {
                cache.clear();
            }
            cache.insert(id, samples.clone());
            Ok(samples)
        })
    }
}

/// The studio as the server lists it.
pub struct ChoirStudio;

/// One source per language: the studio's plain pages, then the live room's (`choir-room-…`,
/// `choir-join-…`).
pub const MESSAGES: &[(&str, &str)] = &[
    (
        "en",
        concat!(
            include_str!("../locales/en/choir.ftl"),
            "\n",
            include_str!("../locales/en/room.ftl")
        ),
    ),
    (
        "he",
        concat!(
            include_str!("../locales/he/choir.ftl"),
            "\n",
            include_str!("../locales/he/room.ftl")
        ),
    ),
];

impl Studio for ChoirStudio {
    fn name(&self) -> &'static str {
        "choir"
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
            href: "/choir",
            label: "choir",
            about: "choir-about",
        })
    }

    fn mount(&self, platform: &Platform) -> Result<Mounted, PlatformError> {
        let choir = Choir::new(platform.clone());
        let routes = routes::routes(choir.clone());
        Ok(Mounted {
            routes,
            jobs: Some(Arc::new(move |worker| jobs::register(worker, &choir))),
            identity: None,
            forget: None,
        })
    }
}
