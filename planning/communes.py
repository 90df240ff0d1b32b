"""Commune codes before and after the 1 July 2025 reform (from the project's copy of dvhcvn)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class Commune:
    """A commune code with its name before or after the reform."""

    code: str
    name: str
    province_code: str
    current: bool


@cache
def communes() -> dict[tuple[str, bool], Commune]:
    """Return every commune keyed by (code, current?): codes were reused for new units."""
    out: dict[tuple[str, bool], Commune] = {}
    with (DATA / "communes_2025_merges.csv").open(encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            new = Commune(r["commune_code"], r["commune"], r["province_code"], True)
            old = Commune(r["old_commune_code"], r["old_commune"], r["province_code"], False)
            out.setdefault((new.code, True), new)
            out.setdefault((old.code, False), old)
    return out


def known_code(code: str) -> bool:
    """Tell whether a code names a commune today or before the reform."""
    table = communes()
    return (code, True) in table or (code, False) in table


def province_of(code: str) -> str | None:
    """Return the province GSO code of a commune code (today's or a pre-reform one)."""
    table = communes()
    found = table.get((code, True)) or table.get((code, False))
    return found.province_code if found else None


@cache
def province_names() -> dict[str, str]:
    """Return today's (post-1 July 2025) name of each province code."""
    with (DATA / "communes_2025_merges.csv").open(encoding="utf-8") as fh:
        return {r["province_code"]: r["province"] for r in csv.DictReader(fh)}
