#!/usr/bin/env bash
# The CPU time one scrape of /metrics costs the service: a Release build on the embedded default, 20 scrapes to warm
# up, then the process's CPU ticks (from /proc) over 100 scrapes. Prometheus scrapes every 5 to 15 s.
#   bench/serving/scrape-cost.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
port=5195
work="$(mktemp -d)"
trap 'kill "${service:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
dotnet publish Api -c Release -o "$work/api" --nologo -v quiet >/dev/null
Storage__DataDirectory="$work/data" Logging__LogLevel__Default=Warning dotnet "$work/api/RnnService.Api.dll" --urls "http://127.0.0.1:$port" &
service=$!
python3 bench/serving/probe.py wait "http://127.0.0.1:$port/health/ready" >/dev/null
for _ in $(seq 20); do curl -fsS -o "$work/exposition.txt" "http://127.0.0.1:$port/metrics"; done
before=$(awk '{print $14 + $15}' "/proc/$service/stat")
for _ in $(seq 100); do curl -fsS -o /dev/null "http://127.0.0.1:$port/metrics"; done
after=$(awk '{print $14 + $15}' "/proc/$service/stat")
python3 -c "import sys; t, tick, lines = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]; ms = 1000 * t / tick / 100; print(f'{ms:.1f} ms of CPU a scrape ({lines} lines); every 5 s: {ms / 5000:.2%} of one core')" \
  "$((after - before))" "$(getconf CLK_TCK)" "$(wc -l <"$work/exposition.txt")"
