#!/usr/bin/env bash
# Serving throughput and latency of POST /predict, with dynamic batching on and off.
#   bench/serving/run.sh [seconds per point] [runs]    (default 10 s, 3 runs; the median run is reported)
# Imports an LSTM (2 x 128, 8 features) made by PyTorch, then, for batching on and off, starts the service on loopback
# and drives it at concurrency 1, 16 and 64 with sequences of 20-200 steps (bench/LoadGen: closed loop, stops by
# itself). Figures go to stdout and bench/results/serving.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/install-deps.sh
seconds="${1:-10}"
runs="${2:-3}"
port=5091
work="$(mktemp -d)"
trap 'kill "${service:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

dotnet publish Api -c Release -o "$work/api" --nologo -v quiet >/dev/null
dotnet build bench/LoadGen -c Release --nologo -v quiet >/dev/null
/usr/bin/python3 bench/serving/make_model.py "$work/model.pt"

start_service() { # batching: true or false
  Storage__DataDirectory="$work/data" Inference__Batching__Enabled="$1" Roles=api \
    Logging__LogLevel__Default=Warning dotnet "$work/api/RnnService.Api.dll" --urls "http://127.0.0.1:$port" &
  service=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health/ready" >/dev/null && return; sleep 0.3; done
  echo "the service did not become ready" >&2; exit 1
}

results=()
for batching in true false; do
  start_service "$batching"
  if [ "$batching" = true ]; then
    curl -sf -o /dev/null -F 'spec={"task":{"kind":"regression"}}' -F "weights=@$work/model.pt" \
      "http://127.0.0.1:$port/models/bench/versions"
  fi
  for run in $(seq 1 "$runs"); do
    for concurrency in 1 16 64; do
      line="$(dotnet bench/LoadGen/bin/Release/net10.0/LoadGen.dll --url "http://127.0.0.1:$port" --model bench \
        --concurrency "$concurrency" --seconds "$seconds" --features 8 --min 20 --max 200)"
      echo "batching=$batching run=$run $line"
      results+=("{\"batching\":$batching,\"run\":$run,\"result\":$line}")
    done
  done
  kill "$service"; wait "$service" 2>/dev/null || true
done

mkdir -p bench/results
python3 - "$seconds" "${results[@]}" <<'PY' > bench/results/serving.json
import json, os, platform, statistics, sys
seconds, rows = sys.argv[1], [json.loads(r) for r in sys.argv[2:]]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
points = []
for batching in (True, False):
    for concurrency in (1, 16, 64):
        runs = [r["result"] for r in rows if r["batching"] == batching and r["result"]["concurrency"] == concurrency]
        median = sorted(runs, key=lambda r: r["requestsPerSecond"])[len(runs) // 2]
        points.append({"batching": batching, "result": median,
                       "requestsPerSecondRuns": [r["requestsPerSecond"] for r in runs]})
json.dump({"machine": f"{os.cpu_count()} cores, {cpu}", "secondsPerPoint": int(seconds), "model": "LSTM 2x128, 8 features",
           "sequenceSteps": "20-200, one sequence per request", "points": points, "runs": rows}, sys.stdout, indent=1)
PY
python3 - <<'PY'
import json
data = json.load(open("bench/results/serving.json"))
by = {(p["batching"], p["result"]["concurrency"]): p["result"] for p in data["points"]}
print(f"\n{data['machine']}; {data['model']}; {data['sequenceSteps']}")
print("median run of each point; req/s of every run in brackets")
print("concurrency | batching on: req/s  p50 ms  p99 ms | batching off: req/s  p50 ms  p99 ms | on/off req/s")
for c in (1, 16, 64):
    on, off = by[(True, c)], by[(False, c)]
    spread = {p["batching"]: p["requestsPerSecondRuns"] for p in data["points"] if p["result"]["concurrency"] == c}
    print(f"{c:11} | {on['requestsPerSecond']:17} {on['p50Ms']:7} {on['p99Ms']:7} | {off['requestsPerSecond']:18} "
          f"{off['p50Ms']:7} {off['p99Ms']:7} | {on['requestsPerSecond'] / off['requestsPerSecond']:.2f}x   on {spread[True]} off {spread[False]}")
PY
