#!/usr/bin/env bash
# The deployment smoke test, on a machine with a Docker engine and no image registry (Debian's docker.io, host
# networking only): make local base images (debootstrap + docker import), build the CPU image, start the compose stack
# (PostgreSQL, API, worker, Prometheus), upload a dataset, train on the worker, predict and check the forecast against
# real data, check that Prometheus scraped both the API and the worker and holds their figures, then tear everything down (containers and volumes; the images are kept for the next run).
#   deploy/smoke.sh                    (as root, or with sudo for apt-get and dockerd)
# Installs docker.io, docker-compose and debootstrap if missing, and starts dockerd (--bridge=none --iptables=false)
# when no engine answers, stopping it again at the end. With RNN_REGISTRY_BASES=1 it builds on the public bases.
# Ports (loopback): API 18080, worker health 18081, API metrics 19464, PostgreSQL 15432, Prometheus 19090
# (RNN_API_PORT, RNN_WORKER_PORT, RNN_API_METRICS_PORT, RNN_POSTGRES_PORT, RNN_PROMETHEUS_PORT).
set -euo pipefail
cd "$(dirname "$0")/.."
export RNN_API_HOST=127.0.0.1 RNN_API_PORT="${RNN_API_PORT:-18080}" RNN_WORKER_PORT="${RNN_WORKER_PORT:-18081}"
export RNN_API_METRICS_PORT="${RNN_API_METRICS_PORT:-19464}" RNN_PROMETHEUS_PORT="${RNN_PROMETHEUS_PORT:-19090}"
export RNN_POSTGRES_PORT="${RNN_POSTGRES_PORT:-15432}" POSTGRES_PASSWORD="${POSTGRES_PASSWORD:-smoke-$RANDOM$RANDOM}"
project=rnnsmoke
compose=(docker-compose -p "$project" -f docker-compose.yml)
work=$(mktemp -d)
begin=$(date +%s)
say() { printf '[smoke %4ds] %s\n' $(($(date +%s) - begin)) "$*"; }

sudo=()
[[ $(id -u) -eq 0 ]] || sudo=(sudo)
missing=()
for package in docker.io docker-compose debootstrap curl python3; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  say "installing ${missing[*]}"
  "${sudo[@]}" apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q "${missing[@]}" >"$work/apt.log" 2>&1 || { cat "$work/apt.log" >&2; exit 1; }
fi
# Debian's client talks to Debian's engine; another docker earlier on PATH may be too new for it.
docker() { /usr/bin/docker "$@"; }
export -f docker

dockerd_pid=""
cleanup() {
  local status=$?
  if [[ -n "${stack_up:-}" ]]; then
    [[ $status -eq 0 ]] || { say "the stack's last log lines:"; "${compose[@]}" logs --tail=30 2>&1 | sed 's/^/  /' || true; }
    say "tearing down"
    "${compose[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
  fi
  if [[ -n "$dockerd_pid" ]]; then "${sudo[@]}" kill "$dockerd_pid" 2>/dev/null || true; wait "$dockerd_pid" 2>/dev/null || true; fi
  rm -rf "$work"
  say "$([[ $status -eq 0 ]] && echo PASSED || echo FAILED) in $(($(date +%s) - begin)) s"
}
trap cleanup EXIT

if ! /usr/bin/docker info >/dev/null 2>&1; then
  say "starting dockerd (no bridge, no iptables: host networking only)"
  "${sudo[@]}" dockerd --bridge=none --iptables=false >"$work/dockerd.log" 2>&1 &
  dockerd_pid=$!
  for _ in $(seq 60); do /usr/bin/docker info >/dev/null 2>&1 && break; sleep 1; done
  /usr/bin/docker info >/dev/null 2>&1 || { cat "$work/dockerd.log" >&2; say "the Docker engine did not start"; exit 1; }
fi

if [[ "${RNN_REGISTRY_BASES:-0}" != 1 ]]; then
  say "base images (debootstrap + docker import; kept between runs)"
  deploy/bases/make-bases.sh
  export SDK_IMAGE=rnnservice-local/dotnet-sdk:10.0 BUILD_IMAGE=rnnservice-local/debian:bookworm
  export RUNTIME_IMAGE=rnnservice-local/debian:bookworm POSTGRES_IMAGE=rnnservice-local/postgres:15
  export PROMETHEUS_IMAGE=rnnservice-local/prometheus:2
fi

# The image takes the web console as built here (its build needs Node.js, which the SDK image lacks).
if [[ ! -f Console/dist/index.html ]]; then
  say "building the web console"
  (cd Console && npm ci --no-audit --no-fund >/dev/null && npm run build >/dev/null)
fi
say "building the CPU image"
"${compose[@]}" build api >"$work/build.log" 2>&1 || { tail -n 40 "$work/build.log" >&2; exit 1; }
say "built $(/usr/bin/docker image inspect -f '{{.RepoTags}} {{.Size}}' "${RNN_IMAGE:-rnnservice:cpu}" | awk '{printf "%s, %.0f MB", $1, $2/1e6}')"

say "starting PostgreSQL, the API, a worker and Prometheus"
stack_up=1
"${compose[@]}" up -d --no-build >"$work/up.log" 2>&1 || { cat "$work/up.log" >&2; exit 1; }
for role in "api $RNN_API_PORT" "worker $RNN_WORKER_PORT"; do
  set -- $role
  for _ in $(seq 180); do curl -fsS -o /dev/null "http://127.0.0.1:$2/health/ready" 2>/dev/null && break; sleep 1; done
  curl -fsS "http://127.0.0.1:$2/health/ready" >"$work/ready.json" || { say "the $1 is not ready"; exit 1; }
  say "$1 ready: $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["checks"]; print(d["storage"]["data"]["roles"], d["storage"]["data"]["provider"], d["engine"]["description"])' "$work/ready.json")"
done

python3 deploy/smoke_client.py "http://127.0.0.1:$RNN_API_PORT"
# The web console is in the image: its page and the script it names.
page=$(curl -fsS "http://127.0.0.1:$RNN_API_PORT/ui/") || { say "the API serves no console at /ui/"; exit 1; }
script=$(grep -o '/ui/assets/[^"]*\.js' <<<"$page" | head -n 1)
[[ -n "$script" ]] && curl -fsS -o /dev/null "http://127.0.0.1:$RNN_API_PORT$script" || { say "the console's script $script is not served"; exit 1; }
say "the API container serves the console at /ui/ ($script)"
claims=$("${compose[@]}" logs worker 2>&1 | grep -c "claimed by" || true)
[[ "$claims" -eq 1 ]] || { say "expected the worker to claim one job, it logged $claims claims"; exit 1; }
say "the worker container claimed the job; the API container only served"

# Prometheus: both targets up, and the figures of what just happened in its store (one prediction at least, one claim).
prometheus="http://127.0.0.1:$RNN_PROMETHEUS_PORT"
query() { curl -fsS --get "$prometheus/api/v1/query" --data-urlencode "query=$1" | python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(sum(float(x["value"][1]) for x in r) if r else -1)'; }
scraped=""
for _ in $(seq 60); do
  up=$(query 'sum(up{job=~"rnnservice-api|rnnservice-worker"})' 2>/dev/null || echo -1)
  predictions=$(query 'sum(rnnservice_predictions_total{job="rnnservice-api",outcome="ok"})' 2>/dev/null || echo -1)
  claims=$(query 'sum(rnnservice_jobs_claims_total{job="rnnservice-worker"})' 2>/dev/null || echo -1)
  if [[ "$up" == 2.0 ]] && python3 -c "import sys; sys.exit(0 if float('$predictions') >= 1 and float('$claims') >= 1 else 1)"; then scraped=1; break; fi
  sleep 1
done
[[ -n "$scraped" ]] || { say "Prometheus did not scrape both: up=$up predictions=$predictions claims=$claims"; curl -fsS "$prometheus/api/v1/targets" >&2 || true; exit 1; }
say "Prometheus scrapes the API and the worker: up=$up, predictions ok=$predictions (api), claims=$claims (worker)"
