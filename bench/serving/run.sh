#!/usr/bin/env bash
# Serving throughput and latency of POST /predict: RnnService with dynamic batching on and off, and a Python peer
# server (FastAPI + PyTorch from Debian's packages, bench/peers/serve.py) serving the same weights.
#   bench/serving/run.sh [seconds per point] [runs]    (default 10 s, 3 runs; the median run is reported)
# Imports an LSTM (2 x 128, 8 features) made by PyTorch, then, for each server, starts it on loopback and drives it at
# concurrency 1, 16 and 64 with sequences of 20-200 steps (bench/LoadGen: closed loop, stops by itself). Both use the
# same intra-op threads (libtorch's default unless RNN_BENCH_THREADS is set). Figures go to stdout and
# bench/results/serving.json, which bench/compare.py then compares with bench/recorded/serving.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/install-deps.sh --bench
seconds="${1:-10}"
runs="${2:-3}"
port=5091
threads="${RNN_BENCH_THREADS:-$(/usr/bin/python3 -c 'import torch; print(torch.get_num_threads())')}"
work="$(mktemp -d)"
trap 'kill "${service:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

dotnet publish Api -c Release -o "$work/api" --nologo -v quiet >/dev/null
dotnet build bench/LoadGen -c Release --nologo -v quiet >/dev/null
/usr/bin/python3 bench/serving/make_model.py "$work/model.pt"

start_service() { # batching: true or false
  Storage__DataDirectory="$work/data" Inference__Batching__Enabled="$1" Roles=api Engine__IntraOpThreads="$threads" \
    Logging__LogLevel__Default=Warning dotnet "$work/api/RnnService.Api.dll" --urls "http://127.0.0.1:$port" &
  service=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health/ready" >/dev/null && return; sleep 0.3; done
  echo "the service did not become ready" >&2; exit 1
}

drive() { # label
  for run in $(seq 1 "$runs"); do
    for concurrency in 1 16 64; do
      line="$(dotnet bench/LoadGen/bin/Release/net10.0/LoadGen.dll --url "http://127.0.0.1:$port" --model bench \
        --concurrency "$concurrency" --seconds "$seconds" --features 8 --min 20 --max 200)"
      echo "$1 run=$run $line"
      results+=("{\"server\":\"${1%% *}\",\"batching\":${1##*=},\"run\":$run,\"result\":$line}")
    done
  done
}

results=()
for batching in true false; do
  start_service "$batching"
  if [ "$batching" = true ]; then
    curl -sf -o /dev/null -F 'spec={"task":{"kind":"regression"}}' -F "weights=@$work/model.pt" \
      "http://127.0.0.1:$port/models/bench/versions"
  fi
  drive "rnnservice batching=$batching"
  kill "$service"; wait "$service" 2>/dev/null || true
done

# The peer: one uvicorn process, the same weights, the same threads.
(cd bench/peers && MODEL_WEIGHTS="$work/model.pt" TORCH_THREADS="$threads" \
  exec /usr/bin/python3 -m uvicorn serve:app --host 127.0.0.1 --port "$port" --log-level warning) &
service=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.3; done
drive "python-peer batching=false"
kill "$service"; wait "$service" 2>/dev/null || true

mkdir -p bench/results
python3 - "$seconds" "$threads" "${results[@]}" <<'PY' > bench/results/serving.json
import json, os, platform, sys
seconds, threads, rows = sys.argv[1], sys.argv[2], [json.loads(r) for r in sys.argv[3:]]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
points = []
for server, batching in (("rnnservice", True), ("rnnservice", False), ("python-peer", False)):
    for concurrency in (1, 16, 64):
        runs = [r["result"] for r in rows if (r["server"], r["batching"]) == (server, batching) and r["result"]["concurrency"] == concurrency]
        median = sorted(runs, key=lambda r: r["requestsPerSecond"])[len(runs) // 2]
        points.append({"server": server, "batching": batching, "result": median,
                       "requestsPerSecondRuns": [r["requestsPerSecond"] for r in runs]})
by = {(p["server"], p["batching"], p["result"]["concurrency"]): p["result"] for p in points}
ratios = {str(c): {"requestsPerSecond": round(by[("rnnservice", True, c)]["requestsPerSecond"] / by[("python-peer", False, c)]["requestsPerSecond"], 2),
                   "p99AtMostPeers": by[("rnnservice", True, c)]["p99Ms"] <= by[("python-peer", False, c)]["p99Ms"]}
          for c in (1, 16, 64)}
json.dump({"machine": f"{os.cpu_count()} cores, {cpu}", "secondsPerPoint": int(seconds), "intraOpThreads": int(threads),
           "model": "LSTM 2x128, 8 features", "sequenceSteps": "20-200, one sequence per request",
           "peer": "FastAPI + uvicorn (one process) + PyTorch, bench/peers/serve.py",
           "ratioToPeer": ratios, "points": points, "runs": rows}, sys.stdout, indent=1)
PY
python3 - <<'PY'
import json
data = json.load(open("bench/results/serving.json"))
print(f"\n{data['machine']}; {data['intraOpThreads']} intra-op threads; {data['model']}; {data['sequenceSteps']}")
print("median run of each point; req/s of every run in brackets")
print(f"{'server':28} {'c':>3} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}   runs")
for p in data["points"]:
    r = p["result"]
    name = p["server"] + (" (batching " + ("on" if p["batching"] else "off") + ")" if p["server"] == "rnnservice" else "")
    print(f"{name:28} {r['concurrency']:3} {r['requestsPerSecond']:8} {r['p50Ms']:8} {r['p99Ms']:8}   {p['requestsPerSecondRuns']}")
for c, ratio in data["ratioToPeer"].items():
    print(f"c={c}: RnnService (batching on) {ratio['requestsPerSecond']}x the peer's req/s; p99 at most the peer's: {ratio['p99AtMostPeers']}")
PY
/usr/bin/python3 bench/compare.py bench/results/serving.json bench/recorded/serving.json
