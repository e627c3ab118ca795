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
source bench/serving/interleave.sh
prepare_load
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
    run_variant "$name" "$run" "$work/api-$name/RnnService.Api.dll" ""
  done
done
mkdir -p bench/results
"$python" bench/serving/medians.py bench/results/versions.json "${rows[@]}" | tee bench/results/versions.txt
