#!/usr/bin/env bash
# Media engine benchmark: the same jobs done by `tutti media transcode` and by the
# equivalent ffmpeg command line (the anchor), on the same machine in the same run.
# Writes the medians, their ratio and peak memory to bench/RESULTS.md.
#
#   bash bench/media.sh            # 60-minute inputs, as the issue asks
#   MINUTES=5 bash bench/media.sh  # quicker
#
# Needs: a release build (built here), ffmpeg, hyperfine, GNU time, espeak-ng
# (apt-get install ffmpeg hyperfine time espeak-ng).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
MINUTES=${MINUTES:-60}
RUNS=${RUNS:-3}
WORK=${WORK:-$ROOT/target/bench-media}
mkdir -p "$WORK"
for tool in ffmpeg hyperfine espeak-ng /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "bench/media.sh needs $tool (apt-get install ffmpeg hyperfine time espeak-ng)" >&2; exit 1; }
done

echo "== building tutti (release)"
cargo build --release -q -p tutti-server
TUTTI=$ROOT/target/release/tutti
SECONDS_TOTAL=$((MINUTES * 60))

speech=$WORK/speech-${MINUTES}m.webm
music=$WORK/music-${MINUTES}m.flac
if [[ ! -f $speech ]]; then
  echo "== making a ${MINUTES}-minute browser-style speech recording (espeak-ng, Opus in WebM, no cues)"
  espeak-ng -v en -s 150 -w "$WORK/phrase.wav" \
    "Tutti collects read speech from volunteers. Each speaker reads a sentence aloud, pauses, and reads the next one. \
     The recording is uploaded in small chunks while they read, then joined, checked and exported."
  # Loop the phrase to the wanted length at 48 kHz mono, then encode as MediaRecorder does:
  # Opus at 32 kbit/s in WebM, written to a pipe so it has no sizes and no cues.
  ffmpeg -hide_banner -v error -y -stream_loop -1 -i "$WORK/phrase.wav" -t "$SECONDS_TOTAL" \
    -ar 48000 -ac 1 -c:a libopus -b:a 32k -application voip -f webm -live 1 -cluster_time_limit 1000 pipe:1 > "$speech"
fi
if [[ ! -f $music ]]; then
  echo "== making a ${MINUTES}-minute stereo 44.1 kHz FLAC master"
  ffmpeg -hide_banner -v error -y \
    -f lavfi -i "aevalsrc=0.25*sin(2*PI*220*t)*(0.6+0.4*sin(2*PI*0.5*t))+0.15*sin(2*PI*330*t+sin(2*PI*3*t))|0.25*sin(2*PI*277*t)*(0.6+0.4*cos(2*PI*0.25*t))+0.15*sin(2*PI*440*t):s=44100:d=$SECONDS_TOTAL" \
    -f lavfi -i "anoisesrc=c=pink:r=44100:a=0.05:d=$SECONDS_TOTAL" \
    -filter_complex "[1:a]aformat=channel_layouts=stereo[n];[0:a][n]amix=inputs=2:normalize=0" \
    -c:a flac -sample_fmt s16 "$music"
fi

out=$WORK/out
mkdir -p "$out"
# Job 1: browser WebM/Opus -> FLAC archive + light Opus (mono 48 kHz, 24 kbit/s, voip, complexity 10).
ours1="$TUTTI media transcode $speech --preset flac-16 -o $out/t1.flac --preset speech-light -o $out/t1.opus"
ffm1="ffmpeg -hide_banner -v error -y -i $speech \
  -map 0:a -c:a flac -sample_fmt s16 $out/f1.flac \
  -map 0:a -c:a libopus -b:a 24k -application voip -compression_level 10 -ac 1 -ar 48000 $out/f1.opus"
# Job 2: FLAC master -> MP3 V2 + Opus 128 kbit/s + EBU R128 loudness.
ours2="$TUTTI media transcode $music --preset music-download -o $out/t2.mp3 --preset music-stream -o $out/t2.opus --analyse"
ffm2="ffmpeg -hide_banner -v error -y -i $music \
  -map 0:a -c:a libmp3lame -q:a 2 $out/f2.mp3 \
  -map 0:a -c:a libopus -b:a 128k -application audio -compression_level 10 -ar 48000 $out/f2.opus \
  -map 0:a -af ebur128=peak=true -f null -"

median() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(' '.join(f\"{r['median']:.2f}\" for r in d['results']))" "$1"; }
# Mean CPU time (user + system) of the runs: what other load on the machine disturbs least.
cpu() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(' '.join(f\"{r['user']+r['system']:.2f}\" for r in d['results']))" "$1"; }
peak_mb() { /usr/bin/time -f '%M' bash -c "$1 > /dev/null 2>&1" 2>&1 | tail -n 1 | awk '{printf "%.0f", $1/1024}'; }

declare -A RESULT
run_job() {
  local name=$1 ours=$2 theirs=$3
  echo "== $name"
  hyperfine --warmup 1 --runs "$RUNS" --export-json "$WORK/$name.json" -n tutti "$ours" -n ffmpeg "$theirs"
  read -r t_ours t_ffmpeg <<<"$(median "$WORK/$name.json")"
  read -r c_ours c_ffmpeg <<<"$(cpu "$WORK/$name.json")"
  local ratio; ratio=$(python3 -c "print(f'{$t_ours/$t_ffmpeg:.2f}')")
  local cpu_ratio; cpu_ratio=$(python3 -c "print(f'{$c_ours/$c_ffmpeg:.2f}')")
  RESULT[$name]="$t_ours|$t_ffmpeg|$ratio|$(peak_mb "$ours")|$(peak_mb "$theirs")"
  CPU[$name]="$c_ours|$c_ffmpeg|$cpu_ratio"
}
declare -A CPU
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
run_job speech-webm-to-flac-and-opus "$ours1" "$ffm1"
run_job music-flac-to-mp3-opus-loudness "$ours2" "$ffm2"

{
  echo "## Media engine vs ffmpeg ($(date -u +%Y-%m-%d), ${MINUTES}-minute inputs, $(nproc) cores)"
  echo
  echo "Command: \`bash bench/media.sh\` (MINUTES=$MINUTES, RUNS=$RUNS) on $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'),"
  echo "$(nproc) cores, load average (1, 5, 15 min) $load_start at the start and $(cut -d' ' -f1-3 /proc/loadavg) at the end."
  echo "Anchor: $(ffmpeg -version | head -n 1 | cut -d' ' -f1-3), the same job as one ffmpeg process decoding once and"
  echo "writing every output. Opus: tutti's opus-pure against ffmpeg's libopus, same settings (complexity 10);"
  echo "MP3: LAME V2 on both sides; FLAC: ffmpeg's own encoder at level 5 against flacenc (pure Rust, LPC"
  echo "order 8 as level 5, 4096-frame blocks encoded by one worker thread per core). Ratio = tutti / ffmpeg"
  echo "(below 1.0 is faster)."
  echo
  echo "| job | tutti median (s) | ffmpeg median (s) | ratio | tutti peak RSS (MB) | ffmpeg peak RSS (MB) |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: |"
  for name in speech-webm-to-flac-and-opus music-flac-to-mp3-opus-loudness; do
    IFS='|' read -r a b r ma mb <<<"${RESULT[$name]}"
    echo "| $name | $a | $b | $r | $ma | $mb |"
  done
  echo
  echo "CPU time (mean user + system of the runs, s), which the machine's other load disturbs least:"
  echo
  echo "| job | tutti CPU (s) | ffmpeg CPU (s) | ratio |"
  echo "| --- | ---: | ---: | ---: |"
  for name in speech-webm-to-flac-and-opus music-flac-to-mp3-opus-loudness; do
    IFS='|' read -r a b r <<<"${CPU[$name]}"
    echo "| $name | $a | $b | $r |"
  done
  echo
} > "$WORK/results.md"
cat "$WORK/results.md"
python3 - "$ROOT/bench/RESULTS.md" "$WORK/results.md" <<'PY'
import sys, re, pathlib
target, new = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]).read_text()
old = target.read_text() if target.exists() else "# Benchmark results\n\nEach section is written by the script it names; newer runs replace older ones.\n\n"
old = re.sub(r"## Media engine vs ffmpeg.*?(?=\n## |\Z)", "", old, flags=re.S).rstrip() + "\n\n"
target.write_text(old + new)
PY
echo "written to bench/RESULTS.md"
