#!/usr/bin/env bash
# Tutti's whole test suite, as CI runs it (`bash tests/run.sh`) and as a developer can.
#
#   0. setup             tests/setup.sh installs what is missing (apt, pip, npm, nextest)
#   1. checks            cargo fmt --check, cargo clippy --all-targets -D warnings,
#                        cargo deny check licenses bans sources
#   2. rust (embedded)   cargo nextest run --workspace   with SQLite + local files
#   3. rust (pg + s3)    cargo nextest run --workspace   against PostgreSQL and SeaweedFS S3
#   4. browser (e2e)     npm --prefix tests/e2e test      against target/debug/tutti
#   5. api conformance   tests/api/conformance.sh: schemathesis over every operation of
#                        /api/v1/openapi.json against target/debug/tutti
#
# The services for group 2 are started from tests/services/ unless already running, and
# the ones started here are stopped again on exit. Every group runs even when an earlier
# one failed; the exit status is non-zero when any failed. Logs: target/test-logs/.
#
# Environment: NEXTEST_PROFILE (default: ci, see .config/nextest.toml);
# TUTTI_TEST_SKIP_SETUP=1 skips step 0.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
LOGS=$ROOT/target/test-logs
mkdir -p "$LOGS"
export NEXTEST_PROFILE=${NEXTEST_PROFILE:-ci}
# Settings of the outer shell must not leak into the embedded run or into tutti.
unset TUTTI_TEST_DATABASE_URL TUTTI_TEST_BLOB_URL TUTTI_TEST_BLOB_OPTIONS

suite_start=$SECONDS
if [[ ${TUTTI_TEST_SKIP_SETUP:-0} != 1 ]]; then
  bash tests/setup.sh || { echo "tests/run.sh: setup failed" >&2; exit 1; }
fi
# pip and Debian put test tools here; they may not be on PATH yet in this shell.
export PATH="$PATH:/usr/local/bin:$HOME/.local/bin"
hms() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }
banner() { printf '\n==== %s ====\n' "$*"; }

# --- services -----------------------------------------------------------------------
STARTED=()
stop_services() {
  local i
  for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do
    bash "tests/services/${STARTED[i]}.sh" stop || true
  done
  STARTED=()
}
trap stop_services EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

banner "services"
services_ok=1
for svc in postgres seaweedfs; do
  if bash "tests/services/$svc.sh" status >/dev/null 2>&1; then
    echo "$svc: already running, using it (not stopped at the end)"
  elif bash "tests/services/$svc.sh" start; then
    STARTED+=("$svc")
  else
    echo "$svc: FAILED to start" >&2
    services_ok=0
  fi
done

# --- groups -------------------------------------------------------------------------
NAMES=() RESULTS=() TIMES=() SUMMARIES=()

# run_group NAME SUMMARY_FN COMMAND...: run, tee the output to $LOGS/NAME.log, record.
run_group() {
  local name=$1 summarize=$2 start rc
  shift 2
  banner "$name"
  start=$SECONDS
  "$@" 2>&1 | tee "$LOGS/$name.log"
  rc=${PIPESTATUS[0]}
  NAMES+=("$name")
  RESULTS+=("$rc")
  TIMES+=($((SECONDS - start)))
  SUMMARIES+=("$("$summarize" "$LOGS/$name.log" "$rc")")
  printf -- '---- %s: %s in %s: %s\n' "$name" "$([[ $rc == 0 ]] && echo ok || echo "FAILED (exit $rc)")" \
    "$(hms "${TIMES[-1]}")" "${SUMMARIES[-1]}"
}

strip_ansi() { sed -e 's/\x1b\[[0-9;]*[A-Za-z]//g' "$1"; }

nextest_summary() {
  local line
  line=$(strip_ansi "$1" | grep -E '^ *Summary \[' | tail -n 1 | sed -e 's/^ *//')
  if [[ -n $line ]]; then echo "$line"
  elif strip_ansi "$1" | grep -qE '^error(\[E[0-9]+\])?:'; then echo "build failed"
  else echo "no nextest summary (see $1)"
  fi
}

node_summary() {
  local s
  s=$(strip_ansi "$1" | sed -n -E 's/^ℹ (tests|pass|fail|cancelled|skipped|todo) ([0-9]+)$/\1 \2/p' \
    | tail -n 6 | paste -sd ',' | sed -e 's/,/, /g')
  echo "${s:-no node:test summary (see $1)}"
}

copy_junit() {
  local src=$ROOT/target/nextest/$NEXTEST_PROFILE/junit.xml
  [[ -f $src ]] && cp "$src" "$LOGS/junit-$1.xml"
  return 0
}

rust_embedded() {
  cargo nextest run --workspace
  local rc=$?
  copy_junit embedded
  return $rc
}

rust_backends() {
  if [[ $services_ok != 1 ]]; then
    echo "services did not start: not running the PostgreSQL + S3 group" >&2
    return 1
  fi
  local rc
  (
    TUTTI_TEST_DATABASE_URL=$(bash tests/services/postgres.sh url)
    export TUTTI_TEST_DATABASE_URL
    eval "$(bash tests/services/seaweedfs.sh env)"
    echo "TUTTI_TEST_DATABASE_URL=$TUTTI_TEST_DATABASE_URL"
    echo "TUTTI_TEST_BLOB_URL=$TUTTI_TEST_BLOB_URL"
    cargo nextest run --workspace
  )
  rc=$?
  copy_junit backends
  return $rc
}

browser() {
  # The same debug build as above: no new compilation of the dependencies.
  cargo build -p tutti-server || return $?
  if [[ ! -d tests/e2e/node_modules ]]; then
    npm ci --prefix tests/e2e --no-audit --no-fund || return $?
  fi
  TUTTI_BIN=$ROOT/target/debug/tutti npm --prefix tests/e2e test
}

conformance() {
  # The same debug build again; the document is checked against the server it describes.
  cargo build -p tutti-server || return $?
  TUTTI_BIN=$ROOT/target/debug/tutti bash tests/api/conformance.sh
}

schemathesis_summary() {
  local line
  line=$(strip_ansi "$1" | grep -E '^ *[0-9]+ generated' | tail -n 1 | sed -e 's/^ *//')
  echo "${line:-no schemathesis summary (see $1)}"
}

checks() {
  cargo fmt --all --check &&
    cargo clippy --workspace --all-targets -- -D warnings &&
    cargo deny --log-level error check licenses bans sources
}

check_summary() {
  if [[ $2 == 0 ]]; then echo "fmt, clippy and deny clean"; else echo "fmt, clippy or deny found problems (see $1)"; fi
}

run_group "checks" check_summary checks
run_group "rust-embedded" nextest_summary rust_embedded
run_group "rust-postgres-s3" nextest_summary rust_backends
run_group "browser-e2e" node_summary browser
run_group "api-conformance" schemathesis_summary conformance

stop_services

# --- summary ------------------------------------------------------------------------
banner "summary"
failed=0
for i in "${!NAMES[@]}"; do
  if [[ ${RESULTS[i]} == 0 ]]; then status=ok; else status=FAILED; failed=$((failed + 1)); fi
  printf '%-18s %-7s %8s  %s\n' "${NAMES[i]}" "$status" "$(hms "${TIMES[i]}")" "${SUMMARIES[i]}"
done
total=$(hms $((SECONDS - suite_start)))
if ((failed == 0)); then
  echo "tests/run.sh: PASSED, all ${#NAMES[@]} groups in $total (logs: target/test-logs/)"
  exit 0
else
  echo "tests/run.sh: FAILED, $failed of ${#NAMES[@]} groups failed, $total (logs: target/test-logs/)"
  exit 1
fi
