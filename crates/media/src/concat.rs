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
//!   are found *before* decoding by walking the container ourselves: Matroska/WebM elements
//!   (sized or of unknown size, as Chrome writes them) and Ogg pages (Firefox, checksums
//!   checked). Each codec packet counts in the chunk that holds its first byte; its
//!   length comes from the Opus TOC byte (RFC 6716 §3.1) or, for PCM in WebM, its byte
//!   size. Chunk k's offset is the samples of all packets before its first byte, minus
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

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Arc;

use symphonia::core::io::MediaSource;

use crate::decode::{DecodeLimits, Decoder};
use crate::pcm::{AudioSpec, PcmSource};
use crate::{MediaError, Result};

/// Length of the declick ramp at an abrupt join between files.
pub const DECLICK_SECONDS: f64 = 0.003;
/// Smallest step treated as a click (about −34 dBFS): quieter steps are inaudible.
const DECLICK_MIN_STEP: f32 = 0.02;
/// Frames on each side of a join used to judge what a "normal" step is there.
const DECLICK_CONTEXT: usize = 16;
/// Most bytes of one Matroska block we read to count its samples; real Opus blocks are a
/// few hundred bytes, and a bigger one only costs us the offsets, never the decode.
const MAX_BLOCK_READ: u64 = 1 << 16;

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

struct Chunk {
    source: ChunkSource,
    /// Offset of the chunk's first byte in the whole list.
    start: u64,
    len: u64,
}

/// Containers we recognise at the start of a chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Container {
    Webm,
    Ogg,
    Mp4,
    Wav,
    Aiff,
    Flac,
    Mpeg,
    Caf,
}

impl Container {
    fn name(self) -> &'static str {
        match self {
            Container::Webm => "WebM",
            Container::Ogg => "Ogg",
            Container::Mp4 => "MP4",
            Container::Wav => "WAV",
            Container::Aiff => "AIFF",
            Container::Flac => "FLAC",
            Container::Mpeg => "MP3",
            Container::Caf => "CAF",
        }
    }

    /// Whether later chunks may be raw continuation bytes of this file (the recorder
    /// formats); the others carry sizes in their header and must come whole.
    fn continuable(self) -> bool {
        matches!(self, Container::Webm | Container::Ogg | Container::Mp4)
    }

    fn hint(self) -> Option<&'static str> {
        Some(match self {
            Container::Webm => "webm",
            Container::Ogg => "ogg",
            Container::Mp4 => "mp4",
            Container::Wav => "wav",
            Container::Aiff => "aiff",
            Container::Flac => "flac",
            Container::Caf => "caf",
            Container::Mpeg => return None,
        })
    }
}

/// The container whose file starts with `head`, if any. Inside a recorder stream an MPEG
/// sync word is too likely to occur by chance, so it only counts after other MPEG files.
fn signature(head: &[u8], current: Option<Container>) -> Option<Container> {
    let at = |i: usize, sig: &[u8]| head.get(i..i + sig.len()) == Some(sig);
    if at(0, &[0x1A, 0x45, 0xDF, 0xA3]) {
        Some(Container::Webm)
    } else if at(0, b"OggS") && head.get(5).is_some_and(|t| t & 0x02 != 0) {
        Some(Container::Ogg)
    } else if at(4, b"ftyp") {
        Some(Container::Mp4)
    } else if at(0, b"RIFF") || at(0, b"RF64") || at(0, b"BW64") {
        Some(Container::Wav)
    } else if at(0, b"FORM") {
        Some(Container::Aiff)
    } else if at(0, b"fLaC") {
        Some(Container::Flac)
    } else if at(0, b"caff") {
        Some(Container::Caf)
    } else if at(0, b"ID3")
        || (head.len() >= 2
            && head[0] == 0xFF
            && head[1] & 0xE0 == 0xE0
            && current.is_none_or(|c| !c.continuable()))
    {
        Some(Container::Mpeg)
    } else {
        None
    }
}

/// A run of chunks that form one file.
struct Group {
    first: usize,
    end: usize,
    container: Container,
    map: Option<PacketMap>,
}

/// What a walk counted: per chunk of the group, the samples of the packets before it.
struct PacketMap {
    rel: Vec<u64>,
    total: u64,
    preskip: u64,
}

impl PacketMap {
    fn frames(&self) -> u64 {
        self.total.saturating_sub(self.preskip)
    }
}

fn group(chunks: &Arc<[Chunk]>) -> Result<Vec<Group>> {
    let mut groups: Vec<Group> = Vec::new();
    for k in 0..chunks.len() {
        if chunks[k].len == 0 {
            // An empty blob (MediaRecorder sends them) belongs to the file it sits in;
            // leading ones belong to the first file.
            if let Some(g) = groups.last_mut() {
                g.end = k + 1;
            }
            continue;
        }
        let mut head = [0u8; 12];
        let n = read_prefix(chunks, k, &mut head)?;
        let current = groups.last().map(|g| g.container);
        match (signature(&head[..n], current), groups.last_mut()) {
            (Some(container), _) => groups.push(Group {
                first: if groups.is_empty() { 0 } else { k },
                end: k + 1,
                container,
                map: None,
            }),
            (None, None) => {
                return Err(MediaError::Unsupported(format!(
                    "chunk {k} does not start like any audio file we read (WebM, Ogg, MP4, \
                     WAV, AIFF, FLAC, MP3, CAF); is it audio at all?"
                )));
            }
            (None, Some(g)) if g.container.continuable() => g.end = k + 1,
            (None, Some(g)) => {
                let name = g.container.name();
                return Err(MediaError::Corrupt(format!(
                    "chunk {k} has no header of its own, and {name} files cannot be \
                     continued by raw bytes: every chunk must be a whole file"
                )));
            }
        }
    }
    if let Some(g) = groups.last_mut() {
        g.end = chunks.len();
    }
    Ok(groups)
}

fn read_prefix(chunks: &Arc<[Chunk]>, k: usize, buf: &mut [u8]) -> Result<usize> {
    let mut chain = Chain::new(chunks.clone(), k, k + 1);
    let mut n = 0;
    while n < buf.len() {
        let got = chain
            .read(&mut buf[n..])
            .map_err(|e| io_in(e, &format!("chunk {k}")))?;
        if got == 0 {
            break;
        }
        n += got;
    }
    Ok(n)
}

fn open_group(chunks: &Arc<[Chunk]>, g: &Group, limits: DecodeLimits) -> Result<Decoder> {
    let chain = Chain::new(chunks.clone(), g.first, g.end);
    Decoder::open(Box::new(chain), g.container.hint(), limits).map_err(|e| in_chunks(e, g))
}

fn describe(g: &Group) -> String {
    if g.end - g.first > 1 {
        format!("chunks {}–{}", g.first, g.end - 1)
    } else {
        format!("chunk {}", g.first)
    }
}

/// Says which chunks an error came from, keeping its kind.
fn in_chunks(e: MediaError, g: &Group) -> MediaError {
    let at = describe(g);
    match e {
        MediaError::Empty(m) => MediaError::Empty(format!("{at}: {m}")),
        MediaError::Unsupported(m) => MediaError::Unsupported(format!("{at}: {m}")),
        MediaError::Corrupt(m) => MediaError::Corrupt(format!("{at}: {m}")),
        MediaError::Limit(m) => MediaError::Limit(format!("{at}: {m}")),
        MediaError::Encode(m) => MediaError::Encode(format!("{at}: {m}")),
        MediaError::Io(e) => MediaError::Io(io::Error::new(e.kind(), format!("{at}: {e}"))),
        other => other,
    }
}

fn io_in(e: io::Error, at: &str) -> MediaError {
    MediaError::Io(io::Error::new(e.kind(), format!("{at}: {e}")))
}

/// A run of chunks read as one seekable byte stream. Files are opened one at a time, as
/// reading reaches them.
struct Chain {
    chunks: Arc<[Chunk]>,
    first: usize,
    end: usize,
    base: u64,
    len: u64,
    pos: u64,
    /// The open file: its chunk index and the position of its cursor.
    open: Option<(usize, File, u64)>,
}

impl Chain {
    fn new(chunks: Arc<[Chunk]>, first: usize, end: usize) -> Chain {
        let base = chunks[first].start;
        let last = &chunks[end - 1];
        let len = last.start + last.len - base;
        Chain {
            chunks,
            first,
            end,
            base,
            len,
            pos: 0,
            open: None,
        }
    }
}

impl Read for Chain {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.len || buf.is_empty() {
            return Ok(0);
        }
        let abs = self.base + self.pos;
        let k = self.first
            + self.chunks[self.first..self.end].partition_point(|c| c.start + c.len <= abs);
        let chunk = &self.chunks[k];
        let off = abs - chunk.start;
        let want = buf
            .len()
            .min((chunk.len - off).min(usize::MAX as u64) as usize);
        let got = match &chunk.source {
            ChunkSource::Bytes(bytes) => {
                buf[..want].copy_from_slice(&bytes[off as usize..off as usize + want]);
                want
            }
            ChunkSource::Path(path) => {
                if self.open.as_ref().is_none_or(|(i, _, _)| *i != k) {
                    self.open = Some((k, File::open(path)?, 0));
                }
                let (_, file, at) = self.open.as_mut().expect("just opened");
                if *at != off {
                    file.seek(SeekFrom::Start(off))?;
                    *at = off;
                }
                let got = file.read(&mut buf[..want])?;
                if got == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("{} became shorter while it was read", path.display()),
                    ));
                }
                *at += got as u64;
                got
            }
        };
        self.pos += got as u64;
        Ok(got)
    }
}

impl Seek for Chain {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = target
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        Ok(self.pos)
    }
}

impl MediaSource for Chain {
    fn is_seekable(&self) -> bool {
        true
    }

    fn byte_len(&self) -> Option<u64> {
        Some(self.len)
    }
}

/// A walk's failure: where in the group (byte offset) and what was wrong.
struct WalkError {
    at: u64,
    what: String,
}

fn walk(chunks: &Arc<[Chunk]>, g: &Group) -> Result<Option<PacketMap>> {
    let chain = Chain::new(chunks.clone(), g.first, g.end);
    let base = chain.base;
    let starts: Vec<u64> = (g.first..g.end).map(|j| chunks[j].start - base).collect();
    let mut bytes = Bytes {
        inner: BufReader::with_capacity(1 << 16, chain),
        pos: 0,
    };
    let mut counter = Counter::new(starts);
    let walked = match g.container {
        Container::Webm => walk_webm(&mut bytes, &mut counter),
        Container::Ogg => walk_ogg(&mut bytes, &mut counter),
        _ => return Ok(None),
    };
    match walked {
        Ok(Some(preskip)) => Ok(counter.finish(preskip)),
        Ok(None) => Ok(None),
        Err(WalkError { at, what }) => {
            let abs = base + at;
            let k = chunks
                .partition_point(|c| c.start + c.len <= abs)
                .min(g.end - 1);
            let container = g.container.name();
            Err(MediaError::Corrupt(format!(
                "chunk {k} does not continue the {container} recording begun in chunk {} \
                 (at byte {} of the chunk: {what}); was a different file uploaded?",
                g.first,
                abs - chunks[k].start
            )))
        }
    }
}

/// Counts packet samples per chunk as a walk meets them.
struct Counter {
    starts: Vec<u64>,
    rel: Vec<u64>,
    total: u64,
    /// A packet of unknown length was met; the offsets are unknown.
    unknown: bool,
}

impl Counter {
    fn new(starts: Vec<u64>) -> Counter {
        Counter {
            rel: Vec::with_capacity(starts.len()),
            starts,
            total: 0,
            unknown: false,
        }
    }

    /// A packet whose first byte is at `at` decodes to `samples` frames (`None`: unknown).
    fn packet(&mut self, at: u64, samples: Option<u64>) {
        while self.rel.len() < self.starts.len() && self.starts[self.rel.len()] <= at {
            self.rel.push(self.total);
        }
        match samples {
            Some(n) => self.total += n,
            None => self.unknown = true,
        }
    }

    fn finish(mut self, preskip: u64) -> Option<PacketMap> {
        if self.unknown {
            return None;
        }
        self.rel.resize(self.starts.len(), self.total);
        Some(PacketMap {
            rel: self.rel,
            total: self.total,
            preskip,
        })
    }
}

/// A buffered byte stream that knows its position. Reads report `false` at the end of
/// the data, which for a walk means "the upload ends here" (the decoder copes with that).
struct Bytes {
    inner: BufReader<Chain>,
    pos: u64,
}

impl Bytes {
    fn len(&self) -> u64 {
        self.inner.get_ref().len
    }

    fn fill(&mut self, buf: &mut [u8]) -> std::result::Result<bool, WalkError> {
        match self.inner.read_exact(buf) {
            Ok(()) => {
                self.pos += buf.len() as u64;
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(false),
            Err(e) => Err(WalkError {
                at: self.pos,
                what: format!("read error: {e}"),
            }),
        }
    }

    fn byte(&mut self) -> std::result::Result<Option<u8>, WalkError> {
        let mut b = [0u8];
        Ok(self.fill(&mut b)?.then_some(b[0]))
    }

    fn skip(&mut self, n: u64) -> std::result::Result<(), WalkError> {
        let target = self.pos.saturating_add(n);
        let result = match i64::try_from(n) {
            Ok(d) => self.inner.seek_relative(d),
            Err(_) => self.inner.seek(SeekFrom::Start(target)).map(|_| ()),
        };
        result.map_err(|e| WalkError {
            at: self.pos,
            what: format!("seek error: {e}"),
        })?;
        self.pos = target;
        Ok(())
    }
}

// Matroska element ids (with their length marker, as written).
const EBML: u32 = 0x1A45_DFA3;
const SEGMENT: u32 = 0x1853_8067;
const CLUSTER: u32 = 0x1F43_B675;
const TRACKS: u32 = 0x1654_AE6B;
const TRACK_ENTRY: u32 = 0xAE;
const TRACK_NUMBER: u32 = 0xD7;
const TRACK_TYPE: u32 = 0x83;
const CODEC_ID: u32 = 0x86;
const CODEC_PRIVATE: u32 = 0x63A2;
const AUDIO: u32 = 0xE1;
const CHANNELS: u32 = 0x9F;
const BIT_DEPTH: u32 = 0x6264;
const SIMPLE_BLOCK: u32 = 0xA3;
const BLOCK_GROUP: u32 = 0xA0;
const BLOCK: u32 = 0xA1;
const VOID: u32 = 0xEC;
const CRC32: u32 = 0xBF;

/// Children allowed directly in a Segment: SeekHead, Info, Tracks, Cues, Tags, Cluster,
/// Chapters, Attachments.
fn segment_child(id: u32) -> bool {
    matches!(
        id,
        0x114D_9B74
            | 0x1549_A966
            | TRACKS
            | 0x1C53_BB6B
            | 0x1254_C367
            | CLUSTER
            | 0x1043_A770
            | 0x1941_A469
            | VOID
            | CRC32
    )
}

/// Children allowed directly in a Cluster: Timestamp, SilentTracks, Position, PrevSize,
/// SimpleBlock, BlockGroup, EncryptedBlock.
fn cluster_child(id: u32) -> bool {
    matches!(
        id,
        0xE7 | 0x5854 | 0xA7 | 0xAB | SIMPLE_BLOCK | BLOCK_GROUP | 0xAF | VOID | CRC32
    )
}

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

type Walk<T> = std::result::Result<T, WalkError>;

/// Reads an EBML variable-length integer. For ids the length marker is kept; for sizes
/// it is removed and an all-ones value means "unknown size". `Ok(None)`: the data ends.
fn vint(b: &mut Bytes, max_len: u32, keep_marker: bool) -> Walk<Option<(u64, bool)>> {
    let at = b.pos;
    let Some(first) = b.byte()? else {
        return Ok(None);
    };
    let len = first.leading_zeros() + 1;
    if len > max_len {
        return Err(WalkError {
            at,
            what: format!("byte {first:#04x} cannot begin a Matroska element"),
        });
    }
    let mut value = if keep_marker {
        first as u64
    } else {
        (first as u64) & (0xFF >> len)
    };
    let mut all_ones = value == (0xFF >> len) as u64;
    for _ in 1..len {
        let Some(next) = b.byte()? else {
            return Ok(None);
        };
        all_ones &= next == 0xFF;
        value = (value << 8) | next as u64;
    }
    Ok(Some((value, all_ones && !keep_marker)))
}

/// Walks a Matroska/WebM byte stream, counting the samples of every block of the first
/// audio track. Returns the Opus pre-skip, or `None` when samples cannot be counted.
fn walk_webm(b: &mut Bytes, counter: &mut Counter) -> Walk<Option<u64>> {
    let len = b.len();
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
            break;
        };
        let id = id as u32;
        let Some((size, unknown)) = vint(b, 8, false)? else {
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
                    break; // the upload ends inside this block
                }
                let Some((number, samples)) = &audio else {
                    return Ok(None);
                };
                block.resize(size.min(MAX_BLOCK_READ) as usize, 0);
                if !b.fill(&mut block)? {
                    break;
                }
                if !count_block(&block, size, data, *number, samples, counter) {
                    return Ok(None);
                }
                b.skip(size - block.len() as u64)?;
            }
            _ => {
                if end.is_some_and(|e| e > len) {
                    break; // the upload ends inside this element
                }
                b.skip(size)?;
            }
        }
    }
    Ok(match audio {
        Some((_, Samples::Unknown)) => None,
        Some((number, _)) => Some(
            tracks
                .iter()
                .find(|t| t.number == Some(number))
                .map(|t| opus_preskip(&t.private))
                .unwrap_or(0),
        ),
        // No cluster at all: no audio, nothing to count.
        None => Some(0),
    })
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

/// The pre-skip of an `OpusHead` (bytes 10..12, little-endian); 0 if there is none, as
/// the decoder assumes.
fn opus_preskip(head: &[u8]) -> u64 {
    if head.len() >= 12 && head.starts_with(b"OpusHead") {
        u16::from_le_bytes([head[10], head[11]]) as u64
    } else {
        0
    }
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
    let Some((number, n)) = slice_vint(head, false) else {
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
                    let Some((v, n)) = slice_vint(&head[p.min(head.len())..], false) else {
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

/// An EBML varint inside a slice: (value, length). Sizes drop the marker.
fn slice_vint(s: &[u8], keep_marker: bool) -> Option<(u64, usize)> {
    let first = *s.first()?;
    let len = first.leading_zeros() as usize + 1;
    if len > 8 {
        return None;
    }
    let mut value = if keep_marker {
        first as u64
    } else {
        (first as u64) & (0xFF >> len)
    };
    for &x in s.get(1..len)? {
        value = (value << 8) | x as u64;
    }
    Some((value, len))
}

/// Samples (at 48 kHz) of an Opus packet from its first two bytes, per RFC 6716 §3.1.
/// An invalid packet counts 0, as the decoder drops it.
pub fn opus_samples(packet: &[u8]) -> u64 {
    let Some(&toc) = packet.first() else {
        return 0;
    };
    let config = (toc >> 3) as usize;
    let per_frame = match config {
        0..=11 => [480, 960, 1920, 2880][config & 3],
        12..=15 => [480, 960][config & 1],
        _ => [120, 240, 480, 960][config & 3],
    };
    let frames = match toc & 3 {
        0 => 1,
        1 | 2 => 2,
        _ => match packet.get(1) {
            Some(&b) => (b & 0x3F) as u64,
            None => return 0,
        },
    };
    let total = per_frame * frames;
    // More than 120 ms in one packet is invalid (RFC 6716 §3.2.5).
    if total > 5760 { 0 } else { total }
}

/// Walks an Ogg stream page by page (checking each page's CRC), counting the samples of
/// the first logical stream's packets if it is Opus. Returns the pre-skip, or `None`.
fn walk_ogg(b: &mut Bytes, counter: &mut Counter) -> Walk<Option<u64>> {
    let len = b.len();
    let mut page = Vec::with_capacity(65_307);
    // The stream we count: its serial, whether it is Opus, its pre-skip.
    let mut stream: Option<(u32, bool, u64)> = None;
    let mut packets = 0u64;
    let mut inside = false;
    let mut end_granule = None;
    loop {
        let at = b.pos;
        if at >= len {
            break;
        }
        page.resize(27, 0);
        if !b.fill(&mut page)? {
            break;
        }
        if &page[..4] != b"OggS" || page[4] != 0 {
            return Err(WalkError {
                at,
                what: "no Ogg page starts here".into(),
            });
        }
        let kind = page[5];
        let serial = u32::from_le_bytes([page[14], page[15], page[16], page[17]]);
        let segments = page[26] as usize;
        page.resize(27 + segments, 0);
        if !b.fill(&mut page[27..])? {
            break;
        }
        let body: usize = page[27..].iter().map(|&v| v as usize).sum();
        let header = 27 + segments;
        page.resize(header + body, 0);
        if !b.fill(&mut page[header..])? {
            break;
        }
        let stored = u32::from_le_bytes([page[22], page[23], page[24], page[25]]);
        page[22..26].fill(0);
        if ogg_crc(&page) != stored {
            return Err(WalkError {
                at,
                what: "an Ogg page fails its checksum".into(),
            });
        }
        if stream.is_none() && kind & 0x02 != 0 {
            let opus = page[header..].starts_with(b"OpusHead");
            stream = Some((serial, opus, opus_preskip(&page[header..])));
        }
        let Some((wanted, opus, _)) = stream else {
            continue;
        };
        if serial != wanted {
            continue;
        }
        if opus && kind & 0x04 != 0 {
            // The last page's granule position is where the audio really ends; the
            // encoder padded the final packet past it.
            let granule = u64::from_le_bytes(page[6..14].try_into().expect("8 bytes"));
            end_granule = Some(granule);
        }
        inside &= kind & 0x01 != 0;
        let mut offset = header;
        for i in 0..segments {
            let lace = page[27 + i] as usize;
            if !inside {
                // The first two packets are OpusHead and OpusTags.
                if packets >= 2 {
                    let first = &page[offset..offset + lace.min(2)];
                    let samples = opus.then(|| opus_samples(first));
                    counter.packet(at + offset as u64, samples);
                }
                packets += 1;
            }
            inside = lace == 255;
            offset += lace;
        }
    }
    if let Some(granule) = end_granule {
        counter.total = counter.total.min(granule);
    }
    Ok(match stream {
        Some((_, true, preskip)) => Some(preskip),
        Some((_, false, _)) => None,
        None => Some(0),
    })
}

/// Ogg's CRC-32 (polynomial 0x04C11DB7, not reflected, no final xor).
fn ogg_crc(data: &[u8]) -> u32 {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut table = [0u32; 256];
        for (i, entry) in table.iter_mut().enumerate() {
            let mut r = (i as u32) << 24;
            for _ in 0..8 {
                r = if r & 0x8000_0000 != 0 {
                    (r << 1) ^ 0x04C1_1DB7
                } else {
                    r << 1
                };
            }
            *entry = r;
        }
        table
    });
    data.iter().fold(0u32, |crc, &b| {
        (crc << 8) ^ table[((crc >> 24) as u8 ^ b) as usize]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opus_toc_counts_match_rfc_6716() {
        // Config 1 (SILK NB 20 ms), one frame.
        assert_eq!(opus_samples(&[1 << 3]), 960);
        // Config 31 (CELT FB 20 ms), two frames.
        assert_eq!(opus_samples(&[(31 << 3) | 1]), 1920);
        // Config 16 (CELT 2.5 ms), code 3 with 48 frames = 120 ms.
        assert_eq!(opus_samples(&[(16 << 3) | 3, 48]), 5760);
        // Code 3 claiming 49 frames of 2.5 ms is over 120 ms: invalid.
        assert_eq!(opus_samples(&[(16 << 3) | 3, 49]), 0);
        assert_eq!(opus_samples(&[]), 0);
        for toc in 0..=255u8 {
            for second in [0u8, 1, 2, 3, 7, 63] {
                let packet = [toc, second, 0, 0, 0, 0, 0, 0];
                let theirs = opus_pure::packet::samples_48k(&packet).unwrap_or(0);
                assert_eq!(
                    opus_samples(&packet),
                    theirs as u64,
                    "toc {toc:#x} {second}"
                );
            }
        }
    }

    #[test]
    fn signatures() {
        assert_eq!(
            signature(&[0x1A, 0x45, 0xDF, 0xA3, 0x9F], None),
            Some(Container::Webm)
        );
        assert_eq!(signature(b"\0\0\0\x1cftypisom", None), Some(Container::Mp4));
        assert_eq!(signature(b"\0\0\0\x1cmoof", Some(Container::Mp4)), None);
        assert_eq!(signature(b"OggS\0\x02", None), Some(Container::Ogg));
        assert_eq!(signature(b"OggS\0\x00", Some(Container::Ogg)), None);
        assert_eq!(signature(&[0xFF, 0xFB], None), Some(Container::Mpeg));
        assert_eq!(signature(&[0xFF, 0xFB], Some(Container::Webm)), None);
        assert_eq!(signature(b"hello", None), None);
    }
}
