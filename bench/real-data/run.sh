#!/usr/bin/env bash
# Real public data, tried as a new user would: four monthly series from R's bundled datasets are forecast a year
# ahead and scikit-learn's bundled handwritten digits are classified, each with the service's default model and
# training settings, through the HTTP API of a freshly started service. Exits 1 unless every job beats its naive
# baseline (seasonal-naive sMAPE on the held-out end of each series; the majority class for the digits).
#   bench/real-data/run.sh        (figures on stdout and in bench/results/real-data.json)
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/install-deps.sh
source bench/real-data/service.sh
# The data: R's datasets package (r-base-core) and scikit-learn's bundled copy of the UCI digits (python3-sklearn).
missing=()
command -v Rscript > /dev/null || missing+=(r-base-core)
/usr/bin/python3 -c "import sklearn" 2> /dev/null || missing+=(python3-sklearn)
install_missing ${missing[@]+"${missing[@]}"}

make_work
Rscript bench/real-data/export.R "$work"
/usr/bin/python3 bench/real-data/export_digits.py "$work/digits.jsonl"

start_service "$work"
/usr/bin/python3 bench/real-data/run.py "http://127.0.0.1:$port" "$work" bench/results/real-data.json
