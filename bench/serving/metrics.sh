#!/usr/bin/env bash
# What metrics cost in serving: POST /predict throughput with metrics on (the default, and /metrics scraped every 5 s
# as Prometheus would) and off (Metrics:Enabled=false), the two interleaved, a fresh process per run, the median of the
# runs reported per side (goal: metrics cost under 2% of throughput), and the server's CPU time per request (from
# /proc: less noisy than throughput when the load generator shares the cores).
#   bench/serving/metrics.sh [runs] [seconds per point]      (default 5 runs of 10 s at concurrency 16 and 64)
# Same model and load as bench/serving/run.sh (LSTM 2x128, 8 features, sequences of 20-200 steps, batching on).
# Figures go to stdout and bench/results/metrics-cost.json. Traces stay off on both sides (no OTLP endpoint).
set -euo pipefail
cd "$(dirname "$0")/../.."
runs="${1:-5}"
seconds="${2:-10}"
port=5093
python=/usr/bin/python3
work="$(mktemp -d)"
trap 'kill "${service:-0}" "${scraper:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

scripts/install-deps.sh --bench
dotnet publish Api -c Release -o "$work/api" --nologo -v quiet >/dev/null
dotnet build bench/LoadGen -c Release --nologo -v quiet >/dev/null
loadgen=bench/LoadGen/bin/Release/net10.0/LoadGen.dll
threads="${RNN_BENCH_THREADS:-$("$python" -c 'import torch; print(torch.get_num_threads())')}"
"$python" bench/serving/make_model.py "$work/model.pt"

start_service() { # metrics: true or false
  Storage__DataDirectory="$work/data" Metrics__Enabled="$1" Roles=api Engine__IntraOpThreads="$threads" \
    RateLimits__PermitsPerSecond=0 Logging__LogLevel__Default=Warning dotnet "$work/api/RnnService.Api.dll" --urls "http://127.0.0.1:$port" &
  service=$!
  "$python" bench/serving/probe.py wait "http://127.0.0.1:$port/health/ready" >/dev/null || { echo "the service did not become ready" >&2; exit 1; }
  if [[ ! -e "$work/uploaded" ]]; then
    "$python" bench/serving/probe.py upload "http://127.0.0.1:$port/models/bench/versions" "$work/model.pt" '{"task":{"kind":"regression"}}' >/dev/null
    touch "$work/uploaded"
  fi
  scraper=0
  if [[ "$1" == true ]]; then
    (while sleep 5; do "$python" -c 'import sys,urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5).read()' "http://127.0.0.1:$port/metrics" || true; done) &
    scraper=$!
  fi
}

rows=()
for run in $(seq 1 "$runs"); do
  # Alternate which side goes first, so that a drift in the machine's speed falls on both.
  order=(true false); (( run % 2 == 0 )) && order=(false true)
  for metrics in "${order[@]}"; do
    start_service "$metrics"
    for concurrency in 16 64; do
      ticks=$(awk '{print $14 + $15}' "/proc/$service/stat")
      line="$(dotnet "$loadgen" --url "http://127.0.0.1:$port" --model bench --concurrency "$concurrency" --seconds "$seconds" \
        --warmup 3 --features 8 --min 20 --max 200)"
      ticks=$(( $(awk '{print $14 + $15}' "/proc/$service/stat") - ticks ))
      echo "metrics=$metrics run=$run cpuTicks=$ticks $line"
      rows+=("{\"metrics\":$metrics,\"run\":$run,\"cpuTicks\":$ticks,\"result\":$line}")
    done
    [[ "$scraper" != 0 ]] && { kill "$scraper" 2>/dev/null || true; wait "$scraper" 2>/dev/null || true; }
    kill "$service"; wait "$service" 2>/dev/null || true
  done
done

mkdir -p bench/results
"$python" - "$seconds" "$threads" "$(getconf CLK_TCK)" "${rows[@]}" <<'PY' | tee bench/results/metrics-cost.json
import json, os, platform, statistics, sys
seconds, threads, tick, rows = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), [json.loads(r) for r in sys.argv[4:]]
warmup = 3
def cpu_ms(row):  # the server's CPU per request; the ticks also cover the warm-up, at about the same rate
    return 1000 * row["cpuTicks"] / tick / (row["result"]["requests"] * (seconds + warmup) / seconds)
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
points = {}
for concurrency in (16, 64):
    side = {m: [r["result"] for r in rows if r["metrics"] == m and r["result"]["concurrency"] == concurrency] for m in (True, False)}
    cpu = {m: [round(cpu_ms(r), 3) for r in rows if r["metrics"] == m and r["result"]["concurrency"] == concurrency] for m in (True, False)}
    on, off = (statistics.median(x["requestsPerSecond"] for x in side[m]) for m in (True, False))
    points[str(concurrency)] = {
        "onRequestsPerSecond": on, "offRequestsPerSecond": off, "cost": round(1 - on / off, 4),
        "onRuns": [x["requestsPerSecond"] for x in side[True]], "offRuns": [x["requestsPerSecond"] for x in side[False]],
        "onP99Ms": statistics.median(x["p99Ms"] for x in side[True]), "offP99Ms": statistics.median(x["p99Ms"] for x in side[False]),
        "onCpuMsPerRequest": statistics.median(cpu[True]), "offCpuMsPerRequest": statistics.median(cpu[False]),
        "cpuCost": round(statistics.median(cpu[True]) / statistics.median(cpu[False]) - 1, 4), "onCpuRuns": cpu[True], "offCpuRuns": cpu[False],
    }
json.dump({"machine": f"{os.cpu_count()} cores, {cpu}", "intraOpThreads": threads, "secondsPerPoint": seconds,
           "model": "LSTM 2x128, 8 features, batching on", "sequenceSteps": "20-200, one sequence per request",
           "scrapedEverySeconds": 5, "byConcurrency": points, "runs": rows}, sys.stdout, indent=1)
print()
for c, p in points.items():
    print(f"c={c}: metrics on {p['onRequestsPerSecond']} req/s, off {p['offRequestsPerSecond']} req/s (medians of {len(p['onRuns'])}): "
          f"cost {p['cost']:.1%}; server CPU per request {p['onCpuMsPerRequest']} ms on, {p['offCpuMsPerRequest']} ms off: {p['cpuCost']:+.1%}",
          file=sys.stderr)
PY
