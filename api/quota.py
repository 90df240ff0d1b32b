"""Per-client request quotas in fixed one-minute windows (in-process)."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

WINDOW_S = 60


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

    def used(self, client: str) -> int:
        """Return the requests counted for a client in the current window."""
        with self._lock:
            if int(time.time() // WINDOW_S) != self._window:
                return 0
            return self._counts.get(client, 0)

    def count_key(self, key_id: int) -> None:
        """Count a keyed request for the daily usage table."""
        with self._lock:
            self._daily[(key_id, date.today())] += 1

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
