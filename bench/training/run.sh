#!/usr/bin/env bash
# Training throughput of RnnService's engine against plain PyTorch on the same libtorch, threads and data.
#   bench/training/run.sh [runs] [threads]     (default 3 runs, threads = the machine's cores; the median is reported)
# Workloads (bench/peers/workloads.py): (a) LSTM 2x128, batch 64, 50 steps x 8 features, MSE; (b) GRU 2x256, lengths
# 10-300, 4 classes; (c) text, 20,000 words, embedding 128, bidirectional LSTM 64, 2 classes. Each run trains every
# workload with RnnService (bench/TrainingBench: the service's epoch loop) and with the PyTorch peer
# (bench/peers/train.py) in its packed and padded styles, in turn. Figures go to stdout and bench/results/training.json,
# which bench/compare.py then compares with the last recorded figures (bench/recorded/training.json).
# On a GPU (RNN_BENCH_DEVICE=cuda; scripts/gpu/verify.sh sets it) both sides train there and the figures go to
# bench/results/training-cuda.json (RNN_BENCH_SUFFIX replaces "-cuda"). RNN_BENCH_PREBUILT names a folder with
# TrainingBench.dll already built (a machine without the SDK), RNN_BENCH_PYTHON the interpreter with torch (default
# Debian's).
set -euo pipefail
cd "$(dirname "$0")/../.."
runs="${1:-3}"
threads="${2:-$(nproc)}"
device="${RNN_BENCH_DEVICE:-cpu}"
python="${RNN_BENCH_PYTHON:-/usr/bin/python3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if [[ -n "${RNN_BENCH_PREBUILT:-}" ]]; then
  harness="$RNN_BENCH_PREBUILT/TrainingBench.dll"
else
  scripts/install-deps.sh --bench
  dotnet build bench/TrainingBench -c Release --nologo -v quiet >/dev/null
  harness=bench/TrainingBench/bin/Release/net10.0/TrainingBench.dll
fi
"$python" bench/peers/workloads.py "$work/data"
suffix="${RNN_BENCH_SUFFIX-$([[ "$device" == cpu ]] || echo "-$device")}"
mkdir -p bench/results
lines="bench/results/training-runs$suffix.jsonl"  # every run's line, kept
: > "$lines"

"$python" bench/peers/matmul.py --threads "$threads" --device "$device" | tee -a "$lines"
for run in $(seq 1 "$runs"); do
  for workload in a-lstm-fixed b-gru-variable c-text-bilstm; do
    folder="$work/data/$workload"
    dotnet "$harness" "$folder" --threads "$threads" --seed "$run" --device "$device" | tee -a "$lines"
    styles=(packed padded)
    [[ "$workload" == a-* ]] && styles=(padded)  # one length: nothing to pack
    for style in "${styles[@]}"; do
      (cd bench/peers && "$python" train.py "$folder" --threads "$threads" --seed "$run" --style "$style" --device "$device") \
        | tee -a "$lines"
    done
  done
done

"$python" bench/training/summarize.py "$lines" "$work/data" > "bench/results/training$suffix.json"
"$python" bench/training/summarize.py --table "bench/results/training$suffix.json"
recorded="bench/recorded/training$suffix.json"
if [[ -e "$recorded" ]]; then "$python" bench/compare.py "bench/results/training$suffix.json" "$recorded"; fi
