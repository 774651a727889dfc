//! Cutting an Ogg Opus stream into clips without re-encoding: each clip is the packets
//! that cover its stretch, remuxed into a file of its own, exact to the sample through
//! the Opus header's pre-skip (the start) and the last page's granule position (the
//! end), as RFC 7845 §4.2 and §4.5 provide. Cutting a one-hour reading into its sentences
//! then costs a read of the file, not a second encode, and the clips are the very
//! audio of the web copy (no second generation of lossy coding).
//!
//! Every clip keeps [`PRE_ROLL`] of packets before its start, which the decoder decodes
//! and discards, so its state has converged when the clip's first sample plays (the
//! pre-roll RFC 7845 §4.6 recommends after a seek).

use std::io::Cursor;

use ogg::reading::PacketReader;
use ogg::writing::{PacketWriteEndInfo, PacketWriter};

use crate::{MediaError, Result};

/// Decoded samples (48 kHz) kept before a clip's start for the decoder to converge.
pub const PRE_ROLL: u64 = 3840;

/// Packets per page in the clips written: one second of 20 ms packets.
const PACKETS_PER_PAGE: usize = 50;

/// The stream serial of every clip (a file holds one stream).
const SERIAL: u32 = 0x5475_7475;

/// One audio packet and where its decoded samples start (before pre-skip).
struct Packet {
    data: Vec<u8>,
    start: u64,
    samples: u64,
}

/// A stream read into its headers and packets.
struct Stream {
    head: Vec<u8>,
    tags: Vec<u8>,
    pre_skip: u64,
    packets: Vec<Packet>,
    /// Decoded samples after pre-skip and end trimming: the stream's length.
    length: u64,
}

fn corrupt(detail: impl Into<String>) -> MediaError {
    MediaError::Corrupt(detail.into())
}

fn read(bytes: &[u8]) -> Result<Stream> {
    let mut reader = PacketReader::new(Cursor::new(bytes));
    let mut next = || {
        reader
            .read_packet()
            .map_err(|e| corrupt(format!("not an Ogg stream: {e}")))
    };
    let head = next()?.ok_or_else(|| corrupt("the Ogg stream is empty"))?;
    if head.data.len() < 19 || &head.data[..8] != b"OpusHead" {
        return Err(corrupt("the Ogg stream does not carry Opus (no OpusHead)"));
    }
    let pre_skip = u64::from(u16::from_le_bytes([head.data[10], head.data[11]]));
    let tags = next()?.ok_or_else(|| corrupt("the Opus stream has no OpusTags"))?;
    let mut packets = Vec::new();
    let mut at = 0u64;
    let mut last_granule = 0u64;
    while let Some(p) = next()? {
        let samples = opus_pure::packet::samples_48k(&p.data).map_or(0, |n| n as u64);
        if p.last_in_page() {
            last_granule = p.absgp_page();
        }
        packets.push(Packet {
            data: p.data,
            start: at,
            samples,
        });
        at += samples;
    }
    let end = if last_granule > 0 {
        last_granule.min(at)
    } else {
        at
    };
    Ok(Stream {
        head: head.data,
        tags: tags.data,
        pre_skip,
        packets,
        length: end.saturating_sub(pre_skip),
    })
}

/// The length of an Ogg Opus stream in 48 kHz samples, as a player plays it.
pub fn ogg_opus_length(bytes: &[u8]) -> Result<u64> {
    Ok(read(bytes)?.length)
}

/// Cuts `bytes`, an Ogg Opus stream, into one Ogg Opus file per range. Ranges are
/// `[start, end)` in 48 kHz samples of the stream as played (after its pre-skip), in
/// any order; they may overlap. A range beyond the end is cut at the end; an empty one
/// is refused.
pub fn cut_ogg_opus(bytes: &[u8], ranges: &[(u64, u64)]) -> Result<Vec<Vec<u8>>> {
    let stream = read(bytes)?;
    ranges
        .iter()
        .map(|&(start, end)| cut_one(&stream, start, end.min(stream.length)))
        .collect()
}

fn cut_one(stream: &Stream, start: u64, end: u64) -> Result<Vec<u8>> {
    if end <= start {
        return Err(MediaError::setting(
            "range",
            format!("the clip {start}..{end} holds no audio"),
        ));
    }
    // Positions in the stream's decoded samples, pre-skip included.
    let (from, to) = (start + stream.pre_skip, end + stream.pre_skip);
    let wanted = from.saturating_sub(PRE_ROLL);
    let first = stream
        .packets
        .iter()
        .rposition(|p| p.start <= wanted)
        .unwrap_or(0);
    let last = stream
        .packets
        .iter()
        .rposition(|p| p.start < to)
        .ok_or_else(|| corrupt("the stream has no audio packets"))?;
    let base = stream.packets[first].start;
    let pre_skip = from - base;
    let pre_skip16 = u16::try_from(pre_skip)
        .map_err(|_| corrupt("the stream's packets are too long to cut it here"))?;
    let mut head = stream.head.clone();
    head[10..12].copy_from_slice(&pre_skip16.to_le_bytes());

    let mut out = Vec::new();
    {
        let mut writer = PacketWriter::new(&mut out);
        let io = |e: std::io::Error| MediaError::Io(e);
        writer
            .write_packet(head, SERIAL, PacketWriteEndInfo::EndPage, 0)
            .map_err(io)?;
        writer
            .write_packet(stream.tags.clone(), SERIAL, PacketWriteEndInfo::EndPage, 0)
            .map_err(io)?;
        let packets = &stream.packets[first..=last];
        for (i, p) in packets.iter().enumerate() {
            let done = p.start + p.samples - base;
            let (info, granule) = if i + 1 == packets.len() {
                // The last page's granule ends the clip inside its last packet.
                (PacketWriteEndInfo::EndStream, pre_skip + (end - start))
            } else if (i + 1) % PACKETS_PER_PAGE == 0 {
                (PacketWriteEndInfo::EndPage, done)
            } else {
                (PacketWriteEndInfo::NormalPacket, done)
            };
            writer
                .write_packet(p.data.clone(), SERIAL, info, granule)
                .map_err(io)?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::Decoder;
    use crate::encode::Output;
    use crate::pcm::{MemorySource, read_all};
    use crate::presets::Preset;
    use crate::transcode::{Target, transcode};
    use crate::{AudioSpec, PcmSource};

    fn encoded(samples: Vec<f32>) -> Vec<u8> {
        let spec = AudioSpec::new(48_000, 1).unwrap();
        let mut source = MemorySource::new(spec, samples);
        let path = tempfile::NamedTempFile::new().unwrap();
        let target = Target {
            preset: *Preset::by_name("speech-standard").unwrap(),
            output: Output::seekable(path.reopen().unwrap()),
        };
        transcode(&mut source, vec![target], None, &mut |_| {}).unwrap();
        std::fs::read(path.path()).unwrap()
    }

    fn decoded(bytes: Vec<u8>) -> Vec<f32> {
        let mut d = Decoder::open_bytes(bytes, Some("opus")).unwrap();
        assert_eq!(d.spec().sample_rate, 48_000);
        read_all(&mut d).unwrap()
    }

    #[test]
    fn clips_are_exact_to_the_sample_and_sound_like_the_stream() {
        // A tone whose pitch changes every second, so a clip from the wrong place sounds
        // different.
        let samples: Vec<f32> = (0..48_000 * 6)
            .map(|i| {
                let hz = 200.0 + 100.0 * (i / 48_000) as f32;
                0.4 * (i as f32 * hz * std::f32::consts::TAU / 48_000.0).sin()
            })
            .collect();
        let bytes = encoded(samples.clone());
        assert_eq!(ogg_opus_length(&bytes).unwrap(), samples.len() as u64);
        let whole = decoded(bytes.clone());
        let ranges = [
            (0, 24_000),
            (50_000, 130_123),
            (200_000, 288_000),
            (250_000, 900_000),
        ];
        let clips = cut_ogg_opus(&bytes, &ranges).unwrap();
        for ((start, end), clip) in ranges.iter().zip(clips) {
            let end = (*end).min(samples.len() as u64);
            let got = decoded(clip);
            assert_eq!(got.len() as u64, end - start, "{start}..{end}");
            // After the pre-roll the decoder matches the whole stream's decode closely.
            let reference = &whole[*start as usize..end as usize];
            let err: f32 = got
                .iter()
                .zip(reference)
                // The first 10 ms are the decoder settling after the pre-roll.
                .skip(480)
                .map(|(a, b)| (a - b).powi(2))
                .sum::<f32>()
                / (got.len().max(481) - 480) as f32;
            assert!(err < 1e-4, "{start}..{end}: mean square difference {err}");
        }
    }

    #[test]
    fn empty_ranges_and_other_streams_are_refused() {
        let bytes = encoded(vec![0.1; 48_000]);
        assert!(cut_ogg_opus(&bytes, &[(1000, 1000)]).is_err());
        assert!(cut_ogg_opus(b"RIFF....WAVEfmt ", &[(0, 10)]).is_err());
    }
}
