#!/usr/bin/env bash
# Opus decode benchmark: our pure-Rust Opus decoder (opus-pure, through tutti-media's
# Decoder, as every transcode uses it) against libopus as ffmpeg links it (the anchor),
# on the same Ogg Opus files made by ffmpeg's libopus encoder, 20 ms frames:
#   music  — 48 kHz stereo, 128 kbit/s, application audio (CELT)
#   speech — 48 kHz mono, 32 kbit/s, application voip (hybrid)
# Both sides run as whole single-threaded processes that demux, decode to float and
# discard; hyperfine gives the medians. Writes the "Opus decode re-run" part of the
# "Opus: pure Rust vs libopus" section of bench/RESULTS.md.
#
#   bash bench/opus.sh              # 10-minute inputs
#   MINUTES=1 RUNS=3 bash bench/opus.sh
#
# Needs: ffmpeg, hyperfine, espeak-ng (apt-get install ffmpeg hyperfine espeak-ng).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
MINUTES=${MINUTES:-10}
RUNS=${RUNS:-7}
WORK=${WORK:-$ROOT/target/bench-opus}
mkdir -p "$WORK"
for tool in ffmpeg hyperfine espeak-ng; do
  command -v "$tool" >/dev/null || { echo "bench/opus.sh needs $tool (apt-get install ffmpeg hyperfine espeak-ng)" >&2; exit 1; }
done

echo "== building the opus_decode example (release)"
cargo build --release -q -p tutti-media --example opus_decode
OURS=$ROOT/target/release/examples/opus_decode
SECONDS_TOTAL=$((MINUTES * 60))

music=$WORK/music-${MINUTES}m-128k.opus
speech=$WORK/speech-${MINUTES}m-32k.opus
if [[ ! -f $music ]]; then
  echo "== making ${MINUTES} minutes of stereo music, Opus 128 kbit/s"
  ffmpeg -hide_banner -v error -y \
    -f lavfi -i "aevalsrc=0.25*sin(2*PI*220*t)*(0.6+0.4*sin(2*PI*0.5*t))+0.15*sin(2*PI*330*t+sin(2*PI*3*t))|0.25*sin(2*PI*277*t)*(0.6+0.4*cos(2*PI*0.25*t))+0.15*sin(2*PI*440*t):s=48000:d=$SECONDS_TOTAL" \
    -f lavfi -i "anoisesrc=c=pink:r=48000:a=0.05:d=$SECONDS_TOTAL" \
    -filter_complex "[1:a]aformat=channel_layouts=stereo[n];[0:a][n]amix=inputs=2:normalize=0" \
    -c:a libopus -b:a 128k -application audio -frame_duration 20 "$music"
fi
if [[ ! -f $speech ]]; then
  echo "== making ${MINUTES} minutes of mono speech (espeak-ng), Opus 32 kbit/s"
  espeak-ng -v en -s 150 -w "$WORK/phrase.wav" \
    "Each singer records their part at home. The recordings are joined, checked and exported \
     for the conductor. Please breathe before the long phrase, and keep the vowels open."
  ffmpeg -hide_banner -v error -y -stream_loop -1 -i "$WORK/phrase.wav" -t "$SECONDS_TOTAL" \
    -ar 48000 -ac 1 -c:a libopus -b:a 32k -application voip -frame_duration 20 "$speech"
fi

# Per command: wall-clock median, and mean CPU time (user + system) of the runs.
stats() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(' '.join(f\"{r['median']:.3f} {r['user']+r['system']:.3f}\" for r in d['results']))" "$1"; }

declare -A RESULT
for name in music speech; do
  file=${!name}
  echo "== $name"
  hyperfine --warmup 1 --runs "$RUNS" --export-json "$WORK/$name.json" \
    -n tutti "$OURS $file" \
    -n ffmpeg-libopus "ffmpeg -hide_banner -v error -nostdin -threads 1 -request_sample_fmt flt -c:a libopus -i $file -f null -"
  read -r w_ours c_ours w_lib c_lib <<<"$(stats "$WORK/$name.json")"
  RESULT[$name]=$(python3 -c "s=$SECONDS_TOTAL; print(f'{$c_ours*1000/s:.3f}|{$c_lib*1000/s:.3f}|{$c_ours/$c_lib:.2f}|{$w_ours*1000/s:.3f}|{$w_lib*1000/s:.3f}')")
done

anchor=$(ffmpeg -version | head -n 1 | cut -d' ' -f1-3)
libopus=$(dpkg-query -W -f='${Version}' libopus0 2>/dev/null || echo unknown)
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
{
  echo "### Opus decode re-run: bench/opus.sh ($(date -u +%Y-%m-%d), ${MINUTES}-minute inputs)"
  echo
  echo "Command: \`bash bench/opus.sh\` (MINUTES=$MINUTES, RUNS=$RUNS) on $cpu."
  echo "Anchor: $anchor with libopus $libopus (\`-c:a libopus\`, float output, one thread, null output)."
  echo "Whole processes (demux, decode to float, discard), $(nproc) cores, load average $(cut -d' ' -f1 /proc/loadavg) at the end."
  echo "ms per second of audio: CPU = mean user + system time of the runs (what load disturbs least),"
  echo "wall = median. Ratio = tutti / libopus CPU time (below 1.0 is faster)."
  echo
  echo "| input | tutti (opus-pure) CPU ms/s | ffmpeg libopus CPU ms/s | ratio | tutti wall ms/s | ffmpeg wall ms/s |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: |"
  IFS='|' read -r a b r wa wb <<<"${RESULT[music]}"
  echo "| music, stereo 128 kbit/s (CELT) | $a | $b | $r | $wa | $wb |"
  IFS='|' read -r a b r wa wb <<<"${RESULT[speech]}"
  echo "| speech, mono 32 kbit/s (hybrid) | $a | $b | $r | $wa | $wb |"
  echo
} > "$WORK/results.md"
cat "$WORK/results.md"
python3 - "$ROOT/bench/RESULTS.md" "$WORK/results.md" <<'PY'
import sys, re, pathlib
target, new = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]).read_text()
old = target.read_text() if target.exists() else "# Benchmark results\n\n"
old = re.sub(r"### Opus decode re-run.*?(?=\n## |\n### |\Z)", "", old, flags=re.S)
head = "## Opus: pure Rust vs libopus"
if head not in old:
    old = old.rstrip() + "\n\n" + head + "\n\n"
# The re-run goes at the end of the Opus section, before the next "## " section.
start = old.index(head)
nxt = old.find("\n## ", start + len(head))
end = len(old) if nxt < 0 else nxt + 1
section = old[start:end].rstrip() + "\n\n" + new
target.write_text(old[:start] + section + ("\n" + old[end:] if nxt >= 0 else ""))
PY
echo "written to bench/RESULTS.md"
