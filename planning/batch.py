"""Many lookups in one call: points and parcel keys, each answered or failed on its own, within
a time budget for the whole batch."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from planning import lookup
from planning.db import is_statement_timeout
from planning.errors import (
    DatabaseUnavailable,
    InvalidInput,
    NotReached,
    PlanningError,
    QueryFailed,
    QueryTooLong,
)
from planning.location import Bounds, locate


@dataclass(frozen=True)
class Item:
    """One point (lon/lat, or x/y with crs or province) or parcel key of a batch."""

    id: str | None = None
    lon: float | None = None
    lat: float | None = None
    x: float | None = None
    y: float | None = None
    crs: str | None = None
    province: str | None = None
    axis: str = "en"
    commune: str | None = None
    sheet: str | None = None
    parcel: str | None = None


@dataclass
class Outcome:
    """An item's answer, or the domain error that stands for its failure."""

    index: int
    id: str | None
    result: dict[str, Any] | None = None
    error: PlanningError | None = None


@dataclass
class Batch:
    """Every item's outcome, in order, and the data version."""

    outcomes: list[Outcome]
    data_version: int

    @property
    def not_reached(self) -> list[int]:
        """Return the items the time budget left unanswered."""
        return [o.index for o in self.outcomes if isinstance(o.error, NotReached)]


def answer_item(conn: Connection, item: Item, on: date, area: Bounds) -> dict[str, Any]:
    """Answer one item: a parcel key's breakdown or a point's lookup."""
    if item.commune or item.sheet or item.parcel:
        if not (item.commune and item.sheet and item.parcel):
            raise InvalidInput("a parcel key needs commune, sheet and parcel")
        return lookup.parcel_answer(conn, item.commune, item.sheet, item.parcel, on)
    loc = locate(area, item.lon, item.lat, item.x, item.y, item.crs, item.province, item.axis)
    return lookup.point_lookup(conn, loc, on)


def run_batch(
    conn: Connection,
    items: list[Item],
    on: date,
    area: Bounds,
    budget_s: float,
    statement_timeout_ms: int,
    monotonic: Callable[[], float] = time.monotonic,
) -> Batch:
    """Answer every item within ``budget_s`` seconds; an item's error (a bad point, a
    statement timeout, a geometry the database cannot process) stays in its own outcome, and
    the items the budget did not reach are said to be so."""
    deadline = monotonic() + budget_s
    outcomes: list[Outcome] = []
    shortened = False
    try:
        for i, item in enumerate(items):
            left_ms = int((deadline - monotonic()) * 1000)
            if left_ms <= 0:
                outcomes.append(Outcome(i, item.id, error=NotReached(_NOT_REACHED)))
                continue
            if left_ms < statement_timeout_ms:
                # The last items may not run past the budget either.
                conn.execute(SET_TIMEOUT, {"ms": str(max(left_ms, 1))})
                shortened = True
            try:
                outcomes.append(Outcome(i, item.id, answer_item(conn, item, on, area)))
            except PlanningError as exc:
                outcomes.append(Outcome(i, item.id, error=exc))
            except SQLAlchemyError as exc:
                _recover(conn)
                outcomes.append(Outcome(i, item.id, error=domain_error(exc)))
        version = lookup.current_data_version(conn)
    finally:
        if shortened:
            _recover(conn)
            conn.exec_driver_sql("RESET statement_timeout")
    return Batch(outcomes, version)


SET_TIMEOUT = text("SELECT set_config('statement_timeout', :ms, false)")
_NOT_REACHED = "not reached: the batch's time budget ran out; send this item again"


def domain_error(exc: SQLAlchemyError) -> PlanningError:
    """Name a database error of one item without its SQL or its message."""
    if is_statement_timeout(exc):
        return QueryTooLong("the query took too long")
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return DatabaseUnavailable("the database is unavailable; try again shortly")
    return QueryFailed("the database could not answer this item")


def _recover(conn: Connection) -> None:
    """Make the connection usable again after a failed statement."""
    if conn.in_transaction():
        conn.rollback()
