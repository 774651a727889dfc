//! A list of chunks as bytes: [`Chain`] reads a run of chunks as one seekable stream
//! (opening chunk files only as reading reaches them), [`signature`] recognises a chunk
//! that begins a file of its own, and [`group`] splits the list into files.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::sync::Arc;

use symphonia::core::io::MediaSource;

use super::ChunkSource;
use super::walk::PacketMap;
use crate::decode::{DecodeLimits, Decoder};
use crate::{MediaError, Result};

pub(super) struct Chunk {
    pub source: ChunkSource,
    /// Offset of the chunk's first byte in the whole list.
    pub start: u64,
    pub len: u64,
}

/// Containers we recognise at the start of a chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Container {
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
    pub(super) fn name(self) -> &'static str {
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
    pub(super) fn continuable(self) -> bool {
        matches!(self, Container::Webm | Container::Ogg | Container::Mp4)
    }

    pub(super) fn hint(self) -> Option<&'static str> {
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
pub(super) fn signature(head: &[u8], current: Option<Container>) -> Option<Container> {
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
pub(super) struct Group {
    pub first: usize,
    pub end: usize,
    pub container: Container,
    pub map: Option<PacketMap>,
}

pub(super) fn group(chunks: &Arc<[Chunk]>) -> Result<Vec<Group>> {
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

pub(super) fn read_prefix(chunks: &Arc<[Chunk]>, k: usize, buf: &mut [u8]) -> Result<usize> {
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

pub(super) fn open_group(
    chunks: &Arc<[Chunk]>,
    g: &Group,
    limits: DecodeLimits,
) -> Result<Decoder> {
    let chain = Chain::new(chunks.clone(), g.first, g.end);
    Decoder::open(Box::new(chain), g.container.hint(), limits).map_err(|e| in_chunks(e, g))
}

pub(super) fn describe(g: &Group) -> String {
    if g.end - g.first > 1 {
        format!("chunks {}–{}", g.first, g.end - 1)
    } else {
        format!("chunk {}", g.first)
    }
}

/// Says which chunks an error came from, keeping its kind.
pub(super) fn in_chunks(e: MediaError, g: &Group) -> MediaError {
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

pub(super) fn io_in(e: io::Error, at: &str) -> MediaError {
    MediaError::Io(io::Error::new(e.kind(), format!("{at}: {e}")))
}

/// A run of chunks read as one seekable byte stream. Files are opened one at a time, as
/// reading reaches them.
pub(super) struct Chain {
    chunks: Arc<[Chunk]>,
    first: usize,
    end: usize,
    /// Offset of the run's first byte in the whole list.
    pub base: u64,
    pub len: u64,
    pos: u64,
    /// The open file: its chunk index and the position of its cursor.
    open: Option<(usize, File, u64)>,
}

impl Chain {
    pub(super) fn new(chunks: Arc<[Chunk]>, first: usize, end: usize) -> Chain {
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

#[cfg(test)]
mod tests {
    use super::*;

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
