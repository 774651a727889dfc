//! The Ogg walker: page by page through a recording (Firefox's Ogg/Opus), counting the
//! samples of the first logical stream's packets if it is Opus. Pages are parsed and their
//! checksums checked by the `ogg` crate's [`PageParser`]; we only look at the header
//! fields it does not expose (kind, granule, serial) and at where each packet begins.

use std::io::{Read, Seek};

use ogg::reading::{OggReadError, PageParser};

use super::walk::{Bytes, Counter, Walk, WalkError, Walked};
use super::webm::{opus_preskip, opus_samples};

/// Walks an Ogg stream to its end. An Ogg stream that is not Opus cannot be counted.
pub(super) fn walk<R: Read + Seek>(b: &mut Bytes<R>, counter: &mut Counter) -> Walk<Walked> {
    let len = b.len();
    // The stream we count: its serial, whether it is Opus, its pre-skip.
    let mut stream: Option<(u32, bool, u64)> = None;
    let mut packets = 0u64;
    // The counted stream's last page ended inside a packet.
    let mut inside = false;
    let mut end_granule = None;
    let mut cut = false;
    // Where each packet that begins on the page starts (offset in the page body) and its
    // first two bytes, gathered before the page goes to the parser.
    let mut starts: Vec<(usize, [u8; 2], usize)> = Vec::with_capacity(255);
    loop {
        let at = b.pos;
        if at >= len {
            break;
        }
        let mut header = [0u8; 27];
        if !b.fill(&mut header)? {
            cut = true;
            break;
        }
        if &header[..4] != b"OggS" {
            return Err(WalkError {
                at,
                what: "no Ogg page starts here".into(),
            });
        }
        let (parser, segments) = PageParser::new(header).map_err(|e| page_error(at, e))?;
        let mut lacing = vec![0u8; segments];
        if !b.fill(&mut lacing)? {
            cut = true;
            break;
        }
        let mut parser = parser;
        let body_len = parser.parse_segments(lacing.clone());
        let mut body = vec![0u8; body_len];
        if !b.fill(&mut body)? {
            cut = true;
            break;
        }
        let kind = header[5];
        let granule = u64::from_le_bytes(header[6..14].try_into().expect("8 bytes"));
        let serial = u32::from_le_bytes(header[14..18].try_into().expect("4 bytes"));
        let first_page = kind & 0x02 != 0;
        let opus_head = first_page.then(|| {
            let opus = body.starts_with(b"OpusHead");
            (opus, opus_preskip(&body))
        });
        starts.clear();
        let mut offset = 0usize;
        // Whether the page begins inside a packet of the counted stream.
        let mut continued = inside && kind & 0x01 != 0;
        for &lace in &lacing {
            if !continued {
                let first = [
                    body.get(offset).copied().unwrap_or(0),
                    body.get(offset + 1).copied().unwrap_or(0),
                ];
                starts.push((offset, first, lace as usize));
            }
            continued = lace == 255;
            offset += lace as usize;
        }
        parser
            .parse_packet_data(body)
            .map_err(|e| page_error(at, e))?;

        if stream.is_none()
            && let Some((opus, preskip)) = opus_head
        {
            stream = Some((serial, opus, preskip));
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
            end_granule = Some(granule);
        }
        let header_len = 27 + lacing.len() as u64;
        for &(offset, first, lace) in &starts {
            // The first two packets are OpusHead and OpusTags.
            if packets >= 2 {
                let samples = opus.then(|| opus_samples(&first[..lace.min(2)]));
                counter.packet(at + header_len + offset as u64, samples);
            }
            packets += 1;
        }
        // A packet continued on the next page is counted where it began.
        inside = continued;
    }
    if let Some(granule) = end_granule {
        counter.total = counter.total.min(granule);
    }
    let preskip = match stream {
        Some((_, true, preskip)) => preskip,
        Some((_, false, _)) => {
            counter.uncountable();
            0
        }
        None => 0,
    };
    Ok(Walked { preskip, cut })
}

fn page_error(at: u64, e: OggReadError) -> WalkError {
    let what = match e {
        OggReadError::HashMismatch(..) => "an Ogg page fails its checksum".to_string(),
        OggReadError::InvalidStreamStructVer(v) => format!("an Ogg page of version {v}"),
        other => format!("an Ogg page that cannot be read ({other})"),
    };
    WalkError { at, what }
}
