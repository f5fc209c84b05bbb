#!/usr/bin/env bash
# ad-hoc: where does CPU go in the cluster under creates
set -euo pipefail
B=/work/wt-bench/build-bench
root=/work/wt-bench
T=$(mktemp -d /tmp/cexp/run.XXXX)
"$root/tests/support/etcd-cluster.sh" start "$T/etcd" 3 24490 >/dev/null
E=$(cat "$T/etcd/endpoints")
pids=()
for i in 1 2 3; do
  $B/deployd serve --host 127.0.0.1 --port $((24600+i)) --data-dir $T/n$i --etcd $E --node n$i --peer-port 0 ${EXTRA:-} > $T/n$i.log 2>&1 &
  pids+=($!)
done
for i in 1 2 3; do until curl -sf -o /dev/null http://127.0.0.1:$((24600+i))/api/ready; do sleep 0.1; done; done
sleep 1
flow=$(curl -sf -X POST -H 'Content-Type: application/json' -d '{"name":"f"}' http://127.0.0.1:24601/api/flows/ | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
cpu() { awk '{print $14+$15}' /proc/$1/stat; }
epids=$(cat $T/etcd/*.pid)
declare -A before
for p in ${pids[@]} $epids; do before[$p]=$(cpu $p); done
tcpu() { for t in /proc/$1/task/*; do printf '%s %s\n' "$(tr ' ' _ <$t/comm)" "$(awk '{print $14+$15}' $t/stat)"; done | awk '{a[$1]+=$2} END {for (k in a) print k, a[k]}' | sort; }
for p in ${pids[@]}; do tcpu $p > $T/threads-before-$p; done
for i in 1 2 3; do
  BENCH_WRK_DIR=$root/bench/wrk FLOW_ID=$flow NAME_PREFIX=n$i wrk -t1 -c${C:-21} -d10s --timeout 10s -s $root/bench/wrk/create_unique.lua http://127.0.0.1:$((24600+i))/api > $T/wrk$i.log 2>&1 &
done
wait $(jobs -p | tail -3) 2>/dev/null || true
sleep 0.5
for p in ${pids[@]}; do tcpu $p > $T/threads-after-$p; echo "== $p"; join -a2 $T/threads-before-$p $T/threads-after-$p | awk '{d=$3-$2; if (NF==2) d=$2; if (d>5) print "   ", $1, d}'; done
for p in ${pids[@]} $epids; do echo "pid $p $(tr '\0' ' ' < /proc/$p/cmdline | cut -c1-60) cpu_ticks=$(( $(cpu $p) - ${before[$p]} ))"; done
grep -h "BENCH_JSON" $T/wrk*.log | cut -c12- > $T/wrk.json; python3 -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1])]; print("rps", sum(x["rps"] for x in r)); [print(x) for x in r]' $T/wrk.json
curl -s http://127.0.0.1:24601/api/deployd/cluster | python3 -c 'import json,sys; d=json.load(sys.stdin); print("log_head", d["log_head"], "leader", d["leader"])'
ETCDCTL_API=3 etcdctl --endpoints=$E get /deployd/log/head --print-value-only
for p in ${pids[@]}; do kill $p; done; wait ${pids[@]} 2>/dev/null || true
"$root/tests/support/etcd-cluster.sh" clean "$T/etcd" >/dev/null
rm -rf $T
