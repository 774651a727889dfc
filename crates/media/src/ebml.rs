//! EBML, the binary format under Matroska and WebM, as far as Tutti needs it: the element
//! ids both the WebM encoder ([`crate::encode::webm`]) and the chunk walker
//! ([`crate::concat`]) use, variable-length integers read and written, and the element
//! writers the encoder builds its files from. One definition, so the two cannot drift.
//!
//! Ids are kept with their length marker, as they are written (`0x1A45_DFA3`, not
//! `0x0A45_DFA3`); sizes drop the marker, and a size whose value bits are all ones means
//! "unknown" (MediaRecorder's Segment and Clusters).

// Matroska element ids.
pub const EBML: u32 = 0x1A45_DFA3;
pub const EBML_VERSION: u32 = 0x4286;
pub const EBML_READ_VERSION: u32 = 0x42F7;
pub const EBML_MAX_ID_LENGTH: u32 = 0x42F2;
pub const EBML_MAX_SIZE_LENGTH: u32 = 0x42F3;
pub const DOC_TYPE: u32 = 0x4282;
pub const DOC_TYPE_VERSION: u32 = 0x4287;
pub const DOC_TYPE_READ_VERSION: u32 = 0x4285;
pub const VOID: u32 = 0xEC;
pub const CRC32: u32 = 0xBF;
pub const SEGMENT: u32 = 0x1853_8067;
pub const SEEK_HEAD: u32 = 0x114D_9B74;
pub const SEEK: u32 = 0x4DBB;
pub const SEEK_ID: u32 = 0x53AB;
pub const SEEK_POSITION: u32 = 0x53AC;
pub const INFO: u32 = 0x1549_A966;
pub const TIMESTAMP_SCALE: u32 = 0x2A_D7B1;
pub const DURATION: u32 = 0x4489;
pub const MUXING_APP: u32 = 0x4D80;
pub const WRITING_APP: u32 = 0x5741;
pub const TRACKS: u32 = 0x1654_AE6B;
pub const TRACK_ENTRY: u32 = 0xAE;
pub const TRACK_NUMBER: u32 = 0xD7;
pub const TRACK_UID: u32 = 0x73C5;
pub const TRACK_TYPE: u32 = 0x83;
pub const FLAG_LACING: u32 = 0x9C;
pub const CODEC_ID: u32 = 0x86;
pub const CODEC_PRIVATE: u32 = 0x63A2;
pub const CODEC_DELAY: u32 = 0x56AA;
pub const SEEK_PRE_ROLL: u32 = 0x56BB;
pub const AUDIO: u32 = 0xE1;
pub const SAMPLING_FREQUENCY: u32 = 0xB5;
pub const CHANNELS: u32 = 0x9F;
pub const BIT_DEPTH: u32 = 0x6264;
pub const CLUSTER: u32 = 0x1F43_B675;
pub const TIMESTAMP: u32 = 0xE7;
pub const SILENT_TRACKS: u32 = 0x5854;
pub const POSITION: u32 = 0xA7;
pub const PREV_SIZE: u32 = 0xAB;
pub const SIMPLE_BLOCK: u32 = 0xA3;
pub const BLOCK_GROUP: u32 = 0xA0;
pub const BLOCK: u32 = 0xA1;
pub const ENCRYPTED_BLOCK: u32 = 0xAF;
pub const DISCARD_PADDING: u32 = 0x75A2;
pub const CUES: u32 = 0x1C53_BB6B;
pub const CUE_POINT: u32 = 0xBB;
pub const CUE_TIME: u32 = 0xB3;
pub const CUE_TRACK_POSITIONS: u32 = 0xB7;
pub const CUE_TRACK: u32 = 0xF7;
pub const CUE_CLUSTER_POSITION: u32 = 0xF1;
pub const CHAPTERS: u32 = 0x1043_A770;
pub const TAGS: u32 = 0x1254_C367;
pub const ATTACHMENTS: u32 = 0x1941_A469;

/// An element size of "unknown": the 8-byte VINT with every value bit set.
pub const UNKNOWN_SIZE: [u8; 8] = [0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];

/// Children allowed directly in a Segment.
pub fn segment_child(id: u32) -> bool {
    matches!(
        id,
        SEEK_HEAD | INFO | TRACKS | CUES | TAGS | CLUSTER | CHAPTERS | ATTACHMENTS | VOID | CRC32
    )
}

/// Children allowed directly in a Cluster.
pub fn cluster_child(id: u32) -> bool {
    matches!(
        id,
        TIMESTAMP
            | SILENT_TRACKS
            | POSITION
            | PREV_SIZE
            | SIMPLE_BLOCK
            | BLOCK_GROUP
            | ENCRYPTED_BLOCK
            | VOID
            | CRC32
    )
}

// ---- reading ------------------------------------------------------------------------------

/// Bytes in a VINT that begins with `first` (1 to 8), or `None` for a zero byte, which
/// cannot begin one.
pub fn vint_len(first: u8) -> Option<usize> {
    let len = first.leading_zeros() as usize + 1;
    (len <= 8).then_some(len)
}

/// A VINT at the start of `s`: (value, length in bytes). `keep_marker` for ids; sizes drop
/// it. `None` when `s` is too short or begins with a zero byte.
pub fn read_vint(s: &[u8], keep_marker: bool) -> Option<(u64, usize)> {
    let first = *s.first()?;
    let len = vint_len(first)?;
    let value = s.get(1..len)?.iter().fold(
        if keep_marker {
            first as u64
        } else {
            first as u64 & (0xFF >> len)
        },
        |v, &x| (v << 8) | x as u64,
    );
    Some((value, len))
}

/// Whether a size VINT of `len` bytes holding `value` (marker dropped) means "unknown".
pub fn is_unknown_size(value: u64, len: usize) -> bool {
    value == (1u64 << (7 * len)) - 1
}

// ---- writing ------------------------------------------------------------------------------

/// An element id, as written (its marker is part of the value).
pub fn write_id(b: &mut Vec<u8>, id: u32) {
    let bytes = id.to_be_bytes();
    let skip = bytes.iter().take_while(|&&x| x == 0).count();
    b.extend_from_slice(&bytes[skip..]);
}

/// An element's data size as a VINT of the fewest bytes.
pub fn write_size(b: &mut Vec<u8>, n: u64) {
    let mut len = 1;
    // All ones is reserved for "unknown", hence `>=`.
    while len < 8 && n >= (1u64 << (7 * len)) - 1 {
        len += 1;
    }
    let marked = n | (1u64 << (7 * len));
    b.extend_from_slice(&marked.to_be_bytes()[8 - len..]);
}

/// A whole element: id, size, body.
pub fn write_bytes(b: &mut Vec<u8>, element: u32, body: &[u8]) {
    write_id(b, element);
    write_size(b, body.len() as u64);
    b.extend_from_slice(body);
}

/// An unsigned integer element in the fewest bytes.
pub fn write_uint(b: &mut Vec<u8>, element: u32, v: u64) {
    let all = v.to_be_bytes();
    let skip = all.iter().take_while(|&&x| x == 0).count().min(7);
    write_bytes(b, element, &all[skip..]);
}

/// A signed integer element in the fewest bytes that keep its sign.
pub fn write_int(b: &mut Vec<u8>, element: u32, v: i64) {
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
    write_bytes(b, element, &all[skip..]);
}

/// A float element (8 bytes).
pub fn write_float(b: &mut Vec<u8>, element: u32, v: f64) {
    write_bytes(b, element, &v.to_be_bytes());
}

/// A Void element of exactly `total` bytes (2 to 127).
pub fn write_void(b: &mut Vec<u8>, total: usize) {
    debug_assert!((2..=127).contains(&total));
    write_id(b, VOID);
    write_size(b, (total - 2) as u64);
    b.resize(b.len() + total - 2, 0);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sized(n: u64) -> Vec<u8> {
        let mut b = Vec::new();
        write_size(&mut b, n);
        b
    }

    #[test]
    fn sizes_are_minimal_and_avoid_the_reserved_value() {
        assert_eq!(sized(0), [0x80]);
        assert_eq!(sized(126), [0xFE]);
        assert_eq!(sized(127), [0x40, 0x7F]);
        assert_eq!(sized(300), [0x41, 0x2C]);
        assert_eq!(sized(16_382), [0x7F, 0xFE]);
        assert_eq!(sized(16_383), [0x20, 0x3F, 0xFF]);
    }

    #[test]
    fn what_is_written_reads_back() {
        for n in [0, 1, 126, 127, 300, 16_383, 1 << 40, (1 << 56) - 2] {
            let b = sized(n);
            assert_eq!(read_vint(&b, false), Some((n, b.len())));
            assert!(!is_unknown_size(n, b.len()));
        }
        assert_eq!(read_vint(&UNKNOWN_SIZE, false), Some(((1 << 56) - 1, 8)));
        assert!(is_unknown_size((1 << 56) - 1, 8));
        assert!(is_unknown_size(0x7F, 1));
        for id in [
            EBML,
            SEGMENT,
            CLUSTER,
            TRACKS,
            CODEC_PRIVATE,
            TIMESTAMP_SCALE,
            VOID,
        ] {
            let mut b = Vec::new();
            write_id(&mut b, id);
            assert_eq!(read_vint(&b, true), Some((id as u64, b.len())));
        }
        assert_eq!(read_vint(&[0x00, 0x80], false), None);
        assert_eq!(read_vint(&[0x40], false), None, "a 2-byte VINT cut short");
    }

    #[test]
    fn signed_integers_keep_their_sign_in_few_bytes() {
        let enc = |v| {
            let mut b = Vec::new();
            write_int(&mut b, VOID, v);
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
            write_void(&mut b, total);
            assert_eq!(b.len(), total);
        }
    }
}
