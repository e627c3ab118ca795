#!/usr/bin/env bash
# Starts (start) or stops (stop) the tests' own PostgreSQL server: a throw-away cluster from Debian's packages,
# listening on 127.0.0.1 only, with a superuser the tests use to make one database per test.
#   eval "$(scripts/test-postgres.sh start)"   sets RNNSERVICE_TEST_POSTGRES to its connection string
#   scripts/test-postgres.sh stop
# The folder and port: RNN_TEST_PGDATA (default /tmp/rnnservice-test-pg), RNN_TEST_PGPORT (default 55432).
set -euo pipefail
data="${RNN_TEST_PGDATA:-/tmp/rnnservice-test-pg}"
port="${RNN_TEST_PGPORT:-55432}"
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[[ -n "$bin" ]] || { echo "test-postgres: PostgreSQL is not installed (scripts/install-deps.sh --test installs it)" >&2; exit 1; }

# PostgreSQL refuses to run as root: then the cluster belongs to the postgres user that Debian's package made.
as_owner=()
if [[ $(id -u) -eq 0 ]]; then as_owner=(runuser -u postgres --); fi

case "${1:-}" in
  start)
    if [[ -f "$data/postmaster.pid" ]] && "${as_owner[@]}" "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
      "${as_owner[@]}" "$bin/pg_ctl" -D "$data" stop -m fast >/dev/null
    fi
    rm -rf "$data"
    mkdir -p "$data"
    [[ ${#as_owner[@]} -eq 0 ]] || chown postgres: "$data"
    "${as_owner[@]}" "$bin/initdb" -D "$data" -U rnn --auth=trust --no-sync -E UTF8 >"$data.init.log" 2>&1 ||
      { cat "$data.init.log" >&2; exit 1; }
    # fsync off: a test cluster that a crash may lose; max_connections for the processes and pools of the tests.
    "${as_owner[@]}" "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 start \
      -o "-p $port -c listen_addresses=127.0.0.1 -k $data -c fsync=off -c synchronous_commit=off -c max_connections=300" >/dev/null
    echo "export RNNSERVICE_TEST_POSTGRES='Host=127.0.0.1;Port=$port;Username=rnn;Database=postgres'"
    ;;
  stop)
    if [[ -f "$data/postmaster.pid" ]]; then "${as_owner[@]}" "$bin/pg_ctl" -D "$data" stop -m fast >/dev/null; fi
    rm -rf "$data" "$data.init.log"
    ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
