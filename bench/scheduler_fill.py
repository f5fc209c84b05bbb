#!/usr/bin/env python3
"""Scheduler fill time (issue 15): N deployments with an hourly interval
schedule are created with the scheduler off; deployd is restarted with it
on (PREFECT_SERVER_SERVICES_SCHEDULER_MIN_RUNS=100, so 100 runs each) and
the main loop's first pass, which starts at once, fills them. Prints the
pass's own "scheduler pass" log line (runs, seconds), the wall time from
the process start to that line, the runs counted after it, and
GET /api/deployments/{id} latencies at 16 connections (wrk -t2 -c16 with
bench/wrk/get_ids.lua over the N ids: 10 s idle with the scheduler off,
then from the fill's start to its end, wrk stopped by SIGINT), with the
1-minute load average at the start of each.

Usage: bench/scheduler_fill.py [BINARY] [N]   (default build/deployd, 1000)
Starts and stops only its own deployd and wrk, on 127.0.0.1, in a temp dir.
"""
import json, os, re, signal, subprocess, sys, tempfile, threading, time
import http.client

from serve_util import call, create_hourly_deployments, start as start_binary

bench = os.path.dirname(os.path.abspath(__file__))
binary = sys.argv[1] if len(sys.argv) > 1 else "build/deployd"
n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
runs_each = 100


def start(data, env_extra, log):
    return start_binary(binary, data, env_extra, log, timeout_s=30)


def load1():
    return open("/proc/loadavg").read().split()[0]


def wrk(port, ids_file, seconds):
    """wrk GETs at c=16 in the background; stop() ends it (SIGINT: wrk
    prints its summary) and returns (its command, its BENCH_JSON)."""
    cmd = ["wrk", "-t2", "-c16", "-d%ds" % seconds, "--timeout", "10s",
           "-s", os.path.join(bench, "wrk", "get_ids.lua"),
           "http://127.0.0.1:%d" % port]
    env = dict(os.environ, BENCH_WRK_DIR=os.path.join(bench, "wrk"),
               IDS_FILE=ids_file)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)

    def stop(interrupt=True):
        if interrupt and proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        out = proc.communicate(timeout=60)[0]
        found = [l for l in out.splitlines() if l.startswith("BENCH_JSON ")]
        return ("IDS_FILE=... " + " ".join(cmd),
                json.loads(found[0][len("BENCH_JSON "):]) if found else None)
    return stop


with tempfile.TemporaryDirectory() as tmp:
    data = os.path.join(tmp, "data")
    off = {"PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
           "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED": "false"}
    p, port = start(data, off, os.path.join(tmp, "create.log"))
    c = http.client.HTTPConnection("127.0.0.1", port)
    ids = create_hourly_deployments(c, n)
    c.close()
    p.send_signal(signal.SIGTERM)
    p.wait()

    ids_file = os.path.join(tmp, "ids.txt")
    open(ids_file, "w").write("\n".join(ids) + "\n")

    # Idle GET latency at c=16, scheduler off.
    p, port = start(data, off, os.path.join(tmp, "idle.log"))
    idle_load = load1()
    idle_cmd, idle = wrk(port, ids_file, 10)(interrupt=False)
    p.send_signal(signal.SIGTERM)
    p.wait()

    log = os.path.join(tmp, "fill.log")
    t0 = time.perf_counter()
    fill_load = load1()
    p, port = start(data, {"PREFECT_SERVER_SERVICES_SCHEDULER_MIN_RUNS": "100",
                           "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED": "false"},
                    log)
    stop = wrk(port, ids_file, 600)
    # The pass logs one line when it ends.
    while not any("scheduler pass" in l for l in open(log)):
        time.sleep(0.05)
    wall = time.perf_counter() - t0
    busy_cmd, busy = stop()
    c = http.client.HTTPConnection("127.0.0.1", port)
    _, body = call(c, "POST", "/api/flow_runs/count", {})
    print("runs counted after the pass: %s" % body.decode())
    p.send_signal(signal.SIGTERM)
    p.wait()
    line = [l for l in open(log) if "scheduler pass" in l]
    print("deployments %d, runs %d" % (n, n * runs_each))
    print("scheduler pass log: %s" % (line[0].strip() if line else "(none)"))
    print("wall from process start to the end of the pass: %.2f s (load %s at start)"
          % (wall, fill_load))
    for name, cmd, r, load in (("idle", idle_cmd, idle, idle_load),
                               ("during fill", busy_cmd, busy, fill_load)):
        if r:
            print("GET /api/deployments/{id} c=16 %s: %.0f req/s, p50 %.2f ms, p99 %.2f ms, "
                  "non-2xx %d, load %s: %s" % (name, r["rps"], r["p50_ms"], r["p99_ms"],
                                               r["non2xx"], load, cmd))
        else:
            print("GET c=16 %s: no result" % name)
    if idle and busy:
        print("p99 during fill / idle = %.2f (target <= 2)" % (busy["p99_ms"] / idle["p99_ms"]))
