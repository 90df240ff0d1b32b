"""Plans, their revisions and the land-use catalogue, as the API shows them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, text

from planning.errors import NotFound

PLANS_SQL = """
SELECT p.code, p.name, p.level, p.decision, p.decision_date, p.scale, p.authority,
       p.province_code,
       (SELECT r.id FROM planning.revision r
        WHERE r.plan_id = p.id AND r.kind = 'zoning' AND r.state = 'published'
          AND r.effective_from <= :d AND (r.effective_to IS NULL OR :d < r.effective_to)
        ORDER BY r.version DESC LIMIT 1) AS current_revision
FROM planning.plan p
WHERE (CAST(:code AS text) IS NULL OR p.code = :code)
ORDER BY CASE p.level WHEN 'detail' THEN 0 WHEN 'zoning' THEN 1 WHEN 'general' THEN 2 ELSE 3 END,
         p.code
"""
REVISIONS_SQL = """
SELECT r.id, r.kind, r.version, r.state, r.effective_from, r.effective_to, r.feature_count,
       r.source_name, r.crs_resolved AS crs, r.loaded_at, r.published_at
FROM planning.revision r JOIN planning.plan p ON p.id = r.plan_id
WHERE p.code = :code ORDER BY r.id
"""
BBOX_SQL = """
SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (
  SELECT ST_Extent(z.geom) AS e FROM planning.zone z WHERE z.revision_id = :r) s
"""


def _iso(v: Any) -> Any:
    return v.isoformat() if isinstance(v, date | datetime) else v


def _plain(row: Any) -> dict[str, Any]:
    return {k: _iso(v) for k, v in row._mapping.items()}


def list_plans(conn: Connection, on: date, code: str | None = None) -> list[dict[str, Any]]:
    """List plans with the zoning revision current on a date."""
    return [_plain(r) for r in conn.execute(text(PLANS_SQL), {"d": on, "code": code}).all()]


def plan_detail(conn: Connection, code: str, on: date) -> dict[str, Any]:
    """Return a plan, its revisions and the extent of its current zoning."""
    found = list_plans(conn, on, code)
    if not found:
        raise NotFound(f"no plan with code {code!r}")
    plan = found[0]
    plan["revisions"] = plan_revisions(conn, code)
    plan["bbox"] = None
    if plan["current_revision"]:
        b = conn.execute(text(BBOX_SQL), {"r": plan["current_revision"]}).one()
        if b[0] is not None:
            plan["bbox"] = [round(float(v), 7) for v in b]
    return plan


def require_plan(conn: Connection, code: str) -> None:
    """Raise NotFound unless a plan with this code exists."""
    found = conn.execute(text("SELECT 1 FROM planning.plan WHERE code = :c"), {"c": code}).first()
    if found is None:
        raise NotFound(f"no plan with code {code!r}")


def plan_revisions(conn: Connection, code: str) -> list[dict[str, Any]]:
    """List a plan's revisions, oldest first."""
    rows = conn.execute(text(REVISIONS_SQL), {"code": code}).all()
    if not rows:
        require_plan(conn, code)
    return [_plain(r) for r in rows]


def categories(conn: Connection) -> list[dict[str, Any]]:
    """Return the land-use catalogue."""
    rows = conn.execute(
        text(
            'SELECT code, scheme, "group", name_vi, name_en, color '
            "FROM planning.land_use_category ORDER BY scheme DESC, code"
        )
    ).all()
    return [dict(r._mapping) for r in rows]
