#!/usr/bin/env bash
# Makes the base images that deploy/ builds on, from Debian's own packages, for a Docker engine that cannot pull
# from a registry (as on the machines here). Each is a stand-in for a public image and is passed to the builds as a
# build argument; with a registry at hand, the defaults in the Dockerfiles and docker-compose.yml are used instead.
#   rnnservice-local/debian:bookworm   debootstrap (minbase) of Debian 12       stands in for debian:bookworm(-slim)
#   rnnservice-local/dotnet-sdk:10.0   that + this machine's .NET SDK           stands in for mcr.microsoft.com/dotnet/sdk:10.0
#   rnnservice-local/postgres:15       that + Debian's PostgreSQL 15            stands in for postgres:15 (same variables)
#   rnnservice-local/prometheus:2      that + Debian's Prometheus 2.42          stands in for prom/prometheus
# The images carry this machine's CA certificates, so that builds reach the package registries the way it does.
# Images that already exist are kept; --rebuild makes them again. Needs root (debootstrap, chroot).
set -euo pipefail
cd "$(dirname "$0")"
rebuild=false
[[ "${1:-}" == "--rebuild" ]] && rebuild=true
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
work="${RNN_BASES_WORK:-/var/tmp/rnnservice-bases}"
debian=rnnservice-local/debian:bookworm
sdk=rnnservice-local/dotnet-sdk:10.0
postgres=rnnservice-local/postgres:15
prometheus=rnnservice-local/prometheus:2

exists() { [[ $rebuild == false ]] && docker image inspect "$1" >/dev/null 2>&1; }
say() { printf '[make-bases %(%T)T] %s\n' -1 "$*"; }

if ! exists "$debian"; then
  say "debootstrap Debian 12 (minbase) from $mirror"
  rm -rf "$work" && mkdir -p "$work"
  debootstrap --variant=minbase --include=ca-certificates,libssl3 bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -n 20 "$work/debootstrap.log" >&2; exit 1; }
  cat >"$work/rootfs/etc/apt/sources.list" <<SOURCES
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb ${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security} bookworm-security main
SOURCES
  cp /etc/ssl/certs/ca-certificates.crt "$work/rootfs/etc/ssl/certs/ca-certificates.crt"
  chroot "$work/rootfs" apt-get clean
  rm -rf "$work/rootfs/var/lib/apt/lists/"*
  tar -C "$work/rootfs" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' - "$debian" >/dev/null
  say "made $debian"
fi

if ! exists "$sdk"; then
  dotnet_root=$(dirname "$(readlink -f "$(command -v dotnet)")")
  say "adding the .NET SDK from $dotnet_root"
  # The SDK folder is the build context: a Dockerfile read from stdin, nothing else sent.
  docker build --network host -q -t "$sdk" -f - "$dotnet_root" >/dev/null <<DOCKERFILE
FROM $debian
COPY . /usr/share/dotnet
RUN ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet
ENV DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 \
    NUGET_CERT_REVOCATION_MODE=${NUGET_CERT_REVOCATION_MODE:-online}
DOCKERFILE
  say "made $sdk"
fi

if ! exists "$postgres"; then
  say "adding Debian's PostgreSQL 15"
  docker build --network host -q -t "$postgres" --build-arg BASE_IMAGE="$debian" -f postgres.Dockerfile . >/dev/null
  say "made $postgres"
fi

if ! exists "$prometheus"; then
  say "adding Debian's Prometheus"
  docker build --network host -q -t "$prometheus" --build-arg BASE_IMAGE="$debian" -f prometheus.Dockerfile . >/dev/null
  say "made $prometheus"
fi
