//! Ogg pages for Opus (RFC 7845), written with the `ogg` crate: the `.opus` files of the
//! speech presets, which Firefox records and datasets expect.
//!
//! OpusHead and OpusTags each get a page of their own with granule 0, as the RFC
//! requires. Audio pages are closed every 50 packets (one second), so a player can start
//! and seek at one-second grain and a stream reader is never more than a second behind;
//! the last page carries the end-of-stream flag and the true length as its granule. An
//! Ogg stream needs no lengths up front, so seekable and streamed outputs get the same
//! bytes.

use ogg::writing::{PacketWriteEndInfo, PacketWriter};

use super::opus::{OpusMux, StreamHead};
use super::{Out, Output};
use crate::{MediaError, Result};

/// Packets per audio page: one second of 20 ms packets.
const PACKETS_PER_PAGE: u64 = 50;
/// The logical stream's serial number. Fixed, so encoding the same input twice gives the
/// same bytes (a retried job must produce the same file); a file holds one stream, so
/// uniqueness across files does not matter.
const SERIAL: u32 = 0x5475_7474;

pub struct OggMux {
    writer: PacketWriter<'static, Out>,
    in_page: u64,
}

impl OggMux {
    pub fn new(out: Output) -> OggMux {
        OggMux {
            writer: PacketWriter::new(Out::new(out)),
            in_page: 0,
        }
    }
}

fn io_err(e: std::io::Error) -> MediaError {
    MediaError::Io(e)
}

impl OpusMux for OggMux {
    fn start(&mut self, head: &StreamHead) -> Result<()> {
        self.writer
            .write_packet(
                head.opus_head().to_vec(),
                SERIAL,
                PacketWriteEndInfo::EndPage,
                0,
            )
            .map_err(io_err)?;
        // The encoder's own vendor string ("opus-pure X.Y.Z"), as libopus's was before.
        let vendor = opus_pure::OpusTags::default().vendor;
        let vendor = vendor.as_bytes();
        let mut tags = Vec::with_capacity(16 + vendor.len());
        tags.extend_from_slice(b"OpusTags");
        tags.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
        tags.extend_from_slice(vendor);
        tags.extend_from_slice(&0u32.to_le_bytes());
        self.writer
            .write_packet(tags, SERIAL, PacketWriteEndInfo::EndPage, 0)
            .map_err(io_err)
    }

    fn packet(&mut self, data: &[u8], granule: u64, last: bool) -> Result<()> {
        self.in_page += 1;
        let end = if last {
            PacketWriteEndInfo::EndStream
        } else if self.in_page == PACKETS_PER_PAGE {
            PacketWriteEndInfo::EndPage
        } else {
            PacketWriteEndInfo::NormalPacket
        };
        if end != PacketWriteEndInfo::NormalPacket {
            self.in_page = 0;
        }
        self.writer
            .write_packet(data.to_vec(), SERIAL, end, granule)
            .map_err(io_err)
    }

    fn finish(&mut self) -> Result<()> {
        self.writer.inner_mut().flush().map_err(io_err)
    }
}
