#!/usr/bin/env bash
# Training throughput of RnnService's engine against plain PyTorch on the same libtorch, threads and data.
#   bench/training/run.sh [runs] [threads]     (default 3 runs, threads = the machine's cores; the median is reported)
# Workloads (bench/peers/workloads.py): (a) LSTM 2x128, batch 64, 50 steps x 8 features, MSE; (b) GRU 2x256, lengths
# 10-300, 4 classes; (c) text, 20,000 words, embedding 128, bidirectional LSTM 64, 2 classes. Each run trains every
# workload with RnnService (bench/TrainingBench: the service's epoch loop) and with the PyTorch peer
# (bench/peers/train.py) in its packed and padded styles, in turn. Figures go to stdout and bench/results/training.json,
# which bench/compare.py then compares with the last recorded figures (bench/recorded/training.json).
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/install-deps.sh --bench
runs="${1:-3}"
threads="${2:-$(nproc)}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

dotnet build bench/TrainingBench -c Release --nologo -v quiet >/dev/null
/usr/bin/python3 bench/peers/workloads.py "$work/data"
harness=bench/TrainingBench/bin/Release/net10.0/TrainingBench.dll
mkdir -p bench/results
lines=bench/results/training-runs.jsonl  # every run's line, kept
: > "$lines"

/usr/bin/python3 bench/peers/matmul.py --threads "$threads" | tee -a "$lines"
for run in $(seq 1 "$runs"); do
  for workload in a-lstm-fixed b-gru-variable c-text-bilstm; do
    folder="$work/data/$workload"
    dotnet "$harness" "$folder" --threads "$threads" --seed "$run" | tee -a "$lines"
    styles=(packed padded)
    [[ "$workload" == a-* ]] && styles=(padded)  # one length: nothing to pack
    for style in "${styles[@]}"; do
      (cd bench/peers && /usr/bin/python3 train.py "$folder" --threads "$threads" --seed "$run" --style "$style") | tee -a "$lines"
    done
  done
done

/usr/bin/python3 bench/training/summarize.py "$lines" "$work/data" > bench/results/training.json
/usr/bin/python3 bench/training/summarize.py --table bench/results/training.json
/usr/bin/python3 bench/compare.py bench/results/training.json bench/recorded/training.json
