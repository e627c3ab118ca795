#!/usr/bin/env bash
# One prediction job over a stored dataset of 2,000 daily series and 1,000,000 rows, against a client that sends each
# series' last window to /predict itself: see batch.py. Figures on stdout and in bench/results/prediction-jobs.json.
#   bench/prediction-jobs/run.sh [series] [days]      # default 2000 500 (1,000,000 rows); about 3 minutes on 2 cores
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/install-deps.sh
source bench/real-data/service.sh
make_work
start_service "$work"
/usr/bin/python3 bench/prediction-jobs/batch.py "http://127.0.0.1:$port" "$work" bench/results/prediction-jobs.json "${1:-2000}" "${2:-500}"
