//! The Matroska/WebM walker: element by element through a recording (sized elements, or
//! of unknown size as Chrome writes its Segment and Clusters), counting the samples of
//! every block of the first audio track, Opus or PCM, with any lacing. Ids and VINTs come
//! from [`crate::ebml`], which the WebM encoder writes with.

use std::io::{Read, Seek};

use super::walk::{Bytes, Counter, Walk, WalkError, Walked};
use crate::ebml::{self, *};

/// Most bytes of one Matroska block we read to count its samples; real Opus blocks are a
/// few hundred bytes, and a bigger one only costs us the offsets, never the decode.
const MAX_BLOCK_READ: u64 = 1 << 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Top,
    Segment,
    Cluster,
    BlockGroup,
    Tracks,
    TrackEntry,
    Audio,
}

#[derive(Default)]
struct Track {
    number: Option<u64>,
    kind: Option<u64>,
    codec: String,
    private: Vec<u8>,
    channels: Option<u64>,
    bit_depth: Option<u64>,
}

/// How to count the samples of one frame of the audio track.
enum Samples {
    Opus,
    /// PCM: bytes per frame of all channels.
    Pcm(u64),
    Unknown,
}

/// Reads an EBML variable-length integer of at most `max_len` bytes. For ids the length
/// marker is kept; for sizes it is dropped and the flag says "unknown size". `Ok(None)`:
/// the data ends inside it.
fn vint<R: Read + Seek>(
    b: &mut Bytes<R>,
    max_len: usize,
    keep_marker: bool,
) -> Walk<Option<(u64, bool)>> {
    let at = b.pos;
    let Some(first) = b.byte()? else {
        return Ok(None);
    };
    let mut raw = [first, 0, 0, 0, 0, 0, 0, 0];
    let len = match ebml::vint_len(first) {
        Some(len) if len <= max_len => len,
        _ => {
            return Err(WalkError {
                at,
                what: format!("byte {first:#04x} cannot begin a Matroska element"),
            });
        }
    };
    if !b.fill(&mut raw[1..len])? {
        return Ok(None);
    }
    let (value, _) = ebml::read_vint(&raw[..len], keep_marker).expect("a whole VINT");
    Ok(Some((
        value,
        !keep_marker && ebml::is_unknown_size(value, len),
    )))
}

/// Walks a Matroska/WebM byte stream, counting the samples of every block of the first
/// audio track (or telling the counter they cannot be counted), to its end.
pub(super) fn walk<R: Read + Seek>(b: &mut Bytes<R>, counter: &mut Counter) -> Walk<Walked> {
    let len = b.len();
    let mut cut = false;
    let mut stack: Vec<(Ctx, Option<u64>)> = Vec::new();
    let mut tracks: Vec<Track> = Vec::new();
    let mut audio: Option<(u64, Samples)> = None;
    let mut block = Vec::new();
    loop {
        let at = b.pos;
        if at >= len {
            break;
        }
        while stack
            .last()
            .is_some_and(|(_, end)| end.is_some_and(|e| at >= e))
        {
            stack.pop();
        }
        let Some((id, _)) = vint(b, 4, true)? else {
            cut = true;
            break;
        };
        let id = id as u32;
        let Some((size, unknown)) = vint(b, 8, false)? else {
            cut = true;
            break;
        };
        let data = b.pos;
        // A Cluster of unknown size (Chrome writes them) ends where an element that
        // cannot be its child begins.
        if let Some((Ctx::Cluster, None)) = stack.last()
            && !cluster_child(id)
        {
            stack.pop();
        }
        let (ctx, parent_end) = stack.last().copied().unwrap_or((Ctx::Top, None));
        let allowed = match ctx {
            Ctx::Top => matches!(id, EBML | SEGMENT | VOID | CRC32),
            Ctx::Segment => segment_child(id),
            Ctx::Cluster => cluster_child(id),
            Ctx::BlockGroup | Ctx::Tracks | Ctx::TrackEntry | Ctx::Audio => true,
        };
        if !allowed {
            return Err(WalkError {
                at,
                what: format!("element {id:#X} does not belong here"),
            });
        }
        if unknown && !matches!(id, SEGMENT | CLUSTER) {
            return Err(WalkError {
                at,
                what: format!("element {id:#X} has an unknown size"),
            });
        }
        let end = (!unknown).then(|| data.saturating_add(size));
        if let (Some(end), Some(parent)) = (end, parent_end)
            && end > parent
        {
            return Err(WalkError {
                at,
                what: format!("element {id:#X} runs past the element that holds it"),
            });
        }
        let leaf_in_track = matches!(ctx, Ctx::TrackEntry | Ctx::Audio);
        match id {
            SEGMENT => stack.push((Ctx::Segment, end)),
            CLUSTER => {
                if audio.is_none() {
                    audio = Some(audio_track(&tracks));
                }
                stack.push((Ctx::Cluster, end));
            }
            BLOCK_GROUP if ctx == Ctx::Cluster => stack.push((Ctx::BlockGroup, end)),
            TRACKS if ctx == Ctx::Segment => stack.push((Ctx::Tracks, end)),
            TRACK_ENTRY if ctx == Ctx::Tracks => {
                tracks.push(Track::default());
                stack.push((Ctx::TrackEntry, end));
            }
            AUDIO if ctx == Ctx::TrackEntry => stack.push((Ctx::Audio, end)),
            TRACK_NUMBER | TRACK_TYPE | CHANNELS | BIT_DEPTH | CODEC_ID | CODEC_PRIVATE
                if leaf_in_track && size <= MAX_BLOCK_READ =>
            {
                let mut value = vec![0u8; size as usize];
                if !b.fill(&mut value)? {
                    cut = true;
                    break;
                }
                let uint = || value.iter().take(8).fold(0u64, |v, &x| (v << 8) | x as u64);
                let Some(track) = tracks.last_mut() else {
                    continue;
                };
                match id {
                    TRACK_NUMBER => track.number = Some(uint()),
                    TRACK_TYPE => track.kind = Some(uint()),
                    CHANNELS => track.channels = Some(uint()),
                    BIT_DEPTH => track.bit_depth = Some(uint()),
                    CODEC_ID => {
                        track.codec = String::from_utf8_lossy(&value)
                            .trim_end_matches('\0')
                            .to_string();
                    }
                    _ => track.private = value,
                }
            }
            SIMPLE_BLOCK | BLOCK if matches!(ctx, Ctx::Cluster | Ctx::BlockGroup) => {
                if data.saturating_add(size) > len {
                    cut = true; // the upload ends inside this block
                    break;
                }
                let (number, samples) = audio.as_ref().expect("set on entering the cluster");
                block.resize(size.min(MAX_BLOCK_READ) as usize, 0);
                if !b.fill(&mut block)? {
                    cut = true;
                    break;
                }
                if !count_block(&block, size, data, *number, samples, counter) {
                    counter.uncountable();
                }
                b.skip(size - block.len() as u64)?;
            }
            _ => {
                if end.is_some_and(|e| e > len) {
                    cut = true; // the upload ends inside this element
                    break;
                }
                b.skip(size)?;
            }
        }
    }
    // An element whose declared size reaches past the data was cut off too, even when
    // the data ends between its children.
    cut |= stack.iter().any(|(_, end)| end.is_some_and(|e| e > len));
    let preskip = match audio {
        Some((_, Samples::Unknown)) => {
            counter.uncountable();
            0
        }
        Some((number, _)) => tracks
            .iter()
            .find(|t| t.number == Some(number))
            .map(|t| opus_preskip(&t.private))
            .unwrap_or(0),
        // No cluster at all: no audio, nothing to count.
        None => 0,
    };
    Ok(Walked { preskip, cut })
}

/// Whether a Matroska/WebM file ends exactly where its last element ends: `Some(true)`
/// for a whole file, also one of unknown sizes written to a pipe (where a demuxer can only
/// learn that the last Cluster is over by meeting the end of the data), `Some(false)` when
/// it was cut off inside an element, `None` when its elements cannot be walked.
pub(crate) fn ends_whole<R: Read + Seek>(source: R, len: u64) -> Option<bool> {
    let mut bytes = Bytes::new(source, len);
    let mut counter = Counter::new(Vec::new());
    walk(&mut bytes, &mut counter).ok().map(|w| !w.cut)
}

fn audio_track(tracks: &[Track]) -> (u64, Samples) {
    let Some(track) = tracks
        .iter()
        .find(|t| t.kind == Some(2) || (t.kind.is_none() && t.codec.starts_with("A_")))
    else {
        return (0, Samples::Unknown);
    };
    let number = track.number.unwrap_or(0);
    let samples = match track.codec.as_str() {
        "A_OPUS" => Samples::Opus,
        "A_PCM/INT/LIT" | "A_PCM/INT/BIG" | "A_PCM/FLOAT/IEEE" => {
            let bytes = track.channels.unwrap_or(1) * track.bit_depth.unwrap_or(0) / 8;
            if bytes == 0 {
                Samples::Unknown
            } else {
                Samples::Pcm(bytes)
            }
        }
        _ => Samples::Unknown,
    };
    (number, samples)
}

/// Counts the frames of one Matroska block (`head`: its first bytes; `size`: its full
/// size; `at`: its offset). Returns `false` when they cannot be counted.
fn count_block(
    head: &[u8],
    size: u64,
    at: u64,
    track: u64,
    samples: &Samples,
    counter: &mut Counter,
) -> bool {
    let mut p = 0usize;
    let Some((number, n)) = ebml::read_vint(head, false) else {
        return false;
    };
    p += n;
    if number != track {
        return true;
    }
    let Some(&flags) = head.get(p + 2) else {
        return false;
    };
    p += 3;
    let lacing = (flags >> 1) & 3;
    // Frame sizes; the last one is whatever remains of the block.
    let mut sizes: Vec<u64> = Vec::new();
    if lacing != 0 {
        let Some(&count) = head.get(p) else {
            return false;
        };
        p += 1;
        let frames = count as usize + 1;
        match lacing {
            1 => {
                for _ in 1..frames {
                    let mut s = 0u64;
                    loop {
                        let Some(&v) = head.get(p) else { return false };
                        p += 1;
                        s += v as u64;
                        if v != 255 {
                            break;
                        }
                    }
                    sizes.push(s);
                }
            }
            3 => {
                let mut prev = 0i64;
                for i in 1..frames {
                    let Some((v, n)) = ebml::read_vint(&head[p.min(head.len())..], false) else {
                        return false;
                    };
                    p += n;
                    let s = if i == 1 {
                        v as i64
                    } else {
                        prev + v as i64 - ((1i64 << (7 * n - 1)) - 1)
                    };
                    if s < 0 {
                        return false;
                    }
                    sizes.push(s as u64);
                    prev = s;
                }
            }
            _ => {
                let rest = size.saturating_sub(p as u64);
                if !rest.is_multiple_of(frames as u64) {
                    return false;
                }
                sizes = vec![rest / frames as u64; frames - 1];
            }
        }
    }
    let laced: u64 = sizes.iter().sum();
    let Some(last) = size.checked_sub(p as u64 + laced) else {
        return false;
    };
    sizes.push(last);
    let mut offset = p as u64;
    for s in sizes {
        let n = match samples {
            Samples::Opus => {
                let start = offset as usize;
                let end = (offset + s.min(2)) as usize;
                match head.get(start..end) {
                    Some(packet) => opus_samples(packet),
                    None => return false,
                }
            }
            Samples::Pcm(bytes) => s / bytes,
            Samples::Unknown => return false,
        };
        counter.packet(at + offset, Some(n));
        offset += s;
    }
    true
}

/// Samples (at 48 kHz) of an Opus packet from its first bytes (RFC 6716 §3.1, by
/// `opus_pure::packet`). An invalid packet counts 0, as the decoder drops it.
pub(super) fn opus_samples(packet: &[u8]) -> u64 {
    opus_pure::packet::samples_48k(packet).map_or(0, |n| n as u64)
}

/// The pre-skip of an `OpusHead` (bytes 10..12, little-endian); 0 if there is none, as
/// the decoder assumes.
pub(super) fn opus_preskip(head: &[u8]) -> u64 {
    if head.len() >= 12 && head.starts_with(b"OpusHead") {
        u16::from_le_bytes([head[10], head[11]]) as u64
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opus_packets_count_as_rfc_6716_says_and_invalid_ones_count_nothing() {
        // Config 1 (SILK NB 20 ms), one frame.
        assert_eq!(opus_samples(&[1 << 3]), 960);
        // Config 31 (CELT FB 20 ms), two frames.
        assert_eq!(opus_samples(&[(31 << 3) | 1]), 1920);
        // Config 16 (CELT 2.5 ms), code 3 with 48 frames = 120 ms.
        assert_eq!(opus_samples(&[(16 << 3) | 3, 48]), 5760);
        // Code 3 claiming 49 frames of 2.5 ms is over 120 ms, or 0 frames: invalid.
        assert_eq!(opus_samples(&[(16 << 3) | 3, 49]), 0);
        assert_eq!(opus_samples(&[(16 << 3) | 3, 0]), 0);
        // Code 3 without its frame-count byte, and no packet at all.
        assert_eq!(opus_samples(&[(16 << 3) | 3]), 0);
        assert_eq!(opus_samples(&[]), 0);
    }

    #[test]
    fn a_file_cut_inside_an_element_does_not_end_whole() {
        // EBML header, then a Segment of unknown size holding a Void of 4 bytes.
        let mut file = Vec::new();
        write_bytes(&mut file, EBML, &[]);
        write_id(&mut file, SEGMENT);
        file.extend_from_slice(&UNKNOWN_SIZE);
        write_bytes(&mut file, VOID, &[0; 4]);
        let whole = |b: &[u8]| ends_whole(std::io::Cursor::new(b.to_vec()), b.len() as u64);
        assert_eq!(whole(&file), Some(true));
        for cut in 1..file.len() {
            let expect = Some(cut == 5 || cut == 17);
            assert_eq!(whole(&file[..cut]), expect, "cut at {cut}");
        }
        assert_eq!(whole(b"\x00\x00\x00\x00"), None, "not EBML at all");
    }
}
