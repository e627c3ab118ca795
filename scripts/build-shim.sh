#!/usr/bin/env bash
# Builds the native shim (Training/Native) against one libtorch, without .NET: for a GPU machine's PyTorch.
#   scripts/build-shim.sh                 the libtorch inside python3's torch (a PyTorch 2.x wheel, CUDA or CPU)
#   scripts/build-shim.sh --system        the system's (Debian's libtorch-dev)
#   scripts/build-shim.sh DIR             a libtorch whose CMake package is DIR (…/share/cmake/Torch)
# PYTHON names the interpreter (default python3). Writes build/shim/librnnshim.so (RUNPATH: that libtorch) and prints
# its path last. `dotnet build -p:TorchDir=DIR` does the same inside a .NET build.
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-python3}"

case "${1:-}" in
  --system) torch_dir="" ;;
  "") torch_dir="$("$python" -c 'import torch; print(torch.utils.cmake_prefix_path)')/Torch" ;;
  *) torch_dir="$1" ;;
esac

build=build/shim
rm -rf "$build"
cmake -S Training/Native -B "$build" -DCMAKE_BUILD_TYPE=Release ${torch_dir:+-DTorch_DIR="$torch_dir"} >&2
cmake --build "$build" --parallel >&2
echo "$PWD/$build/librnnshim.so"
