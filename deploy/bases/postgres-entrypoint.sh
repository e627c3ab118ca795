#!/usr/bin/env bash
# The official postgres image's contract, in short: on an empty PGDATA, initdb with POSTGRES_USER and
# POSTGRES_PASSWORD (password authentication over TCP) and create POSTGRES_DB; then run the command given.
set -euo pipefail
user="${POSTGRES_USER:-postgres}"
if [[ ! -s "$PGDATA/PG_VERSION" ]]; then
  [[ -n "${POSTGRES_PASSWORD:-}" ]] || { echo "postgres-entrypoint: POSTGRES_PASSWORD is required" >&2; exit 1; }
  mkdir -p "$PGDATA" && chmod 700 "$PGDATA"
  initdb -D "$PGDATA" -U "$user" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  if [[ -n "${POSTGRES_DB:-}" && "$POSTGRES_DB" != "postgres" ]]; then
    postgres --single -D "$PGDATA" -j postgres <<<"CREATE DATABASE \"$POSTGRES_DB\" OWNER \"$user\";" >/dev/null
  fi
fi
if [[ "${1:-}" == "postgres" ]]; then shift; exec postgres -D "$PGDATA" -k /tmp "$@"; fi
exec "$@"
