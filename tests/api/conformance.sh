#!/usr/bin/env bash
# API conformance: the OpenAPI document at /api/v1/openapi.json and the server agree.
# Starts `tutti serve` (TUTTI_BIN, default target/debug/tutti) on an empty embedded data
# folder with an administrator and an API token, then runs schemathesis over every
# operation of the platform and of every studio (tests/api/schemathesis.toml), signed in
# with the token. ST_SEED picks the generated cases (fixed by default, so a failure found
# in CI is found again on a laptop); ST_ARGS adds schemathesis options.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT=$PWD
BIN=${TUTTI_BIN:-$ROOT/target/debug/tutti}
PORT=${ST_PORT:-18991}
export PATH="$PATH:/usr/local/bin:$HOME/.local/bin"

work=$(mktemp -d)
pid=
cleanup() {
  [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

data=$work/data
echo 'conformance-check passphrase' |
  "$BIN" --data-dir "$data" admin create-user --email admin@example.org --name Admin \
    --role admin --password - >/dev/null
token=$("$BIN" --data-dir "$data" admin create-token --email admin@example.org --name schemathesis | tail -n 1)

"$BIN" --data-dir "$data" serve --listen "127.0.0.1:$PORT" --public-url "http://127.0.0.1:$PORT" \
  >"$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
  sleep 0.1
done

# No --checks: every check is on by default, and the flag would override the per-operation
# settings in the config file.
rc=0
PYTHONPATH=$ROOT/tests/api SCHEMATHESIS_HOOKS=hooks \
  st --config-file "$ROOT/tests/api/schemathesis.toml" run \
  "http://127.0.0.1:$PORT/api/v1/openapi.json" \
  -H "Authorization: Bearer $token" --seed "${ST_SEED:-20261201}" --no-color ${ST_ARGS:-} || rc=$?
if grep -q ' ERROR \| panicked' "$work/serve.log"; then
  echo "conformance: the server logged errors while tested:" >&2
  grep ' ERROR \| panicked' "$work/serve.log" | head -n 20 >&2
  rc=1
fi
exit $rc
