# Sourced by the real-data benchmarks. `install_missing PACKAGE...` installs Debian packages with apt-get (as root or
# through sudo); `make_work` sets $work to a new temporary folder and, on exit, stops the service started in it and
# removes it; `start_service DIR` builds the service, starts it on a free loopback port with its
# state under DIR/data, waits until it is ready, and sets $port and $service (its PID, for the caller's trap).
start_service() {
  dotnet build Api -c Release -v quiet -nologo > /dev/null
  port=$(/usr/bin/python3 -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
  Storage__DataDirectory="$1/data" dotnet Api/bin/Release/net10.0/RnnService.Api.dll --urls "http://127.0.0.1:$port" > "$1/service.log" 2>&1 &
  service=$!
  for _ in $(seq 1 120); do
    curl -fs "http://127.0.0.1:$port/health/ready" > /dev/null && break
    sleep 0.5
  done
  mkdir -p bench/results
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
}

make_work() {
  work=$(mktemp -d)
  service=""
  trap 'kill "$service" 2> /dev/null || true; wait "$service" 2> /dev/null || true; rm -rf "$work"' EXIT
}

install_missing() {
  [ $# -gt 0 ] || return 0
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" > /dev/null
}
