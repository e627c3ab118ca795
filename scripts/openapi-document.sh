#!/usr/bin/env bash
# Writes the OpenAPI document the service serves to the file named by $1: builds the service, starts it in the api role
# on a free loopback port with a throw-away data folder, fetches /openapi/v1.json, and stops it. Used by
# scripts/lint-openapi.sh and scripts/generate-client.sh.
set -euo pipefail
out=$(realpath -m "$1")
cd "$(dirname "$0")/.."
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
curl -fs "http://127.0.0.1:$port/openapi/v1.json" -o "$out"
