#!/usr/bin/env bash
# Regenerates the typed .NET client (Client/, RnnService.Client) from the OpenAPI document the service serves: the
# document is fetched from the service started here (api role, throw-away data folder), kept as Client/openapi.json
# without its server address, and Kiota (pinned, installed into .tools/) writes Client/Generated/ from it.
# ClientDriftTests fails when the service's document and Client/openapi.json differ: run this, then commit both.
set -euo pipefail
cd "$(dirname "$0")/.."
kiota_version=1.38.0
[ -x .tools/kiota/kiota ] || dotnet tool install --tool-path .tools/kiota Microsoft.OpenApi.Kiota --version "$kiota_version" > /dev/null
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
curl -fs "http://127.0.0.1:$port/openapi/v1.json" |
  python3 -c "import json, sys; d = json.load(sys.stdin); d.pop('servers', None); json.dump(d, sys.stdout, indent=2, ensure_ascii=False); print()" \
  > Client/openapi.json
cd Client
KIOTA_OFFLINE_ENABLED=true ../.tools/kiota/kiota generate -l CSharp -d openapi.json -o Generated -c RnnServiceClient \
  -n RnnService.Client --exclude-backward-compatible --clean-output --log-level Warning
echo "generate-client: Client/openapi.json and Client/Generated/ written; commit both"
