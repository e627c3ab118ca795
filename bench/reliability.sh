#!/usr/bin/env bash
# Reliability scripts against the published service, on loopback only; both stop by themselves and exit 1 when a
# check fails (bench/Reliability/Fault.cs and Soak.cs say exactly what is checked).
#   bench/reliability.sh fault [kills] [seed]               (default 5, 1)
#     kill -9 the service process (the worker of the embedded default) at random points while it trains a job,
#     restarting it on the same data folder each time, then stop it once with SIGTERM; the job must finish once,
#     from its checkpoints, with one model version.
#   bench/reliability.sh soak [seconds] [warm-up] [concurrency]   (default 600, 120, 32)
#     mixed load with API keys on and a training job running: predicts from closed-loop clients, dataset uploads (a
#     quarter malformed) and deletes, small jobs submitted and half cancelled, listings. Passes with no 5xx and no
#     failed request, RSS at the end within 10% of RSS after warm-up, and every accepted job in a final state.
#   bench/reliability.sh memory [shape]
#     jobs of six shapes (activations, a bidirectional stack, a large model, long windows of data, texts, and the
#     largest job the default budget admits), one at a time: each one's peak RSS against the estimate the service
#     answered with (must be within ±25%), and RSS after it against RSS before it (within 10% or 100 MiB).
#   bench/reliability.sh engine
#     the engine's memory factors (Domain/Budgets/EngineMemory) measured again on this machine's libtorch, each cell and
#     direction at 1-3 layers in fresh processes, printed beside the factors the estimates use
# Figures go to stdout and bench/results/{fault,soak}.json; the service's log to the work folder it names.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:?usage: bench/reliability.sh fault|soak|memory|engine [arguments]}"
case "$mode" in
  fault) args=(--kills "${2:-5}" --seed "${3:-1}") ;;
  soak) args=(--seconds "${2:-600}" --warmup "${3:-120}" --concurrency "${4:-32}") ;;
  memory) args=(); [[ -n "${2:-}" ]] && args=(--shape "$2") ;;
  engine) args=() ;;
  *) echo "usage: bench/reliability.sh fault|soak|memory|engine [arguments]" >&2; exit 2 ;;
esac
scripts/install-deps.sh
work="$(mktemp -d "/tmp/rnnservice-$mode-XXXX")"
dotnet publish Api -c Release -o "$work/api" --nologo -v quiet >/dev/null
dotnet build bench/Reliability -c Release --nologo -v quiet >/dev/null
echo "work folder: $work"
dotnet bench/Reliability/bin/Release/net10.0/Reliability.dll "$mode" --api "$work/api/RnnService.Api.dll" --work "$work" \
  "${args[@]}" --json "bench/results/$mode.json"
