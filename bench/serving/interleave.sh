# Sourced by knobs.sh and versions.sh. Needs $python, $work and $port set by the caller.

# What every interleaved comparison needs before its runs: the bench's packages, the load generator, the bench model
# in $work/model.pt, and $threads (libtorch's default intra-op threads, which both servers get).
prepare_load() {
  scripts/install-deps.sh --bench
  dotnet build bench/LoadGen -c Release --nologo -v quiet >/dev/null
  threads="$("$python" -c 'import torch; print(torch.get_num_threads())')"
  "$python" bench/serving/make_model.py "$work/model.pt"
}

# The machine's idle share between two /proc/stat cpu lines (idle and iowait over all the time counted).
idle_share() {
  awk -v a="$1" -v b="$2" 'BEGIN { n = split(a, x); split(b, y); for (i = 2; i <= n; i++) { d = y[i] - x[i]; all += d; if (i == 5 || i == 6) idle += d }
    printf "%.0f%%", 100 * idle / all }'
}

# One interleaved run of one variant, at each concurrency; needs $seconds and $threads, and appends to the caller's
# rows array.
#   run_variant NAME RUN API_DLL 'ENV=V ENV2=V2'
run_variant() {
  local name="$1" run="$2" api="$3" settings="$4" concurrency line
  rm -rf "$work/data"
  # The variant's settings come last, so that they override the bench's own (Engine__IntraOpThreads among them).
  # The rate limit is off (one load generator is one client), as in run.sh.
  env Storage__DataDirectory="$work/data" Roles=api Engine__IntraOpThreads="$threads" RateLimits__PermitsPerSecond=0 \
    Logging__LogLevel__Default=Warning $settings \
    dotnet "$api" --urls "http://127.0.0.1:$port" &
  service=$!
  "$python" bench/serving/probe.py wait "http://127.0.0.1:$port/health/ready" >/dev/null
  "$python" bench/serving/probe.py upload "http://127.0.0.1:$port/models/bench/versions" "$work/model.pt" '{"task":{"kind":"regression"}}' >/dev/null
  for concurrency in ${RNN_KNOB_CONCURRENCY:-1 64}; do
    local before after
    before="$(head -1 /proc/stat)"
    line="$(dotnet bench/LoadGen/bin/Release/net10.0/LoadGen.dll --url "http://127.0.0.1:$port" --model bench \
      --concurrency "$concurrency" --seconds "$seconds" --features 8 --min 20 --max 200)"
    after="$(head -1 /proc/stat)"
    echo "$name run=$run $line idle $(idle_share "$before" "$after")"
    rows+=("{\"variant\":\"$name\",\"run\":$run,\"result\":$line}")
  done
  kill "$service"; wait "$service" 2>/dev/null || true
}
