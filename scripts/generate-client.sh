#!/usr/bin/env bash
# Regenerates the typed .NET client (Client/, RnnService.Client) from the OpenAPI document the service serves
# (scripts/openapi-document.sh), kept as Client/openapi.json without its server address; Kiota (pinned, installed into
# .tools/) writes Client/Generated/ from it. ClientDriftTests fails when the service's document and Client/openapi.json
# differ: run this, then commit both.
set -euo pipefail
cd "$(dirname "$0")/.."
kiota_version=1.38.0
[ -x .tools/kiota/kiota ] || dotnet tool install --tool-path .tools/kiota Microsoft.OpenApi.Kiota --version "$kiota_version" > /dev/null
served=$(mktemp)
trap 'rm -f "$served"' EXIT
scripts/openapi-document.sh "$served"
python3 -c "import json, sys; d = json.load(open(sys.argv[1])); d.pop('servers', None); json.dump(d, sys.stdout, indent=2, ensure_ascii=False); print()" \
  "$served" > Client/openapi.json
cd Client
KIOTA_OFFLINE_ENABLED=true ../.tools/kiota/kiota generate -l CSharp -d openapi.json -o Generated -c RnnServiceClient \
  -n RnnService.Client --exclude-backward-compatible --clean-output --log-level Warning > /dev/null
echo "generate-client: Client/openapi.json and Client/Generated/ written; commit both"
