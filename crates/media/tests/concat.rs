//! Joining recorded chunks: browser-like recordings made on the spot by ffmpeg (WebM/Opus
//! written to a pipe, so with no sizes or cues, as MediaRecorder writes it; Ogg/Opus as
//! Firefox writes it), split into chunks the way uploads arrive, and checked against the
//! decode of the unsplit file. Block and page offsets are found here by a second, simpler
//! walker, so the module's walk is checked against an independent reading.

use std::path::Path;
use std::process::Command;

use tutti_media::MediaError;
use tutti_media::concat::{ChunkSource, JoinOptions, Joined, join, join_with};
use tutti_media::decode::{DecodeLimits, Decoder};
use tutti_media::pcm::{PcmSource, read_all};

/// Runs ffmpeg and returns what it wrote to stdout.
fn ffmpeg(args: &[&str]) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-v", "error", "-y"])
        .args(args)
        .output()
        .expect("ffmpeg is installed");
    assert!(
        out.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// 10 s of a tone with a little noise, mono 48 kHz, as MediaRecorder-style WebM/Opus.
fn recording(format: &str, seconds: u32) -> Vec<u8> {
    let source = format!(
        "sine=frequency=330:sample_rate=48000:duration={seconds}[a];\
         anoisesrc=color=pink:amplitude=0.05:sample_rate=48000:duration={seconds}[b];\
         [a][b]amix=inputs=2:normalize=0"
    );
    let mut args = vec!["-filter_complex", &source, "-ac", "1"];
    args.extend_from_slice(&["-c:a", "libopus", "-b:a", "32k"]);
    if format == "webm" {
        args.extend_from_slice(&["-f", "webm", "-live", "1", "-cluster_time_limit", "1000"]);
    } else {
        args.extend_from_slice(&["-f", "ogg"]);
    }
    args.push("pipe:1");
    ffmpeg(&args)
}

fn decode_bytes(bytes: &[u8], ext: &str) -> Vec<f32> {
    let mut decoder = Decoder::open_bytes(bytes.to_vec(), Some(ext)).unwrap();
    read_all(&mut decoder).unwrap()
}

fn split(bytes: &[u8], at: &[usize]) -> Vec<ChunkSource> {
    let mut cuts = vec![0];
    cuts.extend_from_slice(at);
    cuts.push(bytes.len());
    cuts.windows(2)
        .map(|w| ChunkSource::Bytes(bytes[w[0]..w[1]].to_vec()))
        .collect()
}

fn read_joined(joined: &mut Joined) -> Vec<f32> {
    read_all(joined).unwrap()
}

/// An EBML varint: (value without marker, length).
fn vint(b: &[u8]) -> (u64, usize) {
    let len = b[0].leading_zeros() as usize + 1;
    let mut v = (b[0] as u64) & (0xFF >> len);
    for &x in &b[1..len] {
        v = (v << 8) | x as u64;
    }
    (v, len)
}

/// A Matroska block as the test sees it: where its element starts, where its (only)
/// frame starts, and that frame's samples.
#[derive(Debug, Clone, Copy)]
struct Block {
    element: usize,
    frame: usize,
    samples: u64,
}

/// Walks ffmpeg's WebM: descends into Segment, Cluster and BlockGroup, skips the rest;
/// also returns the Opus pre-skip found in CodecPrivate.
fn webm_blocks(b: &[u8]) -> (Vec<Block>, u64) {
    let mut blocks = Vec::new();
    let mut preskip = 0;
    let mut at = 0;
    while at < b.len() {
        let id_len = b[at].leading_zeros() as usize + 1;
        let id = b[at..at + id_len]
            .iter()
            .fold(0u32, |v, &x| (v << 8) | x as u32);
        let (size, size_len) = vint(&b[at + id_len..]);
        let data = at + id_len + size_len;
        let unknown = size == (1u64 << (7 * size_len)) - 1;
        match id {
            0x1853_8067 | 0x1F43_B675 | 0xA0 | 0x1654_AE6B | 0xAE => at = data,
            0xA3 | 0xA1 => {
                let frame = data + 4; // track 0x81, timecode (2), flags
                let end = data + size as usize;
                if end > b.len() {
                    break;
                }
                let samples = opus_pure::packet::samples_48k(&b[frame..end]).unwrap();
                blocks.push(Block {
                    element: at,
                    frame,
                    samples: samples as u64,
                });
                at = end;
            }
            0x63A2 => {
                preskip = u16::from_le_bytes([b[data + 10], b[data + 11]]) as u64;
                at = data + size as usize;
            }
            _ => {
                assert!(!unknown, "unknown size on {id:#x}");
                at = data + size as usize;
            }
        }
    }
    (blocks, preskip)
}

/// Where chunk boundaries must fall for splits at byte offsets `at`: the samples of the
/// packets whose first byte comes before each split, less the pre-skip.
fn expected(packets: &[(usize, u64)], preskip: u64, at: &[usize]) -> Vec<Option<u64>> {
    let mut out = vec![Some(0)];
    for &cut in at {
        let before: u64 = packets
            .iter()
            .filter(|(o, _)| *o < cut)
            .map(|(_, n)| n)
            .sum();
        out.push(Some(before.saturating_sub(preskip)));
    }
    out
}

fn block_packets(blocks: &[Block]) -> Vec<(usize, u64)> {
    blocks.iter().map(|b| (b.frame, b.samples)).collect()
}

#[test]
fn webm_chunks_split_at_blocks_join_to_the_unsplit_decode_with_exact_boundaries() {
    let webm = recording("webm", 10);
    let reference = decode_bytes(&webm, "webm");
    let (blocks, preskip) = webm_blocks(&webm);
    let total: u64 = blocks.iter().map(|b| b.samples).sum();
    // The walk's arithmetic is the decoder's: all block samples less the pre-skip.
    assert_eq!(total - preskip, reference.len() as u64);
    assert!(preskip > 0);

    // MediaRecorder cuts at block boundaries, every ~2 s (100 blocks of 20 ms).
    let cuts: Vec<usize> = [100, 200, 300, 400]
        .iter()
        .map(|&i| blocks[i].element)
        .collect();
    let mut joined = join(split(&webm, &cuts)).unwrap();
    let want = expected(&block_packets(&blocks), preskip, &cuts);
    // Known before a single sample is decoded.
    assert_eq!(joined.boundaries(), want.as_slice());
    assert_eq!(joined.total_frames(), Some(reference.len() as u64));
    let samples = read_joined(&mut joined);
    assert_eq!(
        samples, reference,
        "byte concatenation decodes bit-identically"
    );
    assert_eq!(joined.boundaries(), want.as_slice());
    assert_eq!(joined.file_starts(), vec![0]);
    assert!(joined.declicked().is_empty());
    assert_eq!(want[1], Some(100 * 960 - preskip));
    assert!(want.windows(2).all(|w| w[0] < w[1]), "{want:?}");
}

#[test]
fn webm_chunks_split_anywhere_still_decode_identically() {
    let webm = recording("webm", 4);
    let reference = decode_bytes(&webm, "webm");
    let (blocks, preskip) = webm_blocks(&webm);
    // Inside the header, inside a block's header, inside a block's payload, at 0 (an
    // empty first chunk), twice at the same place (an empty chunk in the middle).
    let mid = &blocks[60];
    let cuts = vec![
        0,
        50,
        blocks[10].element + 2,
        mid.frame + 3,
        mid.frame + 3,
        webm.len() - 7,
    ];
    let mut joined = join(split(&webm, &cuts)).unwrap();
    assert_eq!(read_joined(&mut joined), reference);
    let mut want = expected(&block_packets(&blocks), preskip, &cuts);
    want[1] = Some(0); // the empty chunk at 0 begins at 0 like chunk 0
    assert_eq!(joined.boundaries(), want.as_slice());
    assert!(want.windows(2).all(|w| w[0] <= w[1]));
}

/// Rewrites every Cluster's size as "unknown" (0x01FFFFFFFFFFFFFF), as Chrome writes them.
fn unknown_size_clusters(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len() + 1024);
    let mut at = 0;
    while at < b.len() {
        let id_len = b[at].leading_zeros() as usize + 1;
        let id = b[at..at + id_len]
            .iter()
            .fold(0u32, |v, &x| (v << 8) | x as u32);
        let (size, size_len) = vint(&b[at + id_len..]);
        let data = at + id_len + size_len;
        out.extend_from_slice(&b[at..at + id_len]);
        match id {
            0x1F43_B675 => {
                out.extend_from_slice(&[0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);
                at = data;
            }
            0x1853_8067 => {
                out.extend_from_slice(&b[at + id_len..data]);
                at = data;
            }
            _ => {
                let end = (data + size as usize).min(b.len());
                out.extend_from_slice(&b[at + id_len..end]);
                at = end;
            }
        }
    }
    out
}

#[test]
fn chrome_style_unknown_size_clusters_are_walked() {
    let webm = unknown_size_clusters(&recording("webm", 5));
    let reference = decode_bytes(&webm, "webm");
    let (blocks, preskip) = webm_blocks(&webm);
    assert_eq!(
        blocks.iter().map(|b| b.samples).sum::<u64>() - preskip,
        reference.len() as u64
    );
    let cuts: Vec<usize> = [49, 50, 150].iter().map(|&i| blocks[i].element).collect();
    // Chunks read from files, as the server keeps them.
    let dir = tempfile::tempdir().unwrap();
    let chunks: Vec<ChunkSource> = split(&webm, &cuts)
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            let ChunkSource::Bytes(bytes) = c else {
                unreachable!()
            };
            let path = dir.path().join(format!("{i}.part"));
            std::fs::write(&path, bytes).unwrap();
            ChunkSource::Path(path)
        })
        .collect();
    let mut joined = join(chunks).unwrap();
    assert_eq!(read_joined(&mut joined), reference);
    assert_eq!(
        joined.boundaries(),
        expected(&block_packets(&blocks), preskip, &cuts).as_slice()
    );
}

#[test]
fn an_upload_cut_off_inside_the_last_block_joins_like_the_decoder_reads_it() {
    let webm = recording("webm", 3);
    let (blocks, _) = webm_blocks(&webm);
    let cut = &webm[..blocks[120].frame + 10];
    let reference = decode_bytes(cut, "webm");
    let mut joined = join(split(cut, &[blocks[50].element])).unwrap();
    assert_eq!(read_joined(&mut joined), reference);
    assert!(joined.boundaries().iter().all(Option::is_some));
}

/// Ogg pages: (offset, packets as (first byte, samples)); ffmpeg's pages never split a
/// packet, so each lacing value below 255 ends one.
fn ogg_pages(b: &[u8]) -> (Vec<usize>, Vec<(usize, u64)>, u64) {
    let mut pages = Vec::new();
    let mut packets = Vec::new();
    let mut index = 0;
    let mut preskip = 0;
    let mut at = 0;
    while at < b.len() {
        assert_eq!(&b[at..at + 4], b"OggS");
        pages.push(at);
        let n = b[at + 26] as usize;
        let lacing = &b[at + 27..at + 27 + n];
        let mut offset = at + 27 + n;
        let mut start = offset;
        for &l in lacing {
            offset += l as usize;
            if l < 255 {
                if index == 0 {
                    preskip = u16::from_le_bytes([b[start + 10], b[start + 11]]) as u64;
                } else if index >= 2 {
                    let samples = opus_pure::packet::samples_48k(&b[start..offset]).unwrap();
                    packets.push((start, samples as u64));
                }
                index += 1;
                start = offset;
            }
        }
        at = offset;
    }
    (pages, packets, preskip)
}

#[test]
fn firefox_style_ogg_chunks_join_with_exact_boundaries() {
    let ogg = recording("ogg", 6);
    let reference = decode_bytes(&ogg, "ogg");
    let (pages, packets, preskip) = ogg_pages(&ogg);
    // The decoder stops where the last page's granule says the audio ends, inside the
    // final (padded) packet.
    let padded = packets.iter().map(|p| p.1).sum::<u64>() - preskip;
    let last = packets.last().unwrap().1;
    assert!(reference.len() as u64 <= padded && reference.len() as u64 > padded - last);
    assert!(pages.len() > 5, "{} pages", pages.len());
    // At page boundaries (as Firefox cuts) and once in the middle of a page.
    let cuts = vec![pages[2], pages[3], pages[3] + 100, pages[5]];
    let mut joined = join(split(&ogg, &cuts)).unwrap();
    let want = expected(&packets, preskip, &cuts);
    assert_eq!(joined.boundaries(), want.as_slice());
    assert_eq!(read_joined(&mut joined), reference);
    assert_eq!(joined.boundaries(), want.as_slice());
    assert_eq!(joined.total_frames(), Some(reference.len() as u64));
}

/// Writes mono 16-bit WAV.
fn wav(samples: &[f32], rate: u32) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::new(&mut out, spec).unwrap();
    for &s in samples {
        writer.write_sample((s * 32767.0).round() as i16).unwrap();
    }
    writer.finalize().unwrap();
    out.into_inner()
}

/// Largest sample-to-sample step within `radius` frames of `at` (mono).
fn step_near(samples: &[f32], at: usize, radius: usize) -> f32 {
    (at.saturating_sub(radius).max(1)..(at + radius).min(samples.len()))
        .map(|i| (samples[i] - samples[i - 1]).abs())
        .fold(0.0, f32::max)
}

#[test]
fn independent_wav_files_cut_from_one_tone_join_seamlessly() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole.wav");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=48000:duration=6",
        "-c:a",
        "pcm_s16le",
        whole.to_str().unwrap(),
    ]);
    let reference = read_all(&mut Decoder::open_path(&whole).unwrap()).unwrap();
    let cuts = [0usize, 96_000, 196_000, reference.len()];
    let mut chunks = Vec::new();
    for (i, w) in cuts.windows(2).enumerate() {
        let part = dir.path().join(format!("part{i}.wav"));
        ffmpeg(&[
            "-i",
            whole.to_str().unwrap(),
            "-af",
            &format!("atrim=start_sample={}:end_sample={}", w[0], w[1]),
            "-c:a",
            "pcm_s16le",
            part.to_str().unwrap(),
        ]);
        chunks.push(ChunkSource::Path(part));
    }
    let mut joined = join(chunks).unwrap();
    let samples = read_joined(&mut joined);
    assert_eq!(samples, reference, "nothing added, lost or altered");
    assert_eq!(joined.file_starts(), vec![0, 1, 2]);
    assert_eq!(joined.boundaries(), &[Some(0), Some(96_000), Some(196_000)]);
    assert!(joined.declicked().is_empty());
}

#[test]
fn independent_opus_files_join_end_to_end_without_clicks() {
    let dir = tempfile::tempdir().unwrap();
    let mut chunks = Vec::new();
    let mut lengths = Vec::new();
    for (i, (start, seconds)) in [(0.0, 2.0), (2.0, 2.5), (4.5, 1.5)].iter().enumerate() {
        let part = dir.path().join(format!("part{i}.webm"));
        ffmpeg(&[
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000:duration=6",
            "-ss",
            &start.to_string(),
            "-t",
            &seconds.to_string(),
            "-c:a",
            "libopus",
            part.to_str().unwrap(),
        ]);
        let mut decoder = Decoder::open_path(&part).unwrap();
        lengths.push(read_all(&mut decoder).unwrap().len() as u64);
        chunks.push(ChunkSource::Path(part));
    }
    let mut joined = join(chunks).unwrap();
    let samples = read_joined(&mut joined);
    assert_eq!(samples.len() as u64, lengths.iter().sum::<u64>());
    let b0 = lengths[0];
    let b1 = b0 + lengths[1];
    assert_eq!(joined.boundaries(), &[Some(0), Some(b0), Some(b1)]);
    for at in [b0 as usize, b1 as usize] {
        let jump = (samples[at] - samples[at - 1]).abs();
        assert!(jump < 0.03, "step of {jump} at the join at {at}");
    }
}

#[test]
fn an_abrupt_join_is_declicked_without_changing_the_length() {
    // A tone that ends high, then one that starts low: a step of ~0.9.
    let a: Vec<f32> = (0..4800)
        .map(|i| 0.45 + 0.01 * (i as f32 * 0.05).sin())
        .collect();
    let b: Vec<f32> = (0..4800)
        .map(|i| -0.45 + 0.01 * (i as f32 * 0.05).sin())
        .collect();
    let chunks = vec![
        ChunkSource::Bytes(wav(&a, 48_000)),
        ChunkSource::Bytes(wav(&b, 48_000)),
    ];
    let mut joined = join(chunks.clone()).unwrap();
    let samples = read_joined(&mut joined);
    assert_eq!(samples.len(), 9600);
    assert_eq!(joined.boundaries(), &[Some(0), Some(4800)]);
    assert_eq!(joined.declicked(), &[1]);
    let worst = step_near(&samples, 4800, 400);
    assert!(worst < 0.02, "largest step near the join {worst}");
    // Past the 3 ms ramp the audio is untouched.
    let plain = read_all(
        &mut join_with(
            chunks,
            JoinOptions {
                declick: false,
                ..JoinOptions::default()
            },
        )
        .unwrap(),
    )
    .unwrap();
    assert!((step_near(&plain, 4800, 1) - 0.9).abs() < 0.01);
    assert_eq!(samples[4800 + 144..], plain[4800 + 144..]);
    assert_eq!(samples[..4800], plain[..4800]);
}

#[test]
fn a_new_recording_after_a_reload_starts_a_new_file_and_offsets_follow_on() {
    let first = recording("webm", 3);
    let second = recording("webm", 2);
    let (blocks_a, preskip_a) = webm_blocks(&first);
    let (blocks_b, preskip_b) = webm_blocks(&second);
    let frames_a = decode_bytes(&first, "webm").len() as u64;
    let frames_b = decode_bytes(&second, "webm").len() as u64;
    let cut_a = blocks_a[75].element;
    let cut_b = blocks_b[40].element;
    let mut chunks = split(&first, &[cut_a]);
    chunks.extend(split(&second, &[cut_b]));
    let mut joined = join(chunks).unwrap();
    assert_eq!(joined.file_starts(), vec![0, 2]);
    let in_a = 75 * 960 - preskip_a;
    // The second file's offsets are known once decoding reaches it.
    assert_eq!(joined.boundaries(), &[Some(0), Some(in_a), None, None]);
    let samples = read_joined(&mut joined);
    assert_eq!(samples.len() as u64, frames_a + frames_b);
    let in_b = 40 * 960 - preskip_b;
    assert_eq!(
        joined.boundaries(),
        &[Some(0), Some(in_a), Some(frames_a), Some(frames_a + in_b)]
    );
}

fn err(chunks: Vec<ChunkSource>) -> MediaError {
    match join(chunks) {
        Ok(mut joined) => match read_all(&mut joined) {
            Ok(samples) => panic!("joined {} samples", samples.len()),
            Err(e) => e,
        },
        Err(e) => e,
    }
}

#[test]
fn hostile_chunk_lists_fail_with_a_clear_error() {
    assert!(matches!(err(vec![]), MediaError::Empty(_)));
    assert!(matches!(
        err(vec![ChunkSource::Bytes(vec![]), ChunkSource::Bytes(vec![])]),
        MediaError::Empty(_)
    ));
    let text = b"Hello, this is not audio at all, just words.".to_vec();
    match err(vec![ChunkSource::Bytes(text.clone())]) {
        MediaError::Unsupported(m) => assert!(m.contains("chunk 0"), "{m}"),
        e => panic!("{e:?}"),
    }

    // A non-audio chunk in the middle of a WebM recording.
    let webm = recording("webm", 3);
    let (blocks, _) = webm_blocks(&webm);
    let mut chunks = split(&webm, &[blocks[50].element, blocks[100].element]);
    chunks.insert(2, ChunkSource::Bytes(text.clone()));
    match err(chunks) {
        MediaError::Corrupt(m) => assert!(m.contains("chunk 2"), "{m}"),
        e => panic!("{e:?}"),
    }
    // A PNG's signature is not one we treat as a new file either.
    let mut chunks = split(&webm, &[blocks[50].element]);
    chunks.insert(
        1,
        ChunkSource::Bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec()),
    );
    match err(chunks) {
        MediaError::Corrupt(m) => assert!(m.contains("chunk 1"), "{m}"),
        e => panic!("{e:?}"),
    }

    // A non-audio chunk in the middle of an Ogg recording fails the page checks.
    let ogg = recording("ogg", 3);
    let (pages, _, _) = ogg_pages(&ogg);
    let mut chunks = split(&ogg, &[pages[2]]);
    chunks.insert(1, ChunkSource::Bytes(text.clone()));
    match err(chunks) {
        MediaError::Corrupt(m) => assert!(m.contains("chunk 1"), "{m}"),
        e => panic!("{e:?}"),
    }

    // WAV cannot be continued by raw bytes.
    let tone: Vec<f32> = (0..4800).map(|i| (i as f32 * 0.01).sin() * 0.5).collect();
    match err(vec![
        ChunkSource::Bytes(wav(&tone, 48_000)),
        ChunkSource::Bytes(text.clone()),
        ChunkSource::Bytes(wav(&tone, 48_000)),
    ]) {
        MediaError::Corrupt(m) => assert!(m.contains("chunk 1"), "{m}"),
        e => panic!("{e:?}"),
    }

    // A chunk with its own header that is not decodable audio.
    let mut fake = b"RIFF\x10\0\0\0WAVEjunk".to_vec();
    fake.extend_from_slice(&[0; 32]);
    let e = err(vec![
        ChunkSource::Bytes(wav(&tone, 48_000)),
        ChunkSource::Bytes(fake),
    ]);
    assert!(e.to_string().contains("chunk 1"), "{e}");

    // Different sample rates: chunks of different recordings were mixed.
    match err(vec![
        ChunkSource::Bytes(wav(&tone, 48_000)),
        ChunkSource::Bytes(wav(&tone, 48_000)),
        ChunkSource::Bytes(wav(&tone, 44_100)),
    ]) {
        MediaError::Corrupt(m) => assert!(m.contains("chunk 2") && m.contains("44100"), "{m}"),
        e => panic!("{e:?}"),
    }

    // A missing chunk file.
    match err(vec![ChunkSource::Path(
        Path::new("/nonexistent/0.webm").into(),
    )]) {
        MediaError::Io(e) => assert!(e.to_string().contains("chunk 0"), "{e}"),
        e => panic!("{e:?}"),
    }

    // Limits hold over the whole join, not per chunk.
    let chunks: Vec<ChunkSource> = (0..3)
        .map(|_| ChunkSource::Bytes(wav(&tone, 48_000)))
        .collect();
    let options = JoinOptions {
        limits: DecodeLimits { max_seconds: 0.25 },
        ..JoinOptions::default()
    };
    let mut joined = join_with(chunks, options).unwrap();
    assert!(matches!(read_all(&mut joined), Err(MediaError::Limit(_))));
}

#[test]
fn empty_chunks_take_the_offset_of_what_follows() {
    let tone: Vec<f32> = (0..4800).map(|i| (i as f32 * 0.01).sin() * 0.5).collect();
    let chunks = vec![
        ChunkSource::Bytes(vec![]),
        ChunkSource::Bytes(wav(&tone, 48_000)),
        ChunkSource::Bytes(vec![]),
        ChunkSource::Bytes(wav(&tone, 48_000)),
        ChunkSource::Bytes(vec![]),
    ];
    let mut joined = join(chunks).unwrap();
    assert_eq!(read_joined(&mut joined).len(), 9600);
    assert_eq!(
        joined.boundaries(),
        &[Some(0), Some(0), Some(4800), Some(4800), Some(9600)]
    );
}

#[test]
fn real_mediarecorder_chunks_from_chromium_join_with_exact_boundaries() {
    // Made by fixtures/mediarecorder/record.mjs: Chromium's fake microphone, 3 s,
    // MediaRecorder timeslices of 500 ms. Chrome cuts wherever its muxer flushed, even
    // between a block's id and its size.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mediarecorder");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "part"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 4, "{paths:?}");
    let mut whole = Vec::new();
    let mut cuts = Vec::new();
    for p in &paths {
        if !whole.is_empty() {
            cuts.push(whole.len());
        }
        whole.extend_from_slice(&std::fs::read(p).unwrap());
    }
    let reference = decode_bytes(&whole, "webm");
    let (blocks, preskip) = webm_blocks(&whole);
    assert_eq!(
        blocks.iter().map(|b| b.samples).sum::<u64>() - preskip,
        reference.len() as u64
    );
    let seconds = reference.len() as f64 / 48_000.0;
    assert!((2.5..3.6).contains(&seconds), "{seconds} s");

    let mut joined = join(paths.into_iter().map(ChunkSource::Path).collect()).unwrap();
    let want = expected(&block_packets(&blocks), preskip, &cuts);
    assert_eq!(joined.boundaries(), want.as_slice());
    assert_eq!(read_joined(&mut joined), reference);
    assert_eq!(joined.boundaries(), want.as_slice());
    assert!(want.windows(2).all(|w| w[0] < w[1]), "{want:?}");
}

/// Recordings to damage: a WebM and an Ogg from ffmpeg (1 s each) and Chromium's real
/// chunks, made once.
fn damage_sources() -> &'static [Vec<u8>] {
    static SOURCES: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    SOURCES.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mediarecorder");
        let mut chromium = Vec::new();
        for k in 0..6 {
            chromium.extend(std::fs::read(dir.join(format!("chunk-{k:02}.part"))).unwrap());
        }
        vec![recording("webm", 1), recording("ogg", 1), chromium]
    })
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// The walkers read whatever an upload holds: damaged recordings cut into chunks
    /// anywhere join, or fail with an error, and never panic; what joins has offsets in
    /// order within what was decoded. (`crates/media/fuzz`, target `join_chunks`, does
    /// the same without a seed.)
    #[test]
    fn damaged_recordings_join_or_fail_without_panicking(
        which in 0usize..3,
        flips in proptest::collection::vec(
            (proptest::prelude::any::<proptest::sample::Index>(), proptest::prelude::any::<u8>()),
            0..6,
        ),
        cuts in proptest::collection::vec(proptest::prelude::any::<proptest::sample::Index>(), 0..5),
        keep in 1usize..=100,
    ) {
        let mut bytes = damage_sources()[which].clone();
        bytes.truncate((bytes.len() * keep).div_ceil(100));
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] ^= value;
        }
        let mut at: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len())).collect();
        at.sort_unstable();
        let chunks = split(&bytes, &at);
        let n = chunks.len();
        if let Ok(mut joined) = join(chunks) {
            let result = read_all(&mut joined);
            let frames = joined.frames();
            proptest::prop_assert_eq!(joined.boundaries().len(), n);
            if let Ok(samples) = result {
                proptest::prop_assert_eq!(samples.len() as u64, frames);
                let known: Vec<u64> = joined.boundaries().iter().flatten().copied().collect();
                proptest::prop_assert!(known.windows(2).all(|w| w[0] <= w[1]));
                proptest::prop_assert!(known.iter().all(|&b| b <= frames));
            }
        }
    }
}
