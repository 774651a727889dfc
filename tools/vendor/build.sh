#!/usr/bin/env bash
# Rebuilds the vendored browser libraries from their npm packages (versions pinned in
# package.json and package-lock.json): each becomes one minified ES module, served at
# /assets/ and embedded in the binary, so running Tutti needs no npm. Run it after
# changing a version here; commit its output.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
npm ci --no-audit --no-fund --silent
version() { node -p "require('./node_modules/$1/package.json').version"; }

out=../../crates/web/assets/tus.js
npx esbuild tus-entry.js --bundle --format=esm --minify --target=es2020 \
  --legal-comments=none \
  --banner:js="/* tus-js-client $(version tus-js-client) (MIT licence, https://github.com/tus/tus-js-client), bundled by tools/vendor/build.sh */" \
  --outfile="$out"
echo "wrote $out ($(wc -c <"$out") bytes)"

# The meetings' live notes: Yjs, y-protocols, ProseMirror and y-prosemirror together.
out=../../crates/meetings/assets/vendor/notes-editor.js
names="yjs y-protocols lib0 y-prosemirror prosemirror-model prosemirror-state prosemirror-view prosemirror-transform prosemirror-keymap prosemirror-commands prosemirror-schema-basic prosemirror-schema-list prosemirror-tables prosemirror-inputrules"
list=$(for n in $names; do printf '%s %s, ' "$n" "$(version "$n")"; done)
npx esbuild notes-entry.js --bundle --format=esm --minify --target=es2020 \
  --legal-comments=none \
  --banner:js="/* ${list%, } (all MIT licence; https://github.com/yjs, https://github.com/ProseMirror), bundled by tools/vendor/build.sh */" \
  --outfile="$out"
echo "wrote $out ($(wc -c <"$out") bytes)"
