#!/usr/bin/env bash
# Lints the service's OpenAPI document with Redocly's CLI (rules in redocly.yaml, reasoned exceptions in
# .redocly.lint-ignore.yaml): the document is the one the service serves (scripts/openapi-document.sh). Exit status 0
# only when the linter finds no error.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
(cd tools/openapi-lint && { [ -d node_modules/@redocly/cli ] || npm ci --no-audit --no-fund --silent; })
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
scripts/openapi-document.sh "$work/openapi.json"
# The ignore file names the document relative to itself, beside the config.
cp redocly.yaml .redocly.lint-ignore.yaml "$work/"
linter="$PWD/tools/openapi-lint/node_modules/.bin/redocly"
cd "$work"
"$linter" lint openapi.json --config redocly.yaml --format=stylish
