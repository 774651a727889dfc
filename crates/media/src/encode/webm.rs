//! WebM (Matroska) for Opus: the container Chrome records in and every browser plays.
//!
//! Written by hand. The `webm` crate (libwebm bindings) was the candidate, but its API
//! cannot set `CodecDelay`, `SeekPreRoll` or a block's `DiscardPadding`, which Opus in
//! WebM needs for exact start and end trimming; an audio-only WebM with one track is a
//! few dozen EBML elements, all of them here:
//!
//! ```text
//! EBML header (DocType webm, version 4)
//! Segment
//!   SeekHead → Info, Tracks, Cues       (seekable outputs: written over a reserved Void)
//!   Info: TimestampScale 1 ms, Duration  (Duration on seekable outputs only)
//!   Tracks: one A_OPUS track, CodecPrivate = OpusHead, CodecDelay, SeekPreRoll 80 ms
//!   Cluster (≤ 5 s): Timestamp, SimpleBlock … and a BlockGroup with DiscardPadding last
//!   Cues: one point per cluster          (seekable outputs only)
//! ```
//!
//! Each cluster is gathered in memory (5 s of audio, a few tens of KB) and written with
//! its exact size, so only the Segment's size is left "unknown" on a stream, as in
//! MediaRecorder's files; on a seekable output it, the duration and the SeekHead are
//! filled in at the end. Block timestamps count from the first decoded sample, pre-skip
//! included; the decoder drops `CodecDelay` at the start.

use super::opus::{FRAME_48K, FRAME_MS, OpusMux, StreamHead};
use super::{Out, Output};
use crate::ebml::*;
use crate::{MediaError, Result};

/// Bytes kept free at the start of the Segment for the SeekHead (which needs 68).
const SEEK_HEAD_ROOM: usize = 80;
/// Packets per cluster: 5 s, WebM's recommended cluster length.
const PACKETS_PER_CLUSTER: u64 = 250;
/// Opus needs 80 ms of decoding before a seek target to converge (RFC 7845 §4.6).
const SEEK_PRE_ROLL_NS: u64 = 80_000_000;
const TRACK: u64 = 1;

pub struct WebmMux {
    out: Out,
    pre_skip: u64,
    /// Offset of the Segment's data, which SeekHead and Cues positions count from.
    segment_data: u64,
    /// Offset of the Duration value (8 bytes), on seekable outputs.
    duration_at: Option<u64>,
    info_pos: u64,
    tracks_pos: u64,
    packets: u64,
    /// Body of the cluster being gathered (after its Timestamp element).
    cluster: Vec<u8>,
    cluster_start_ms: u64,
    cluster_packets: u64,
    /// (time in ms, position) of each cluster, for Cues.
    cues: Vec<(u64, u64)>,
    scratch: Vec<u8>,
}

impl WebmMux {
    pub fn new(out: Output) -> WebmMux {
        WebmMux {
            out: Out::new(out),
            pre_skip: 0,
            segment_data: 0,
            duration_at: None,
            info_pos: 0,
            tracks_pos: 0,
            packets: 0,
            cluster: Vec::with_capacity(64 * 1024),
            cluster_start_ms: 0,
            cluster_packets: 0,
            cues: Vec::new(),
            scratch: Vec::with_capacity(64),
        }
    }

    fn flush_cluster(&mut self) -> Result<()> {
        if self.cluster_packets == 0 {
            return Ok(());
        }
        let pos = self.out.position() - self.segment_data;
        if self.out.is_seekable() {
            self.cues.push((self.cluster_start_ms, pos));
        }
        self.scratch.clear();
        let mut timestamp = Vec::with_capacity(12);
        write_uint(&mut timestamp, TIMESTAMP, self.cluster_start_ms);
        write_id(&mut self.scratch, CLUSTER);
        write_size(
            &mut self.scratch,
            (timestamp.len() + self.cluster.len()) as u64,
        );
        self.scratch.extend_from_slice(&timestamp);
        self.out.write_all(&self.scratch)?;
        self.out.write_all(&self.cluster)?;
        self.cluster.clear();
        self.cluster_packets = 0;
        Ok(())
    }
}

/// Nanoseconds in `samples` at 48 kHz, rounded.
fn ns_48k(samples: u64) -> u64 {
    (samples * 1_000_000_000 + 24_000) / 48_000
}

impl OpusMux for WebmMux {
    fn start(&mut self, head: &StreamHead) -> Result<()> {
        self.pre_skip = u64::from(head.pre_skip);
        let seekable = self.out.is_seekable();
        let mut b = Vec::with_capacity(256);

        let mut ebml = Vec::new();
        write_uint(&mut ebml, EBML_VERSION, 1);
        write_uint(&mut ebml, EBML_READ_VERSION, 1);
        write_uint(&mut ebml, EBML_MAX_ID_LENGTH, 4);
        write_uint(&mut ebml, EBML_MAX_SIZE_LENGTH, 8);
        write_bytes(&mut ebml, DOC_TYPE, b"webm");
        write_uint(&mut ebml, DOC_TYPE_VERSION, 4);
        write_uint(&mut ebml, DOC_TYPE_READ_VERSION, 2);
        write_bytes(&mut b, EBML, &ebml);

        write_id(&mut b, SEGMENT);
        b.extend_from_slice(&UNKNOWN_SIZE);
        let segment_data = b.len() as u64;

        if seekable {
            write_void(&mut b, SEEK_HEAD_ROOM);
        }

        let info_pos = b.len() as u64 - segment_data;
        let mut info = Vec::new();
        write_uint(&mut info, TIMESTAMP_SCALE, 1_000_000);
        write_bytes(&mut info, MUXING_APP, b"tutti");
        write_bytes(&mut info, WRITING_APP, b"tutti");
        let duration_in_info = if seekable {
            write_id(&mut info, DURATION);
            write_size(&mut info, 8);
            let at = info.len();
            info.extend_from_slice(&0f64.to_be_bytes());
            Some(at)
        } else {
            None
        };
        write_id(&mut b, INFO);
        write_size(&mut b, info.len() as u64);
        let info_body = b.len() as u64;
        b.extend_from_slice(&info);

        let tracks_pos = b.len() as u64 - segment_data;
        let mut audio = Vec::new();
        write_float(&mut audio, SAMPLING_FREQUENCY, 48_000.0);
        write_uint(&mut audio, CHANNELS, u64::from(head.channels));
        let mut entry = Vec::new();
        write_uint(&mut entry, TRACK_NUMBER, TRACK);
        write_uint(&mut entry, TRACK_UID, TRACK);
        write_uint(&mut entry, TRACK_TYPE, 2);
        write_uint(&mut entry, FLAG_LACING, 0);
        write_bytes(&mut entry, CODEC_ID, b"A_OPUS");
        write_bytes(&mut entry, CODEC_PRIVATE, &head.opus_head());
        write_uint(&mut entry, CODEC_DELAY, ns_48k(self.pre_skip));
        write_uint(&mut entry, SEEK_PRE_ROLL, SEEK_PRE_ROLL_NS);
        write_bytes(&mut entry, AUDIO, &audio);
        let mut tracks = Vec::new();
        write_bytes(&mut tracks, TRACK_ENTRY, &entry);
        write_bytes(&mut b, TRACKS, &tracks);

        let base = self.out.position();
        self.out.write_all(&b)?;
        self.segment_data = base + segment_data;
        self.duration_at = duration_in_info.map(|at| base + info_body + at as u64);
        self.info_pos = info_pos;
        self.tracks_pos = tracks_pos;
        Ok(())
    }

    fn packet(&mut self, data: &[u8], granule: u64, last: bool) -> Result<()> {
        let start_ms = self.packets * u64::from(FRAME_MS);
        if self.cluster_packets == PACKETS_PER_CLUSTER {
            self.flush_cluster()?;
        }
        if self.cluster_packets == 0 {
            self.cluster_start_ms = start_ms;
        }
        let relative = (start_ms - self.cluster_start_ms) as i16;
        let packet_end = (self.packets + 1) * FRAME_48K;
        let discard = packet_end.saturating_sub(granule);
        if last && discard > 0 {
            let mut group = Vec::with_capacity(data.len() + 16);
            block(&mut group, BLOCK, relative, 0x00, data);
            write_int(&mut group, DISCARD_PADDING, ns_48k(discard) as i64);
            write_bytes(&mut self.cluster, BLOCK_GROUP, &group);
        } else {
            // Flag 0x80: keyframe; every Opus packet decodes on its own.
            block(&mut self.cluster, SIMPLE_BLOCK, relative, 0x80, data);
        }
        self.packets += 1;
        self.cluster_packets += 1;
        if last {
            self.flush_cluster()?;
            if let Some(at) = self.duration_at {
                let ms = granule.saturating_sub(self.pre_skip) as f64 / 48.0;
                self.out.patch(at, &ms.to_be_bytes())?;
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        self.flush_cluster()?;
        if self.out.is_seekable() {
            let cues_pos = self.out.position() - self.segment_data;
            let mut cues = Vec::with_capacity(self.cues.len() * 16);
            for &(time, pos) in &self.cues {
                let mut positions = Vec::with_capacity(16);
                write_uint(&mut positions, CUE_TRACK, TRACK);
                write_uint(&mut positions, CUE_CLUSTER_POSITION, pos);
                let mut point = Vec::with_capacity(24);
                write_uint(&mut point, CUE_TIME, time);
                write_bytes(&mut point, CUE_TRACK_POSITIONS, &positions);
                write_bytes(&mut cues, CUE_POINT, &point);
            }
            let mut element = Vec::with_capacity(cues.len() + 12);
            write_bytes(&mut element, CUES, &cues);
            self.out.write_all(&element)?;

            let mut head = Vec::with_capacity(SEEK_HEAD_ROOM);
            let mut seeks = Vec::with_capacity(64);
            for (target, pos) in [
                (INFO, self.info_pos),
                (TRACKS, self.tracks_pos),
                (CUES, cues_pos),
            ] {
                let mut seek = Vec::with_capacity(24);
                write_bytes(&mut seek, SEEK_ID, &target.to_be_bytes());
                // Fixed width, so the SeekHead's size is known in advance.
                write_id(&mut seek, SEEK_POSITION);
                write_size(&mut seek, 8);
                seek.extend_from_slice(&pos.to_be_bytes());
                write_bytes(&mut seeks, SEEK, &seek);
            }
            write_bytes(&mut head, SEEK_HEAD, &seeks);
            match SEEK_HEAD_ROOM.checked_sub(head.len()) {
                Some(rest) if rest >= 2 => write_void(&mut head, rest),
                _ => {
                    return Err(MediaError::Encode(format!(
                        "WebM SeekHead took {} bytes of the {SEEK_HEAD_ROOM} reserved",
                        head.len()
                    )));
                }
            }
            self.out.patch(self.segment_data, &head)?;

            let segment_size = self.out.position() - self.segment_data;
            let mut vint = segment_size.to_be_bytes();
            vint[0] = 0x01;
            self.out.patch(self.segment_data - 8, &vint)?;
        }
        self.out.flush()?;
        Ok(())
    }
}

/// A SimpleBlock or Block: track, timestamp relative to the cluster, flags, no lacing.
fn block(b: &mut Vec<u8>, element: u32, relative: i16, flags: u8, data: &[u8]) {
    write_id(b, element);
    write_size(b, 4 + data.len() as u64);
    b.push(0x80 | TRACK as u8);
    b.extend_from_slice(&relative.to_be_bytes());
    b.push(flags);
    b.extend_from_slice(data);
}
