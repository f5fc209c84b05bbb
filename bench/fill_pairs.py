#!/usr/bin/env python3
"""Scheduler fill CPU (issue 15), binaries alternated: for each round and
each binary (order alternating between rounds), a fresh data dir gets N
deployments with an hourly interval schedule (scheduler off, as
bench/scheduler_fill.py), then deployd restarts with the scheduler on
(PREFECT_SERVER_SERVICES_SCHEDULER_MIN_RUNS=100: 100 runs each) and no
other load. Prints the pass's own time, the wall time from the process
start to its "scheduler pass" line, and the server's CPU up to that line
by thread (/proc/PID/task/*/stat), per run made, with the 1-minute load
average at the restart. PERF=1 also records the first binary's first fill
with `perf record -F 199 --call-graph dwarf` into $PERF_DIR (default /tmp)/perf.<i>.data
(kept; path printed).

Usage: bench/fill_pairs.py N ROUNDS BIN [BIN...]
Starts and stops only its own deployd (and perf), on 127.0.0.1, in a temp
dir under /tmp.
"""
import collections, json, os, re, signal, subprocess, sys, tempfile, time
import http.client

from serve_util import call, create_hourly_deployments, start

n = int(sys.argv[1])
rounds = int(sys.argv[2])
binaries = sys.argv[3:]
tick = os.sysconf("SC_CLK_TCK")


def threads(pid):
    out = collections.Counter()
    for t in os.listdir("/proc/%d/task" % pid):
        try:
            comm = open("/proc/%d/task/%s/comm" % (pid, t)).read().strip()
            f = open("/proc/%d/task/%s/stat" % (pid, t)).read().rsplit(")", 1)[1].split()
            out[comm] += int(f[11]) + int(f[12])
        except OSError:
            pass
    return out


def fill(binary, tmp, tag, perf_out=None):
    data = os.path.join(tmp, "data-" + tag)
    off = {"PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
           "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED": "false"}
    p, port = start(binary, data, off, os.path.join(tmp, "create.log"))
    c = http.client.HTTPConnection("127.0.0.1", port)
    create_hourly_deployments(c, n)
    c.close()
    p.send_signal(signal.SIGTERM)
    p.wait()
    time.sleep(1)
    log = os.path.join(tmp, "fill-%s.log" % tag)
    load = open("/proc/loadavg").read().split()[0]
    t0 = time.perf_counter()
    p, port = start(binary, data, {"PREFECT_SERVER_SERVICES_SCHEDULER_MIN_RUNS": "100",
                                   "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED": "false"},
                    log)
    perf = None
    if perf_out:
        perf = subprocess.Popen(["perf", "record", "-F", "199", "--call-graph", "dwarf",
                                 "-o", perf_out, "-p", str(p.pid)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cpu = None
    states = collections.Counter()
    while True:
        if any("scheduler pass" in l for l in open(log)):
            cpu = threads(p.pid)
            # Minor page faults of the whole process (/proc/PID/stat field 10).
            faults = int(open("/proc/%d/stat" % p.pid).read().rsplit(")", 1)[1].split()[7])
            break
        if os.environ.get("SAMPLE") == "1":
            # The writer's state (R running or runnable, S sleeping, D disk)
            # and where it sleeps, every ~10 ms.
            for t in os.listdir("/proc/%d/task" % p.pid):
                try:
                    if open("/proc/%d/task/%s/comm" % (p.pid, t)).read().strip() != "caf.actor":
                        continue
                    st = open("/proc/%d/task/%s/stat" % (p.pid, t)).read().rsplit(")", 1)[1].split()
                    if int(st[11]) + int(st[12]) < 20:
                        continue
                    wchan = open("/proc/%d/task/%s/wchan" % (p.pid, t)).read().strip()
                    states[st[0] + " " + (wchan if st[0] != "R" else "")] += 1
                except OSError:
                    pass
        time.sleep(0.01)
    if states:
        print("writer states:", dict(states.most_common(8)))
    wall = time.perf_counter() - t0
    if perf:
        perf.send_signal(signal.SIGINT)
        perf.wait()
    c = http.client.HTTPConnection("127.0.0.1", port)
    _, body = call(c, "POST", "/api/flow_runs/count", {})
    c.close()
    p.send_signal(signal.SIGTERM)
    p.wait()
    line = [l for l in open(log) if "scheduler pass" in l][0]
    runs = int(re.search(r'"?runs"?[=:] ?(\d+)', line).group(1))
    secs = float(re.search(r'"?seconds"?[=:] ?([0-9.]+)', line).group(1))
    subprocess.run(["rm", "-rf", data])
    return runs, secs, wall, cpu, load, body.decode(), faults


with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
    for r in range(rounds):
        order = list(enumerate(binaries))
        if r % 2:
            order.reverse()
        for i, b in order:
            perf_out = None
            if os.environ.get("PERF") == "1" and r == 0 and i == 0:
                perf_out = os.path.join(os.environ.get("PERF_DIR", "/tmp"), "perf.%d.data" % i)
            runs, secs, wall, cpu, load, counted, faults = fill(b, tmp, "%d-%d" % (r, i), perf_out)
            total = sum(cpu.values())
            us = lambda t: t * 1e6 / tick / runs
            parts = ", ".join("%s %.2f s" % (k, v / tick)
                              for k, v in cpu.most_common() if v >= tick // 10)
            print("round %d bin %d (%s) load %s: %d runs (count %s), pass %.2f s, "
                  "wall %.2f s, server CPU %.2f s = %.1f us/run [%s], %d minor faults%s"
                  % (r, i, b, load, runs, counted, secs, wall, total / tick, us(total),
                     parts, faults, (" perf " + perf_out) if perf_out else ""), flush=True)
