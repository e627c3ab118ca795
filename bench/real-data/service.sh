# Sourced by the real-data benchmarks. `install_missing PACKAGE...` installs Debian packages with apt-get (as root or
# through sudo); `make_work` sets $work to a new temporary folder and, on exit, stops the service started in it and
# removes it; `export_corpora DIR` installs what the labelled corpora need and writes them as NAME.{train,test}.jsonl
# into DIR (see export_sequences.py); `start_service DIR` builds the service, starts it on a free loopback port with its
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

export_corpora() {
  # R's janeaustenr and mlbench, Debian's fortunes and bible-kjv, scikit-learn's bundled digits.
  local missing=()
  command -v Rscript > /dev/null || missing+=(r-base-core)
  [ -d /usr/lib/R/site-library/janeaustenr ] || missing+=(r-cran-janeaustenr)
  [ -d /usr/lib/R/site-library/mlbench ] || missing+=(r-cran-mlbench)
  [ -f /usr/share/games/fortunes/computers ] || missing+=(fortunes)
  command -v bible > /dev/null || missing+=(bible-kjv)
  /usr/bin/python3 -c "import sklearn" 2> /dev/null || missing+=(python3-sklearn)
  install_missing ${missing[@]+"${missing[@]}"}
  Rscript -e 'args <- commandArgs(TRUE); library(janeaustenr); library(mlbench); data(DNA)
              write.csv(austen_books(), file.path(args[1], "austen.csv"), row.names = FALSE)
              write.csv(DNA, file.path(args[1], "dna.csv"), row.names = FALSE)' "$1" > /dev/null
  /usr/bin/python3 bench/real-data/export_sequences.py "$1" "$1/austen.csv" "$1/dna.csv"
}
