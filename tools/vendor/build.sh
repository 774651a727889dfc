#!/usr/bin/env bash
# Rebuilds the vendored browser libraries from their npm packages (versions pinned in
# package.json and package-lock.json): each becomes one minified ES module under
# crates/web/assets/, served at /assets/ and embedded in the binary, so running Tutti
# needs no npm. Run it after changing a version here; commit its output.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
npm ci --no-audit --no-fund --silent
out=../../crates/web/assets/tus.js
version=$(node -p "require('./node_modules/tus-js-client/package.json').version")
npx esbuild tus-entry.js --bundle --format=esm --minify --target=es2020 \
  --legal-comments=none \
  --banner:js="/* tus-js-client ${version} (MIT licence, https://github.com/tus/tus-js-client), bundled by tools/vendor/build.sh */" \
  --outfile="$out"
echo "wrote $out ($(wc -c <"$out") bytes)"
