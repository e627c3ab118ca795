#!/usr/bin/env bash
# Where the service's CPU time goes under load: perf samples the published service (with the .NET perf map, W^X off so
# that JIT-compiled code is named) while bench/LoadGen drives POST /predict at a concurrency, after a warm-up.
#   bench/serving/profile.sh [concurrency] [seconds]     (default 64, 10; needs perf: Debian's linux-perf)
# Prints the share of samples per library and the managed methods above 0.2%; the raw data stays in bench/results/.
set -euo pipefail
cd "$(dirname "$0")/../.."
concurrency="${1:-64}"; seconds="${2:-10}"; port=5094
python=/usr/bin/python3
work="$(mktemp -d)"
trap 'kill "${service:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
scripts/install-deps.sh --bench
command -v perf >/dev/null || { echo "profile.sh needs perf (apt-get install linux-perf)" >&2; exit 1; }
dotnet publish Api -c Release -o "$work/api" --nologo -v quiet -p:SkipConsoleBuild=true >/dev/null
dotnet build bench/LoadGen -c Release --nologo -v quiet >/dev/null
"$python" bench/serving/make_model.py "$work/model.pt"
DOTNET_EnableWriteXorExecute=0 DOTNET_PerfMapEnabled=1 Storage__DataDirectory="$work/data" Roles=api RateLimits__PermitsPerSecond=0 \
  Engine__IntraOpThreads="$("$python" -c 'import torch; print(torch.get_num_threads())')" Logging__LogLevel__Default=Warning \
  dotnet "$work/api/RnnService.Api.dll" --urls "http://127.0.0.1:$port" &
service=$!
"$python" bench/serving/probe.py wait "http://127.0.0.1:$port/health/ready" >/dev/null
"$python" bench/serving/probe.py upload "http://127.0.0.1:$port/models/bench/versions" "$work/model.pt" '{"task":{"kind":"regression"}}' >/dev/null
mkdir -p bench/results
# Warm-up long enough for tiered compilation to settle, then the sampled period, then the rest of the load.
dotnet bench/LoadGen/bin/Release/net10.0/LoadGen.dll --url "http://127.0.0.1:$port" --model bench --concurrency "$concurrency" \
  --seconds $((seconds + 20)) --features 8 --min 20 --max 200 > "$work/load.json" &
load=$!
sleep 15
perf record -F 499 -g -p "$service" -o bench/results/serving.perf.data -- sleep "$seconds" 2>/dev/null
wait "$load"
echo "load: $(cat "$work/load.json")"
samples=$(perf report -i bench/results/serving.perf.data -n --no-children --sort dso --stdio -g none 2>/dev/null | awk '!/^#/ && NF {s+=$2} END {print s}')
echo "CPU of the service: $samples samples at 499 Hz over $seconds s = $(awk -v s="$samples" -v t="$seconds" 'BEGIN {printf "%.2f", s / 499 / t}') cores"
perf report -i bench/results/serving.perf.data --no-children --sort dso --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -12
echo "managed methods:"
perf report -i bench/results/serving.perf.data --no-children --sort dso,sym --stdio -g none 2>/dev/null | grep '\[JIT\]' | awk '$1+0 >= 0.2' | cut -c1-200 | head -20
