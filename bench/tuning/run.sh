#!/usr/bin/env bash
# Tuning jobs with the default search space against the defaults, on the forecast series (the last year held out) and
# the sequence corpora (their test files): see tune.py. Figures on stdout and in bench/results/tuning.json.
#   bench/tuning/run.sh                      # ONLY=co2,digits MAX_TRIALS=20 MODES=asha,none narrow it
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/install-deps.sh
source bench/real-data/service.sh
make_work
export_corpora "$work"
mkdir -p "$work/series"
Rscript bench/forecast/export.R "$work/series"
start_service "$work"
/usr/bin/python3 bench/tuning/tune.py "http://127.0.0.1:$port" "$work" bench/results/tuning.json
