#!/usr/bin/env bash
# How soon a long epoch shows progress, as issue 23 tried it: a 1,000,000-row CSV (2,000 series of 500 steps, a series
# column and a value column), a forecast job with the defaults, and GET /training-jobs/{id} polled every 0.5 s until
# the first progress appears, then for 10 s more (or, with a third argument `epoch`, until the first epoch ends: about
# 8 minutes on 2 cores). Prints when each figure came (seconds from the job's submission). Starts the service on
# loopback (Release) and stops it.
#   bench/progress/run.sh [series] [steps] [epoch]      (default 2000 500)
set -euo pipefail
cd "$(dirname "$0")/../.."
series="${1:-2000}"
steps="${2:-500}"
until="${3:-first}"
port=5094
work="$(mktemp -d)"
trap 'kill "${service:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
scripts/install-deps.sh
dotnet publish Api -c Release -o "$work/api" --nologo -v quiet >/dev/null
python3 - "$work/big.csv" "$series" "$steps" <<'PY'
import math, random, sys
path, series, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
random.seed(23)
with open(path, "w") as f:
    f.write("series,value\n")
    for s in range(series):
        level, phase = random.uniform(50, 150), random.uniform(0, 2 * math.pi)
        for t in range(steps):
            f.write(f"s{s},{level + 10 * math.sin(2 * math.pi * t / 24 + phase) + random.gauss(0, 2):.3f}\n")
PY
Storage__DataDirectory="$work/data" Logging__LogLevel__Default=Warning dotnet "$work/api/RnnService.Api.dll" --urls "http://127.0.0.1:$port" &
service=$!
python3 bench/serving/probe.py wait "http://127.0.0.1:$port/health/ready" >/dev/null
python3 - "http://127.0.0.1:$port" "$work/big.csv" "$until" <<'PY'
import json, sys, time, urllib.request, uuid
base, path, until = sys.argv[1], sys.argv[2], sys.argv[3]
def call(method, url, body=None, headers={}):
    request = urllib.request.Request(base + url, data=body, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=600) as response:
        return json.loads(response.read())
boundary = uuid.uuid4().hex
data = open(path, "rb").read()
body = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\nContent-Type: text/csv\r\n\r\n'.encode()
        + data + f'\r\n--{boundary}--\r\n'.encode())
started = time.monotonic()
dataset = call("POST", "/datasets", body, {"content-type": f"multipart/form-data; boundary={boundary}"})
print(f"upload: {len(data) / 1e6:.1f} MB, {dataset.get('rows', '?')} rows, {time.monotonic() - started:.1f} s")
job = call("POST", "/training-jobs", json.dumps({"datasetId": dataset["id"], "modelName": "big", "task": {"kind": "forecast"},
                                                 "training": {"epochs": 2}}).encode(), {"content-type": "application/json"})
submitted, first, epoch = time.monotonic(), None, None
while time.monotonic() - submitted < 1800:
    state = call("GET", f"/training-jobs/{job['id']}")
    progress = state.get("progress")
    if progress and first is None:
        first = (time.monotonic() - submitted, progress)
        print(f"first progress after {first[0]:.1f} s: {json.dumps(progress)}")
    elif progress and until != "epoch" and time.monotonic() - submitted > first[0] + 10:
        print(f"after {time.monotonic() - submitted:.1f} s: {json.dumps(progress)}")
        break
    if progress and progress.get("epoch", 0) >= 1 and epoch is None:
        epoch = time.monotonic() - submitted
        print(f"first epoch ended after {epoch:.1f} s: {json.dumps(progress)}")
    if epoch is not None or state["state"] in ("succeeded", "failed", "cancelled"):
        break
    time.sleep(0.5)
call("POST", f"/training-jobs/{job['id']}/cancel")
PY
