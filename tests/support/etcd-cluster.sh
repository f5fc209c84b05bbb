#!/usr/bin/env bash
# A local etcd cluster for humans (benchmarks, trying cluster mode by hand):
# N members of Debian's etcd 3.4 on 127.0.0.1, data and logs under DIR.
# Tests use tests/support/etcd_cluster.hpp instead (free ports, temp dirs).
#
#   tests/support/etcd-cluster.sh start DIR [N=3] [BASE=23790]
#       member eI (I = 1..N): client http://127.0.0.1:BASE+I,
#       peer http://127.0.0.1:BASE+10+I; waits until every member is healthy
#       and prints the endpoints (also in DIR/endpoints).
#       ETCD_EXTRA="--quota-backend-bytes=..." adds flags to every member.
#   tests/support/etcd-cluster.sh status DIR     etcdctl endpoint status
#   tests/support/etcd-cluster.sh stop DIR       SIGTERM to the PIDs in DIR/*.pid
#                                                (start DIR again reuses the data)
#   tests/support/etcd-cluster.sh clean DIR      stop, then remove DIR
set -euo pipefail

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || {
  sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
}

[ -d "$dir" ] && dir=$(cd "$dir" && pwd)

endpoints() { cat "$dir/endpoints"; }

stop() {
  local f pid
  for f in "$dir"/*.pid; do
    [ -e "$f" ] || continue
    pid=$(cat "$f")
    # Only a process we started: an etcd whose command line names this dir.
    if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "--data-dir=$dir/"; then
      kill -TERM "$pid"
      for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    fi
    rm -f "$f"
  done
}

case "$cmd" in
start)
  n=${3:-3}
  base=${4:-23790}
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if compgen -G "$dir/*.pid" >/dev/null; then
    echo "etcd-cluster: $dir has running members (stop it first)" >&2
    exit 1
  fi
  token="deployd-$(basename "$dir")-$$"
  cluster=""
  eps=""
  for i in $(seq 1 "$n"); do
    cluster+="${cluster:+,}e$i=http://127.0.0.1:$((base + 10 + i))"
    eps+="${eps:+,}http://127.0.0.1:$((base + i))"
  done
  for i in $(seq 1 "$n"); do
    c=$((base + i))
    p=$((base + 10 + i))
    # shellcheck disable=SC2086  # ETCD_EXTRA is a list of flags
    etcd --name "e$i" --data-dir="$dir/e$i" \
      --listen-client-urls "http://127.0.0.1:$c" \
      --advertise-client-urls "http://127.0.0.1:$c" \
      --listen-peer-urls "http://127.0.0.1:$p" \
      --initial-advertise-peer-urls "http://127.0.0.1:$p" \
      --initial-cluster "$cluster" --initial-cluster-token "$token" \
      --initial-cluster-state new --logger zap --log-outputs stderr \
      ${ETCD_EXTRA:-} </dev/null >>"$dir/e$i.log" 2>&1 &
    echo $! >"$dir/e$i.pid"
  done
  echo "$eps" >"$dir/endpoints"
  for _ in $(seq 300); do
    if etcdctl --endpoints="$eps" endpoint health >/dev/null 2>&1; then
      echo "$eps"
      exit 0
    fi
    sleep 0.1
  done
  echo "etcd-cluster: not healthy after 30 s; logs in $dir" >&2
  exit 1
  ;;
status) etcdctl --endpoints="$(endpoints)" endpoint status -w table ;;
stop) stop ;;
clean)
  stop
  rm -rf "$dir"
  ;;
*)
  echo "etcd-cluster: unknown command $cmd" >&2
  exit 2
  ;;
esac
