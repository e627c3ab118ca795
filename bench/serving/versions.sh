#!/usr/bin/env bash
# Two (or more) commits of the service against each other under the serving benchmark's load, interleaved: each commit
# is checked out in a temporary worktree and published, then every run starts each in turn, imports the bench model
# and drives POST /predict at each concurrency. Medians of the runs are printed. For changes that no setting turns
# off (knobs.sh compares settings of one build).
#   bench/serving/versions.sh SECONDS RUNS REV REV [REV ...]
# e.g. bench/serving/versions.sh 8 3 HEAD~1 HEAD. RNN_KNOB_CONCURRENCY (default "1 64") says which concurrencies.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="$1"; runs="$2"; shift 2
port=5096
python=/usr/bin/python3
work="$(mktemp -d)"
trap 'kill "${service:-0}" 2>/dev/null || true; for tree in "$work"/tree-*; do git worktree remove --force "$tree" 2>/dev/null || true; done; rm -rf "$work"' EXIT
scripts/install-deps.sh --bench
dotnet build bench/LoadGen -c Release --nologo -v quiet >/dev/null
threads="$("$python" -c 'import torch; print(torch.get_num_threads())')"
"$python" bench/serving/make_model.py "$work/model.pt"
names=()
for rev in "$@"; do
  name="$(git rev-parse --short "$rev")"
  names+=("$name")
  git worktree add --detach "$work/tree-$name" "$rev" >/dev/null 2>&1
  # A worktree has no ../shared beside it; the build does not need it.
  dotnet publish "$work/tree-$name/Api" -c Release -o "$work/api-$name" --nologo -v quiet -p:SkipConsoleBuild=true >/dev/null
done
rows=()
for run in $(seq 1 "$runs"); do
  for name in "${names[@]}"; do
    rm -rf "$work/data"
    env Storage__DataDirectory="$work/data" Roles=api Engine__IntraOpThreads="$threads" Logging__LogLevel__Default=Warning \
      dotnet "$work/api-$name/RnnService.Api.dll" --urls "http://127.0.0.1:$port" &
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
"$python" bench/serving/medians.py bench/results/versions.json "${rows[@]}" | tee bench/results/versions.txt
