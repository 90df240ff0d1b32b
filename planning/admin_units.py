"""Communes for pickers: today's units and the pre-2025 ones the cadastral maps still use."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from planning.errors import InvalidInput

COMMUNES_SQL = """
SELECT c.code, c.name, c.valid_to IS NULL AS current,
       (SELECT array_agg(m.new_code ORDER BY m.new_code) FROM planning.commune_merge m
         WHERE m.old_code = c.code AND c.valid_to IS NOT NULL) AS became,
       (SELECT array_agg(n.name ORDER BY n.code) FROM planning.commune_merge m
         JOIN planning.commune n ON n.code = m.new_code AND n.valid_to IS NULL
         WHERE m.old_code = c.code AND c.valid_to IS NOT NULL) AS became_names,
       EXISTS (SELECT 1 FROM planning.parcel_coverage pc
               WHERE pc.commune_code = c.code AND pc.effective_to IS NULL) AS has_parcels
FROM planning.commune c
WHERE c.province_code = :p
ORDER BY c.valid_to IS NULL DESC, c.name
"""


def list_communes(conn: Connection, province: str) -> list[dict[str, Any]]:
    """List a province's communes, current first, each old one with what it became."""
    p = province.strip()
    if not p.isdigit() or len(p) > 2:
        raise InvalidInput("province is its 2-digit GSO code, e.g. 46")
    rows = conn.execute(text(COMMUNES_SQL), {"p": p.zfill(2)}).all()
    return [
        {
            "code": r.code,
            "name": r.name,
            "current": bool(r.current),
            "became": list(r.became or []),
            "became_names": list(r.became_names or []),
            "has_parcels": bool(r.has_parcels),
        }
        for r in rows
    ]


LABEL_SQL = """
SELECT c.name, c.valid_to IS NULL AS current,
       (SELECT string_agg(n.name, ', ' ORDER BY n.code) FROM planning.commune_merge m
         JOIN planning.commune n ON n.code = m.new_code AND n.valid_to IS NULL
         WHERE m.old_code = c.code AND c.valid_to IS NOT NULL AND n.name <> c.name) AS became
FROM planning.commune c
WHERE c.code = :c
ORDER BY c.valid_to IS NULL, c.valid_to DESC
LIMIT 1
"""
NOW_PART_OF = {"vi": "nay thuộc {names}", "en": "now part of {names}"}


def commune_label(conn: Connection, code: str, lang: str = "vi") -> str:
    """Name a parcel's commune: the unit of its cadastral map first, then what it is part of now."""
    row = conn.execute(text(LABEL_SQL), {"c": code}).first()
    if row is None:
        return code
    label = f"{row.name} ({code})"
    if row.became:
        label += ", " + NOW_PART_OF[lang].format(names=row.became)
    return label
