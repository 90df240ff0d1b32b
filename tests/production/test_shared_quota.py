"""Two workers against one Redis share one quota; without Redis each worker counts alone; Redis
going away mid-way costs no request (the workers fall back to counting in-process) and its return
brings the shared count back."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.production.conftest import (
    SECRET,
    RedisServer,
    Service,
    Throwaway,
    clean_env,
    socket_owner,
)

QUOTA = 15  # anonymous requests per minute and client
SENT = 50  # > 2 x QUOTA: more than two workers counting alone would let through
PATH = "/v1/plans"
WINDOW_S = 60


def _fresh_window(needed_s: float = 10.0) -> int:
    """Wait, if need be, until the current one-minute window has ``needed_s`` left; return it."""
    left = WINDOW_S - time.time() % WINDOW_S
    if left < needed_s:
        time.sleep(left + 0.05)
    return int(time.time() // WINDOW_S)


@dataclass(frozen=True)
class Sent:
    """One request: its answer and the worker process that served it."""

    response: httpx.Response
    worker: int | None

    @property
    def status(self) -> int:
        return self.response.status_code


def _burst(service: Service, n: int) -> list[Sent]:
    """Send ``n`` requests, each on a new connection (so that both workers take some), and note
    which worker accepted each connection."""
    pids = service.worker_pids()
    out = []
    for _ in range(n):
        with httpx.Client(base_url=service.base, timeout=10) as client:
            r = client.get(PATH)
            # Asked while the connection is still open: its server side is in one worker.
            port = r.extensions["network_stream"].get_extra_info("client_addr")[1]
            out.append(Sent(r, socket_owner(pids, service.port, port)))
    return out


def _per_worker(sent: list[Sent]) -> dict[int | None, int]:
    return dict(Counter(s.worker for s in sent))


def _start(
    service_factory: Callable[..., Service], db: Throwaway, tmp_path: Path, **extra: str
) -> Service:
    env = clean_env(
        PLANNING_DATABASE_URL=db.url,
        PLANNING_DATA_DIR=str(tmp_path),
        PLANNING_SECRET=SECRET,
        PLANNING_ANON_QUOTA_PER_MIN=str(QUOTA),
        **extra,
    )
    service = service_factory(env, workers=2)
    # /healthz is outside the quota and touches no database.
    service.wait_up("/healthz")
    deadline = time.monotonic() + 60
    while service.log().count("Application startup complete") < 2 or len(service.worker_pids()) < 2:
        assert time.monotonic() < deadline, service.log()
        time.sleep(0.1)
    return service


def _check_429(r: httpx.Response) -> None:
    assert r.status_code == 429, r.text
    assert r.json() == {"detail": "quota exceeded; see Retry-After"}
    assert 1 <= int(r.headers["retry-after"]) <= WINDOW_S + 1
    assert r.headers["ratelimit-limit"] == str(QUOTA)
    assert r.headers["ratelimit-remaining"] == "0"


@pytest.fixture
def db(cluster_factory: Callable[..., Throwaway]) -> Throwaway:
    return cluster_factory(demo=False)


def test_two_workers_share_one_quota_in_redis(
    db: Throwaway,
    redis_server: RedisServer,
    service_factory: Callable[..., Service],
    tmp_path: Path,
) -> None:
    service = _start(service_factory, db, tmp_path, PLANNING_REDIS_URL=redis_server.url)
    window = _fresh_window()
    sent = _burst(service, SENT)
    statuses = [s.status for s in sent]
    # Both workers took requests (counting alone, they would let more than QUOTA through)...
    split = _per_worker(sent)
    assert None not in split and len(split) == 2, split
    # ...and counted them in one quota: exactly QUOTA accepted, the first QUOTA, then 429s.
    assert statuses == [200] * QUOTA + [429] * (SENT - QUOTA), statuses
    for s in sent[QUOTA:]:
        _check_429(s.response)
    assert [s.response.headers["ratelimit-remaining"] for s in sent[:QUOTA]] == [
        str(QUOTA - i - 1) for i in range(QUOTA)
    ]
    assert int(redis_server.client.get(f"planning:quota:{window}:ip:127.0.0.1") or 0) == SENT
    assert "Traceback" not in service.log()
    print(
        f"\nwith Redis, 2 workers ({sorted(split.values())} requests each): "
        f"{statuses.count(200)} of {SENT} accepted (quota {QUOTA})"
    )


def test_without_redis_each_worker_counts_alone(
    db: Throwaway, service_factory: Callable[..., Service], tmp_path: Path
) -> None:
    service = _start(service_factory, db, tmp_path)
    _fresh_window()
    sent = _burst(service, SENT)
    statuses = [s.status for s in sent]
    assert set(statuses) <= {200, 429}, statuses
    split = _per_worker(sent)
    assert None not in split and len(split) == 2, split
    # Each worker lets QUOTA of its own requests through: more than one quota in all.
    accepted = statuses.count(200)
    assert accepted == sum(min(n, QUOTA) for n in split.values()), (split, statuses)
    assert accepted > QUOTA
    for w in split:
        mine = [s.status for s in sent if s.worker == w]
        assert mine == [200] * min(len(mine), QUOTA) + [429] * max(len(mine) - QUOTA, 0)
    assert "Traceback" not in service.log()
    print(
        f"\nwithout Redis, 2 workers ({sorted(split.values())} requests each): "
        f"{accepted} of {SENT} accepted (quota {QUOTA})"
    )


def test_redis_going_away_breaks_no_request(
    db: Throwaway,
    redis_server: RedisServer,
    service_factory: Callable[..., Service],
    tmp_path: Path,
) -> None:
    service = _start(service_factory, db, tmp_path, PLANNING_REDIS_URL=redis_server.url)
    window = _fresh_window(20.0)
    first = [s.status for s in _burst(service, 5)]
    assert first == [200] * 5

    redis_server.stop()
    t0 = time.monotonic()
    down = _burst(service, SENT)
    took = time.monotonic() - t0
    statuses = [s.status for s in down]
    assert set(statuses) <= {200, 429}, statuses
    for s in down:
        if s.status == 429:
            _check_429(s.response)
    # Counted in each worker from zero (the first five were counted in Redis).
    split = _per_worker(down)
    accepted = statuses.count(200)
    assert accepted == sum(min(n, QUOTA) for n in split.values()), (split, statuses)
    assert took / SENT < 0.5, took
    assert "redis unavailable" in service.log()

    # Redis returns (empty): the workers count in it again.
    redis_server.start()
    statuses_back = [s.status for s in _burst(service, 5)]
    assert set(statuses_back) <= {200, 429}
    counted = int(redis_server.client.get(f"planning:quota:{window}:ip:127.0.0.1") or 0)
    assert counted == 5, counted
    assert "Traceback" not in service.log()
    print(
        f"\nRedis stopped: {accepted} of {SENT} accepted by in-process counting "
        f"({sorted(split.values())} requests each), none failed, "
        f"{took / SENT * 1000:.0f} ms per request on a new connection; back: counted in Redis"
    )
