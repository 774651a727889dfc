#!/usr/bin/env bash
# Writes the seed corpora: for probe_decode, one tiny file (~0.2 s, a few KB) of each
# container/codec the engine reads, some with tags and cover art, into
# corpus/probe_decode/ (or the directory given); for join_chunks, the recorder formats
# (WebM, Ogg, fragmented MP4) behind a chunk-split prefix, into corpus/join_chunks/
# beside it. Needs ffmpeg and sox.
#   bash crates/media/fuzz/make-corpus.sh [OUT_DIR]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-$here/corpus/probe_decode}"
mkdir -p "$out"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

ff() { ffmpeg -hide_banner -v error -y "$@"; }

# Sources: a short tone in mono and stereo at 8 kHz and 48 kHz, a 2x2 cover picture.
ff -f lavfi -i "sine=frequency=440:sample_rate=8000:duration=0.2" -c:a pcm_s16le "$tmp/m8.wav"
ff -f lavfi -i "sine=frequency=440:sample_rate=8000:duration=0.2" -ac 2 -c:a pcm_s16le "$tmp/s8.wav"
ff -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=0.2" -c:a pcm_s16le "$tmp/m48.wav"
ff -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=0.2" -ac 2 -c:a pcm_s16le "$tmp/s48.wav"
ff -f lavfi -i "color=c=red:s=2x2" -frames:v 1 "$tmp/cover.png"
tags=(-metadata title=T -metadata artist=A -metadata album=B -metadata track=3 -metadata date=2024)

# WAV and friends.
ff -i "$tmp/m8.wav" -c:a pcm_s16le "$out/s16.wav"
ff -i "$tmp/s8.wav" -c:a pcm_u8 "$out/u8-stereo.wav"
ff -i "$tmp/m8.wav" -c:a pcm_s24le "$out/s24.wav"
ff -i "$tmp/m8.wav" -c:a pcm_f32le "$out/f32.wav"
ff -i "$tmp/m8.wav" -c:a pcm_mulaw "$out/mulaw.wav"
ff -i "$tmp/m8.wav" -c:a pcm_alaw "$out/alaw.wav"
ff -i "$tmp/m8.wav" -c:a adpcm_ima_wav "$out/ima.wav"
ff -i "$tmp/s8.wav" -c:a adpcm_ms "$out/msadpcm-stereo.wav"
ff -i "$tmp/m8.wav" -rf64 always -c:a pcm_s16le "$out/rf64.wav"
ff -i "$tmp/m8.wav" "${tags[@]}" -c:a pcm_s16be "$out/tagged.aiff"
sox "$tmp/m8.wav" -e signed -b 16 "$out/sox.aifc"
ff -i "$tmp/m8.wav" -c:a pcm_s16le "$out/pcm.caf"

# FLAC, native and in Ogg and Matroska, with tags and cover art.
ff -i "$tmp/m8.wav" -c:a flac "$out/plain.flac"
ff -i "$tmp/s8.wav" -i "$tmp/cover.png" -map 0 -map 1 -c:a flac -c:v copy \
  -disposition:v attached_pic "${tags[@]}" "$out/cover.flac"
ff -i "$tmp/m8.wav" -c:a flac "$out/flac.ogg"
ff -i "$tmp/m8.wav" -c:a flac "$out/flac.mka"

# MP3 (MPEG-2.5 at 8 kHz, MPEG-1 at 48 kHz), with ID3v2 tags and cover art.
ff -i "$tmp/m8.wav" -c:a libmp3lame -b:a 8k "$out/low.mp3"
ff -i "$tmp/s48.wav" -i "$tmp/cover.png" -map 0 -map 1 -c:a libmp3lame -b:a 32k -c:v copy \
  -disposition:v attached_pic -id3v2_version 3 "${tags[@]}" "$out/cover.mp3"
ff -i "$tmp/m8.wav" -c:a mp2 -b:a 32k "$out/layer2.mp2" 2>/dev/null || true

# Vorbis and Opus in Ogg, Opus and Vorbis in WebM (one in the browser's live style:
# unknown sizes, no cues).
ff -i "$tmp/m8.wav" -c:a libvorbis -q:a 0 "${tags[@]}" "$out/vorbis.ogg"
ff -i "$tmp/m48.wav" -c:a libopus -b:a 16k "${tags[@]}" "$out/opus.ogg"
ff -i "$tmp/s48.wav" -c:a libopus -b:a 16k "$out/opus-stereo.opus"
ff -i "$tmp/m48.wav" -c:a libopus -b:a 16k "$out/opus.webm"
ff -i "$tmp/m48.wav" -c:a libopus -b:a 16k -live 1 -cluster_time_limit 50 "$out/live.webm"
ff -i "$tmp/m8.wav" -c:a libvorbis -q:a 0 "$out/vorbis.webm"

# AAC and ALAC in MP4.
ff -i "$tmp/m8.wav" -c:a aac -b:a 16k "${tags[@]}" "$out/aac.m4a"
ff -i "$tmp/m48.wav" -c:a aac -b:a 24k -movflags +frag_keyframe+empty_moov "$out/fragmented.m4a"
ff -i "$tmp/m8.wav" -c:a alac "$out/alac.m4a"
ff -i "$tmp/m8.wav" -c:a aac -b:a 16k -f adts "$out/raw.aac"

# join_chunks: the first byte is the number of cuts (mod 8), the next ones where (in 255ths).
joins="$(dirname "$out")/join_chunks"
mkdir -p "$joins"
for f in opus.ogg opus-stereo.opus opus.webm live.webm vorbis.webm fragmented.m4a; do
  printf '\x03\x40\x80\xc0' | cat - "$out/$f" > "$joins/three-cuts-$f"
  printf '\x00' | cat - "$out/$f" > "$joins/whole-$f"
done

du -ch "$out"/* "$joins"/* | tail -1
ls "$out" "$joins" | wc -l
