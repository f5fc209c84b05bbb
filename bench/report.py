#!/usr/bin/env python3
"""Turns bench/run's raw results into the table and bench/results/<date>.json.

Input: a TSV of `name <TAB> JSON <TAB> command` lines written by bench/run.
Each figure is divided by its ceiling (measured in the same run) and checked
against the targets of issue 6. Never exits non-zero for a missed target.
"""

import argparse
import json
import os
import platform
import subprocess


def machine():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_mb = 0
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem_mb = int(line.split()[1]) // 1024
    except OSError:
        pass

    def version(cmd):
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=5)
            return (out.stdout + out.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.SubprocessError):
            return "unknown"

    return {
        "nproc": os.cpu_count(),
        "cpu_model": cpu,
        "kernel": platform.release(),
        "mem_total_mb": mem_mb,
        "wrk": version(["wrk", "-v"]),
        "nginx": version(["/usr/sbin/nginx", "-v"]),
    }


# -- what each figure is, and what it is divided by ---------------------------
# name: (label, value key, unit)
LABELS = {
    "ceil.storage.single": ("storage: synced append, 1 event/commit",
                            "events_per_s", "events/s"),
    "ceil.storage.batch64": ("storage: synced commit of 64 events",
                             "events_per_s", "events/s"),
    "log.make_log": ("log write, unsynced, no projections (make_log)",
                     "value", "events/s"),
    "deployd.upsert.c64": ("deployd upsert POST, c=64", "rps", "req/s"),
    "deployd.replay": ("deployd replay", "value", "events/s"),
    "deployd.verify": ("deployd verify (rebuild + compare)", "value",
                       "events/s"),
    "deployd.startup": ("deployd start-up to healthy", "value", "ms"),
    "deployd.rss_idle": ("deployd RSS idle", "value", "MB"),
    "deployd.rss_load": ("deployd RSS under GET+create load", "value", "MB"),
}
for c in (1, 16, 64, 256):
    LABELS[f"ceil.beast.post.c{c}"] = (f"Beast minimal POST, c={c}", "rps",
                                       "req/s")
    LABELS[f"deployd.create.c{c}"] = (f"deployd create POST, c={c}", "rps",
                                      "req/s")
for c in (16, 64):
    LABELS[f"ceil.beast.get.c{c}"] = (f"Beast minimal GET, c={c}", "rps",
                                      "req/s")
    LABELS[f"ceil.nginx.get.c{c}"] = (f"nginx static GET, c={c}", "rps",
                                      "req/s")
    LABELS[f"deployd.get.c{c}"] = (f"deployd GET by id, c={c}", "rps", "req/s")
LABELS["ceil.nginx.post.c64"] = ("nginx POST return 200, c=64", "rps",
                                 "req/s")
for c in (1, 16):
    LABELS[f"deployd.filter_tag.c{c}"] = (
        f"deployd filter tag limit 200, c={c}", "rps", "req/s")
    LABELS[f"deployd.filter_name.c{c}"] = (
        f"deployd filter name any_, c={c}", "rps", "req/s")

for c in (1, 16):
    LABELS[f"deployd.workers_filter.c{c}"] = (
        f"deployd workers/filter, 1,000 workers, c={c}", "rps", "req/s")
for n in (1, 2):
    LABELS[f"deployd.create_alone.c64.r{n}"] = (
        f"deployd create POST c=64, alone, round {n}", "rps", "req/s")
    LABELS[f"deployd.create_heartbeats.c64.r{n}"] = (
        f"deployd create POST c=64, with heartbeats, round {n}", "rps",
        "req/s")
LABELS["deployd.heartbeats_alone"] = (
    "deployd heartbeats alone, 1,000 workers / 5 s", "rps", "req/s")
for n in (1, 2):
    LABELS[f"deployd.heartbeats.r{n}"] = (
        f"  heartbeats during round {n} (1,000 workers / 5 s)", "rps", "req/s")
LABELS["deployd.heartbeat_cost"] = (
    "create throughput lost to heartbeats", "value", "%")

ORDER = (["ceil.storage.single", "ceil.storage.batch64", "log.make_log"] +
         [f"ceil.beast.post.c{c}" for c in (1, 16, 64, 256)] +
         ["ceil.beast.get.c16", "ceil.beast.get.c64", "ceil.nginx.get.c16",
          "ceil.nginx.get.c64", "ceil.nginx.post.c64"] +
         [f"deployd.create.c{c}" for c in (1, 16, 64, 256)] +
         ["deployd.upsert.c64", "deployd.get.c16", "deployd.get.c64",
          "deployd.filter_tag.c1", "deployd.filter_tag.c16",
          "deployd.filter_name.c1", "deployd.filter_name.c16",
          "deployd.workers_filter.c1", "deployd.workers_filter.c16",
          "deployd.heartbeats_alone", "deployd.create_alone.c64.r1", "deployd.create_heartbeats.c64.r1",
          "deployd.heartbeats.r1", "deployd.create_alone.c64.r2",
          "deployd.create_heartbeats.c64.r2", "deployd.heartbeats.r2",
          "deployd.heartbeat_cost",
          "deployd.replay", "deployd.verify", "deployd.startup", "deployd.rss_idle",
          "deployd.rss_load"])


def ceilings_of(name):
    """(ceiling figure name, short label) pairs the figure is divided by."""
    if name.startswith("deployd.create.c"):
        c = name.rsplit("c", 1)[1]
        return [(f"ceil.beast.post.c{c}", "Beast POST"),
                ("ceil.storage.batch64", "storage batch-64")]
    if name == "deployd.upsert.c64":
        return [("ceil.beast.post.c64", "Beast POST"),
                ("ceil.storage.batch64", "storage batch-64")]
    if name.startswith("deployd.get.c"):
        c = name.rsplit("c", 1)[1]
        return [(f"ceil.nginx.get.c{c}", "nginx GET"),
                (f"ceil.beast.get.c{c}", "Beast GET")]
    if name in ("deployd.replay", "deployd.verify"):
        return [("log.make_log", "log write")]
    if name.startswith("ceil.beast.post.c"):
        c = name.rsplit("c", 1)[1]
        return [("ceil.nginx.post.c64", "nginx POST c=64")] if c == "64" else []
    if name.startswith("ceil.beast.get.c"):
        c = name.rsplit("c", 1)[1]
        return [(f"ceil.nginx.get.c{c}", "nginx GET")]
    return []


def targets_of(name, r, figures, deployments, filter_deployments):
    """(text, met) pairs for the issue's targets that apply to a figure."""
    out = []

    def ratio(ceiling):
        c = figures.get(ceiling)
        key = LABELS[ceiling][1]
        if not c or not c.get(key):
            return None
        return value(name, r) / c[key]

    if name.startswith("deployd.create.c"):
        errors = sum((r.get("errors") or {}).values())
        out.append(("0 non-2xx, 0 socket errors",
                    r.get("non2xx") == 0 and errors == 0))
    if name == "deployd.create.c64":
        out.append(("≥ 10,000/s", r["rps"] >= 10000))
        q = ratio("ceil.beast.post.c64")
        out.append(("≥ 25% of Beast POST", None if q is None else q >= 0.25))
        out.append(("p99 ≤ 10 ms", r["p99_ms"] <= 10))
    if name == "deployd.get.c64":
        q = ratio("ceil.nginx.get.c64")
        out.append(("≥ 60% of nginx GET", None if q is None else q >= 0.60))
    if name == "deployd.replay":
        out.append(("≥ 300,000 events/s", r["value"] >= 300000))
    if name == "deployd.verify":
        out.append(("≥ 150,000 events/s", r["value"] >= 150000))
    if name == "deployd.startup":
        scale = "" if deployments == 1000000 else f" (target is for 1M; {deployments:,} here)"
        out.append(("< 1 s" + scale, r["value"] < 1000 and
                    r.get("catch_up_messages", 0) == 0))
    if name in ("deployd.rss_idle", "deployd.rss_load"):
        scale = "" if deployments == 1000000 else f" (target is for 1M; {deployments:,} here)"
        out.append(("≤ 150 MB" + scale, r["value"] <= 150))
    if name.startswith("deployd.workers_filter"):
        out.append(("p99 ≤ 5 ms", r["p99_ms"] <= 5))
    if name == "deployd.heartbeat_cost":
        out.append(("< 5%", r["value"] < 5))
    if name.startswith("deployd.filter_tag"):
        scale = "" if filter_deployments == 100000 else f" (target is for 100k; {filter_deployments:,} here)"
        out.append(("p99 ≤ 20 ms" + scale, r["p99_ms"] <= 20))
    return out


def heartbeat_cost(figures, commands):
    """Creates at c=64 under heartbeats against creates alone, both rounds
    averaged: the share of create throughput the heartbeats took."""
    def mean_rps(prefix):
        rps = [figures.get(f"{prefix}.r{n}", {}).get("rps") for n in (1, 2)]
        rps = [x for x in rps if x]
        return sum(rps) / len(rps) if rps else None
    alone = mean_rps("deployd.create_alone.c64")
    loaded = mean_rps("deployd.create_heartbeats.c64")
    beats = mean_rps("deployd.heartbeats")
    if not alone or not loaded:
        return
    figures["deployd.heartbeat_cost"] = {
        "value": 100.0 * (1 - loaded / alone),
        "creates_alone_rps": alone, "creates_with_heartbeats_rps": loaded,
        "heartbeats_rps": beats}
    commands["deployd.heartbeat_cost"] = (
        "1 - mean(create_heartbeats.c64.r1, r2) / "
        "mean(create_alone.c64.r1, r2)")


def value(name, r):
    return r.get(LABELS[name][1])


def fmt_value(v, unit):
    if v is None:
        return "n/a"
    if unit in ("MB",):
        return f"{v:,.1f} {unit}"
    if unit == "%":
        return f"{v:.1f} %"
    return f"{v:,.0f} {unit}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--date", required=True)
    ap.add_argument("--quick", default="0")
    ap.add_argument("--duration", type=int, required=True)
    ap.add_argument("--deployments", type=int, required=True)
    ap.add_argument("--filter-deployments", type=int, required=True)
    ap.add_argument("--load-start", default="")
    ap.add_argument("--load-end", default="")
    ap.add_argument("--commit", default="unknown")
    ap.add_argument("--only", default="")
    args = ap.parse_args()

    figures, commands, info = {}, {}, {}
    with open(args.results) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t", 2)
            if len(parts) < 3:
                continue
            name, raw, command = parts
            try:
                r = json.loads(raw) if raw else {}
            except json.JSONDecodeError:
                r = {}
            commands[name] = command
            if name.startswith("info."):
                info[name[5:]] = dict(r, command=command)
            elif r:
                figures[name] = r
            else:
                figures.setdefault(name, {})

    heartbeat_cost(figures, commands)

    rows, out_figures = [], []
    for name in ORDER:
        if args.only and name not in figures:
            continue  # a partial run (BENCH_ONLY) lists what it measured
        label, key, unit = LABELS.get(name, (name, "value", ""))
        r = figures.get(name, {})
        v = r.get(key)
        lat = ""
        if "p50_ms" in r:
            lat = f"{r['p50_ms']:.2f} / {r['p99_ms']:.2f} / {r['p999_ms']:.2f}"
        bad = ""
        if "non2xx" in r:
            errors = sum((r.get("errors") or {}).values())
            bad = str(r["non2xx"]) + (f" +{errors} sock" if errors else "")
        ratios = []
        for ceiling, short in ceilings_of(name):
            c = figures.get(ceiling, {}).get(LABELS[ceiling][1])
            if v is not None and c:
                ratios.append({"ceiling": ceiling, "label": short,
                               "ceiling_value": c, "ratio": v / c})
        targets = ([] if v is None else
                   targets_of(name, r, figures, args.deployments,
                              args.filter_deployments))
        if name == "ceil.storage.batch64" and r.get("batches_per_s"):
            label += f" ({r['batches_per_s']:,.0f} batches/s)"
        load = f"{r['load1']:.1f}" if "load1" in r else ""
        rows.append((label, fmt_value(v, unit), lat, bad, load,
                     ", ".join(f"{x['ratio']:.2f} of {x['label']}"
                               for x in ratios),
                     "; ".join(f"{t} {'MET' if ok else ('MISSED' if ok is False else '?')}"
                               for t, ok in targets)))
        out_figures.append({
            "name": name, "label": label, "unit": unit, "value": v,
            "raw": r, "command": commands.get(name, ""),
            "ratios": ratios,
            "targets": [{"target": t, "met": ok} for t, ok in targets],
        })

    head = ("figure", "value", "p50 / p99 / p99.9 ms", "non-2xx", "load",
            "ratio to ceiling", "target")
    widths = [max(len(str(row[i])) for row in rows + [head])
              for i in range(len(head))]
    mach = machine()
    print()
    print(f"deployd benchmark {args.date}  commit {args.commit}  "
          f"{mach['nproc']} x {mach['cpu_model']}, kernel {mach['kernel']}")
    print(f"{args.duration} s per load run, wrk 2 threads; "
          f"{args.deployments:,} deployments for replay/start-up/RSS, "
          f"{args.filter_deployments:,} for GET/filter/upsert; "
          f"load avg {args.load_start} -> {args.load_end}"
          + ("  [QUICK]" if args.quick == "1" else "")
          + (f"  [ONLY {args.only}]" if args.only else ""))
    print("(load = 1-minute load average when the wrk run started; the "
          "machine is shared)")
    print()
    line = "  ".join(h.ljust(w) for h, w in zip(head, widths))
    print(line.rstrip())
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
    if info:
        print()
        for k, r in info.items():
            extra = {x: y for x, y in r.items() if x not in ("value", "command")}
            more = f" {json.dumps(extra, ensure_ascii=False)}" if extra else ""
            print(f"  {k}: {r.get('value')}{more}  ({r.get('command')})")

    result = {
        "date": args.date,
        "commit": args.commit,
        "quick": args.quick == "1",
        "machine": mach,
        "load_average": {"start": args.load_start, "end": args.load_end},
        "parameters": {
            "duration_s": args.duration, "wrk_threads": 2,
            "deployments": args.deployments,
            "filter_deployments": args.filter_deployments,
            "only": args.only,
        },
        "figures": out_figures,
        "info": info,
    }
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
