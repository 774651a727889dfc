#!/usr/bin/env bash
# Music under load, in one run, against `tutti serve` (release build) on loopback:
# (a) ranged streaming of one track, wrk sending `Range: bytes=X-(X+RANGE_BYTES-1)` at
#     random offsets to /api/v1/music/tracks/{id}/stream?format=mp3, and the same requests
#     to nginx serving the same MP3 bytes from disk (the anchor, measured in the same run);
# (b) opening an album: `tutti-load music` (open loop, fixed rate) alternating the public
#     album page and the Subsonic getAlbum call, on SQLite and on PostgreSQL.
# Each backend gets a fresh data folder, an artist and a listener account, and a
# generated album (TRACKS tracks of TRACK_SECONDS s, a cover) imported and published with
# `tutti music import`. The servers are pinned to SERVER_CPU, wrk and tutti-load to
# LOAD_CPU. (a) runs once, with the first backend (SQLite by default): it reads one blob
# and three rows per request, which says little about the database. Writes its section
# of bench/RESULTS.md.
#
#   bash bench/music.sh                                    # 1,000 rps for 30 s, wrk 20 s
#   RATE=200 DURATION=5s WRK_DURATION=5s BACKENDS=sqlite bash bench/music.sh  # a smoke run
#   RESULTS=/tmp/r.md bash bench/music.sh                  # write the section elsewhere
#
# Needs: the Rust toolchain (release builds made here), wrk, nginx, ffmpeg, curl, taskset,
# python3, and for PostgreSQL the test cluster of tests/services/postgres.sh (started here
# when it is not running, stopped again after) and psql (apt-get install wrk nginx ffmpeg
# curl util-linux python3 postgresql).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
export PATH="$PATH:/usr/sbin:/sbin"
RATE=${RATE:-1000}
DURATION=${DURATION:-30s}
WARMUP=${WARMUP:-5s}
USERS=${USERS:-50}
P99_TARGET_MS=${P99_TARGET_MS:-20}
RATIO_TARGET=${RATIO_TARGET:-0.8}
WRK_CONNECTIONS=${WRK_CONNECTIONS:-16}
WRK_DURATION=${WRK_DURATION:-20s}
WRK_WARMUP=${WRK_WARMUP:-3s}
RANGE_BYTES=${RANGE_BYTES:-65536}
TRACKS=${TRACKS:-3}
TRACK_SECONDS=${TRACK_SECONDS:-30}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
BACKENDS=${BACKENDS:-sqlite postgres}
WORK=${WORK:-$ROOT/target/bench-music}
RESULTS=${RESULTS:-$ROOT/bench/RESULTS.md}
PASSWORD="bench music password"
ARTIST_EMAIL=artist@example.org
LISTENER_EMAIL=listener@example.org
PG_DB=tutti_bench_music
for tool in wrk nginx ffmpeg curl taskset python3; do
  command -v "$tool" >/dev/null || {
    echo "bench/music.sh needs $tool (apt-get install -y wrk nginx ffmpeg curl util-linux python3)" >&2
    exit 1
  }
done
if [[ " $BACKENDS " == *" postgres "* ]]; then
  command -v psql >/dev/null || { echo "bench/music.sh needs psql for PostgreSQL (apt-get install -y postgresql)" >&2; exit 1; }
fi

echo "== building tutti and tutti-load (release)"
cargo build --release -q -p tutti-server -p tutti-loadgen
TUTTI=$ROOT/target/release/tutti
LOAD=$ROOT/target/release/tutti-load
rm -rf "$WORK"
mkdir -p "$WORK"

SERVER_PID=
NGINX_PID=
STARTED_PG=
stop() {
  if [[ -n $1 ]] && kill -0 "$1" 2>/dev/null; then
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
  fi
}
cleanup() {
  stop "$NGINX_PID"
  stop "$SERVER_PID"
  if [[ -n $STARTED_PG ]]; then bash tests/services/postgres.sh stop >/dev/null || true; fi
}
trap cleanup EXIT

# A port on 127.0.0.1 nobody listens on now.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_for URL LOG: until URL answers 2xx (at most 20 s); shows LOG and fails otherwise.
wait_for() {
  for _ in $(seq 200); do curl -fs -o /dev/null "$1" && return; sleep 0.1; done
  echo "$1 did not answer; its log:" >&2
  cat "$2" >&2
  exit 1
}

# The album: TRACKS tagged FLAC files of TRACK_SECONDS s (a chord that moves, so the
# encoders have something to encode) and a cover picture beside them.
ALBUM_DIR="$WORK/album/Bench Album"
mkdir -p "$ALBUM_DIR"
echo "== generating the album ($TRACKS tracks of $TRACK_SECONDS s)"
for ((n = 1; n <= TRACKS; n++)); do
  f=$((196 + 24 * n))
  ffmpeg -nostdin -loglevel error -f lavfi \
    -i "aevalsrc=0.3*sin($f*2*PI*t)*(1+0.3*sin(0.5*2*PI*t))+0.2*sin($((f * 3 / 2))*2*PI*t)|0.3*sin($((f * 5 / 4))*2*PI*t)+0.2*sin($f*2*PI*t):s=44100:d=$TRACK_SECONDS" \
    -metadata title="Bench Track $n" -metadata track="$n/$TRACKS" -metadata album="Bench Album" \
    -metadata artist="Bench Artist" -metadata album_artist="Bench Artist" -metadata date=2026 \
    "$ALBUM_DIR/$(printf '%02d' "$n") Bench Track $n.flac"
done
ffmpeg -nostdin -loglevel error -f lavfi -i "color=c=0x2f5d8a:s=800x800" -frames:v 1 "$ALBUM_DIR/cover.jpg"

# measure OUT.json STDOUT MARKER PIDS CMD…: runs CMD with its standard output in STDOUT,
# and writes to OUT.json the wall time and the CPU time of the server processes PIDS
# (comma-separated) and of CMD from the moment CMD's standard error prints a line
# starting with MARKER (from the start when MARKER is empty) until CMD exits.
measure() {
  python3 - "$@" <<'PY'
import json, os, subprocess, sys, time
out_json, stdout_path, marker, pids, *cmd = sys.argv[1:]
pids = pids.split(",")
tick = os.sysconf("SC_CLK_TCK")
def cpu(p):  # utime + stime, fields 14 and 15 of /proc/PID/stat
    fields = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / tick
def servers():
    return sum(cpu(p) for p in pids)
with open(stdout_path, "w") as stdout:
    child = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE, text=True)
    start = (time.monotonic(), servers(), cpu(child.pid)) if not marker else None
    for line in child.stderr:
        sys.stderr.write(line)
        if start is None and line.startswith(marker):
            start = (time.monotonic(), servers(), cpu(child.pid))
    _, status, usage = os.wait4(child.pid, 0)
    end = (time.monotonic(), servers(), usage.ru_utime + usage.ru_stime)
code = os.waitstatus_to_exitcode(status)
if code != 0:
    sys.exit(f"{cmd[0]} failed with status {code}")
if start is None:
    sys.exit(f"{cmd[0]} never printed {marker!r}")
json.dump({"seconds": end[0] - start[0], "server_cpu_s": end[1] - start[1], "load_cpu_s": end[2] - start[2]},
          open(out_json, "w"))
PY
}

# subsonic URL METHOD QUERY EXPR: calls METHOD with the listener's key and prints the
# Python expression EXPR of the answer `r` (its subsonic-response); fails unless ok.
subsonic() {
  curl -fsS "$1/rest/$2.view?$3&apiKey=$API_KEY&f=json" | python3 -c '
import json, sys
r = json.load(sys.stdin)["subsonic-response"]
if r.get("status") != "ok":
    sys.exit(f"subsonic {sys.argv[1]}: {r}")
print(eval(sys.argv[2]))' "$2" "$4"
}

# stream_bench URL TRACK_ID DIR BACKEND: (a), wrk on Tutti's stream of the track, then
# on nginx serving the same MP3 bytes from DIR/www.
stream_bench() {
  local url=$1 track=$2 dir=$3 backend=$4 stream size nginx_port nginx_url
  stream="/api/v1/music/tracks/$track/stream?format=mp3"
  mkdir -p "$dir/www" "$dir/nginx"
  curl -fsS -o "$dir/www/track.mp3" "$url$stream"
  size=$(stat -c %s "$dir/www/track.mp3")
  ((size > RANGE_BYTES)) || { echo "the MP3 ($size bytes) is shorter than one range ($RANGE_BYTES)" >&2; exit 1; }
  echo "== streaming: the MP3 is $size bytes"

  nginx_port=$(free_port)
  nginx_url="http://127.0.0.1:$nginx_port"
  # As little as serves a file well: one worker (pinned with the master), sendfile, and
  # connections kept as long as wrk keeps them; like Tutti by default (and nginx by
  # default), a line per request in its access log, so both do the same work. No
  # tcp_nopush: with it, nginx 1.22 holds each 64 KiB range's last segment until the
  # client's delayed ACK (about 40 ms), which caps it near 400 requests/s here.
  cat >"$dir/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log $dir/nginx/access.log;
  sendfile on;
  keepalive_requests 10000000;
  keepalive_timeout 60s;
  types { audio/mpeg mp3; }
  default_type application/octet-stream;
  client_body_temp_path $dir/nginx/client_body;
  proxy_temp_path $dir/nginx/proxy;
  fastcgi_temp_path $dir/nginx/fastcgi;
  uwsgi_temp_path $dir/nginx/uwsgi;
  scgi_temp_path $dir/nginx/scgi;
  server {
    listen 127.0.0.1:$nginx_port;
    root $dir/www;
  }
}
CONF
  # The worker runs as whoever runs this (nginx would switch a root master's worker to
  # nobody, who may not reach the work folder).
  if [[ $(id -u) == 0 ]]; then sed -i '1i user root;' "$dir/nginx/nginx.conf"; fi
  taskset -c "$SERVER_CPU" nginx -p "$dir/nginx" -c "$dir/nginx/nginx.conf" -e "$dir/nginx/error.log" \
    >"$dir/nginx/stdout.log" 2>&1 &
  NGINX_PID=$!
  wait_for "$nginx_url/track.mp3" "$dir/nginx/error.log"
  # The master and its worker: the worker serves, the master only watches.
  local nginx_pids=$NGINX_PID worker
  for worker in $(pgrep -P "$NGINX_PID"); do nginx_pids+=",$worker"; done

  # Both answer one range with 206 and the same bytes, or the comparison means nothing.
  local name target got
  for name in tutti nginx; do
    if [[ $name == tutti ]]; then target=$url$stream; else target=$nginx_url/track.mp3; fi
    got=$(curl -fsS -r "1000-$((RANGE_BYTES + 999))" -o "$dir/range.$name" -w '%{http_code} %{size_download}' "$target")
    [[ $got == "206 $RANGE_BYTES" ]] || { echo "$target: a range answered '$got', not '206 $RANGE_BYTES'" >&2; exit 1; }
  done
  cmp -s "$dir/range.tutti" "$dir/range.nginx" || { echo "Tutti and nginx sent different bytes for one range" >&2; exit 1; }

  cat >"$dir/range.lua" <<LUA
-- A player seeking: each request asks for $RANGE_BYTES bytes at a random offset in the
-- file, so no server answers from one cached slice; the same seed for both servers.
local size, span = $size, $RANGE_BYTES
math.randomseed(42)
request = function()
  local from = math.random(0, size - span)
  return wrk.format(nil, nil, { ["Range"] = string.format("bytes=%d-%d", from, from + span - 1) })
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"bytes":%d,"duration_us":%d,"errors":%d,"non_2xx":%d,"p50_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f}\n',
    summary.requests, summary.bytes, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
LUA
  local pids
  for name in tutti nginx; do
    if [[ $name == tutti ]]; then target=$url$stream pids=$SERVER_PID; else target=$nginx_url/track.mp3 pids=$nginx_pids; fi
    echo "== streaming from $name: wrk, $WRK_CONNECTIONS connections for $WRK_DURATION (after $WRK_WARMUP)"
    taskset -c "$LOAD_CPU" wrk -t1 -c"$WRK_CONNECTIONS" -d"$WRK_WARMUP" -s "$dir/range.lua" "$target" >/dev/null
    measure "$dir/stream-$name-cpu.json" "$dir/stream-$name.txt" "" "$pids" \
      taskset -c "$LOAD_CPU" wrk -t1 -c"$WRK_CONNECTIONS" -d"$WRK_DURATION" -s "$dir/range.lua" "$target"
    sed -n 's/^WRKJSON //p' "$dir/stream-$name.txt" >"$dir/stream-$name.json"
    python3 - "$dir/stream-$name.json" <<'PY'
import json, sys
k = json.load(open(sys.argv[1]))
s = k["duration_us"] / 1e6
print(f"   {k['requests'] / s:.0f} requests/s, {k['bytes'] / s / 1e6:.1f} MB/s, p50 {k['p50_ms']} ms, "
      f"p99 {k['p99_ms']} ms, errors {k['errors']}, non-2xx {k['non_2xx']}")
PY
  done
  echo "{\"size\": $size, \"backend\": \"$backend\"}" >"$WORK/stream.json"
  stop "$NGINX_PID"
  NGINX_PID=
}

run_backend() {
  local backend=$1 dir=$WORK/$1 db_url port url
  mkdir -p "$dir"
  case $backend in
    sqlite) db_url="sqlite://$dir/data/tutti.db" ;;
    postgres)
      if ! bash tests/services/postgres.sh status >/dev/null 2>&1; then
        bash tests/services/postgres.sh start
        STARTED_PG=1
      fi
      local pg; pg=$(bash tests/services/postgres.sh url)
      psql -q "$pg" -c "DROP DATABASE IF EXISTS $PG_DB" -c "CREATE DATABASE $PG_DB"
      db_url="${pg%/*}/$PG_DB"
      ;;
    *) echo "unknown backend $backend (sqlite or postgres)" >&2; exit 1 ;;
  esac
  local tutti=("$TUTTI" --data-dir "$dir/data" --database-url "$db_url")
  echo "== $backend: accounts, then importing and publishing the album"
  "${tutti[@]}" migrate >/dev/null
  local email
  for email in "$ARTIST_EMAIL" "$LISTENER_EMAIL"; do
    printf '%s\n' "$PASSWORD" | "${tutti[@]}" admin create-user --email "$email" --name "${email%@*}" \
      --password - >>"$dir/setup.log" 2>&1 || { cat "$dir/setup.log" >&2; exit 1; }
  done
  "${tutti[@]}" music import "$ALBUM_DIR" --artist bench-artist --owner "$ARTIST_EMAIL" --publish \
    >"$dir/import.log" 2>&1 || { cat "$dir/import.log" >&2; exit 1; }
  local album_path
  album_path=$(sed -n 's|^Published .*: [a-z]*://[^/]*\(/music/[^ ]*\)$|\1|p' "$dir/import.log" | tail -n 1)
  [[ -n $album_path ]] || { echo "tutti music import printed no album address:" >&2; cat "$dir/import.log" >&2; exit 1; }
  API_KEY=$("${tutti[@]}" music api-key --email "$LISTENER_EMAIL" --name bench 2>>"$dir/setup.log" | tail -n 1)
  [[ -n $API_KEY ]] || { cat "$dir/setup.log" >&2; exit 1; }

  port=$(free_port)
  url="http://127.0.0.1:$port"
  echo "== $backend: tutti serve on CPU $SERVER_CPU, port $port"
  taskset -c "$SERVER_CPU" "${tutti[@]}" serve --listen "127.0.0.1:$port" >"$dir/server.log" 2>&1 &
  SERVER_PID=$!
  wait_for "$url/healthz" "$dir/server.log"
  wait_for "$url/readyz" "$dir/server.log"

  local artist_id album_id track_id
  artist_id=$(subsonic "$url" getArtists "" \
    '[a["id"] for i in r["artists"]["index"] for a in i["artist"] if a["name"] == "Bench Artist"][0]')
  album_id=$(subsonic "$url" getArtist "id=$artist_id" 'r["artist"]["album"][0]["id"]')
  track_id=$(subsonic "$url" getAlbum "id=$album_id" 'r["album"]["song"][0]["id"]')
  curl -fsS -o /dev/null "$url$album_path" || { echo "the album page $album_path did not answer 200" >&2; exit 1; }
  echo "   album page $album_path, album $album_id, track $track_id"

  if [[ ! -e $WORK/stream.json ]]; then stream_bench "$url" "$track_id" "$dir" "$backend"; fi

  echo "== $backend: tutti-load music at $RATE rps for $DURATION (after $WARMUP of warm-up)"
  measure "$dir/album-cpu.json" "$dir/album.jsonl" "music: " "$SERVER_PID" \
    taskset -c "$LOAD_CPU" "$LOAD" music --url "$url" --users "$USERS" --album-path "$album_path" \
    --subsonic-query "id=$album_id&apiKey=$API_KEY&f=json" \
    --rate "$RATE" --duration "$DURATION" --warmup "$WARMUP" --json
  python3 - "$dir/album.jsonl" <<'PY'
import json, sys
s = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
for name, op in s["operations"].items():
    print(f"   {name}: p50 {op['p50_ms']} ms, p90 {op['p90_ms']} ms, p99 {op['p99_ms']} ms, "
          f"max {op['max_ms']} ms, errors {op['errors']} of {op['requests']}")
print(f"   achieved {s['achieved_rps']} rps of {s['offered_rps']}, errors {s['errors_by_kind'] or 'none'}")
PY

  stop "$SERVER_PID"
  SERVER_PID=
  if [[ $backend == postgres ]]; then
    psql -q "$(bash tests/services/postgres.sh url)" -c "DROP DATABASE IF EXISTS $PG_DB"
  fi
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
for backend in $BACKENDS; do run_backend "$backend"; done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

export WORK RESULTS BACKENDS RATE DURATION WARMUP USERS P99_TARGET_MS RATIO_TARGET WRK_CONNECTIONS \
  WRK_DURATION WRK_WARMUP RANGE_BYTES TRACKS TRACK_SECONDS SERVER_CPU LOAD_CPU LOAD_START LOAD_END
python3 - <<'PY'
import datetime, json, os, pathlib, re, subprocess
env = os.environ
work, target = pathlib.Path(env["WORK"]), pathlib.Path(env["RESULTS"])
backends = env["BACKENDS"].split()
names = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
p99_target, ratio_target = float(env["P99_TARGET_MS"]), float(env["RATIO_TARGET"])
def ms(x): return f"{x:.2f}"
def share(c): return f"{c['server_cpu_s'] / c['seconds'] * 100:.0f}%"
def last(path): return json.loads(path.read_text().strip().splitlines()[-1])
cpu_model = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
cores = os.cpu_count()
wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.splitlines()[0].split(" [")[0]
nginx_version = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip().split(": ")[-1]
stream = json.loads((work / "stream.json").read_text())
span = int(env["RANGE_BYTES"])

wrk, wrk_cpu, rps = {}, {}, {}
for name in ("tutti", "nginx"):
    wrk[name] = json.loads((work / stream["backend"] / f"stream-{name}.json").read_text())
    wrk_cpu[name] = json.loads((work / stream["backend"] / f"stream-{name}-cpu.json").read_text())
    rps[name] = wrk[name]["requests"] / (wrk[name]["duration_us"] / 1e6)
ratio = rps["tutti"] / rps["nginx"] if rps["nginx"] else 0.0
stream_errors = sum(k["errors"] + k["non_2xx"] for k in wrk.values())
album = {b: last(work / b / "album.jsonl") for b in backends}
album_cpu = {b: json.loads((work / b / "album-cpu.json").read_text()) for b in backends}

out = []
w = out.append
w(f"## Music under load: streaming against nginx, album page and getAlbum ({datetime.date.today()}, {cores} cores)")
w("")
w(f"Command: `bash bench/music.sh` (RATE={env['RATE']}, DURATION={env['DURATION']} after WARMUP={env['WARMUP']}, "
  f"USERS={env['USERS']}, WRK_CONNECTIONS={env['WRK_CONNECTIONS']},")
w(f"WRK_DURATION={env['WRK_DURATION']} after WRK_WARMUP={env['WRK_WARMUP']}, RANGE_BYTES={span}) on {cpu_model}, "
  f"{cores} cores, load average (1, 5, 15 min)")
w(f"{env['LOAD_START']} at the start and {env['LOAD_END']} at the end. Each backend: a fresh data folder and an "
  f"album of {env['TRACKS']} generated")
w(f"tracks of {env['TRACK_SECONDS']} s with a cover, imported and published with `tutti music import`. `tutti serve` "
  "(release build, default")
w(f"settings: access log on, written to a file) and nginx are pinned to CPU {env['SERVER_CPU']}, wrk and tutti-load "
  f"to CPU {env['LOAD_CPU']} (`taskset`);")
w("PostgreSQL (the test cluster of `tests/services/postgres.sh`: fsync off) is not pinned.")
w("")
w("| target | measured | verdict |")
w("| --- | --- | --- |")
met_a = ratio >= ratio_target and stream_errors == 0
w(f"| (a) ranged streaming: at least {ratio_target * 100:.0f}% of nginx's requests/s | {ratio * 100:.0f}% "
  f"({rps['tutti']:.0f} against nginx's {rps['nginx']:.0f}, measured in this run), {stream_errors} errors | "
  f"{'met' if met_a else 'missed'} |")
for b in ("sqlite", "postgres"):
    if b not in backends:
        w(f"| (b) {names[b]}: p99 under {p99_target:g} ms at {env['RATE']} rps | not run | – |")
        continue
    s = album[b]
    ops = s["operations"]
    worst = max(op["p99_ms"] for op in ops.values())
    met = worst < p99_target and s["errors"] == 0
    w(f"| (b) {names[b]}: p99 under {p99_target:g} ms at {env['RATE']} rps | album page {ms(ops['album_page']['p99_ms'])} ms, "
      f"getAlbum {ms(ops['subsonic_get_album']['p99_ms'])} ms, {s['errors']} errors | {'met' if met else 'missed'} |")
w("")
w(f"Pass/fail: (a) {'pass' if met_a else 'fail'}; (b) " + "; ".join(
    f"{names[b]} " + ("pass" if max(op["p99_ms"] for op in album[b]["operations"].values()) < p99_target
                      and album[b]["errors"] == 0 else "fail") for b in backends) + ".")
w("")
w(f"**(a) Ranged streaming** of one track's MP3 ({stream['size']} bytes), run once, with {names[stream['backend']]} "
  "(each request reads three")
w(f"rows and one blob range, so the database matters little). {wrk_version}, one thread, "
  f"{env['WRK_CONNECTIONS']} connections, each request")
w(f"`Range: bytes=X-(X+{span - 1})` at a random offset in the file (the same sequence for both servers), against")
w("`GET /api/v1/music/tracks/{id}/stream?format=mp3`. The anchor, in the same run: " + nginx_version +
  " serving the same bytes")
w("from disk (one worker, sendfile on, a line per request in its access log, as Tutti writes one); the issue quotes about 33,000 such requests/s for nginx on")
w("this machine. MB/s counts what wrk read, headers included; server CPU is a share of one core while wrk ran.")
w("")
w("| server | requests/s | MB/s | p50 (ms) | p99 (ms) | max (ms) | errors | server CPU |")
w("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for name, label in (("tutti", "Tutti"), ("nginx", f"{nginx_version} (anchor)")):
    k = wrk[name]
    secs = k["duration_us"] / 1e6
    w(f"| {label} | {rps[name]:.0f} | {k['bytes'] / secs / 1e6:.1f} | {ms(k['p50_ms'])} | {ms(k['p99_ms'])} | "
      f"{ms(k['max_ms'])} | {k['errors'] + k['non_2xx']} | {share(wrk_cpu[name])} |")
w("")
w(f"**(b) Opening an album** under load: `tutti-load music` at {env['RATE']} rps for {env['DURATION']}, open loop "
  "(latency counts from each")
w("request's scheduled send time), alternating the public album page (no sign-in) and")
w("`GET /rest/getAlbum.view?id=…&apiKey=…&f=json` (an error unless 200 with `subsonic-response.status` `ok`), from")
w(f"{env['USERS']} anonymous listeners, each from its own 127.x.y.z address. Server CPU: share of one core, and per request.")
w("")
w("| database | operation | requests | p50 (ms) | p90 (ms) | p99 (ms) | max (ms) | errors | server CPU |")
w("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
labels = {"album_page": "album page", "subsonic_get_album": "Subsonic getAlbum"}
for b in backends:
    s, c = album[b], album_cpu[b]
    for op_name, op in s["operations"].items():
        rate = op["errors"] / op["requests"] if op["requests"] else 0.0
        w(f"| {names[b]} | {labels.get(op_name, op_name)} | {op['requests']} | {ms(op['p50_ms'])} | {ms(op['p90_ms'])} | "
          f"{ms(op['p99_ms'])} | {ms(op['max_ms'])} | {op['errors']} ({rate * 100:.2f}%) | |")
    w(f"| {names[b]} | both: {s['achieved_rps']:.0f} of {s['offered_rps']:.0f} rps achieved | {s['requests']} | "
      f"{ms(s['p50_ms'])} | {ms(s['p90_ms'])} | {ms(s['p99_ms'])} | {ms(s['max_ms'])} | "
      f"{s['errors']} ({s['error_rate'] * 100:.2f}%) | {share(c)}, {c['server_cpu_s'] / max(s['requests'], 1) * 1e6:.0f} µs/req |")
errors = {b: album[b]["errors_by_kind"] for b in backends if album[b]["errors_by_kind"]}
if errors:
    w("")
    w("Errors by kind: " + "; ".join(f"{names[b]}: " + ", ".join(f"{k} {v}" for k, v in e.items())
                                     for b, e in errors.items()) + ".")
w("")
new = "\n".join(out) + "\n"
print(new)
old = target.read_text() if target.exists() else "# Benchmark results\n\nEach section is written by the script it names; newer runs replace older ones.\n\n"
old = re.sub(r"## Music under load.*?(?=\n## |\Z)", "", old, flags=re.S).rstrip() + "\n\n"
target.write_text(old + new)
PY
echo "written to $RESULTS"
