#!/usr/bin/env bash
# Installs what RnnService needs on a Debian 12 machine that has the .NET 10 SDK:
#   scripts/install-deps.sh          the engine's build and run dependencies (CMake, g++, Debian's libtorch)
#   scripts/install-deps.sh --test   and what the tests add: PyTorch for Python (the parity reference) and the
#                                    PostgreSQL server (the tests of the PostgreSQL job store and of scale-out)
# Packages already present are left alone, so a second run takes a second.
set -euo pipefail

packages=(cmake g++ libtorch-dev)
[[ "${1:-}" == "--test" ]] && packages+=(python3-torch postgresql)

if ! command -v dotnet >/dev/null 2>&1; then
  echo "install-deps: the .NET 10 SDK (dotnet) is required and is not on PATH" >&2
  exit 1
fi

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [[ ${#missing[@]} -eq 0 ]]; then
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
