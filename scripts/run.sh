#!/usr/bin/env bash
# Sets up and runs RnnService on its embedded default: state under ./data, on http://127.0.0.1:5080.
# Extra arguments go to the service, e.g. scripts/run.sh --urls http://127.0.0.1:8080
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# dotnet run starts the service in Api/; keep the embedded default's state in ./data unless told otherwise.
export Storage__DataDirectory="${Storage__DataDirectory:-$PWD/data}"
exec dotnet run --project Api -c Release --no-launch-profile -- --urls "${RNN_URLS:-http://127.0.0.1:5080}" "$@"
