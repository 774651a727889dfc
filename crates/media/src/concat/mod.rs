//! Joining the chunks a browser uploads while it records into one continuous stream, and
//! saying exactly where each chunk begins in it (recital item 9: the cue times and the
//! per-chunk bookkeeping depend on those sample offsets).
//!
//! Chunks come in two kinds, and one list may mix them:
//!
//! - **Continuation chunks.** MediaRecorder's timeslice blobs are consecutive byte pieces of
//!   ONE file; only the first carries the header. They are joined by byte concatenation
//!   ([`Joined`] reads the chunks one after another as a single seekable stream) and decoded
//!   once, so the result is bit-identical to decoding the unsplit file. The chunk offsets
//!   are found *before* decoding by walking the container: Matroska/WebM elements (sized
//!   or of unknown size, as Chrome writes them; [`webm`], on the crate's shared
//!   [`crate::ebml`] definitions) and Ogg pages (Firefox; [`ogg`], pages parsed and
//!   checksums checked by the `ogg` crate). Each codec packet counts in the chunk that
//!   holds its first byte; its length comes from the Opus TOC byte (RFC 6716 §3.1, read
//!   by `opus_pure::packet`) or, for PCM in WebM, its byte size. Chunk k's offset is the samples of all packets before its first byte, minus
//!   the Opus pre-skip, clamped at 0. The walk also rejects a chunk whose bytes are not
//!   part of the recording (a non-audio upload in the middle) instead of splicing noise
//!   into it. Fragmented MP4 (Safari) is joined and decoded the same way, but its chunk
//!   offsets are reported as `None`: we do not walk MP4 boxes.
//! - **Independent chunks.** A chunk that starts with its own container signature (EBML
//!   magic, an Ogg page opening a stream, `ftyp`, `RIFF`, `FORM`, `fLaC`, `caff`, `ID3` or
//!   an MPEG sync word) begins a new file, e.g. a new MediaRecorder after a page reload.
//!   Files are decoded one after another; a file's first chunk begins where the previous
//!   file's audio ended. Formats that cannot be continued by raw bytes (WAV, AIFF, FLAC,
//!   MP3, CAF) must have every chunk be a whole file.
//!
//! All files must share the first file's sample rate and channel count; otherwise
//! [`join`] fails with [`MediaError::Corrupt`] naming the chunk. We refuse rather than
//! resample because the chunks of one take come from one recorder: a change of spec
//! means chunks of different takes were mixed up, which resampling would hide.
//!
//! **Gap-free and click-free.** No sample is ever added or dropped, so every offset is
//! exact. Where a file joins the previous one with an abrupt step (the jump between the
//! last and first samples is above −34 dBFS and more than twice the largest step on
//! either side, which a continuous signal never has), the step is spread over
//! [`DECLICK_SECONDS`] by adding a raised-cosine offset to the new file's first samples;
//! the length does not change. Joins inside one file are continuous by construction.
//!
//! Memory stays constant: one decoder at a time, chunk files are read as needed and never
//! all held, and the walks keep one counter per chunk.
//!
//! Layout: this module is the public face and the joined stream; [`chunks`] reads a list
//! of chunks as one byte stream and groups it into files; [`walk`] drives the container
//! walks and counts samples per chunk; [`webm`] and [`ogg`] are the two walkers. The
//! walkers take arbitrary bytes and are fuzzed (`crates/media/fuzz`, target `join_chunks`).

mod chunks;
mod ogg;
mod walk;
pub(crate) mod webm;

use std::path::PathBuf;
use std::sync::Arc;

use crate::decode::{DecodeLimits, Decoder};
use crate::pcm::{AudioSpec, PcmSource};
use crate::{MediaError, Result};
use chunks::{Chunk, Group, group, in_chunks, io_in, open_group};
use walk::{PacketMap, walk};

/// Length of the declick ramp at an abrupt join between files.
pub const DECLICK_SECONDS: f64 = 0.003;
/// Smallest step treated as a click (about −34 dBFS): quieter steps are inaudible.
const DECLICK_MIN_STEP: f32 = 0.02;
/// Frames on each side of a join used to judge what a "normal" step is there.
const DECLICK_CONTEXT: usize = 16;

/// One uploaded chunk: a file on disk or bytes in memory.
#[derive(Debug, Clone)]
pub enum ChunkSource {
    Path(PathBuf),
    Bytes(Vec<u8>),
}

/// Settings for [`join_with`].
#[derive(Debug, Clone, Copy)]
pub struct JoinOptions {
    /// Bounds for the whole joined stream (not per chunk).
    pub limits: DecodeLimits,
    /// Smooth abrupt steps where independent files meet.
    pub declick: bool,
}

impl Default for JoinOptions {
    fn default() -> Self {
        JoinOptions {
            limits: DecodeLimits::default(),
            declick: true,
        }
    }
}

/// Joins chunks with the default options. See the module documentation.
pub fn join(chunks: Vec<ChunkSource>) -> Result<Joined> {
    join_with(chunks, JoinOptions::default())
}

/// Joins chunks: groups them into files, walks continuation files for their chunk
/// offsets, and checks every file opens with the same spec, all before the first sample.
pub fn join_with(chunks: Vec<ChunkSource>, options: JoinOptions) -> Result<Joined> {
    if chunks.is_empty() {
        return Err(MediaError::Empty("no chunks were given".into()));
    }
    let mut list = Vec::with_capacity(chunks.len());
    let mut start = 0u64;
    for (k, source) in chunks.into_iter().enumerate() {
        let len = match &source {
            ChunkSource::Bytes(bytes) => bytes.len() as u64,
            ChunkSource::Path(path) => std::fs::metadata(path)
                .map_err(|e| io_in(e, &format!("chunk {k} ({})", path.display())))?
                .len(),
        };
        list.push(Chunk { source, start, len });
        start += len;
    }
    if start == 0 {
        return Err(MediaError::Empty(format!(
            "all {} chunks are empty: nothing was recorded",
            list.len()
        )));
    }
    let chunks: Arc<[Chunk]> = list.into();
    let mut groups = group(&chunks)?;
    for g in &mut groups {
        g.map = walk(&chunks, g)?;
    }

    // Open every file once now, so a bad chunk or a change of spec fails the join before
    // anything is written, not half-way through an encode.
    let mut first = None;
    let mut spec = None;
    for (i, g) in groups.iter().enumerate() {
        let decoder = open_group(&chunks, g, options.limits)?;
        let s = decoder.spec();
        match spec {
            None => spec = Some(s),
            Some(want) if want != s => {
                return Err(MediaError::Corrupt(format!(
                    "chunk {} is {} Hz with {} channel(s) but the recording began at {} Hz \
                     with {} channel(s): chunks of different recordings were mixed",
                    g.first, s.sample_rate, s.channels, want.sample_rate, want.channels
                )));
            }
            Some(_) => {}
        }
        if i == 0 {
            first = Some(decoder);
        }
    }
    let spec = spec.expect("at least one group");
    let max_frames = (options.limits.max_seconds * spec.sample_rate as f64) as u64;
    let total_frames = groups
        .iter()
        .map(|g| g.map.as_ref().map(PacketMap::frames))
        .sum::<Option<u64>>();
    let mut joined = Joined {
        boundaries: vec![None; chunks.len()],
        chunks,
        groups,
        spec,
        options,
        max_frames,
        total_frames,
        declicked: Vec::new(),
        current: first,
        group: 0,
        group_start: 0,
        emitted: 0,
        block: Vec::new(),
        tail: Vec::with_capacity(DECLICK_CONTEXT * spec.channels as usize),
        ramp: None,
        check_join: false,
        done: false,
    };
    joined.fill_boundaries();
    Ok(joined)
}

/// The joined stream: a [`PcmSource`] that also reports where each chunk begins.
pub struct Joined {
    chunks: Arc<[Chunk]>,
    groups: Vec<Group>,
    spec: AudioSpec,
    options: JoinOptions,
    max_frames: u64,
    total_frames: Option<u64>,
    boundaries: Vec<Option<u64>>,
    declicked: Vec<usize>,
    current: Option<Decoder>,
    /// The group `current` decodes.
    group: usize,
    /// Frame at which the current group began.
    group_start: u64,
    emitted: u64,
    block: Vec<f32>,
    /// The last frames emitted (up to [`DECLICK_CONTEXT`]), to judge the next join.
    tail: Vec<f32>,
    ramp: Option<Ramp>,
    /// The next block is the first of a file that joins a previous one.
    check_join: bool,
    done: bool,
}

impl Joined {
    /// The frame at which each chunk begins, one entry per chunk. Chunks of the first file
    /// are known from the start (if that file could be walked); later files' entries are
    /// filled in when decoding reaches them. After [`PcmSource::read`] has returned `None`
    /// they are final, and `None` means "unknown" (MP4 chunks, or a file whose decoded
    /// length disagreed with the walk, e.g. because damaged packets were skipped).
    pub fn boundaries(&self) -> &[Option<u64>] {
        &self.boundaries
    }

    /// Indices of the chunks that begin a new file (the first is always 0).
    pub fn file_starts(&self) -> Vec<usize> {
        self.groups.iter().map(|g| g.first).collect()
    }

    /// Indices of the chunks at whose start a click was smoothed away.
    pub fn declicked(&self) -> &[usize] {
        &self.declicked
    }

    /// Frames delivered so far.
    pub fn frames(&self) -> u64 {
        self.emitted
    }

    fn fill_boundaries(&mut self) {
        let g = &self.groups[self.group];
        let base = self.chunks[g.first].start;
        // Empty chunks just before this file (they sit at the end of the previous one)
        // begin where this file begins.
        for j in (0..g.first).rev().take_while(|&j| self.chunks[j].len == 0) {
            self.boundaries[j] = Some(self.group_start);
        }
        for j in g.first..g.end {
            let at = self.chunks[j].start;
            self.boundaries[j] = if at == base {
                Some(self.group_start)
            } else {
                g.map
                    .as_ref()
                    .map(|m| self.group_start + m.rel[j - g.first].saturating_sub(m.preskip))
            };
        }
    }

    /// Ends the current file: keeps its offsets only if the decoder produced exactly what
    /// the walk counted, then moves on to the next file.
    fn finish_group(&mut self, decoded: u64) -> Result<()> {
        let g = &self.groups[self.group];
        if g.map.as_ref().is_some_and(|m| m.frames() != decoded) {
            let base = self.chunks[g.first].start;
            for j in g.first..g.end {
                if self.chunks[j].start != base {
                    self.boundaries[j] = None;
                }
            }
        }
        self.group += 1;
        if self.group == self.groups.len() {
            // Empty chunks at the very end begin at the end.
            for j in (0..self.chunks.len())
                .rev()
                .take_while(|&j| self.chunks[j].len == 0)
            {
                self.boundaries[j] = Some(self.emitted);
            }
            self.done = true;
            return Ok(());
        }
        let g = &self.groups[self.group];
        let mut limits = self.options.limits;
        limits.max_seconds = (self.max_frames - self.emitted.min(self.max_frames)) as f64
            / self.spec.sample_rate as f64
            + 1.0;
        let decoder = open_group(&self.chunks, g, limits)?;
        if decoder.spec() != self.spec {
            return Err(MediaError::Corrupt(format!(
                "chunk {} changed its sample rate or channels while we read it",
                g.first
            )));
        }
        self.current = Some(decoder);
        self.group_start = self.emitted;
        self.check_join = self.options.declick;
        self.fill_boundaries();
        Ok(())
    }

    /// Decides whether the first block of a new file starts with a click, and if so
    /// starts a ramp that moves its start onto the previous file's last sample.
    fn judge_join(&mut self) {
        let ch = self.spec.channels as usize;
        let before = self.tail.len() / ch;
        let after = (self.block.len() / ch).min(DECLICK_CONTEXT);
        if before == 0 || after == 0 {
            return;
        }
        let largest_step = |s: &[f32], c: usize, n: usize| {
            (1..n)
                .map(|i| (s[i * ch + c] - s[(i - 1) * ch + c]).abs())
                .fold(0.0f32, f32::max)
        };
        let mut offsets = vec![0.0f32; ch];
        let mut click = false;
        for (c, offset) in offsets.iter_mut().enumerate() {
            let last = self.tail[(before - 1) * ch + c];
            let first = self.block[c];
            let jump = (first - last).abs();
            let normal =
                largest_step(&self.tail, c, before).max(largest_step(&self.block, c, after));
            *offset = last - first;
            click |= jump > DECLICK_MIN_STEP && jump > 2.0 * normal;
        }
        if click {
            let len = ((self.spec.sample_rate as f64 * DECLICK_SECONDS).round() as usize).max(1);
            self.ramp = Some(Ramp {
                offsets,
                at: 0,
                len,
            });
            self.declicked.push(self.groups[self.group].first);
        }
    }

    fn apply_ramp(&mut self) {
        let Some(ramp) = &mut self.ramp else { return };
        let ch = self.spec.channels as usize;
        for frame in self.block.chunks_exact_mut(ch) {
            if ramp.at >= ramp.len {
                break;
            }
            let w = 0.5 * (1.0 + (std::f32::consts::PI * ramp.at as f32 / ramp.len as f32).cos());
            for (s, d) in frame.iter_mut().zip(&ramp.offsets) {
                *s += d * w;
            }
            ramp.at += 1;
        }
        if ramp.at >= ramp.len {
            self.ramp = None;
        }
    }

    fn keep_tail(&mut self) {
        let ch = self.spec.channels as usize;
        let keep = DECLICK_CONTEXT * ch;
        if self.block.len() >= keep {
            self.tail.clear();
            self.tail
                .extend_from_slice(&self.block[self.block.len() - keep..]);
        } else {
            self.tail.extend_from_slice(&self.block);
            let excess = self.tail.len().saturating_sub(keep);
            self.tail.drain(..excess);
        }
    }
}

impl PcmSource for Joined {
    fn spec(&self) -> AudioSpec {
        self.spec
    }

    fn read(&mut self) -> Result<Option<&[f32]>> {
        loop {
            if self.done {
                return Ok(None);
            }
            let Some(decoder) = self.current.as_mut() else {
                self.done = true;
                return Ok(None);
            };
            let g = &self.groups[self.group];
            match decoder.read().map_err(|e| in_chunks(e, g))? {
                Some(samples) => {
                    self.block.clear();
                    self.block.extend_from_slice(samples);
                }
                None => {
                    let decoded = decoder.decoded_frames();
                    self.current = None;
                    self.finish_group(decoded)?;
                    continue;
                }
            }
            let frames = (self.block.len() / self.spec.channels as usize) as u64;
            if frames == 0 {
                continue;
            }
            if self.emitted + frames > self.max_frames {
                return Err(MediaError::Limit(format!(
                    "the joined chunks go on past the {:.0}-hour limit",
                    self.options.limits.max_seconds / 3600.0
                )));
            }
            if self.check_join {
                self.check_join = false;
                self.judge_join();
            }
            self.apply_ramp();
            self.keep_tail();
            self.emitted += frames;
            return Ok(Some(&self.block));
        }
    }

    /// Known in advance when every file could be walked (WebM and Ogg recordings).
    fn total_frames(&self) -> Option<u64> {
        self.total_frames
    }
}

struct Ramp {
    /// Per channel: what to add to the first frame so it meets the previous file.
    offsets: Vec<f32>,
    at: usize,
    len: usize,
}
