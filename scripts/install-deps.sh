#!/usr/bin/env bash
# Installs what RnnService needs on a Debian 12 machine that has the .NET 10 SDK:
#   scripts/install-deps.sh          the engine's build and run dependencies (CMake, g++, Debian's libtorch, and
#                                    OpenBLAS: Debian's libtorch multiplies matrices through the system's BLAS, and
#                                    the reference BLAS it falls back to is 15-20x slower)
#                                    and Node.js with npm, which build the web console (Console/, Vite 8: Node.js 20.19
#                                    or newer; Debian 12's own nodejs is 18, so a machine without Node.js gets it and
#                                    is told when it is too old)
#   scripts/install-deps.sh --test   and what the tests add: PyTorch for Python (the parity reference) and the
#                                    PostgreSQL server (the tests of the PostgreSQL job store and of scale-out),
#                                    Prometheus (its promtool checks the /metrics exposition), and Debian's Chromium
#                                    (the console's browser tests drive it with playwright-core)
#   scripts/install-deps.sh --bench  and what the benchmarks' peers use: PyTorch, NumPy, FastAPI and uvicorn
# Packages already present are left alone, so a second run takes a second.
set -euo pipefail

packages=(cmake g++ libtorch-dev libopenblas0-openmp)
command -v node >/dev/null 2>&1 || packages+=(nodejs npm)
[[ "${1:-}" == "--test" ]] && packages+=(python3-torch postgresql prometheus chromium curl jq)
[[ "${1:-}" == "--bench" ]] && packages+=(python3-torch python3-numpy python3-fastapi python3-uvicorn)

if ! command -v dotnet >/dev/null 2>&1; then
  echo "install-deps: the .NET 10 SDK (dotnet) is required and is not on PATH" >&2
  exit 1
fi

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
node_check() {
  local version
  version=$(node --version 2>/dev/null | tr -d v)
  if [[ -z "$version" ]] || ! printf '20.19.0\n%s\n' "$version" | sort -V -C; then
    echo "install-deps: the web console's build (Vite 8) needs Node.js 20.19 or newer; found '${version:-none}'." >&2
    echo "  Install Node.js 20 or 22 (e.g. from NodeSource), or build with -p:SkipConsoleBuild=true and a Console/dist built elsewhere." >&2
    exit 1
  fi
}
if [[ ${#missing[@]} -eq 0 ]]; then
  node_check
  exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-deps: installing ${missing[*]} needs root or sudo" >&2; exit 1; }
  sudo=(sudo)
fi
echo "install-deps: installing ${missing[*]}"
"${sudo[@]}" apt-get update -q
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q "${missing[@]}"
node_check
