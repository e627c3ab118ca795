#!/usr/bin/env bash
# No native leak: thousands of models, trainers and batches created, used and disposed; RSS must stay flat.
#   bench/leak-check.sh [iterations]     (default 5000; exits 1 if RSS grew more than 10% after warm-up)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
mkdir -p bench/results
dotnet run -c Release --project bench/LeakCheck -- "${1:-5000}" --json bench/results/leak-check.json
