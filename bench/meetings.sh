#!/usr/bin/env bash
# Meetings under load: how many rooms of ROOM_SIZE video callers one core of `tutti serve`
# (release build, embedded defaults: SQLite and files in a fresh data folder) carries. The
# server is pinned to SERVER_CPU, `tutti-load meetings` to LOAD_CPU. For each R of STEPS,
# the generator creates R instant meetings with a member's API token; in each, the host
# (that token) admits ROOM_SIZE - 1 guests from the waiting room, and every participant is
# a str0m WebRTC client (no browser) on its own socket, sending Opus (a sung vowel, 20 ms
# frames, ~32 kbit/s) and VP8 (an IVF file made here with ffmpeg/libvpx: 320x240, 30 fps,
# ~300 kbit/s, a keyframe every 3 s), both looped, and receiving everyone else's. After
# WARMUP s, DURATION s are measured: server CPU (utime + stime of /proc/PID/stat over the
# window), forwarded tracks (subscriber x publisher x kind that delivered frames), frame
# loss (received / sent per track, a track never forwarded counting as all lost), one-way
# latency p50 / p99 (send to receive through the server: the generator sends and
# receives), errors. The ramp stops after the first step that fails.
#
# Capacity = the most participants in a step with 0 errors, loss < 0.5% and server CPU
# < 85% of its core. Writes its section "## Meetings under load" of bench/RESULTS.md.
#
#   bash bench/meetings.sh                          # the ramp, 30 s measured per step
#   STEPS="1" DURATION=5 bash bench/meetings.sh     # a smoke run
#   KEEP_GOING=1 bash bench/meetings.sh             # past failing steps, until it saturates
#   RESULTS=/tmp/r.md bash bench/meetings.sh        # write the section elsewhere
#
# TODO: the anchor. Janus (Debian's `janus` package, its VideoRoom plugin) under the same
# generator is not run yet: `tutti-load meetings` speaks Tutti's protocol v1 only, and
# Janus needs a signalling adapter (its JSON API over WebSocket: create session, attach
# janus.plugin.videoroom, join as publisher, then one subscriber handle per feed) in the
# generator. Until then there is no side-by-side number.
#
# Needs: the Rust toolchain (release builds made here), curl, taskset, python3, ffmpeg
# with libvpx (apt-get install curl util-linux python3 ffmpeg).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
STEPS=${STEPS:-1 2 4 8 12 16 20 24 32}
DURATION=${DURATION:-30}
WARMUP=${WARMUP:-5}
ROOM_SIZE=${ROOM_SIZE:-6}
SERVER_CPU=${SERVER_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}
KEEP_GOING=${KEEP_GOING:-}
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
WORK=${WORK:-$TARGET_DIR/bench-meetings}
RESULTS=${RESULTS:-$ROOT/bench/RESULTS.md}
# Debug builds for a quick check of the script itself: BUILD=debug.
BUILD=${BUILD:-release}
PASSWORD="bench meetings password"
EMAIL=meetings@example.org
for tool in curl taskset python3 ffmpeg; do
  command -v "$tool" >/dev/null || { echo "bench/meetings.sh needs $tool (apt-get install curl util-linux python3 ffmpeg)" >&2; exit 1; }
done
ulimit -n "$(ulimit -Hn)"

if [[ $BUILD == release ]]; then
  echo "== building tutti and tutti-load (release)"
  cargo build --release -q -p tutti-server -p tutti-loadgen
else
  echo "== building tutti and tutti-load (debug: numbers mean nothing)"
  cargo build -q -p tutti-server -p tutti-loadgen
fi
TUTTI=$TARGET_DIR/$BUILD/tutti
LOAD=$TARGET_DIR/$BUILD/tutti-load
rm -rf "$WORK"
mkdir -p "$WORK"

echo "== the camera: 12 s of VP8 (320x240, 30 fps, ~300 kbit/s, keyframe every 3 s)"
VIDEO=$WORK/camera.ivf
ffmpeg -hide_banner -loglevel error -y -f lavfi -i testsrc2=size=320x240:rate=30 -t 12 \
  -c:v libvpx -b:v 300k -minrate 300k -maxrate 300k -g 90 -keyint_min 90 \
  -deadline realtime -cpu-used 8 -auto-alt-ref 0 -f ivf "$VIDEO"

SERVER_PID=
cleanup() {
  if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

tutti=("$TUTTI" --data-dir "$WORK/data")
"${tutti[@]}" migrate >/dev/null
printf '%s\n' "$PASSWORD" | "${tutti[@]}" admin create-user --email "$EMAIL" --name "Meetings bench" \
  --password - --role member >"$WORK/setup.log" 2>&1 || { cat "$WORK/setup.log" >&2; exit 1; }
TOKEN=$("${tutti[@]}" admin create-token --email "$EMAIL" --name "meetings bench" 2>>"$WORK/setup.log" | tail -n 1)
[[ -n $TOKEN ]] || { cat "$WORK/setup.log" >&2; exit 1; }

port=$(free_port)
url="http://127.0.0.1:$port"
echo "== tutti serve on CPU $SERVER_CPU, port $port; tutti-load on CPU $LOAD_CPU"
taskset -c "$SERVER_CPU" "${tutti[@]}" serve --listen "127.0.0.1:$port" --public-url "$url" >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 200); do curl -fs -o /dev/null "$url/readyz" && break; sleep 0.1; done
curl -fs -o /dev/null "$url/readyz" || { echo "tutti serve did not get ready; its log:" >&2; cat "$WORK/server.log" >&2; exit 1; }

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
: >"$WORK/steps.txt"
for r in $STEPS; do
  echo "== $r rooms of $ROOM_SIZE: ${WARMUP} s warm-up, ${DURATION} s measured"
  set +e
  TUTTI_LOAD_TOKEN=$TOKEN taskset -c "$LOAD_CPU" "$LOAD" meetings --url "$url" --rooms "$r" --size "$ROOM_SIZE" \
    --video "$VIDEO" --seconds "$DURATION" --warmup "$WARMUP" --server-pid "$SERVER_PID" --json \
    >"$WORK/step-$r.jsonl" 2>"$WORK/step-$r.log"
  code=$?
  set -e
  echo "$r" >>"$WORK/steps.txt"
  if ((code != 0)) || ! tail -n 1 "$WORK/step-$r.jsonl" | grep -q '"phase":"summary"'; then
    echo "   tutti-load failed (status $code):" >&2
    tail -n 20 "$WORK/step-$r.log" >&2
    break
  fi
  verdict=$(python3 - "$WORK/step-$r.jsonl" <<'PY'
import json, sys
s = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
cpu = s.get("server_cpu_percent") or 0
ok = s["errors"] == 0 and s["loss"] < 0.005 and cpu < 85
print(f"   {s['participants']} in, {s['forwarded_tracks']} of {s['expected_tracks']} tracks: server {cpu}% of a core, "
      f"{s.get('server_cpu_ms_per_track_second')} ms CPU per track-second; loss {s['loss'] * 100:.3f}%, "
      f"p50 / p99 {s['p50_ms']} / {s['p99_ms']} ms, errors {s['errors']} {s['errors_by_kind'] or ''}; "
      f"generator {s.get('load_cpu_percent')}% -> {'pass' if ok else 'FAIL'}", file=sys.stderr)
saturated = cpu >= 95 or s["loss"] > 0.05
print("pass" if ok else ("saturated" if saturated else "fail"))
PY
)
  [[ $verdict == pass || ($verdict == fail && -n $KEEP_GOING) ]] || break
  sleep 3 # the last step's meetings empty and stop
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

export WORK RESULTS DURATION WARMUP ROOM_SIZE SERVER_CPU LOAD_CPU LOAD_START LOAD_END BUILD
python3 - <<'PY'
import datetime, json, os, pathlib, re
env = os.environ
work, target = pathlib.Path(env["WORK"]), pathlib.Path(env["RESULTS"])
steps = [int(n) for n in (work / "steps.txt").read_text().split()]
cpu_model = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
cores = os.cpu_count()
rows, capacity, first_fail = [], None, None
for r in steps:
    path = work / f"step-{r}.jsonl"
    lines = path.read_text().strip().splitlines() if path.exists() else []
    s = json.loads(lines[-1]) if lines and '"phase":"summary"' in lines[-1] else None
    if s is None:
        rows.append(f"| {r} | – | – | – | – | – | – | – | tutti-load failed | fail |")
        first_fail = first_fail or r
        continue
    cpu = s.get("server_cpu_percent") or 0.0
    ok = s["errors"] == 0 and s["loss"] < 0.005 and cpu < 85
    if ok and first_fail is None:
        capacity = (s["rooms"], s["participants"], s["forwarded_tracks"])
    elif not ok:
        first_fail = first_fail or r
    errors = f"{s['errors']}" + (" (" + ", ".join(f"{k} {v}" for k, v in s["errors_by_kind"].items()) + ")" if s["errors_by_kind"] else "")
    rows.append(
        f"| {s['rooms']} | {s['participants']} | {s['forwarded_tracks']} / {s['expected_tracks']} | {cpu:.0f}% | "
        f"{s.get('server_cpu_ms_per_track_second') or 0:.3f} | {s['loss'] * 100:.3f}% | "
        f"{s['p50_ms']:.1f} / {s['p99_ms']:.1f} | {s.get('load_cpu_percent') or 0:.0f}% | {errors} | {'pass' if ok else 'fail'} |")

out = []
w = out.append
w(f"## Meetings under load: rooms of {env['ROOM_SIZE']} on one core ({datetime.date.today()}, {cores} cores)")
w("")
if env["BUILD"] != "release":
    w("**Debug build: a check of the script, not a measurement.**")
    w("")
w(f"Command: `bash bench/meetings.sh` (DURATION={env['DURATION']} s measured after WARMUP={env['WARMUP']} s, "
  f"ROOM_SIZE={env['ROOM_SIZE']}) on {cpu_model}, {cores} cores,")
w(f"load average (1, 5, 15 min) {env['LOAD_START']} at the start and {env['LOAD_END']} at the end. `tutti serve` ({env['BUILD']} build,")
w(f"embedded defaults in a fresh data folder) pinned to CPU {env['SERVER_CPU']}, `tutti-load meetings` to CPU {env['LOAD_CPU']} (`taskset`).")
w("Each step: new instant meetings; in each the host (a member's API token) admits the guests from the waiting")
w("room; every participant is a str0m WebRTC client over UDP on loopback, sending Opus (~32 kbit/s, 20 ms) and VP8")
w("(320x240, 30 fps, ~300 kbit/s, keyframe every 3 s, made with ffmpeg/libvpx), looped, and receiving everyone else's.")
w("")
w("Tracks: (subscriber, publisher, audio or video) that delivered frames, of all in the rooms. Server CPU: utime +")
w("stime over the window, as a share of one core and in ms per forwarded track-second. Loss: frames received of")
w("frames sent in the window, over every track (one never forwarded counts as all lost). Latency: one-way, send to")
w("receive through the server (the generator does both), p50 / p99.")
w("")
w("| rooms | participants | tracks | server CPU | CPU ms per track-second | loss | latency p50 / p99 (ms) | generator CPU | errors | verdict |")
w("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |")
out.extend(rows)
w("")
rule = "0 errors, loss < 0.5%, server CPU < 85% of its core"
if capacity is None:
    w(f"**Capacity: no step met the rule** ({rule}).")
else:
    tail = f"; the next step, {first_fail} rooms, failed" if first_fail else "; no step failed (raise STEPS)"
    w(f"**Capacity: {capacity[0]} rooms, {capacity[1]} participants, {capacity[2]} forwarded tracks on one core** ({rule}){tail}.")
w("")
w("Anchor: not run yet (TODO in the script's header: Janus VideoRoom under the same generator needs a signalling")
w("adapter for Janus's API).")
w("")
new = "\n".join(out) + "\n"
print(new)
old = target.read_text() if target.exists() else "# Benchmark results\n\nEach section is written by the script it names; newer runs replace older ones.\n\n"
old = re.sub(r"## Meetings under load.*?(?=\n## |\Z)", "", old, flags=re.S).rstrip() + "\n\n"
target.write_text(old + new)
PY
echo "written to $RESULTS"
