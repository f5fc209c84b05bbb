#!/usr/bin/env python3
"""GET by id and creates at 64 connections, binaries alternated (issue 17).

Usage: bench/http_pairs.py ROUNDS BINARY...   (run from the repository root,
after `ninja -C build-bench deployd bench/beast_ceiling`)

Each round, for each BINARY: `wrk -t2 -c64 -d10s` of GET /api/deployments/{id}
(bench/wrk/get_ids.lua) over 1,000 deployments (created once by the first
binary, served by each in turn from the same data dir, after a 2 s warm-up),
then build-bench/bench/beast_ceiling under the same GETs; then, per binary, a
fresh data dir with one flow and `wrk -t2 -c64 -d10s` of creates
(bench/wrk/create_unique.lua). Prints req/s, p50/p99, non-2xx, the server's
CPU per request (utime + stime from /proc over the run) and the 1-minute load.
Starts and stops only its own processes, on 127.0.0.1, in a temp dir.
"""
import json, os, shutil, signal, subprocess, sys, tempfile, time, http.client

bench = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, bench)
from serve_util import call, create_hourly_deployments, start

rounds, bins = int(sys.argv[1]), sys.argv[2:]
ceiling = os.path.join(bench, "..", "build-bench", "bench", "beast_ceiling")
quiet = {"PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
         "PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED": "false"}


def wrk(port, script, seconds, env_extra):
    env = dict(os.environ, BENCH_WRK_DIR=os.path.join(bench, "wrk"), **env_extra)
    out = subprocess.run(["wrk", "-t2", "-c64", "-d%ds" % seconds, "--timeout", "10s",
                          "-s", os.path.join(bench, "wrk", script),
                          "http://127.0.0.1:%d" % port],
                         env=env, capture_output=True, text=True).stdout
    return json.loads([l for l in out.splitlines()
                       if l.startswith("BENCH_JSON ")][0][len("BENCH_JSON "):])


def cpu(pid):
    f = open("/proc/%d/stat" % pid).read().split(")")[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def load1():
    return open("/proc/loadavg").read().split()[0]


def measured(p, port, script, env_extra):
    c0, load = cpu(p.pid), load1()
    r = wrk(port, script, 10, env_extra)
    us = (cpu(p.pid) - c0) / max(r["rps"] * 10, 1) * 1e6
    return "%8.0f req/s p50 %.2f p99 %.2f ms non-2xx %d, %.1f us CPU/request, load %s" % (
        r["rps"], r["p50_ms"], r["p99_ms"], r["non2xx"], us, load)


with tempfile.TemporaryDirectory() as tmp:
    data = os.path.join(tmp, "data")
    p, port = start(bins[0], data, quiet, os.path.join(tmp, "create.log"))
    c = http.client.HTTPConnection("127.0.0.1", port)
    ids = create_hourly_deployments(c, 1000)
    c.close()
    p.send_signal(signal.SIGTERM)
    p.wait()
    ids_file = os.path.join(tmp, "ids")
    open(ids_file, "w").write("\n".join(ids) + "\n")
    for r in range(rounds):
        for b in bins:
            p, port = start(b, data, quiet, os.path.join(tmp, "get.log"))
            wrk(port, "get_ids.lua", 2, {"IDS_FILE": ids_file})
            print("GET    %-24s %s" % (os.path.basename(b), measured(
                p, port, "get_ids.lua", {"IDS_FILE": ids_file})), flush=True)
            p.send_signal(signal.SIGTERM)
            p.wait()
        port_file = os.path.join(tmp, "beast.port")
        bc = subprocess.Popen([ceiling, "--port-file", port_file],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while not (os.path.exists(port_file) and open(port_file).read().strip()):
            time.sleep(0.02)
        print("GET    %-24s %s" % ("beast_ceiling", measured(
            bc, int(open(port_file).read()), "get_ids.lua", {"IDS_FILE": ids_file})),
            flush=True)
        os.remove(port_file)
        bc.send_signal(signal.SIGTERM)
        bc.wait()
        for i, b in enumerate(bins):
            fresh = os.path.join(tmp, "c%d" % i)
            p, port = start(b, fresh, quiet, os.path.join(tmp, "c.log"))
            c = http.client.HTTPConnection("127.0.0.1", port)
            _, body = call(c, "POST", "/api/flows/", {"name": "f"})
            c.close()
            print("CREATE %-24s %s" % (os.path.basename(b), measured(
                p, port, "create_unique.lua",
                {"FLOW_ID": json.loads(body)["id"], "NAME_PREFIX": "r%d" % r})), flush=True)
            p.send_signal(signal.SIGTERM)
            p.wait()
            shutil.rmtree(fresh)
