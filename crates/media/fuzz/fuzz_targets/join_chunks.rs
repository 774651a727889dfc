//! Join arbitrary bytes as a list of recorded chunks: the container walkers (WebM
//! elements, Ogg pages, Opus packet counts) and the joined decode must never panic, and
//! what they report must hang together. The first byte says how many chunks to cut the
//! rest into, the next ones where; the bytes are the chunks as uploaded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tutti_media::concat::{ChunkSource, JoinOptions, join_with};
use tutti_media::decode::DecodeLimits;
use tutti_media::pcm::PcmSource;

fuzz_target!(|data: &[u8]| {
    static ONCE: std::sync::Once = std::sync::Once::new();
    // Panics contained inside the engine are not finds (see probe_decode.rs).
    ONCE.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    let Some((&count, rest)) = data.split_first() else {
        return;
    };
    let count = (count % 8) as usize;
    let (cuts, body) = rest.split_at(count.min(rest.len()));
    let mut at: Vec<usize> = cuts
        .iter()
        .map(|&c| c as usize * body.len() / 255)
        .collect();
    at.sort_unstable();
    let mut chunks = Vec::new();
    let mut start = 0;
    for end in at.into_iter().chain([body.len()]) {
        chunks.push(ChunkSource::Bytes(body[start..end].to_vec()));
        start = end;
    }
    let n = chunks.len();
    let options = JoinOptions {
        limits: DecodeLimits { max_seconds: 60.0 },
        declick: true,
    };
    let Ok(mut joined) = join_with(chunks, options) else {
        return;
    };
    let channels = joined.spec().channels as usize;
    let mut frames = 0u64;
    let clean = loop {
        match joined.read() {
            Ok(Some(block)) => {
                assert_eq!(block.len() % channels, 0, "a block of partial frames");
                assert!(block.iter().all(|s| s.is_finite()), "a non-finite sample");
                frames += (block.len() / channels) as u64;
            }
            Ok(None) => break true,
            Err(_) => break false,
        }
    };
    assert_eq!(frames, joined.frames());
    let boundaries = joined.boundaries();
    assert_eq!(boundaries.len(), n);
    if clean {
        let known: Vec<u64> = boundaries.iter().flatten().copied().collect();
        assert!(known.windows(2).all(|w| w[0] <= w[1]), "{boundaries:?}");
        assert!(
            known.iter().all(|&b| b <= frames),
            "{boundaries:?} past {frames}"
        );
        assert_eq!(boundaries[0], Some(0));
    }
});
