#!/usr/bin/env bash
# Pages under load: `tutti-load pages` (open loop, fixed rate, latency from each request's
# scheduled send time) and wrk (closed loop, the anchor) on the same two routes, the home
# page and GET /api/v1/me as signed-in users, against `tutti serve` (release build) on
# SQLite and on PostgreSQL, in the same run. The server is pinned to one core and the
# generator to the other. Writes its section of bench/RESULTS.md.
#
#   bash bench/pages.sh                       # 1,000 rps for 30 s, then a ramp, then wrk
#   RATE=500 DURATION=10s bash bench/pages.sh # quicker
#   BACKENDS=sqlite bash bench/pages.sh       # one database only
#
# Needs: the Rust toolchain (release builds made here), wrk, curl, taskset, python3, and
# for PostgreSQL the test cluster of tests/services/postgres.sh (started here when it is
# not running) and psql (apt-get install wrk curl util-linux python3 postgresql).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
RATE=${RATE:-1000}
DURATION=${DURATION:-30s}
WARMUP=${WARMUP:-5s}
USERS=${USERS:-50}
RAMP_FROM=${RAMP_FROM:-500}
RAMP_STEP=${RAMP_STEP:-10s}
P99_TARGET_MS=${P99_TARGET_MS:-20}
MAX_ERROR_RATE=${MAX_ERROR_RATE:-0.001}
WRK_CONNECTIONS=${WRK_CONNECTIONS:-16}
WRK_DURATION=${WRK_DURATION:-20s}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
BACKENDS=${BACKENDS:-sqlite postgres}
WORK=${WORK:-$ROOT/target/bench-pages}
PASSWORD="bench pages password"
for tool in wrk curl taskset python3; do
  command -v "$tool" >/dev/null || { echo "bench/pages.sh needs $tool (apt-get install wrk curl util-linux python3)" >&2; exit 1; }
done

echo "== building tutti and tutti-load (release)"
cargo build --release -q -p tutti-server -p tutti-loadgen
TUTTI=$ROOT/target/release/tutti
LOAD=$ROOT/target/release/tutti-load
rm -rf "$WORK"
mkdir -p "$WORK"

SERVER_PID=
STARTED_PG=
cleanup() {
  if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [[ -n $STARTED_PG ]]; then bash tests/services/postgres.sh stop >/dev/null || true; fi
}
trap cleanup EXIT

# measure SERVER_PID OUT.json STDOUT MARKER CMD…: runs CMD with its standard output in
# STDOUT, and writes to OUT.json the wall time and the CPU time of the server and of CMD
# from the moment CMD's standard error prints a line starting with MARKER (from the start
# when MARKER is empty) until CMD exits.
measure() {
  python3 - "$@" <<'PY'
import json, os, subprocess, sys, time
pid, out_json, stdout_path, marker, *cmd = sys.argv[1:]
tick = os.sysconf("SC_CLK_TCK")
def cpu(p):  # utime + stime, fields 14 and 15 of /proc/PID/stat
    fields = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / tick
with open(stdout_path, "w") as stdout:
    child = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE, text=True)
    start = (time.monotonic(), cpu(pid), cpu(child.pid)) if not marker else None
    for line in child.stderr:
        sys.stderr.write(line)
        if start is None and line.startswith(marker):
            start = (time.monotonic(), cpu(pid), cpu(child.pid))
    _, status, usage = os.wait4(child.pid, 0)
    end = (time.monotonic(), cpu(pid), usage.ru_utime + usage.ru_stime)
code = os.waitstatus_to_exitcode(status)
if code != 0:
    sys.exit(f"{cmd[0]} failed with status {code}")
wall = end[0] - start[0]
json.dump({"seconds": wall, "server_cpu_s": end[1] - start[1], "load_cpu_s": end[2] - start[2]},
          open(out_json, "w"))
PY
}
# One line on what a run measured: show summary|ramp|wrk FILE.
show() {
  python3 - "$1" "$2" <<'PY'
import json, sys
kind, path = sys.argv[1], sys.argv[2]
last = json.loads(open(path).read().strip().splitlines()[-1])
if kind == "summary":
    print("   achieved {achieved_rps} rps, p50 {p50_ms} ms, p99 {p99_ms} ms, p99.9 {p999_ms} ms, errors {errors}".format(**last))
elif kind == "ramp":
    print("   largest rate meeting the target: {} rps".format(last["ramp"]["max_rps"]))
else:
    rps = last["requests"] / (last["duration_us"] / 1e6)
    print("   {:.0f} rps, p50 {p50_ms} ms, p99 {p99_ms} ms, p99.9 {p999_ms} ms, errors {errors}, non-2xx {non_2xx}".format(rps, **last))
PY
}

run_backend() {
  local backend=$1 port=$2 dir=$WORK/$1 db_url
  mkdir -p "$dir"
  case $backend in
    sqlite) db_url="sqlite://$dir/data/tutti.db" ;;
    postgres)
      if ! bash tests/services/postgres.sh status >/dev/null 2>&1; then
        bash tests/services/postgres.sh start
        STARTED_PG=1
      fi
      local pg; pg=$(bash tests/services/postgres.sh url)
      psql -q "$pg" -c "DROP DATABASE IF EXISTS tutti_bench_pages" -c "CREATE DATABASE tutti_bench_pages"
      db_url="${pg%/*}/tutti_bench_pages"
      ;;
  esac
  local tutti=("$TUTTI" --data-dir "$dir/data" --database-url "$db_url")
  echo "== $backend: migrating and creating $USERS users"
  "${tutti[@]}" migrate >/dev/null
  for ((n = 1; n <= USERS; n++)); do
    printf '%s\n' "$PASSWORD" | "${tutti[@]}" admin create-user --email "load$n@example.org" \
      --name "Load $n" --password - >>"$dir/create-users.log" 2>&1 \
      || { cat "$dir/create-users.log" >&2; exit 1; }
  done

  echo "== $backend: tutti serve on CPU $SERVER_CPU, port $port"
  taskset -c "$SERVER_CPU" "${tutti[@]}" serve --listen "127.0.0.1:$port" >"$dir/server.log" 2>&1 &
  SERVER_PID=$!
  local url="http://127.0.0.1:$port"
  for _ in $(seq 100); do curl -fs "$url/readyz" >/dev/null && break; sleep 0.1; done
  curl -fs "$url/readyz" >/dev/null || { cat "$dir/server.log" >&2; exit 1; }

  local load=(taskset -c "$LOAD_CPU" "$LOAD" pages --url "$url" --users "$USERS"
              --email 'load%n@example.org' --json)
  echo "== $backend: tutti-load pages at $RATE rps for $DURATION (after $WARMUP of warm-up)"
  TUTTI_LOAD_PASSWORD=$PASSWORD measure "$SERVER_PID" "$dir/fixed-cpu.json" "$dir/fixed.jsonl" "pages: " \
    "${load[@]}" --rate "$RATE" --duration "$DURATION" --warmup "$WARMUP"
  show summary "$dir/fixed.jsonl"

  echo "== $backend: tutti-load pages --ramp from $RAMP_FROM rps, $RAMP_STEP per step"
  TUTTI_LOAD_PASSWORD=$PASSWORD "${load[@]}" --ramp --rate "$RAMP_FROM" --duration "$RAMP_STEP" \
    --warmup 2s --p99-target-ms "$P99_TARGET_MS" --max-error-rate "$MAX_ERROR_RATE" >"$dir/ramp.jsonl"
  show ramp "$dir/ramp.jsonl"

  echo "== $backend: wrk, $WRK_CONNECTIONS connections for $WRK_DURATION, same routes and sessions"
  local cookies=()
  for ((n = 1; n <= WRK_CONNECTIONS && n <= USERS; n++)); do
    cookies+=("$(curl -s -o /dev/null -D - -H "Origin: $url" \
      --data-urlencode "email=load$n@example.org" --data-urlencode "password=$PASSWORD" \
      "$url/login" | tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: \(tutti_session=[^;]*\).*/\1/p' | head -n 1)")
  done
  [[ -n ${cookies[0]} ]] || { echo "wrk: could not sign in with curl" >&2; exit 1; }
  {
    echo "local cookies = {"
    printf '  "%s",\n' "${cookies[@]}"
    echo "}"
    cat <<'LUA'
-- The same mix as tutti-load pages: even requests the home page, odd ones /api/v1/me,
-- each pair from the next session in turn.
local paths = { "/", "/api/v1/me" }
local accepts = { "text/html,application/xhtml+xml", "application/json" }
local n = 0
request = function()
  local route = (n % 2) + 1
  local cookie = cookies[(math.floor(n / 2) % #cookies) + 1]
  n = n + 1
  return wrk.format("GET", paths[route], { ["Cookie"] = cookie, ["Accept"] = accepts[route] })
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"errors":%d,"non_2xx":%d,"p50_ms":%.3f,"p99_ms":%.3f,"p999_ms":%.3f,"max_ms":%.3f,"mean_ms":%.3f}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency:percentile(99.9) / 1000,
    latency.max / 1000, latency.mean / 1000))
end
LUA
  } >"$dir/wrk.lua"
  measure "$SERVER_PID" "$dir/wrk-cpu.json" "$dir/wrk.txt" "" \
    taskset -c "$LOAD_CPU" wrk -t1 -c"$WRK_CONNECTIONS" -d"$WRK_DURATION" -s "$dir/wrk.lua" "$url"
  sed -n 's/^WRKJSON //p' "$dir/wrk.txt" >"$dir/wrk.json"
  show wrk "$dir/wrk.json"

  kill "$SERVER_PID"
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
  if [[ $backend == postgres ]]; then
    psql -q "$(bash tests/services/postgres.sh url)" -c "DROP DATABASE IF EXISTS tutti_bench_pages"
  fi
}

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
port=18481
for backend in $BACKENDS; do
  run_backend "$backend" "$port"
  port=$((port + 1))
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

python3 - "$WORK" "$ROOT/bench/RESULTS.md" <<PY
import json, pathlib, re, sys, subprocess, datetime
work, target = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
backends = "$BACKENDS".split()
names = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
def lines(path): return [json.loads(l) for l in path.read_text().splitlines() if l.strip()]
def ms(x): return f"{x:.2f}"
cpu_model = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.splitlines()[0].split(" [")[0]
out = []
w = out.append
w(f"## Pages under load: tutti-load and wrk ({datetime.date.today()}, $(nproc) cores)")
w("")
w(f"Command: \`bash bench/pages.sh\` (RATE=$RATE, DURATION=$DURATION after WARMUP=$WARMUP, USERS=$USERS, RAMP_FROM=$RAMP_FROM,")
w(f"RAMP_STEP=$RAMP_STEP, WRK_CONNECTIONS=$WRK_CONNECTIONS, WRK_DURATION=$WRK_DURATION) on {cpu_model}, $(nproc) cores, load average")
w(f"(1, 5, 15 min) $load_start at the start and $load_end at the end. \`tutti serve\` (release build, default")
w(f"settings: access log on, written to a file) pinned to CPU $SERVER_CPU, the generator to CPU $LOAD_CPU (\`taskset\`); PostgreSQL")
w("(the test cluster of \`tests/services/postgres.sh\`: fsync off) is not pinned. Routes: the home page and")
w("\`GET /api/v1/me\`, alternately, with session cookies ($USERS accounts, each signed in through \`/login\`).")
w("tutti-load is open loop: it sends at the fixed rate whatever the answers and counts latency from each")
w(f"request's scheduled send time, from one 127.x.y.z source address per user. {wrk_version} is the anchor: closed loop")
w(f"($WRK_CONNECTIONS connections from 127.0.0.1, each sending its next request when the last one answered, so it measures")
w(f"the most the server does and the latency at that load; its sessions are {min($WRK_CONNECTIONS, $USERS)} of the same accounts).")
w("")
w("| database | tool | offered rps | achieved rps | p50 (ms) | p99 (ms) | p99.9 (ms) | max (ms) | errors |")
w("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
summaries = {}
for b in backends:
    d = work / b
    s = lines(d / "fixed.jsonl")[-1]
    summaries[b] = s
    w(f"| {names[b]} | tutti-load, fixed rate | {s['offered_rps']:.0f} | {s['achieved_rps']:.1f} | {ms(s['p50_ms'])} | {ms(s['p99_ms'])} | {ms(s['p999_ms'])} | {ms(s['max_ms'])} | {s['errors']} |")
    k = json.loads((d / "wrk.json").read_text())
    rps = k["requests"] / (k["duration_us"] / 1e6)
    w(f"| {names[b]} | wrk, {$WRK_CONNECTIONS} connections | – | {rps:.0f} | {ms(k['p50_ms'])} | {ms(k['p99_ms'])} | {ms(k['p999_ms'])} | {ms(k['max_ms'])} | {k['errors'] + k['non_2xx']} |")
w("")
w(f"Target: p99 under $P99_TARGET_MS ms at $RATE rps: " + "; ".join(
    f"{names[b]} {'met' if s['p99_ms'] < $P99_TARGET_MS and s['errors'] == 0 else 'missed'} (p99 {ms(s['p99_ms'])} ms)" for b, s in summaries.items()) + ".")
w("")
w("Per route at the fixed rate (tutti-load), the sign-ins before it, and CPU time while measuring (the")
w("fixed-rate run without its warm-up and sign-ins; wrk's whole run), as a share of one core and per request:")
w("")
w("| database | home p50 / p99 (ms) | /api/v1/me p50 / p99 (ms) | sign-in p50 / p99 (ms), at once | server CPU at the fixed rate | server CPU under wrk | tutti-load CPU | wrk CPU | send lag p99 (ms) |")
w("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
def cpu(path, requests):
    c = json.loads(path.read_text())
    share = lambda s: f"{s / c['seconds'] * 100:.0f}%"
    return (f"{share(c['server_cpu_s'])}, {c['server_cpu_s'] / requests * 1e6:.0f} µs/req",
            f"{share(c['load_cpu_s'])}, {c['load_cpu_s'] / requests * 1e6:.0f} µs/req")
for b in backends:
    d = work / b
    fixed = lines(d / "fixed.jsonl")
    sign = next(l for l in fixed if l["phase"] == "sign-in")
    s = fixed[-1]
    h, m = s["operations"]["home"], s["operations"]["api_me"]
    k = json.loads((d / "wrk.json").read_text())
    fixed_server, fixed_load = cpu(d / "fixed-cpu.json", s["requests"])
    wrk_server, wrk_load = cpu(d / "wrk-cpu.json", k["requests"])
    w(f"| {names[b]} | {ms(h['p50_ms'])} / {ms(h['p99_ms'])} | {ms(m['p50_ms'])} / {ms(m['p99_ms'])} | {ms(sign['p50_ms'])} / {ms(sign['p99_ms'])}, {sign['concurrency']} | {fixed_server} | {wrk_server} | {fixed_load} | {wrk_load} | {ms(s['send_lag_p99_ms'])} |")
w("")
w(f"Ramp (\`--ramp\`, from $RAMP_FROM rps, ×1.5 while the step meets p99 ≤ $P99_TARGET_MS ms and errors ≤ {float('$MAX_ERROR_RATE')*100:g}%, then")
w("bisecting to 5%; $RAMP_STEP per step):")
w("")
w("| database | largest rate meeting the target (rps) | its p99 (ms) | its generator send lag p99 (ms) | steps (offered rps: p99 ms, met or missed) |")
w("| --- | ---: | ---: | ---: | --- |")
for b in backends:
    s = lines(work / b / "ramp.jsonl")[-1]
    r = s["ramp"]
    steps = ", ".join(f"{st['offered_rps']:.0f}: {st['p99_ms']:.1f} {'met' if st['passed'] else 'missed'}" for st in r["steps"])
    best = f"{r['max_rps']:.0f}" if r["max_rps"] is not None else "none"
    w(f"| {names[b]} | {best} | {ms(s['p99_ms'])} | {ms(s['send_lag_p99_ms'])} | {steps} |")
w("")
new = "\n".join(out) + "\n"
print(new)
old = target.read_text() if target.exists() else "# Benchmark results\n\nEach section is written by the script it names; newer runs replace older ones.\n\n"
old = re.sub(r"## Pages under load.*?(?=\n## |\Z)", "", old, flags=re.S).rstrip() + "\n\n"
target.write_text(old + new)
PY
echo "written to bench/RESULTS.md"
