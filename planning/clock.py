"""The service's one clock: "today" is the date in Vietnam, whatever the host's time zone."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


def now() -> datetime:
    """Return the current time in Asia/Ho_Chi_Minh (tests move it with faketime)."""
    return datetime.now(VIETNAM)


def today() -> date:
    """Return today's date in Vietnam: the default as-of date of every answer and tile."""
    return now().date()
