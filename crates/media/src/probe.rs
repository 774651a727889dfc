//! What a file is: container, codec, rate, channels, depth, exact duration and tags with
//! embedded cover art.
//!
//! The duration is never taken on trust. When the header gives no length, or 0 (Safari's
//! fragmented MP4, whose `moov` is written empty before any audio; MediaRecorder's WebM),
//! the file is decoded to count its frames. When it gives one, the container's packets
//! are read to the end without decoding (cheap: no codec runs) to check that the file
//! holds that much; if it does not (a WAV cut after its header or mid-data, a FLAC cut at
//! a frame), the file is decoded and reported with what really decodes and
//! `truncated: true`, as any file that ends mid-packet is. A file with no audio left at
//! all is an error ("the file ends before any audio").

use std::path::Path;
use std::sync::Arc;

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
    /// `header` when the container said how long it is (and the file holds that much),
    /// `decoded` when we counted.
    pub duration_source: &'static str,
    /// The file was cut off: its data ends mid-packet, or holds less than its header
    /// says. The duration covers what decodes.
    pub truncated: bool,
    pub tags: Tags,
    pub cover: Option<Cover>,
}

/// Probes a file on disk.
pub fn probe_path(path: &Path) -> Result<ProbeInfo> {
    probe(&|| Decoder::open_path(path))
}

/// Probes bytes in memory.
pub fn probe_bytes(bytes: Vec<u8>, ext: Option<&str>) -> Result<ProbeInfo> {
    let bytes: Arc<[u8]> = bytes.into();
    probe(&|| Decoder::open_shared(bytes.clone(), ext))
}

/// Frames a header may claim beyond what the packets add up to without counting as cut
/// off: rounding between a container's timebase and the sample rate.
const SLACK_FRAMES: u64 = 2;

/// `open` opens the file afresh each time it is called.
fn probe(open: &dyn Fn() -> Result<Decoder>) -> Result<ProbeInfo> {
    let mut decoder = open()?;
    let (tags, cover) = {
        let mut metadata = decoder.reader_mut().metadata();
        match metadata.skip_to_latest() {
            Some(revision) => read_tags(revision),
            None => (Tags::default(), None),
        }
    };
    let spec = decoder.spec();
    // Ogg Opus headers count the encoder's pre-skip in their length, so Opus is always
    // counted by decoding (cheap next to the certainty). A length of 0 is no length:
    // an empty-`moov` MP4 says 0 before fragments that hold the audio.
    let header_frames = decoder
        .total_frames()
        .filter(|&n| n > 0 && decoder.codec() != "opus");
    let holds = |counted: Option<u64>, claimed: u64| {
        counted.is_some_and(|c| c.saturating_add(SLACK_FRAMES) >= claimed)
    };
    let (frames, source, truncated) = match header_frames {
        Some(claimed) if holds(decoder.count_packets(), claimed) => (claimed, "header", false),
        Some(claimed) => {
            // The file holds less than its header says (or its packets could not be
            // read to the end): count what really decodes, from the start.
            let mut decoder = open()?;
            while decoder.read()?.is_some() {}
            let frames = decoder.decoded_frames();
            let cut = decoder.truncated() || frames.saturating_add(SLACK_FRAMES) < claimed;
            (frames, "decoded", cut)
        }
        None => {
            while decoder.read()?.is_some() {}
            (decoder.decoded_frames(), "decoded", decoder.truncated())
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
        truncated,
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
