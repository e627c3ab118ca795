#!/usr/bin/env bash
# Fault script: kill -9 the service process (the worker of the embedded default) five times at random points while it
# trains a job, restarting it on the same data folder each time, then stop it once with SIGTERM; the job must finish
# once, from its checkpoints, with one model version (bench/Reliability/Fault.cs says exactly what is checked).
# Loopback only; stops by itself.
#   bench/fault.sh [kills] [seed]      (default 5 kills, seed 1; exits 1 when a check fails)
# Figures go to stdout and bench/results/fault.json; the service's log to the work folder it names.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
work="$(mktemp -d /tmp/rnnservice-fault-XXXX)"
dotnet publish Api -c Release -o "$work/api" --nologo -v quiet >/dev/null
dotnet build bench/Reliability -c Release --nologo -v quiet >/dev/null
echo "work folder: $work"
dotnet bench/Reliability/bin/Release/net10.0/Reliability.dll fault --api "$work/api/RnnService.Api.dll" --work "$work" \
  --kills "${1:-5}" --seed "${2:-1}" --json bench/results/fault.json
