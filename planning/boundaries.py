"""Plan boundaries: the union of a zoning revision's zones, stored for the plans tileset."""

from __future__ import annotations

from sqlalchemy import Connection, text

BOUNDARY_SQL = """
UPDATE planning.revision r SET boundary = (
    SELECT ST_Multi(ST_CollectionExtract(ST_Union(z.geom), 3))
    FROM planning.zone z WHERE z.revision_id = r.id)
WHERE r.id = :r AND r.kind = 'zoning'
"""


def compute_boundary(conn: Connection, revision_id: int) -> None:
    """Store the outline of a zoning revision (inside the loading transaction)."""
    conn.execute(text(BOUNDARY_SQL), {"r": revision_id})
