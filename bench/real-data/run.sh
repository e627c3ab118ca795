#!/usr/bin/env bash
# Real public data, tried as a new user would: four monthly series from R's bundled datasets are forecast a year
# ahead and scikit-learn's bundled handwritten digits are classified, each with the service's default model and
# training settings, through the HTTP API of a freshly started service. Exits 1 unless every job beats its naive
# baseline (seasonal-naive sMAPE on the held-out end of each series; the majority class for the digits).
#   bench/real-data/run.sh        (figures on stdout and in bench/results/real-data.json)
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/install-deps.sh
# The data: R's datasets package (r-base-core) and scikit-learn's bundled copy of the UCI digits (python3-sklearn).
missing=()
command -v Rscript > /dev/null || missing+=(r-base-core)
/usr/bin/python3 -c "import sklearn" 2> /dev/null || missing+=(python3-sklearn)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" > /dev/null
fi

work=$(mktemp -d)
trap 'kill "$service" 2> /dev/null || true; wait "$service" 2> /dev/null || true; rm -rf "$work"' EXIT
Rscript bench/real-data/export.R "$work"
/usr/bin/python3 bench/real-data/export_digits.py "$work/digits.jsonl"

dotnet build Api -c Release -v quiet -nologo > /dev/null
port=$(/usr/bin/python3 -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
Storage__DataDirectory="$work/data" dotnet Api/bin/Release/net10.0/RnnService.Api.dll --urls "http://127.0.0.1:$port" > "$work/service.log" 2>&1 &
service=$!
for _ in $(seq 1 120); do
  curl -fs "http://127.0.0.1:$port/health/ready" > /dev/null && break
  sleep 0.5
done
mkdir -p bench/results
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
/usr/bin/python3 bench/real-data/run.py "http://127.0.0.1:$port" "$work" bench/results/real-data.json
