#!/usr/bin/env bash
# Rolling-origin backtest of the default forecaster against seasonal naive, ETS and a seasonal ARIMA on six monthly
# series bundled with R (see backtest.py). Figures on stdout and in bench/results/forecast-backtest.json.
#   bench/forecast/backtest.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/install-deps.sh
source bench/real-data/service.sh
missing=()
command -v Rscript > /dev/null || missing+=(r-base-core)
/usr/bin/python3 -c "import statsmodels" 2> /dev/null || missing+=(python3-statsmodels)
install_missing ${missing[@]+"${missing[@]}"}

make_work
mkdir -p "$work/series"
Rscript bench/forecast/export.R "$work/series"
start_service "$work"
/usr/bin/python3 bench/forecast/backtest.py "http://127.0.0.1:$port" "$work/series" bench/results/forecast-backtest.json
