# Shell helpers shared by bench/run and bench/cluster (sourced, not run).
# Expects: $tmp (work dir), $bench (this folder), an array `pids`, and for
# run_wrk: $duration, $wrk_threads, $pause, $results.

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# install_missing PACKAGE...: apt-get install what is not installed yet.
install_missing() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
      missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  log "installing ${missing[*]}"
  local sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "$@"
}

# Whether a PID runs (an exited child stays a zombie until waited for, and
# kill -0 still succeeds on it).
alive() {
  local state
  state=$(awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ]
}

stop_pid() {
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do
    alive "$pid" || break
    sleep 0.1
  done
  alive "$pid" && kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null || true
  # Forget it, so cleanup never signals a PID the system has reused.
  local kept=() p
  for p in "${pids[@]}"; do
    [ "$p" = "$pid" ] || kept+=("$p")
  done
  pids=("${kept[@]}")
}

cleanup() {
  while ((${#pids[@]})); do
    stop_pid "${pids[0]}"
  done
  if [ "${BENCH_KEEP:-0}" = 1 ]; then
    log "kept $tmp"
  else
    rm -rf "$tmp"
  fi
}

# Starts "$@" in the background with output in $tmp/<name>.log; sets
# started_pid and remembers the PID for cleanup.
start_bg() {
  local name=$1
  shift
  "$@" >"$tmp/$name.log" 2>&1 &
  started_pid=$!
  pids+=("$started_pid")
}

# thread_cpu PID: "<thread name> <utime+stime ticks>" summed per name.
thread_cpu() {
  local t
  for t in /proc/"$1"/task/*; do
    printf '%s %s\n' "$(tr ' ' _ <"$t/comm")" \
      "$(awk '{ print $14 + $15 }' "$t/stat")"
  done | awk '{ a[$1] += $2 } END { for (k in a) print k, a[k] }'
}

free_port() {
  python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_ok URL SECONDS: until URL answers 2xx (fails after SECONDS).
wait_ok() {
  local url=$1 deadline=$((SECONDS + $2))
  until curl -sf -o /dev/null --max-time 1 "$url"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.01
  done
}

rss_mb() {
  awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null ||
    echo 0
}

# cpu_per_request BEFORE AFTER WRK_LOG: server CPU µs per request of that wrk
# run, by thread (caf.actor is the writer, deployd the HTTP and read threads,
# rocksdb:* flush and compaction), from two thread_cpu snapshots.
cpu_per_request() {
  python3 -c 'import json, os, sys
tick = 1e6 / os.sysconf("SC_CLK_TCK")
before = dict(l.split() for l in open(sys.argv[1]))
after = dict(l.split() for l in open(sys.argv[2]))
reqs = json.loads(sys.argv[3])["requests"]
us = {n: round((int(after[n]) - int(before.get(n, 0))) * tick / reqs, 1)
      for n in after}
us = {n: v for n, v in sorted(us.items(), key=lambda x: -x[1]) if v > 0}
print(json.dumps(dict(value=round(sum(us.values()), 1), threads=us)))' \
    "$1" "$2" "$(sed -n 's/^BENCH_JSON //p' "$3" | head -n 1)" || echo "{}"
}

record() { printf '%s\t%s\t%s\n' "$1" "${2:-"{}"}" "$3" >>"$results"; }

# run_wrk NAME SCRIPT CONNECTIONS URL [VAR=value...]: one wrk run of
# $duration seconds; records its BENCH_JSON line.
run_wrk() {
  local name=$1 script=$2 conns=$3 url=$4
  shift 4
  local threads=$wrk_threads
  ((conns < threads)) && threads=$conns
  local cmd=(wrk -t"$threads" -c"$conns" -d"${duration}s" --timeout 10s
    -s "$bench/wrk/$script" "$url")
  local out json
  sleep "$pause"
  local load1
  load1=$(cut -d' ' -f1 /proc/loadavg)
  out=$(env BENCH_WRK_DIR="$bench/wrk" "$@" "${cmd[@]}" 2>&1) || true
  echo "$out" >"$tmp/wrk-$name.log"
  json=$(sed -n 's/^BENCH_JSON //p' <<<"$out" | head -n 1)
  # The 1-minute load average when the run started: the noise it ran in.
  [ -n "$json" ] && json="${json%\}},\"load1\":$load1}"
  record "$name" "${json:-"{}"}" "$* ${cmd[*]}"
  if [ -n "$json" ]; then
    python3 -c 'import json, sys
r = json.loads(sys.argv[2])
print("[bench] {}: {:.0f} req/s, p50 {:.2f} ms, p99 {:.2f} ms, non-2xx {}".format(
  sys.argv[1], r["rps"], r["p50_ms"], r["p99_ms"], r["non2xx"]), file=sys.stderr)' \
      "$name" "$json" || true
  else
    log "$name: no result (see $tmp/wrk-$name.log)"
  fi
}

