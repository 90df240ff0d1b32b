"""Per-client request quotas in fixed one-minute windows (in-process)."""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from planning import clock

WINDOW_S = 60
log = logging.getLogger("api")


@dataclass(frozen=True)
class Verdict:
    """The outcome of counting one request."""

    allowed: bool
    limit: int
    remaining: int
    reset_s: int


class Limiter:
    """Count requests per client and window; forget old windows."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._window = 0
        self._counts: dict[str, int] = defaultdict(int)
        self._daily: dict[tuple[int, date], int] = defaultdict(int)

    def hit(self, client: str, limit: int, now: float | None = None) -> Verdict:
        """Count a request of ``client`` against ``limit`` requests per minute."""
        t = time.time() if now is None else now
        window = int(t // WINDOW_S)
        reset = int((window + 1) * WINDOW_S - t) + 1
        with self._lock:
            if window != self._window:
                self._window = window
                self._counts.clear()
            used = self._counts[client]
            if used >= limit:
                return Verdict(False, limit, 0, reset)
            self._counts[client] = used + 1
            return Verdict(True, limit, limit - used - 1, reset)

    async def ahit(self, client: str, limit: int, now: float | None = None) -> Verdict:
        """Count a request (the interface the middleware awaits)."""
        return self.hit(client, limit, now)

    async def close(self) -> None:
        """Release resources (nothing in-process)."""

    def used(self, client: str) -> int:
        """Return the requests counted for a client in the current window."""
        with self._lock:
            if int(time.time() // WINDOW_S) != self._window:
                return 0
            return self._counts.get(client, 0)

    def count_key(self, key_id: int) -> None:
        """Count a keyed request for the daily usage table."""
        with self._lock:
            self._daily[(key_id, clock.today())] += 1

    def drain_daily(self) -> dict[tuple[int, date], int]:
        """Take the daily counts gathered since the last drain."""
        with self._lock:
            out = dict(self._daily)
            self._daily.clear()
            return out

    def pending(self, key_id: int, day: date) -> int:
        """Return the not yet flushed count of a key for a day."""
        with self._lock:
            return self._daily.get((key_id, day), 0)


class RedisLimiter(Limiter):
    """The same windows, counted in Redis so that every worker and machine shares one quota.

    If Redis cannot be reached the worker falls back to its own counters (and logs it) rather
    than refusing or failing requests."""

    def __init__(self, url: str) -> None:
        super().__init__()
        import redis.asyncio as aioredis

        self.redis = aioredis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)

    async def ahit(self, client: str, limit: int, now: float | None = None) -> Verdict:
        """Count a request in Redis: INCR of the window's key, which expires after two windows."""
        from redis.exceptions import RedisError

        t = time.time() if now is None else now
        window = int(t // WINDOW_S)
        reset = int((window + 1) * WINDOW_S - t) + 1
        key = f"planning:quota:{window}:{client}"
        try:
            pipe = self.redis.pipeline(transaction=False)
            pipe.incr(key)
            pipe.expire(key, 2 * WINDOW_S)
            count, _ = await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("redis unavailable (%s): counting in this worker", type(exc).__name__)
            return self.hit(client, limit, t)
        used = int(count)
        if used > limit:
            return Verdict(False, limit, 0, reset)
        return Verdict(True, limit, limit - used, reset)

    async def close(self) -> None:
        """Close the Redis connections."""
        await self.redis.aclose()
