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
use crate::{MediaError, Result};

const EBML: u32 = 0x1A45_DFA3;
const EBML_VERSION: u32 = 0x4286;
const EBML_READ_VERSION: u32 = 0x42F7;
const EBML_MAX_ID_LENGTH: u32 = 0x42F2;
const EBML_MAX_SIZE_LENGTH: u32 = 0x42F3;
const DOC_TYPE: u32 = 0x4282;
const DOC_TYPE_VERSION: u32 = 0x4287;
const DOC_TYPE_READ_VERSION: u32 = 0x4285;
const SEGMENT: u32 = 0x1853_8067;
const SEEK_HEAD: u32 = 0x114D_9B74;
const SEEK: u32 = 0x4DBB;
const SEEK_ID: u32 = 0x53AB;
const SEEK_POSITION: u32 = 0x53AC;
const VOID: u32 = 0xEC;
const INFO: u32 = 0x1549_A966;
const TIMESTAMP_SCALE: u32 = 0x2A_D7B1;
const DURATION: u32 = 0x4489;
const MUXING_APP: u32 = 0x4D80;
const WRITING_APP: u32 = 0x5741;
const TRACKS: u32 = 0x1654_AE6B;
const TRACK_ENTRY: u32 = 0xAE;
const TRACK_NUMBER: u32 = 0xD7;
const TRACK_UID: u32 = 0x73C5;
const TRACK_TYPE: u32 = 0x83;
const FLAG_LACING: u32 = 0x9C;
const CODEC_ID: u32 = 0x86;
const CODEC_PRIVATE: u32 = 0x63A2;
const CODEC_DELAY: u32 = 0x56AA;
const SEEK_PRE_ROLL: u32 = 0x56BB;
const AUDIO: u32 = 0xE1;
const SAMPLING_FREQUENCY: u32 = 0xB5;
const CHANNELS: u32 = 0x9F;
const CLUSTER: u32 = 0x1F43_B675;
const TIMESTAMP: u32 = 0xE7;
const SIMPLE_BLOCK: u32 = 0xA3;
const BLOCK_GROUP: u32 = 0xA0;
const BLOCK: u32 = 0xA1;
const DISCARD_PADDING: u32 = 0x75A2;
const CUES: u32 = 0x1C53_BB6B;
const CUE_POINT: u32 = 0xBB;
const CUE_TIME: u32 = 0xB3;
const CUE_TRACK_POSITIONS: u32 = 0xB7;
const CUE_TRACK: u32 = 0xF7;
const CUE_CLUSTER_POSITION: u32 = 0xF1;

/// An element size of "unknown": the 8-byte VINT with every value bit set.
const UNKNOWN_SIZE: [u8; 8] = [0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
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
        uint(&mut timestamp, TIMESTAMP, self.cluster_start_ms);
        id(&mut self.scratch, CLUSTER);
        size(
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
        uint(&mut ebml, EBML_VERSION, 1);
        uint(&mut ebml, EBML_READ_VERSION, 1);
        uint(&mut ebml, EBML_MAX_ID_LENGTH, 4);
        uint(&mut ebml, EBML_MAX_SIZE_LENGTH, 8);
        bytes(&mut ebml, DOC_TYPE, b"webm");
        uint(&mut ebml, DOC_TYPE_VERSION, 4);
        uint(&mut ebml, DOC_TYPE_READ_VERSION, 2);
        bytes(&mut b, EBML, &ebml);

        id(&mut b, SEGMENT);
        b.extend_from_slice(&UNKNOWN_SIZE);
        let segment_data = b.len() as u64;

        if seekable {
            void(&mut b, SEEK_HEAD_ROOM);
        }

        let info_pos = b.len() as u64 - segment_data;
        let mut info = Vec::new();
        uint(&mut info, TIMESTAMP_SCALE, 1_000_000);
        bytes(&mut info, MUXING_APP, b"tutti");
        bytes(&mut info, WRITING_APP, b"tutti");
        let duration_in_info = if seekable {
            id(&mut info, DURATION);
            size(&mut info, 8);
            let at = info.len();
            info.extend_from_slice(&0f64.to_be_bytes());
            Some(at)
        } else {
            None
        };
        id(&mut b, INFO);
        size(&mut b, info.len() as u64);
        let info_body = b.len() as u64;
        b.extend_from_slice(&info);

        let tracks_pos = b.len() as u64 - segment_data;
        let mut audio = Vec::new();
        float(&mut audio, SAMPLING_FREQUENCY, 48_000.0);
        uint(&mut audio, CHANNELS, u64::from(head.channels));
        let mut entry = Vec::new();
        uint(&mut entry, TRACK_NUMBER, TRACK);
        uint(&mut entry, TRACK_UID, TRACK);
        uint(&mut entry, TRACK_TYPE, 2);
        uint(&mut entry, FLAG_LACING, 0);
        bytes(&mut entry, CODEC_ID, b"A_OPUS");
        bytes(&mut entry, CODEC_PRIVATE, &head.opus_head());
        uint(&mut entry, CODEC_DELAY, ns_48k(self.pre_skip));
        uint(&mut entry, SEEK_PRE_ROLL, SEEK_PRE_ROLL_NS);
        bytes(&mut entry, AUDIO, &audio);
        let mut tracks = Vec::new();
        bytes(&mut tracks, TRACK_ENTRY, &entry);
        bytes(&mut b, TRACKS, &tracks);

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
            int(&mut group, DISCARD_PADDING, ns_48k(discard) as i64);
            bytes(&mut self.cluster, BLOCK_GROUP, &group);
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
                uint(&mut positions, CUE_TRACK, TRACK);
                uint(&mut positions, CUE_CLUSTER_POSITION, pos);
                let mut point = Vec::with_capacity(24);
                uint(&mut point, CUE_TIME, time);
                bytes(&mut point, CUE_TRACK_POSITIONS, &positions);
                bytes(&mut cues, CUE_POINT, &point);
            }
            let mut element = Vec::with_capacity(cues.len() + 12);
            bytes(&mut element, CUES, &cues);
            self.out.write_all(&element)?;

            let mut head = Vec::with_capacity(SEEK_HEAD_ROOM);
            let mut seeks = Vec::with_capacity(64);
            for (target, pos) in [
                (INFO, self.info_pos),
                (TRACKS, self.tracks_pos),
                (CUES, cues_pos),
            ] {
                let mut seek = Vec::with_capacity(24);
                bytes(&mut seek, SEEK_ID, &target.to_be_bytes());
                // Fixed width, so the SeekHead's size is known in advance.
                id(&mut seek, SEEK_POSITION);
                size(&mut seek, 8);
                seek.extend_from_slice(&pos.to_be_bytes());
                bytes(&mut seeks, SEEK, &seek);
            }
            bytes(&mut head, SEEK_HEAD, &seeks);
            match SEEK_HEAD_ROOM.checked_sub(head.len()) {
                Some(rest) if rest >= 2 => void(&mut head, rest),
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

fn id(b: &mut Vec<u8>, id: u32) {
    let bytes = id.to_be_bytes();
    let skip = bytes.iter().take_while(|&&x| x == 0).count();
    b.extend_from_slice(&bytes[skip..]);
}

/// An element's data size as an EBML VINT of the fewest bytes.
fn size(b: &mut Vec<u8>, n: u64) {
    let mut len = 1;
    // All ones is reserved for "unknown", hence `>=`.
    while len < 8 && n >= (1u64 << (7 * len)) - 1 {
        len += 1;
    }
    let marked = n | (1u64 << (7 * len));
    b.extend_from_slice(&marked.to_be_bytes()[8 - len..]);
}

fn bytes(b: &mut Vec<u8>, element: u32, body: &[u8]) {
    id(b, element);
    size(b, body.len() as u64);
    b.extend_from_slice(body);
}

fn uint(b: &mut Vec<u8>, element: u32, v: u64) {
    let all = v.to_be_bytes();
    let skip = all.iter().take_while(|&&x| x == 0).count().min(7);
    bytes(b, element, &all[skip..]);
}

fn int(b: &mut Vec<u8>, element: u32, v: i64) {
    let all = v.to_be_bytes();
    let mut skip = 0;
    // Drop leading bytes that only repeat the sign.
    while skip < 7 {
        let (lead, next) = (all[skip], all[skip + 1]);
        if (lead == 0x00 && next & 0x80 == 0) || (lead == 0xFF && next & 0x80 != 0) {
            skip += 1;
        } else {
            break;
        }
    }
    bytes(b, element, &all[skip..]);
}

fn float(b: &mut Vec<u8>, element: u32, v: f64) {
    bytes(b, element, &v.to_be_bytes());
}

/// A Void element of exactly `total` bytes (at least 2).
fn void(b: &mut Vec<u8>, total: usize) {
    debug_assert!((2..=127).contains(&total));
    id(b, VOID);
    size(b, (total - 2) as u64);
    b.resize(b.len() + total - 2, 0);
}

/// A SimpleBlock or Block: track, timestamp relative to the cluster, flags, no lacing.
fn block(b: &mut Vec<u8>, element: u32, relative: i16, flags: u8, data: &[u8]) {
    id(b, element);
    size(b, 4 + data.len() as u64);
    b.push(0x80 | TRACK as u8);
    b.extend_from_slice(&relative.to_be_bytes());
    b.push(flags);
    b.extend_from_slice(data);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sized(n: u64) -> Vec<u8> {
        let mut b = Vec::new();
        size(&mut b, n);
        b
    }

    #[test]
    fn vint_sizes_are_minimal_and_avoid_the_reserved_value() {
        assert_eq!(sized(0), [0x80]);
        assert_eq!(sized(126), [0xFE]);
        assert_eq!(sized(127), [0x40, 0x7F]);
        assert_eq!(sized(300), [0x41, 0x2C]);
        assert_eq!(sized(16_382), [0x7F, 0xFE]);
        assert_eq!(sized(16_383), [0x20, 0x3F, 0xFF]);
    }

    #[test]
    fn signed_integers_keep_their_sign_in_few_bytes() {
        let enc = |v| {
            let mut b = Vec::new();
            int(&mut b, VOID, v);
            b[2..].to_vec()
        };
        assert_eq!(enc(0), [0x00]);
        assert_eq!(enc(127), [0x7F]);
        assert_eq!(enc(128), [0x00, 0x80]);
        assert_eq!(enc(-1), [0xFF]);
        assert_eq!(enc(-129), [0xFF, 0x7F]);
        assert_eq!(enc(5_000_000), [0x4C, 0x4B, 0x40]);
    }

    #[test]
    fn void_fills_exactly() {
        for total in [2, 12, 80] {
            let mut b = Vec::new();
            void(&mut b, total);
            assert_eq!(b.len(), total);
        }
    }
}
