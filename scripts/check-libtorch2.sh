#!/usr/bin/env bash
# Builds the shim against libtorch 2.x and runs the engine and device tests on it, on this CPU machine: Debian 13's
# libtorch 2.6 and PyTorch 2.6 in a Debian 13 chroot (made once with debootstrap, kept in /var/tmp), driven by the same
# kit and script as a GPU machine (scripts/gpu/pack.sh, scripts/gpu/verify.sh) with the CUDA tests skipped.
#   scripts/check-libtorch2.sh [tests | training [runs] | serving [seconds] [runs]]     (default tests)
# (the benchmarks run on the CPU there). Needs root. Logs and xunit results go to bench/results/libtorch2/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=/var/tmp/rnnservice-trixie
repo="$PWD"

# What a GPU machine's PyTorch wheel brings, from Debian: libtorch and PyTorch 2.6, and OpenBLAS (Debian's libtorch
# falls back to the reference BLAS without it, as on the host).
packages=(libtorch-dev python3-torch python3-numpy libopenblas0-openmp cmake g++ make xz-utils ca-certificates)
if [[ ! -e "$root/.ready" ]]; then
  command -v debootstrap >/dev/null || { apt-get update -q && apt-get install -y -q debootstrap; }
  rm -rf "$root"
  debootstrap --variant=minbase --include="$(IFS=,; echo "${packages[*]}")" trixie "$root" http://deb.debian.org/debian
  touch "$root/.ready"
elif ! chroot "$root" dpkg -s "${packages[@]}" >/dev/null 2>&1; then
  chroot "$root" bash -c 'apt-get update -q && apt-get install -y -q "$@"' install "${packages[@]}"
fi
scripts/gpu/pack.sh

mkdir -p "$root/repo" "$repo/bench/results/libtorch2"
cleanup() { for m in repo dev proc; do umount "$root/$m" 2>/dev/null || true; done; }
trap cleanup EXIT
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
mount --bind "$repo" "$root/repo"
rm -rf "$root/tmp/rnnservice-gpu"
chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root OUT=/repo/bench/results/libtorch2 RNN_TEST_REQUIRE_CUDA=0 \
  RNN_BENCH_DEVICE=cpu RNN_BENCH_SUFFIX=-libtorch2 TORCH_CMAKE_DIR=--system bash -c 'cd /repo && scripts/gpu/verify.sh "$@"' verify "${@:-tests}"
