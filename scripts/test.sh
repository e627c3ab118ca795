#!/usr/bin/env bash
# Sets up and runs every test: the engine against PyTorch, the service through its test host.
# Extra arguments go to dotnet test, e.g. scripts/test.sh --filter "FullyQualifiedName~Parity"
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test

# A throw-away PostgreSQL on 127.0.0.1 for the tests of the PostgreSQL store and of several processes sharing it.
log=$(mktemp)
trap 'rm -f "$log"; scripts/test-postgres.sh stop' EXIT
eval "$(scripts/test-postgres.sh start)"
status=0
dotnet test RnnService.sln -c Release "$@" 2>&1 | tee "$log" || status=$?

# One plain closing line over every test assembly: "N passed, N failed, N skipped".
grep -E "Failed: +[0-9]+, Passed: +[0-9]+, Skipped: +[0-9]+" "$log" | sed -E 's/.*Failed: +([0-9]+), Passed: +([0-9]+), Skipped: +([0-9]+).*/\1 \2 \3/' |
  awk '{ f += $1; p += $2; s += $3; n++ } END { if (n) printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }' || true
exit "$status"
