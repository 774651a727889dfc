#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the test suite.
#
#   tests/services/postgres.sh start    initialise (fresh) and start, unless already running
#   tests/services/postgres.sh stop     stop it (pg_ctl, then the postmaster pid)
#   tests/services/postgres.sh status   exit 0 when running
#   tests/services/postgres.sh url      print the superuser URL
#
# Listens on 127.0.0.1 only (port $TESTS_PG_PORT, default 54329), trust authentication,
# data under $TESTS_PG_DIR (default /tmp/tutti-pg). Durability is switched off: it only
# ever holds test data.
set -euo pipefail

DIR=${TESTS_PG_DIR:-/tmp/tutti-pg}
PORT=${TESTS_PG_PORT:-54329}
DATA=$DIR/data
LOG=$DIR/postgres.log
URL="postgres://postgres@127.0.0.1:$PORT/postgres"

pgbin() {
  if [[ -n ${PG_BIN:-} ]]; then echo "$PG_BIN"; return; fi
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [[ -z $d ]]; then
    d=$(dirname "$(command -v pg_ctl 2>/dev/null || command -v initdb 2>/dev/null || echo /nonexistent/x)")
  fi
  [[ -x $d/pg_ctl ]] || { echo "postgres.sh: PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }
  echo "$d"
}

# Run a command as the cluster owner: 'postgres' when we are root, ourselves otherwise.
as_owner() {
  if [[ $(id -u) == 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pid_of() {
  [[ -f $DATA/postmaster.pid ]] && head -n 1 "$DATA/postmaster.pid" 2>/dev/null || true
}

running() {
  local pid
  pid=$(pid_of)
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null
}

ready() {
  "$(pgbin)/pg_isready" -q -h 127.0.0.1 -p "$PORT" -U postgres -d postgres
}

start() {
  if running; then
    echo "postgres: already running (pid $(pid_of)) at $URL"
    return 0
  fi
  local bin
  bin=$(pgbin)
  rm -rf "$DIR"
  mkdir -p "$DIR"
  [[ $(id -u) == 0 ]] && chown postgres: "$DIR"
  as_owner "$bin/initdb" --pgdata="$DATA" --username=postgres --auth=trust \
    --encoding=UTF8 --locale=C.UTF-8 --no-sync >"$DIR/initdb.log" 2>&1 \
    || { cat "$DIR/initdb.log" >&2; exit 1; }
  cat >>"$DATA/postgresql.conf" <<CONF
# tutti test cluster
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$DIR'
max_connections = 300
shared_buffers = 128MB
fsync = off
synchronous_commit = off
full_page_writes = off
log_min_messages = warning
log_min_error_statement = panic
CONF
  as_owner "$bin/pg_ctl" --pgdata="$DATA" --log="$LOG" --wait --timeout=60 start >/dev/null \
    || { tail -n 30 "$LOG" >&2; exit 1; }
  for _ in $(seq 1 100); do
    ready && break
    sleep 0.1
  done
  ready || { echo "postgres: not ready" >&2; tail -n 30 "$LOG" >&2; exit 1; }
  echo "postgres: started (pid $(pid_of)) at $URL"
}

stop() {
  local pid
  pid=$(pid_of)
  if [[ -z $pid ]] || ! kill -0 "$pid" 2>/dev/null; then
    echo "postgres: not running"
    return 0
  fi
  as_owner "$(pgbin)/pg_ctl" --pgdata="$DATA" --mode=fast --wait --timeout=30 stop >/dev/null 2>&1 || true
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  fi
  echo "postgres: stopped (pid $pid)"
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  status) running && ready ;;
  url) echo "$URL" ;;
  *) echo "usage: $0 start|stop|status|url" >&2; exit 2 ;;
esac
