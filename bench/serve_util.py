"""What bench/scheduler_fill.py and bench/fill_pairs.py share: start a
`deployd serve` on a free port (read back from --port-file) and make one JSON
call over an http.client connection."""
import json, os, subprocess, time


def start(binary, data, env_extra, log, timeout_s=24):
    """Starts BINARY serving DATA with ENV_EXTRA added to the environment and
    its stderr in LOG; returns (process, port) once the port file is written."""
    port_file = data + ".port"
    if os.path.exists(port_file):
        os.remove(port_file)
    env = dict(os.environ, **env_extra)
    p = subprocess.Popen([binary, "serve", "--host", "127.0.0.1", "--port", "0",
                          "--data-dir", data, "--port-file", port_file,
                          "--log-level", "info"],
                         env=env, stderr=open(log, "w"), stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if os.path.exists(port_file) and open(port_file).read().strip():
            return p, int(open(port_file).read())
        time.sleep(0.02)
    raise SystemExit("deployd did not start")


def call(conn, method, path, body=None):
    """One request with a JSON body (or none); returns (status, body bytes)."""
    conn.request(method, path, body=None if body is None else json.dumps(body),
                 headers={"content-type": "application/json"})
    r = conn.getresponse()
    return r.status, r.read()


def create_hourly_deployments(conn, n):
    """Creates N deployments over 10 flows, each with an hourly interval
    schedule anchored at 2026-01-01; returns their ids."""
    ids = []
    for i in range(n):
        _, body = call(conn, "POST", "/api/flows/", {"name": "flow-%d" % (i % 10)})
        flow = json.loads(body)["id"]
        s, body = call(conn, "POST", "/api/deployments/", {
            "name": "d-%d" % i, "flow_id": flow,
            "schedules": [{"schedule": {"interval": 3600,
                                        "anchor_date": "2026-01-01T00:00:00Z"}}]})
        assert s == 201, body
        ids.append(json.loads(body)["id"])
    return ids
