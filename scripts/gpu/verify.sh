#!/usr/bin/env bash
# Verifies RnnService on a GPU machine that has PyTorch 2.x (CUDA) but no .NET, from the kit of scripts/gpu/pack.sh
# (.gpu/, carried with the working tree). Each stage fits in one 10-minute call:
#   scripts/gpu/verify.sh tests             build the shim against python3's torch (scripts/build-shim.sh), then the
#                                           engine tests (PyTorch parity, CUDA at 1e-4, models moving GPU <-> CPU) and
#                                           the device tests through the service, with RNN_TEST_REQUIRE_CUDA=1
#   scripts/gpu/verify.sh training [runs]   bench/training/run.sh on cuda, next to PyTorch on the same GPU
#   scripts/gpu/verify.sh serving [seconds] [runs]   bench/serving/run.sh on cuda, next to the FastAPI peer on the GPU
# Logs and results go to $OUT (the device tool's folder) or bench/results/gpu/.
# PYTHON names the interpreter with torch (default python3); TORCH_CMAKE_DIR another libtorch's CMake package;
# RNN_TEST_REQUIRE_CUDA=0 lets the CUDA tests skip and RNN_BENCH_DEVICE=cpu keeps the benchmarks on the CPU (a CPU-only
# check of the kit, as scripts/check-libtorch2.sh does).
set -euo pipefail
cd "$(dirname "$0")/../.."
stage="${1:?tests, training or serving}"
shift
python="${PYTHON:-python3}"
kit="$PWD/.gpu"
root=/tmp/rnnservice-gpu
out="${OUT:-$PWD/bench/results/gpu}"
mkdir -p "$out"

# The runtime, the assemblies and the shim, once per machine.
if [[ ! -e "$root/app/librnnshim.so" ]]; then
  rm -rf "$root"
  mkdir -p "$root/dotnet" "$root/app" "$root/peer"
  tar -xJf "$kit/dotnet.tar.xz" -C "$root/dotnet"
  tar -xJf "$kit/app.tar.xz" -C "$root/app"
  tar -xJf "$kit/peer.tar.xz" -C "$root/peer"
  # The peer's packages fill gaps only: what the interpreter has already (a newer typing_extensions beside torch) wins.
  for package in "$root"/peer/*; do
    name="$(basename "${package%.py}")"
    if "$python" -c "import $name" 2>/dev/null; then rm -rf "$package"; fi
  done
  shim="$(PYTHON="$python" scripts/build-shim.sh ${TORCH_CMAKE_DIR:-} 2>"$out/build-shim.log" | tail -1)" \
    || { tail -30 "$out/build-shim.log"; exit 1; }
  cp "$shim" "$root/app/"
  # The test host finds the service's content root (appsettings.json) where the kit was unpacked, not where it was built.
  sed -i -E 's#("RnnService\.Api[^"]*": *)"[^"]*"#\1"'"$root"'/app"#' "$root/app/MvcTestingAppManifest.json"
fi
export DOTNET_ROOT="$root/dotnet" PATH="$root/dotnet:$PATH" DOTNET_CLI_TELEMETRY_OPTOUT=1
export RNN_PYTHON="$(command -v "$python")" RNN_BENCH_DEVICE="${RNN_BENCH_DEVICE:-cuda}"
export RNN_REPOSITORY="$PWD"  # the tests that read the manual (docs/engine.md's PyTorch class) find it here
export RNN_BENCH_SUFFIX="${RNN_BENCH_SUFFIX--$RNN_BENCH_DEVICE}"  # bench/results/training-cuda.json, serving-cuda.json
"$python" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available(),
  torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")' | tee "$out/machine.txt"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee -a "$out/machine.txt"

case "$stage" in
  tests)
    export RNN_TEST_REQUIRE_CUDA="${RNN_TEST_REQUIRE_CUDA:-1}"
    run_tests() { # name, filters...
      local name="$1"
      shift
      (cd "$root/app" && dotnet exec --runtimeconfig xunit.console.runtimeconfig.json xunit.console.dll Api.Tests.dll \
        "$@" -xml "$out/$name.xml" -noappdomain -nocolor) 2>&1 | tee "$out/$name.log"
    }
    status=0
    run_tests engine -namespace RnnService.Api.Tests.Engine || status=1
    run_tests service -class RnnService.Api.Tests.ScaleOut.DeviceChoiceTests -class RnnService.Api.Tests.Service.ServiceTests \
      -class RnnService.Api.Tests.Predict.PredictTests -class RnnService.Api.Tests.Jobs.TrainingJobTests || status=1
    exit "$status"
    ;;
  training)
    RNN_BENCH_PREBUILT="$root/app" RNN_BENCH_PYTHON="$RNN_PYTHON" bench/training/run.sh "${1:-3}" \
      2>&1 | tee "$out/training.log"
    cp "bench/results/training$RNN_BENCH_SUFFIX.json" "$out/"
    ;;
  serving)
    RNN_BENCH_PREBUILT="$root/app" RNN_BENCH_PYTHON="$RNN_PYTHON" RNN_BENCH_PYTHONPATH="$root/peer" \
      bench/serving/run.sh "${1:-10}" "${2:-3}" 2>&1 | tee "$out/serving.log"
    cp "bench/results/serving$RNN_BENCH_SUFFIX.json" "$out/"
    ;;
  *) echo "verify.sh: unknown stage $stage (tests, training or serving)" >&2; exit 2 ;;
esac
