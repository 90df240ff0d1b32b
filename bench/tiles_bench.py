"""Benchmark /tiles/zoning/{z}/{x}/{y}.mvt (cold and cached) against tipg's tiles, z14–z17.

Usage: .venv/bin/python bench/tiles_bench.py [--db bench_api] [--parcels 200000]
           [--seconds 10] [--rounds 3] [--zooms 14,15,16,17]

Three servers run at once, 2 workers each, on 127.0.0.1: ours with the tile cache off
(PLANNING_TILE_CACHE_MB=0: every request renders), ours with the cache on (primed first: every
request is a hit), and tipg (`/collections/planning.zone/tiles/WebMercatorQuad/{z}/{x}/{y}`).
wrk (bench/lua/tile.lua) asks for a random tile of one zoom over the data's extent. Our URLs
are the versioned ones from /tiles/zoning.json (`?v=N&date=...`), as a map client uses them.
Rounds alternate between the servers; medians are reported. Tile sizes are measured too.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import random
import statistics
import threading
from typing import Any
from urllib.parse import urlsplit

import benchlib as B

PORT_COLD, PORT_WARM, PORT_TIPG = 18111, 18112, 18113
TIPG_TILE = "/collections/planning.{table}/tiles/WebMercatorQuad/{{z}}/{{x}}/{{y}}"


def versioned_template(base: str, tileset: str) -> str:
    """Return the tile path template (with ?v=N) announced by our TileJSON."""
    status, body = B.get(f"{base}/tiles/{tileset}.json")
    if status != 200:
        raise SystemExit(f"/tiles/{tileset}.json answered {status}")
    url = urlsplit(json.loads(body)["tiles"][0])
    return f"{url.path}?{url.query}".replace("%7B", "{").replace("%7D", "}")


def tiles_of(z: int, box: tuple[float, float, float, float]) -> list[tuple[int, int]]:
    """Return every tile of zoom z over a lon/lat box."""
    x0, y0, x1, y1 = B.tile_range(z, box)
    return [(x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]


def prime(base: str, template: str, z: int, tiles: list[tuple[int, int]], conns: int = 16) -> int:
    """Put every tile into both workers' caches: each keep-alive connection (bound to one
    worker) walks the whole list, so every worker that holds a connection caches them all."""
    host, port = urlsplit(base).hostname, urlsplit(base).port
    failures = 0
    lock = threading.Lock()

    def walk(seed: int) -> None:
        nonlocal failures
        order = tiles[:]
        random.Random(seed).shuffle(order)
        conn = http.client.HTTPConnection(host or "127.0.0.1", port, timeout=30)
        for x, y in order:
            conn.request("GET", template.format(z=z, x=x, y=y))
            resp = conn.getresponse()
            resp.read()
            if resp.status not in (200, 204):
                with lock:
                    failures += 1
        conn.close()

    threads = [threading.Thread(target=walk, args=(i,)) for i in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return failures


def sizes(base: str, template: str, z: int, tiles: list[tuple[int, int]]) -> dict[str, Any]:
    """Return median and max bytes of the non-empty tiles, raw and gzip-compressed."""
    raw, gz = [], []
    for x, y in tiles:
        path = template.format(z=z, x=x, y=y)
        status, body = B.get(base + path)
        if status != 200 or not body:
            continue
        raw.append(len(body))
        status, zbody = B.get(base + path, {"Accept-Encoding": "gzip"})
        # tipg may or may not compress: measure the gzip size ourselves when it does not.
        is_gz = zbody[:2] == b"\x1f\x8b"
        gz.append(len(zbody) if is_gz else len(gzip.compress(body, 6, mtime=0)))
    if not raw:
        return {"tiles": 0}
    return {
        "tiles": len(raw),
        "raw_median": int(statistics.median(raw)),
        "raw_max": max(raw),
        "gzip_median": int(statistics.median(gz)),
        "gzip_max": max(gz),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    B.load_args(ap)
    ap.add_argument("--zooms", default="14,15,16,17")
    args = ap.parse_args()
    B.need("wrk", "apt-get install -y wrk")
    B.ensure_demo_db(args.db, args.parcels)
    B.ensure_tipg()
    zooms = [int(z) for z in args.zooms.split(",")]
    box = B.extent(args.db)
    s, c = args.seconds, args.connections
    res: dict[str, Any] = {"machine": B.machine(args.db), "extent": box, "args": vars(args)}
    runs: dict[str, list[dict[str, Any]]] = {}

    def record(key: str, r: dict[str, Any]) -> None:
        runs.setdefault(key, []).append(r)
        B.log(f"{key}: {r['rps']:.0f} req/s, p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.1f} ms")

    with (
        B.ours(args.db, PORT_COLD, PLANNING_TILE_CACHE_MB="0") as cold,
        B.ours(args.db, PORT_WARM, PLANNING_TILE_CACHE_MB="512") as warm,
        B.tipg(args.db, PORT_TIPG) as tipg,
    ):
        ours_t = versioned_template(cold, "zoning")
        tipg_t = TIPG_TILE.format(table="zone")
        res["templates"] = {"ours": ours_t, "tipg": tipg_t}
        B.log(f"our tiles: {ours_t}")
        for z in zooms:
            x0, y0, x1, y1 = B.tile_range(z, box)
            rng = [str(z), str(x0), str(y0), str(x1), str(y1)]
            tiles = tiles_of(z, box)
            B.log(f"z{z}: {len(tiles)} tiles; priming the cache of the warm server")
            bad = prime(warm, ours_t, z, tiles)
            if bad:
                B.log(f"warning: {bad} tiles failed while priming")
            B.wrk(cold, "tile.lua", [ours_t, *rng], c, 2)
            B.wrk(tipg, "tile.lua", [tipg_t, *rng], c, 2)
            for r in range(args.rounds):
                B.log(f"z{z} round {r + 1}/{args.rounds}")
                record(f"z{z}_cold_c{c}", B.wrk(cold, "tile.lua", [ours_t, *rng], c, s))
                record(f"z{z}_tipg_c{c}", B.wrk(tipg, "tile.lua", [tipg_t, *rng], c, s))
                record(f"z{z}_warm_c{c}", B.wrk(warm, "tile.lua", [ours_t, *rng], c, s))
            record(f"z{z}_warm_c1", B.wrk(warm, "tile.lua", [ours_t, *rng], 1, s / 2))
            record(f"z{z}_cold_c1", B.wrk(cold, "tile.lua", [ours_t, *rng], 1, s / 2))
            record(f"z{z}_tipg_c1", B.wrk(tipg, "tile.lua", [tipg_t, *rng], 1, s / 2))
        B.log("tile sizes")
        parcels_t = versioned_template(cold, "parcels")
        res["sizes"] = {
            "zoning_z14_ours": sizes(warm, ours_t, 14, tiles_of(14, box)),
            "zoning_z14_tipg": sizes(tipg, tipg_t, 14, tiles_of(14, box)),
            "parcels_z16_ours": sizes(warm, parcels_t, 16, tiles_of(16, box)),
            "parcels_z16_tipg": sizes(
                tipg, TIPG_TILE.format(table="parcel"), 16, tiles_of(16, box)
            ),
        }
    res["runs"] = runs
    res["median"] = {
        k: {m: B.median([x[m] for x in v]) for m in ("rps", "p50_ms", "p99_ms")}
        for k, v in runs.items()
    }
    path = B.save("tiles", res)
    report(res, zooms, c)
    B.log(f"raw results in {path}")


def report(res: dict[str, Any], zooms: list[int], c: int) -> None:
    """Print the Markdown tables for bench/RESULTS.md."""
    m = res["median"]
    print(
        "| zoom | tipg tiles/s | ours cold tiles/s | cold ÷ tipg | ours warm tiles/s | "
        "warm ÷ tipg | p99 ms tipg / cold / warm | 1-conn p50 ms tipg / cold / warm |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for z in zooms:
        t, co, w = m[f"z{z}_tipg_c{c}"], m[f"z{z}_cold_c{c}"], m[f"z{z}_warm_c{c}"]
        t1, c1, w1 = m[f"z{z}_tipg_c1"], m[f"z{z}_cold_c1"], m[f"z{z}_warm_c1"]
        print(
            f"| {z} | {t['rps']:.0f} | {co['rps']:.0f} | {co['rps'] / t['rps']:.2f}× | "
            f"{w['rps']:.0f} | {w['rps'] / t['rps']:.1f}× | "
            f"{t['p99_ms']:.0f} / {co['p99_ms']:.0f} / {w['p99_ms']:.1f} | "
            f"{t1['p50_ms']:.2f} / {c1['p50_ms']:.2f} / {w1['p50_ms']:.3f} |"
        )
    print()
    print("| tiles (non-empty) | n | raw median / max bytes | gzip median / max bytes |")
    print("|---|---|---|---|")
    for k, v in res["sizes"].items():
        if v.get("tiles"):
            print(
                f"| {k} | {v['tiles']} | {v['raw_median']} / {v['raw_max']} | "
                f"{v['gzip_median']} / {v['gzip_max']} |"
            )


if __name__ == "__main__":
    main()
