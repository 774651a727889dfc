//! What a file is: container, codec, rate, channels, depth, exact duration and tags with
//! embedded cover art. When the header has no length (MediaRecorder's WebM), the file is
//! decoded to count its frames, so the duration is always exact.

use std::path::Path;

use serde::Serialize;
use symphonia::core::meta::{MetadataRevision, StandardTag, StandardVisualKey};

use crate::Result;
use crate::decode::Decoder;
use crate::pcm::PcmSource;

/// Tags a person would recognise.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Tags {
    pub title: Option<String>,
    pub artist: Option<String>,
    pub album: Option<String>,
    pub album_artist: Option<String>,
    pub track_number: Option<u64>,
    pub year: Option<u16>,
}

/// An embedded picture (cover art).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Cover {
    pub mime: Option<String>,
    pub bytes: usize,
    #[serde(skip)]
    pub data: Vec<u8>,
}

/// Everything `tutti media probe` reports.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeInfo {
    pub container: String,
    pub codec: String,
    pub sample_rate: u32,
    pub channels: u16,
    pub bits_per_sample: Option<u32>,
    pub frames: u64,
    pub duration_seconds: f64,
    /// `header` when the container said how long it is, `decoded` when we counted.
    pub duration_source: &'static str,
    /// The data ended mid-packet; the duration covers what could be decoded.
    pub truncated: bool,
    pub tags: Tags,
    pub cover: Option<Cover>,
}

/// Probes a file on disk.
pub fn probe_path(path: &Path) -> Result<ProbeInfo> {
    probe(Decoder::open_path(path)?)
}

/// Probes bytes in memory.
pub fn probe_bytes(bytes: Vec<u8>, ext: Option<&str>) -> Result<ProbeInfo> {
    probe(Decoder::open_bytes(bytes, ext)?)
}

fn probe(mut decoder: Decoder) -> Result<ProbeInfo> {
    let (tags, cover) = {
        let mut metadata = decoder.reader_mut().metadata();
        match metadata.skip_to_latest() {
            Some(revision) => read_tags(revision),
            None => (Tags::default(), None),
        }
    };
    let spec = decoder.spec();
    // Ogg Opus headers count the encoder's pre-skip in their length, so Opus is always
    // counted by decoding (cheap next to the certainty).
    let header_frames = decoder.total_frames().filter(|_| decoder.codec() != "opus");
    let (frames, source) = match header_frames {
        Some(frames) => (frames, "header"),
        None => {
            while decoder.read()?.is_some() {}
            (decoder.decoded_frames(), "decoded")
        }
    };
    Ok(ProbeInfo {
        container: decoder.container().to_string(),
        codec: decoder.codec().to_string(),
        sample_rate: spec.sample_rate,
        channels: spec.channels,
        bits_per_sample: decoder.bits_per_sample(),
        frames,
        duration_seconds: spec.seconds(frames),
        duration_source: source,
        truncated: decoder.truncated(),
        tags,
        cover,
    })
}

fn read_tags(revision: &MetadataRevision) -> (Tags, Option<Cover>) {
    let mut tags = Tags::default();
    let containers =
        std::iter::once(&revision.media).chain(revision.per_track.iter().map(|t| &t.metadata));
    let mut cover = None;
    for container in containers {
        for tag in &container.tags {
            match &tag.std {
                Some(StandardTag::TrackTitle(v)) => tags.title.get_or_insert_with(|| v.to_string()),
                Some(StandardTag::Artist(v)) => tags.artist.get_or_insert_with(|| v.to_string()),
                Some(StandardTag::Album(v)) => tags.album.get_or_insert_with(|| v.to_string()),
                Some(StandardTag::AlbumArtist(v)) => {
                    tags.album_artist.get_or_insert_with(|| v.to_string())
                }
                Some(StandardTag::TrackNumber(n)) => {
                    tags.track_number.get_or_insert(*n);
                    continue;
                }
                Some(StandardTag::ReleaseYear(y)) | Some(StandardTag::RecordingYear(y)) => {
                    tags.year.get_or_insert(*y);
                    continue;
                }
                Some(StandardTag::ReleaseDate(d)) | Some(StandardTag::RecordingDate(d)) => {
                    if tags.year.is_none() {
                        tags.year = d.get(..4).and_then(|y| y.parse().ok());
                    }
                    continue;
                }
                _ => continue,
            };
        }
        // Prefer the front cover; otherwise take the first picture.
        for visual in &container.visuals {
            let front = visual.usage == Some(StandardVisualKey::FrontCover);
            if cover.is_none() || front {
                cover = Some(Cover {
                    mime: visual.media_type.clone(),
                    bytes: visual.data.len(),
                    data: visual.data.to_vec(),
                });
            }
        }
    }
    (tags, cover)
}
