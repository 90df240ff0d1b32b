"""Soak: 10 minutes of mixed load (lookups, parcel breakdowns, tiles) on 2 workers.

Usage: .venv/bin/python bench/soak.py [--minutes 10] [--connections 32] [--db planning_bench]

Reports zero errors or not, p50/p99 over the whole run, and the resident memory of the server
(master + workers, from /proc) at minute 2 and at the end, with its growth (goal < 10 %).
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from pathlib import Path

import benchlib as B

RSS_EVERY_S = 10.0


def pids_of(port: int) -> list[int]:
    """Find the server on a port (its `planning serve` master) and its worker processes."""
    procs: dict[int, tuple[int, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        procs[int(entry.name)] = (ppid, cmd)
    masters = [p for p, (_, cmd) in procs.items() if "serve" in cmd and f"--port {port}" in cmd]
    family = set(masters)
    grew = True
    while grew:
        grew = False
        for p, (ppid, _) in procs.items():
            if ppid in family and p not in family:
                family.add(p)
                grew = True
    return sorted(family)


def rss_mb(pids: list[int]) -> float:
    """Sum the resident memory of processes (MB)."""
    total = 0
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--db", default="bench_api")
    ap.add_argument("--parcels", type=int, default=200_000)
    ap.add_argument("--port", type=int, default=8131)
    args = ap.parse_args()
    B.need("wrk", "apt-get install -y wrk")
    B.ensure_demo_db(args.db, args.parcels)
    box = B.extent(args.db)
    keys = B.OUT / "soak_keys.txt"
    rows = B.admin_query(
        "SELECT commune_code || '/' || sheet || '/' || parcel_no FROM planning.parcel "
        "ORDER BY random() LIMIT 5000",
        args.db,
    )
    B.OUT.mkdir(parents=True, exist_ok=True)
    keys.write_text("\n".join(r[0] for r in rows) + "\n", encoding="utf-8")
    version = B.admin_query("SELECT coalesce(max(id), 0) FROM planning.publication", args.db)[0][0]
    samples: list[tuple[float, float]] = []
    with B.ours(args.db, args.port, workers=2) as base:
        pids = pids_of(args.port)
        B.log(f"server processes {pids}; soak {args.minutes} min at {args.connections} connections")
        stop = threading.Event()
        t0 = time.monotonic()

        def sample() -> None:
            while not stop.is_set():
                samples.append((time.monotonic() - t0, rss_mb(pids)))
                stop.wait(RSS_EVERY_S)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        result = B.wrk(
            base,
            "mixed.lua",
            [str(keys), *(f"{v:.7f}" for v in box), str(version)],
            args.connections,
            args.minutes * 60,
        )
        stop.set()
        sampler.join()
    at2 = next((m for t, m in samples if t >= 120), samples[0][1])
    end = samples[-1][1]
    growth = (end - at2) / at2 * 100 if at2 else 0.0
    summary = {
        "minutes": args.minutes,
        "connections": args.connections,
        "requests": result["requests"],
        "rps": round(result["rps"], 1),
        "p50_ms": result["p50_ms"],
        "p99_ms": result["p99_ms"],
        "max_ms": result["max_ms"],
        "non2xx": result["non2xx"],
        "socket_errors": result["errors"],
        "rss_mb_minute2": round(at2, 1),
        "rss_mb_end": round(end, 1),
        "rss_growth_pct": round(growth, 2),
        "rss_samples": [(round(t), round(m, 1)) for t, m in samples],
        "machine": B.machine(args.db),
        "load_before": os.getloadavg(),
    }
    B.save("soak", summary)
    ok = not result["non2xx"] and not result["errors"] and growth < 10
    print("| soak | value |\n|---|---|")
    for k in (
        "minutes",
        "connections",
        "requests",
        "rps",
        "p50_ms",
        "p99_ms",
        "max_ms",
        "non2xx",
        "socket_errors",
        "rss_mb_minute2",
        "rss_mb_end",
        "rss_growth_pct",
    ):
        print(f"| {k} | {summary[k]} |")
    print(f"| verdict | {'met' if ok else 'NOT met'} (zero errors, RSS growth < 10 %) |")
    print(json.dumps({"ok": ok}))


if __name__ == "__main__":
    main()
