//! The walk of one file's chunks before decoding: the container walker ([`super::webm`],
//! [`super::ogg`]) reports every codec packet it meets (where its first byte is, how many
//! samples it holds) to a [`Counter`], which turns that into each chunk's offset in
//! samples ([`PacketMap`]). A walk that meets bytes that cannot belong to the recording
//! fails with a [`WalkError`] naming the byte, which [`walk`] turns into a message naming
//! the chunk.

use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::sync::Arc;

use super::chunks::{Chain, Chunk, Container, Group};
use crate::{MediaError, Result};

/// A walk's failure: where in the walked bytes (byte offset) and what was wrong.
#[derive(Debug)]
pub(crate) struct WalkError {
    pub at: u64,
    pub what: String,
}

pub(crate) type Walk<T> = std::result::Result<T, WalkError>;

/// How a walk that did not fail ended.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Walked {
    /// The Opus pre-skip of the counted stream (0 when there is none).
    pub preskip: u64,
    /// The bytes end inside an element, page or packet (or before an element whose size
    /// was declared is complete): the upload was cut off.
    pub cut: bool,
}

/// What a walk counted: per chunk of the group, the samples of the packets before it.
pub(super) struct PacketMap {
    pub rel: Vec<u64>,
    pub total: u64,
    pub preskip: u64,
}

impl PacketMap {
    pub fn frames(&self) -> u64 {
        self.total.saturating_sub(self.preskip)
    }
}

/// Walks one group's chunks: `Ok(None)` when its offsets cannot be known (MP4, WAV …, or
/// a codec we cannot count), an error when its bytes are not one recording.
pub(super) fn walk(chunks: &Arc<[Chunk]>, g: &Group) -> Result<Option<PacketMap>> {
    let chain = Chain::new(chunks.clone(), g.first, g.end);
    let (base, len) = (chain.base, chain.len);
    let starts: Vec<u64> = (g.first..g.end).map(|j| chunks[j].start - base).collect();
    let mut bytes = Bytes::new(chain, len);
    let mut counter = Counter::new(starts);
    let walked = match g.container {
        Container::Webm => super::webm::walk(&mut bytes, &mut counter),
        Container::Ogg => super::ogg::walk(&mut bytes, &mut counter),
        _ => return Ok(None),
    };
    match walked {
        Ok(walked) => Ok(counter.finish(walked.preskip)),
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
pub(crate) struct Counter {
    starts: Vec<u64>,
    rel: Vec<u64>,
    pub total: u64,
    /// A packet of unknown length was met; the offsets are unknown.
    unknown: bool,
}

impl Counter {
    /// A counter for chunks beginning at these byte offsets (ascending).
    pub fn new(starts: Vec<u64>) -> Counter {
        Counter {
            rel: Vec::with_capacity(starts.len()),
            starts,
            total: 0,
            unknown: false,
        }
    }

    /// A packet whose first byte is at `at` decodes to `samples` frames (`None`: unknown).
    pub fn packet(&mut self, at: u64, samples: Option<u64>) {
        while self.rel.len() < self.starts.len() && self.starts[self.rel.len()] <= at {
            self.rel.push(self.total);
        }
        match samples {
            Some(n) => self.total += n,
            None => self.unknown = true,
        }
    }

    /// The stream's packets cannot be counted (a codec we do not know).
    pub fn uncountable(&mut self) {
        self.unknown = true;
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

/// A buffered byte stream that knows its position and length. Reads report `false` at
/// the end of the data, which for a walk means "the upload ends here" (the decoder copes
/// with that).
pub(crate) struct Bytes<R> {
    inner: BufReader<R>,
    pub pos: u64,
    len: u64,
}

impl<R: Read + Seek> Bytes<R> {
    /// `inner` positioned at its start, holding `len` bytes.
    pub fn new(inner: R, len: u64) -> Bytes<R> {
        Bytes {
            inner: BufReader::with_capacity(1 << 16, inner),
            pos: 0,
            len,
        }
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn fill(&mut self, buf: &mut [u8]) -> Walk<bool> {
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

    pub fn byte(&mut self) -> Walk<Option<u8>> {
        let mut b = [0u8];
        Ok(self.fill(&mut b)?.then_some(b[0]))
    }

    pub fn skip(&mut self, n: u64) -> Walk<()> {
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
