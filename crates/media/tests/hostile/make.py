#!/usr/bin/env python3
"""Writes the hand-made hostile inputs in this folder (the fuzzer's finds are kept as
they came out of `cargo fuzz tmin`). Names say what opening the file must give; see
../hostile.rs. Run from anywhere: python3 crates/media/tests/hostile/make.py"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def write(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


# --- WAV -------------------------------------------------------------------------------
def wav(rate=8000, channels=1, bits=16, fmt_tag=1, data=b"\0" * 400, data_size=None,
        riff_size=None, block_align=None):
    block_align = channels * bits // 8 if block_align is None else block_align
    fmt = struct.pack("<HHIIHH", fmt_tag, channels, rate & 0xFFFFFFFF,
                      (rate * block_align) & 0xFFFFFFFF, block_align & 0xFFFF, bits)
    data_size = len(data) if data_size is None else data_size
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
    body += b"data" + struct.pack("<I", data_size) + data
    riff_size = len(body) if riff_size is None else riff_size
    return b"RIFF" + struct.pack("<I", riff_size) + body


write("empty--zero-bytes.wav", b"")
write("limit--rate-4-ghz.wav", wav(rate=4_000_000_000))
write("limit--rate-1-hz.wav", wav(rate=1))
write("err--rate-zero.wav", wav(rate=0))
write("err--zero-channels.wav", wav(channels=0, block_align=2))
write("err--300-channels.wav", wav(channels=300))
write("err--bits-zero.wav", wav(bits=0, block_align=2))
write("any--block-align-zero.wav", wav(block_align=0))
# The header claims 4 GiB of samples (74 hours at 8 kHz) over 400 bytes.
write("any--data-size-lies.wav", wav(data_size=0xFFFFFFF0, riff_size=0xFFFFFFF8))
# What ffmpeg writes to a pipe: both sizes 0xFFFFFFFF ("unknown"), then 400 bytes.
write("ok--streamed-sizes-ffff.wav", wav(data_size=0xFFFFFFFF, riff_size=0xFFFFFFFF))
write("any--odd-data-size.wav", wav(data=b"\x01" * 401))
write("err--header-only.wav", wav(data=b"")[:44 - 8])
write("err--riff-only.wav", b"RIFF\x24\x00\x00\x00WAVE")
write("unsupported--text.mp3", b"This is a README, not a song.\n" * 40)
write("unsupported--html.ogg", b"<!doctype html><html><body>404 Not Found</body></html>\n")
write("unsupported--png.flac", bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000002000000020802000000fdd49a73"
    "000000164944415408d763f8cfc0f09f81e13f03c37f0600290f04fdb0a2a5d700"
    "00000049454e44ae426082"))
write("unsupported--zeros.m4a", b"\0" * 4096)

# --- FLAC ------------------------------------------------------------------------------
def crc8(data):
    crc = 0
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = ((crc << 1) ^ 0x07) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def crc16(data):
    crc = 0
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x8005) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def utf8_number(n):
    if n < 0x80:
        return bytes([n])
    if n < 0x800:
        return bytes([0xC0 | (n >> 6), 0x80 | (n & 0x3F)])
    return bytes([0xE0 | (n >> 12), 0x80 | ((n >> 6) & 0x3F), 0x80 | (n & 0x3F)])


def streaminfo(rate, total, block=65535, channels=1, bits=16):
    packed = (rate << 44) | ((channels - 1) << 41) | ((bits - 1) << 36) | total
    info = struct.pack(">HH", block, block) + b"\0" * 6 + packed.to_bytes(8, "big") + b"\0" * 16
    return b"fLaC" + bytes([0x80]) + len(info).to_bytes(3, "big") + info


def constant_frame(number, block=65535, value=0):
    """A mono 16-bit frame whose one subframe is CONSTANT: 17 bytes for `block` samples."""
    head = b"\xff\xf8" + bytes([0x70, 0x00]) + utf8_number(number) + struct.pack(">H", block - 1)
    head += bytes([crc8(head)])
    frame = head + b"\x00" + struct.pack(">h", value)
    return frame + struct.pack(">H", crc16(frame))


# A decompression bomb: 10 KB of constant frames is 12.7 hours at 1 kHz, with no length
# in the header, so only decoding finds out.
write("limit--bomb-12h7-of-silence-in-10kb.flac",
      streaminfo(1000, 0) + b"".join(constant_frame(i) for i in range(700)))
# The header claims 2^36 samples: 2386 hours at 8 kHz.
write("limit--claims-2386-hours.flac",
      streaminfo(8000, (1 << 36) - 1) + b"".join(constant_frame(i, 800) for i in range(3)))
# A sane little file, then the same file cut in the middle of a frame.
good = streaminfo(8000, 2400, block=800) + b"".join(constant_frame(i, 800, 1000) for i in range(3))
write("ok--constant.flac", good)
write("any--cut-mid-frame.flac", good[:-10])
write("err--cut-in-streaminfo.flac", good[:20])
write("err--streaminfo-rate-zero.flac", streaminfo(0, 2400, block=800) + good[42:])
# Frames claim frame numbers that go backwards and blocks of one sample.
write("any--one-sample-frames.flac",
      streaminfo(8000, 0, block=16) + b"".join(constant_frame(i % 3, 1) for i in range(64)))

# --- MP3 / ID3 -------------------------------------------------------------------------
def syncsafe(n):
    return bytes([(n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F])


# An ID3v2 tag that claims 256 MB and then ends.
write("err--id3-claims-256mb.mp3", b"ID3\x03\x00\x00" + syncsafe(0x0FFFFFFF) + b"TIT2" + b"\0" * 32)
# A frame claiming 256 MB inside a small tag.
write("err--id3-frame-claims-256mb.mp3",
      b"ID3\x04\x00\x00" + syncsafe(64) + b"APIC" + syncsafe(0x0FFFFFFF) + b"\0\0" + b"\0" * 54)
# MPEG frame headers with nothing valid after them, repeated.
write("any--mpeg-sync-storm.mp3", b"\xff\xfb\x90\x64" * 1024)

# --- Ogg -------------------------------------------------------------------------------
def ogg_crc(data):
    crc = 0
    for b in data:
        crc ^= b << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) & 0xFFFFFFFF if crc & 0x80000000 else (crc << 1) & 0xFFFFFFFF
    return crc


def ogg_page(payload, seq, flags=0, granule=0, serial=0x1234):
    assert len(payload) < 255 * 255
    lacing = [255] * (len(payload) // 255) + [len(payload) % 255]
    head = b"OggS\x00" + bytes([flags]) + struct.pack("<qII", granule, serial, seq)
    page = head + b"\0\0\0\0" + bytes([len(lacing)]) + bytes(lacing) + payload
    crc = ogg_crc(page)
    return page[:22] + struct.pack("<I", crc) + page[26:]


def opus_head(channels, pre_skip=312, rate=48000, mapping=0):
    head = b"OpusHead" + bytes([1, channels]) + struct.pack("<HIhB", pre_skip, rate, 0, mapping)
    if mapping:
        head += bytes([1, 0]) + bytes(range(channels))
    return head


tags = b"OpusTags" + struct.pack("<I", 5) + b"tutti" + struct.pack("<I", 0)
silence = b"\xf8\xff\xfe"  # a 20 ms CELT silence frame
def opus_file(head, packets=5, pre_skip_granule=0):
    pages = [ogg_page(head, 0, flags=2), ogg_page(tags, 1)]
    for i in range(packets):
        pages.append(ogg_page(silence, 2 + i, granule=960 * (i + 1) + pre_skip_granule,
                              flags=4 if i == packets - 1 else 0))
    return b"".join(pages)


write("ok--opus-silence.opus", opus_file(opus_head(1)))
write("unsupported--opus-6-channels.opus", opus_file(opus_head(6, mapping=1)))
write("err--opus-zero-channels.opus", opus_file(opus_head(0)))
# Pre-skip longer than the whole stream.
write("any--opus-pre-skip-65535.opus", opus_file(opus_head(1, pre_skip=65535)))
# Opus packets that are not Opus at all.
write("any--opus-garbage-packets.opus",
      b"".join([ogg_page(opus_head(2), 0, flags=2), ogg_page(tags, 1)]
               + [ogg_page(bytes([(i * 37 + j * 11) & 0xFF for j in range(40)]), 2 + i,
                           granule=960 * (i + 1)) for i in range(40)]))

# --- MP4 -------------------------------------------------------------------------------
def box(kind, payload=b"", size=None):
    return struct.pack(">I", 8 + len(payload) if size is None else size) + kind + payload


ftyp = box(b"ftyp", b"M4A \0\0\0\0M4A isom")
write("err--moov-claims-4gb.m4a", ftyp + box(b"moov", b"\0" * 64, size=0xFFFFFFF0))
write("err--box-size-zero-loop.m4a", ftyp + box(b"free", size=8) + box(b"moov", size=0) + b"\0" * 32)
write("err--box-size-below-header.m4a", ftyp + box(b"moov", size=3) + b"\0" * 64)
write("err--largesize-box.m4a", ftyp + struct.pack(">I", 1) + b"mdat" + struct.pack(">Q", 1 << 62) + b"\0" * 16)

# --- Matroska / WebM -------------------------------------------------------------------
# An EBML header followed by a Segment of unknown size whose first element claims 2^56 bytes.
ebml = bytes.fromhex("1a45dfa3") + bytes([0x80 | 0x1f]) + bytes.fromhex(
    "4286810142f7810142f2810442f381084282847765626d4287810442858102")
write("err--webm-element-claims-2e56.webm",
      ebml + bytes.fromhex("18538067") + bytes.fromhex("01ffffffffffffff")
      + bytes.fromhex("1549a966") + bytes.fromhex("01ffffffffffffff") + b"\0" * 32)
write("err--webm-ebml-header-only.webm", ebml)
