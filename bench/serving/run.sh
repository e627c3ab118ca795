#!/usr/bin/env bash
# Serving throughput and latency of POST /predict: RnnService with dynamic batching on and off, and a Python peer
# server (FastAPI + PyTorch from Debian's packages, bench/peers/serve.py) serving the same weights.
#   bench/serving/run.sh [seconds per point] [runs]    (default 10 s, 3 runs; the median run is reported)
# Imports an LSTM (2 x 128, 8 features) made by PyTorch, then, for each server, starts it on loopback and drives it at
# concurrency 1, 16 and 64 with sequences of 20-200 steps (bench/LoadGen: closed loop, stops by itself). Both use the
# same intra-op threads (libtorch's default unless RNN_BENCH_THREADS is set). Figures go to stdout and
# bench/results/serving.json, which bench/compare.py then compares with bench/recorded/serving.json.
# On a GPU (RNN_BENCH_DEVICE=cuda; scripts/gpu/verify.sh sets it) both servers run their model there and the figures go
# to bench/results/serving-cuda.json (RNN_BENCH_SUFFIX replaces "-cuda"). RNN_BENCH_PREBUILT names a folder with
# RnnService.Api.dll and LoadGen.dll already built (a machine without the SDK), RNN_BENCH_PYTHON the interpreter with
# torch, RNN_BENCH_PYTHONPATH where the peer finds FastAPI when that interpreter lacks it.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-10}"
runs="${2:-3}"
port=5091
device="${RNN_BENCH_DEVICE:-cpu}"
python="${RNN_BENCH_PYTHON:-/usr/bin/python3}"
work="$(mktemp -d)"
trap 'kill "${service:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

if [[ -n "${RNN_BENCH_PREBUILT:-}" ]]; then
  api="$RNN_BENCH_PREBUILT/RnnService.Api.dll"
  loadgen="$RNN_BENCH_PREBUILT/LoadGen.dll"
else
  scripts/install-deps.sh --bench
  dotnet publish Api -c Release -o "$work/api" --nologo -v quiet >/dev/null
  dotnet build bench/LoadGen -c Release --nologo -v quiet >/dev/null
  api="$work/api/RnnService.Api.dll"
  loadgen=bench/LoadGen/bin/Release/net10.0/LoadGen.dll
fi
threads="${RNN_BENCH_THREADS:-$("$python" -c 'import torch; print(torch.get_num_threads())')}"
"$python" bench/serving/make_model.py "$work/model.pt"
suffix="${RNN_BENCH_SUFFIX-$([[ "$device" == cpu ]] || echo "-$device")}"

# One load generator is one client: the per-client rate limit (RateLimits, 1,000 a second by default) is off, as the peer
# has none; with it, c=64 got 429s once the service passed it.
start_service() { # batching: true or false
  Storage__DataDirectory="$work/data" Inference__Batching__Enabled="$1" Roles=api Engine__IntraOpThreads="$threads" \
    Inference__Device="$device" RateLimits__PermitsPerSecond=0 Logging__LogLevel__Default=Warning dotnet "$api" --urls "http://127.0.0.1:$port" &
  service=$!
  "$python" bench/serving/probe.py wait "http://127.0.0.1:$port/health/ready" >/dev/null || { echo "the service did not become ready" >&2; exit 1; }
}

drive() { # label
  for run in $(seq 1 "$runs"); do
    for concurrency in 1 16 64; do
      line="$(dotnet "$loadgen" --url "http://127.0.0.1:$port" --model bench \
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
    "$python" bench/serving/probe.py upload "http://127.0.0.1:$port/models/bench/versions" "$work/model.pt" \
      '{"task":{"kind":"regression"}}'
  fi
  drive "rnnservice batching=$batching"
  kill "$service"; wait "$service" 2>/dev/null || true
done

# The peer: one uvicorn process, the same weights, the same threads.
(cd bench/peers && MODEL_WEIGHTS="$work/model.pt" TORCH_THREADS="$threads" TORCH_DEVICE="$device" \
  PYTHONPATH="${RNN_BENCH_PYTHONPATH:-}" exec "$python" -m uvicorn serve:app --host 127.0.0.1 --port "$port" --log-level warning) &
service=$!
peer="$("$python" bench/serving/probe.py wait "http://127.0.0.1:$port/health")"
drive "python-peer batching=false"
kill "$service"; wait "$service" 2>/dev/null || true

mkdir -p bench/results
"$python" - "$seconds" "$threads" "$device" "$peer" "${results[@]}" <<'PY' > "bench/results/serving$suffix.json"
import json, os, platform, sys
seconds, threads, device, peer, rows = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4]), [json.loads(r) for r in sys.argv[5:]]
framework = {"fastapi": "FastAPI", "starlette": "Starlette (FastAPI did not load)"}[peer["framework"]]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
if device == "cuda":
    import torch
    cpu += f"; GPU {torch.cuda.get_device_name(0)}"
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
json.dump({"machine": f"{os.cpu_count()} cores, {cpu}", "device": device, "secondsPerPoint": int(seconds), "intraOpThreads": int(threads),
           "model": "LSTM 2x128, 8 features", "sequenceSteps": "20-200, one sequence per request",
           "peer": f"{framework} + uvicorn (one process) + PyTorch, bench/peers/serve.py",
           "ratioToPeer": ratios, "points": points, "runs": rows}, sys.stdout, indent=1)
PY
"$python" - "bench/results/serving$suffix.json" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
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
recorded="bench/recorded/serving$suffix.json"
if [[ -e "$recorded" ]]; then "$python" bench/compare.py "bench/results/serving$suffix.json" "$recorded"; fi
