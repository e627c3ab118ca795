#!/usr/bin/env bash
# Lints the service's OpenAPI document with Redocly's CLI (rules in redocly.yaml, reasoned exceptions in
# .redocly.lint-ignore.yaml): the document is the one the service serves, started here on a free loopback port with
# a throw-away data folder. Exit status 0 only when the linter finds no error.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
(cd tools/openapi-lint && { [ -d node_modules/@redocly/cli ] || npm ci --no-audit --no-fund --silent; })
dotnet build Api -c Release -v quiet -nologo > /dev/null
work=$(mktemp -d)
port=$(python3 -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
Storage__DataDirectory="$work/data" Roles=api dotnet Api/bin/Release/net10.0/RnnService.Api.dll --urls "http://127.0.0.1:$port" > "$work/service.log" 2>&1 &
service=$!
trap 'kill "$service" 2> /dev/null || true; wait "$service" 2> /dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 120); do
  curl -fs "http://127.0.0.1:$port/health/live" > /dev/null && break
  sleep 0.5
done
curl -fs "http://127.0.0.1:$port/openapi/v1.json" -o "$work/openapi.json"
# The ignore file names the document relative to itself, beside the config.
cp redocly.yaml .redocly.lint-ignore.yaml "$work/"
linter="$PWD/tools/openapi-lint/node_modules/.bin/redocly"
cd "$work"
"$linter" lint openapi.json --config redocly.yaml --format=stylish
