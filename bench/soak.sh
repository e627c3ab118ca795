#!/usr/bin/env bash
# Soak script: ten minutes of mixed load on loopback with API keys on and a training job running: predicts from 32
# closed-loop clients, dataset uploads (a quarter malformed) and deletes, small jobs submitted and half cancelled,
# listings. Passes with no 5xx and no failed request, RSS at the end within 10% of RSS after warm-up, and every
# accepted job in a final state (bench/Reliability/Soak.cs). Stops by itself.
#   bench/soak.sh [seconds] [warm-up seconds] [concurrency]     (default 600, 120, 32; exits 1 when a check fails)
# Figures go to stdout and bench/results/soak.json; the service's log to the work folder it names.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
work="$(mktemp -d /tmp/rnnservice-soak-XXXX)"
dotnet publish Api -c Release -o "$work/api" --nologo -v quiet >/dev/null
dotnet build bench/Reliability -c Release --nologo -v quiet >/dev/null
echo "work folder: $work"
dotnet bench/Reliability/bin/Release/net10.0/Reliability.dll soak --api "$work/api/RnnService.Api.dll" --work "$work" \
  --seconds "${1:-600}" --warmup "${2:-120}" --concurrency "${3:-32}" --json bench/results/soak.json
