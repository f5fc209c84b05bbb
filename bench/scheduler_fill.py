#!/usr/bin/env python3
"""Scheduler fill time (issue 15): N deployments with an hourly interval
schedule are created with the scheduler off; deployd is restarted with it
on (PREFECT_SERVER_SERVICES_SCHEDULER_MIN_RUNS=100, so 100 runs each) and
the main loop's first pass, which starts at once, fills them. Prints the
pass's own "scheduler pass" log line (runs, seconds), the wall time from
the process start to that line, the runs counted after it, and GET /api/deployments/{id}
latencies (one connection, sequential) idle and during the fill.

Usage: bench/scheduler_fill.py [BINARY] [N]   (default build/deployd, 1000)
Starts and stops only its own deployd, on 127.0.0.1, in a temp dir.
"""
import json, os, re, signal, subprocess, sys, tempfile, threading, time
import http.client

binary = sys.argv[1] if len(sys.argv) > 1 else "build/deployd"
n = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
runs_each = 100


def start(data, env_extra, log):
    port_file = data + ".port"
    if os.path.exists(port_file):
        os.remove(port_file)
    env = dict(os.environ, **env_extra)
    p = subprocess.Popen([binary, "serve", "--host", "127.0.0.1", "--port", "0",
                          "--data-dir", data, "--port-file", port_file,
                          "--log-level", "info"],
                         env=env, stderr=open(log, "w"), stdout=subprocess.DEVNULL)
    for _ in range(600):
        if os.path.exists(port_file) and open(port_file).read().strip():
            return p, int(open(port_file).read())
        time.sleep(0.05)
    raise SystemExit("deployd did not start")


def call(conn, method, path, body=None):
    conn.request(method, path, body=None if body is None else json.dumps(body),
                 headers={"content-type": "application/json"})
    r = conn.getresponse()
    return r.status, r.read()


def p99(xs):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * 0.99))] * 1000 if xs else float("nan")


with tempfile.TemporaryDirectory() as tmp:
    data = os.path.join(tmp, "data")
    off = {"PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
           "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED": "false"}
    p, port = start(data, off, os.path.join(tmp, "create.log"))
    c = http.client.HTTPConnection("127.0.0.1", port)
    ids = []
    for i in range(n):
        _, body = call(c, "POST", "/api/flows/", {"name": "flow-%d" % (i % 10)})
        flow = json.loads(body)["id"]
        s, body = call(c, "POST", "/api/deployments/", {
            "name": "d-%d" % i, "flow_id": flow,
            "schedules": [{"schedule": {"interval": 3600,
                                        "anchor_date": "2026-01-01T00:00:00Z"}}]})
        assert s == 201, body
        ids.append(json.loads(body)["id"])
    c.close()
    p.send_signal(signal.SIGTERM)
    p.wait()

    # Idle GET latency, scheduler off.
    p, port = start(data, off, os.path.join(tmp, "idle.log"))
    c = http.client.HTTPConnection("127.0.0.1", port)
    idle = []
    for i in range(2000):
        t0 = time.perf_counter()
        call(c, "GET", "/api/deployments/" + ids[i % n])
        idle.append(time.perf_counter() - t0)
    c.close()
    p.send_signal(signal.SIGTERM)
    p.wait()

    log = os.path.join(tmp, "fill.log")
    t0 = time.perf_counter()
    p, port = start(data, {"PREFECT_SERVER_SERVICES_SCHEDULER_MIN_RUNS": "100",
                           "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED": "false"},
                    log)
    busy = []
    done = threading.Event()

    def getter():
        g = http.client.HTTPConnection("127.0.0.1", port)
        i = 0
        while not done.is_set():
            t = time.perf_counter()
            call(g, "GET", "/api/deployments/" + ids[i % n])
            busy.append(time.perf_counter() - t)
            i += 1

    th = threading.Thread(target=getter)
    th.start()
    # The pass logs one line when it ends (counting runs over HTTP would
    # scan every run and load the server).
    while not any("scheduler pass" in l for l in open(log)):
        time.sleep(0.05)
    wall = time.perf_counter() - t0
    done.set()
    th.join()
    c = http.client.HTTPConnection("127.0.0.1", port)
    _, body = call(c, "POST", "/api/flow_runs/count", {})
    print("runs counted after the pass: %s" % body.decode())
    p.send_signal(signal.SIGTERM)
    p.wait()
    line = [l for l in open(log) if "scheduler pass" in l]
    print("deployments %d, runs %d" % (n, n * runs_each))
    print("scheduler pass log: %s" % (line[0].strip() if line else "(none)"))
    print("wall from process start to the end of the pass: %.2f s" % wall)
    print("GET /api/deployments/{id} p99 idle %.2f ms (%d), during fill %.2f ms (%d)"
          % (p99(idle), len(idle), p99(busy), len(busy)))
