//! Where a public track's stream lives, remembered for a moment: a player asks for the
//! same stream dozens of times a minute (one range after another), and each ask would
//! otherwise read the track, its release and its renditions from the database. Only
//! answers anyone may hear are kept, and for [`STREAM_TTL`] only, so a take-down, an
//! unpublished release or a replaced audio file reaches every stream within that time
//! even when another server made the change.

use std::sync::Arc;
use std::time::Duration;

use tutti_platform::brief::Brief;

use crate::db::Rendition;

/// How long a resolved public stream is trusted without asking the database again.
pub const STREAM_TTL: Duration = Duration::from_secs(2);

/// Resolved public streams, by track and format.
pub struct Streams(Brief<(String, String), Arc<Rendition>>);

impl Default for Streams {
    fn default() -> Self {
        Streams(Brief::new(10_000, STREAM_TTL))
    }
}

impl Streams {
    /// The public stream of `track_id` in `format`, when resolved less than
    /// [`STREAM_TTL`] ago.
    pub fn get(&self, track_id: &str, format: &str) -> Option<Arc<Rendition>> {
        self.0.get(&(track_id.to_string(), format.to_string()))
    }

    /// Remembers a stream that was just found to be public.
    pub fn remember_public(&self, rendition: &Rendition) {
        self.0.remember(
            (rendition.track_id.clone(), rendition.format.clone()),
            Arc::new(rendition.clone()),
        );
    }

    /// The remembered streams, for [`tutti_platform::brief::forget_on_writes`].
    pub fn brief(&self) -> &Brief<(String, String), Arc<Rendition>> {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendition(track: &str, format: &str) -> Rendition {
        Rendition {
            track_id: track.into(),
            format: format.into(),
            blob_key: format!("music/{track}/{format}"),
            media_type: "audio/mpeg".into(),
            size_bytes: 1,
            bitrate_kbps: 128,
        }
    }

    #[test]
    fn streams_are_kept_per_track_and_format() {
        let streams = Streams::default();
        assert!(streams.get("t1", "mp3").is_none());
        streams.remember_public(&rendition("t1", "mp3"));
        assert_eq!(streams.get("t1", "mp3").unwrap().blob_key, "music/t1/mp3");
        assert!(streams.get("t1", "opus").is_none());
        assert!(streams.get("t2", "mp3").is_none());
        streams.brief().forget_all();
        assert!(streams.get("t1", "mp3").is_none());
    }
}
