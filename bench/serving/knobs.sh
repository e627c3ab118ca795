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
source bench/serving/interleave.sh
prepare_load
dotnet publish Api -c Release -o "$work/api" --nologo -v quiet -p:SkipConsoleBuild=true >/dev/null
rows=()
for run in $(seq 1 "$runs"); do
  for variant in "$@"; do
    name="${variant%%=*}"; settings="${variant#*=}"
    run_variant "$name" "$run" "$work/api/RnnService.Api.dll" "$settings"
  done
done
mkdir -p bench/results
"$python" bench/serving/medians.py bench/results/knobs.json "${rows[@]}" | tee bench/results/knobs.txt
