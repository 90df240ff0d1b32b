"""PostGIS goes away under load and comes back: requests fail fast with 503 and Retry-After while
it is down, /readyz says not ready, and within 5 s of its return every request succeeds again,
with the same service process. Slow statements and an exhausted pool end in 503 too, in bounded
time: no request waits forever."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg2
from sqlalchemy.engine import make_url

from api.errors import TOO_LONG
from tests.production.conftest import (
    CITADEL_LONLAT,
    SECRET,
    TILE_ZOOM,
    Service,
    Throwaway,
    clean_env,
    query,
    tile_of,
)

OUTAGE_S = 10.0
FAST_S = 1.5  # a 503 during the outage arrives within this
RECOVER_S = 5.0  # every request succeeds again this long after the database is back
THREADS = 6
OK = (200, 204)  # an empty tile is a 204


@dataclass(frozen=True)
class Call:
    """One request of the load loop."""

    kind: str
    start: float
    end: float
    status: int  # 0: no HTTP answer at all
    retry_after: str | None
    error: str = ""

    @property
    def took(self) -> float:
        return self.end - self.start


def _targets(db: Throwaway) -> list[tuple[str, str]]:
    """The requests of the load: point lookups, parcel breakdowns, tiles."""
    lon, lat = CITADEL_LONLAT
    parcels = query(
        db.url, "SELECT commune_code, sheet, parcel_no FROM planning.parcel ORDER BY id LIMIT 20"
    )
    out = [("lookup", f"/v1/lookup?lon={lon}&lat={lat}")]
    out += [("parcel", f"/v1/parcels/{c}/{s}/{p}") for c, s, p in parcels[:3]]
    for layer in ("zone", "parcel"):
        inside = query(
            db.url,
            f"SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p "
            f"FROM planning.{layer} ORDER BY id LIMIT 40) s",
        )
        tiles = {tile_of(float(x), float(y), TILE_ZOOM) for x, y in inside}
        name = "zoning" if layer == "zone" else "parcels"
        out += [("tile", f"/tiles/{name}/{z}/{x}/{y}.mvt") for z, x, y in sorted(tiles)[:3]]
    return out


class Load:
    """Threads sending the targets in turn, as fast as answers come, until stopped."""

    def __init__(self, base: str, targets: list[tuple[str, str]], threads: int) -> None:
        self.base = base
        self.targets = targets
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(threads)
        ]

    def _run(self, offset: int) -> None:
        i = offset
        with httpx.Client(base_url=self.base, timeout=30) as client:
            while not self._stop.is_set():
                kind, path = self.targets[i % len(self.targets)]
                i += 1
                t0 = time.monotonic()
                error = ""
                try:
                    r = client.get(path)
                    status, retry = r.status_code, r.headers.get("retry-after")
                except httpx.HTTPError as exc:
                    status, retry, error = 0, None, f"{type(exc).__name__}: {exc}"
                call = Call(kind, t0, time.monotonic(), status, retry, error)
                with self._lock:
                    self.calls.append(call)

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def stop(self) -> list[Call]:
        self._stop.set()
        for t in self._threads:
            t.join(60)
        return sorted(self.calls, key=lambda c: c.start)


def _poll_ready(base: str, stop: threading.Event, out: list[Call]) -> None:
    with httpx.Client(base_url=base, timeout=30) as client:
        while not stop.is_set():
            t0 = time.monotonic()
            try:
                r = client.get("/readyz")
                status, retry = r.status_code, r.headers.get("retry-after")
            except httpx.HTTPError:
                status, retry = 0, None
            out.append(Call("readyz", t0, time.monotonic(), status, retry))
            time.sleep(0.1)


def test_database_outage_under_load(
    cluster_factory: Callable[..., Throwaway],
    service_factory: Callable[..., Service],
    tmp_path: Path,
) -> None:
    db = cluster_factory()
    env = clean_env(
        PLANNING_DATABASE_URL=db.url,
        PLANNING_DATA_DIR=str(tmp_path),
        PLANNING_SECRET=SECRET,
        PLANNING_ANON_QUOTA_PER_MIN="1000000",
    )
    service = service_factory(env)
    service.wait_up("/readyz")
    targets = _targets(db)
    with httpx.Client(base_url=service.base, timeout=30) as c:
        for kind, path in targets:
            assert c.get(path).status_code == 200, (kind, path)

    load = Load(service.base, targets, THREADS)
    ready: list[Call] = []
    stop_ready = threading.Event()
    poller = threading.Thread(target=_poll_ready, args=(service.base, stop_ready, ready))
    load.start()
    poller.start()
    try:
        time.sleep(2.0)
        t_stopping = time.monotonic()
        db.cluster.stop()
        t_down = time.monotonic()
        time.sleep(OUTAGE_S)
        t_starting = time.monotonic()
        db.cluster.start()
        t_up = time.monotonic()  # pg_ctl -w: the server accepts connections from here
        time.sleep(RECOVER_S + 4.0)
    finally:
        calls = load.stop()
        stop_ready.set()
        poller.join(60)
    log = service.log()

    # Nothing but successes and 503s, and never no answer at all.
    t0 = calls[0].start
    odd = [
        (c.kind, c.status, round(c.start - t0, 2), round(c.took, 2), c.error)
        for c in calls
        if c.status not in (*OK, 503)
    ]
    phases = (
        f"stop {t_stopping - t0:.2f}-{t_down - t0:.2f} s, "
        f"start {t_starting - t0:.2f}-{t_up - t0:.2f} s"
    )
    assert not odd, (phases, odd[:10], log[-4000:])
    assert "Traceback" not in log, log[-4000:]

    before = [c for c in calls if c.end < t_stopping]
    assert before and all(c.status in OK for c in before)

    # During the outage: every answer is a fast 503 with Retry-After.
    outage = [c for c in calls if c.start > t_down and c.end < t_starting]
    assert len(outage) > 100, len(outage)
    assert all(c.status == 503 and c.retry_after for c in outage), [
        (c.kind, c.status) for c in outage if c.status != 503
    ]
    slowest = max(c.took for c in outage)
    assert slowest < FAST_S, slowest
    assert {c.kind for c in outage} == {"lookup", "parcel", "tile"}
    ready_down = [c for c in ready if c.start > t_down and c.end < t_starting]
    assert ready_down and all(c.status == 503 and c.retry_after for c in ready_down)

    # Requests in flight while the server shut down may fail, but with a 503 as well.
    transition = [c for c in calls if c.end >= t_stopping and c.start <= t_down]
    assert all(c.status in (*OK, 503) for c in transition)

    # Back: every request started 5 s after the database returned succeeds.
    after = [c for c in calls if c.start > t_up + RECOVER_S]
    assert len(after) > 50, len(after)
    assert all(c.status in OK for c in after), [(c.kind, c.status) for c in after[:20]]
    # The last failure (of any request, even one sent before the restart) ends within 5 s.
    last_failure = max(c.end for c in calls if c.status not in OK) - t_up
    assert last_failure < RECOVER_S, last_failure
    first_ok = min(c.end for c in calls if c.start > t_starting and c.status in OK) - t_up
    ready_again = min(c.end for c in ready if c.start > t_starting and c.status == 200) - t_up
    assert ready_again < RECOVER_S
    assert ready[-1].status == 200

    n_503 = sum(c.status == 503 for c in calls)
    print(
        f"\noutage {t_starting - t_down:.1f} s: {len(outage)} requests, all 503, "
        f"slowest {slowest * 1000:.0f} ms, median "
        f"{sorted(c.took for c in outage)[len(outage) // 2] * 1000:.1f} ms; after the restart "
        f"(pg_ctl start took {t_up - t_starting:.2f} s): first success {first_ok:+.2f} s, last "
        f"failure {last_failure:+.2f} s, /readyz 200 {ready_again:+.2f} s; "
        f"{len(calls)} requests in all, {n_503} 503s, none 500"
    )


def _hold_lock(url: str, table: str, held: threading.Event, release: threading.Event) -> None:
    """Hold an ACCESS EXCLUSIVE lock on a table until released (lookups then block on it)."""
    u = make_url(url)
    conn = psycopg2.connect(host=u.host, port=u.port, user=u.username, dbname=u.database)
    try:
        with conn.cursor() as cur:
            cur.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
            held.set()
            release.wait(60)
        conn.rollback()
    finally:
        conn.close()


def test_statement_and_pool_timeouts(
    cluster_factory: Callable[..., Throwaway],
    service_factory: Callable[..., Service],
    tmp_path: Path,
) -> None:
    db = cluster_factory()
    statement_s = 3.0  # longer than half the pool's 5 s wait: some requests hit that too
    env = clean_env(
        PLANNING_DATABASE_URL=db.url,
        PLANNING_DATA_DIR=str(tmp_path),
        PLANNING_SECRET=SECRET,
        PLANNING_ANON_QUOTA_PER_MIN="1000000",
        PLANNING_STATEMENT_TIMEOUT_MS=str(int(statement_s * 1000)),
        PLANNING_POOL_SIZE="1",  # one connection plus one overflow per worker
    )
    service = service_factory(env)
    service.wait_up("/readyz")
    lon, lat = CITADEL_LONLAT
    path = f"/v1/lookup?lon={lon}&lat={lat}"
    with httpx.Client(base_url=service.base, timeout=30) as c:
        assert c.get(path).status_code == 200

    held, release = threading.Event(), threading.Event()
    locker = threading.Thread(target=_hold_lock, args=(db.url, "planning.zone", held, release))
    locker.start()
    try:
        assert held.wait(10)
        # A statement stuck behind the lock ends at the statement timeout, with a 503.
        with httpx.Client(base_url=service.base, timeout=30) as c:
            t0 = time.monotonic()
            r = c.get(path)
            took = time.monotonic() - t0
        assert r.status_code == 503 and r.headers["retry-after"], r.text
        assert r.json() == {"detail": TOO_LONG}
        assert statement_s - 0.1 < took < statement_s + 1.0, took

        # Six at once on a pool of two: two time out at 3 s, two more (after 3 s in the pool's
        # queue) at 6 s, the last two give up waiting for the pool at 5 s. All 503, none hangs.
        results: list[tuple[int, str, float]] = []

        def one() -> None:
            with httpx.Client(base_url=service.base, timeout=60) as c:
                t = time.monotonic()
                r = c.get(path)
                results.append((r.status_code, r.json()["detail"], time.monotonic() - t))

        workers = [threading.Thread(target=one) for _ in range(6)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(60)
        assert len(results) == 6
        assert all(s == 503 for s, _, _ in results), results
        slowest = max(t for _, _, t in results)
        assert slowest < 2 * statement_s + 1.5, results
        details = sorted({d for _, d, _ in results})
        # Both limits answered: the statement timeout and the pool's wait.
        assert details == ["the database is unavailable; try again shortly", TOO_LONG], results
    finally:
        release.set()
        locker.join(30)
    with httpx.Client(base_url=service.base, timeout=30) as c:
        assert c.get(path).status_code == 200
    times = ", ".join(f"{t:.2f}" for _, _, t in sorted(results, key=lambda r: r[2]))
    print(
        f"\nstatement timeout {statement_s:.1f} s: 503 after {took:.2f} s; six concurrent on a "
        f"pool of 2: all 503 after {times} s"
    )
