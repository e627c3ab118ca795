#!/usr/bin/env bash
# Serving settings measured against each other, interleaved: for each run, every variant in turn starts the service
# with its environment, imports the bench model and is driven at each concurrency. Medians of the runs are printed.
#   bench/serving/knobs.sh SECONDS RUNS 'name=ENV=V ENV2=V2' 'name2=ENV=V' ...
# e.g. bench/serving/knobs.sh 8 3 'default=' 'gc-server=DOTNET_gcServer=1' 'batch128=Inference__Batching__MaxBatchSequences=128'
# RNN_KNOB_CONCURRENCY (default "1 64") says which concurrencies. Results: bench/results/knobs.json.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="$1"; runs="$2"; shift 2
port=5092
python=/usr/bin/python3
work="$(mktemp -d)"
trap 'kill "${service:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
scripts/install-deps.sh --bench
dotnet publish Api -c Release -o "$work/api" --nologo -v quiet -p:SkipConsoleBuild=true >/dev/null
dotnet build bench/LoadGen -c Release --nologo -v quiet >/dev/null
threads="$("$python" -c 'import torch; print(torch.get_num_threads())')"
"$python" bench/serving/make_model.py "$work/model.pt"
rows=()
for run in $(seq 1 "$runs"); do
  for variant in "$@"; do
    name="${variant%%=*}"; settings="${variant#*=}"
    rm -rf "$work/data"
    # The variant's settings come last, so that they override the bench's own (Engine__IntraOpThreads among them).
    env Storage__DataDirectory="$work/data" Roles=api Engine__IntraOpThreads="$threads" Logging__LogLevel__Default=Warning $settings \
      dotnet "$work/api/RnnService.Api.dll" --urls "http://127.0.0.1:$port" &
    service=$!
    "$python" bench/serving/probe.py wait "http://127.0.0.1:$port/health/ready" >/dev/null
    "$python" bench/serving/probe.py upload "http://127.0.0.1:$port/models/bench/versions" "$work/model.pt" '{"task":{"kind":"regression"}}' >/dev/null
    for concurrency in ${RNN_KNOB_CONCURRENCY:-1 64}; do
      line="$(dotnet bench/LoadGen/bin/Release/net10.0/LoadGen.dll --url "http://127.0.0.1:$port" --model bench \
        --concurrency "$concurrency" --seconds "$seconds" --features 8 --min 20 --max 200)"
      echo "$name run=$run $line"
      rows+=("{\"variant\":\"$name\",\"run\":$run,\"result\":$line}")
    done
    kill "$service"; wait "$service" 2>/dev/null || true
  done
done
mkdir -p bench/results
"$python" bench/serving/medians.py bench/results/knobs.json "${rows[@]}" | tee bench/results/knobs.txt
