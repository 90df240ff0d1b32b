"""A metric plane per revision: every m and m² is measured in it, whatever the file's CRS.

``geom_native`` held the geometry in the CRS of the file, so a plan loaded from WGS 84
GeoJSON was measured in degrees and one in US survey feet in square feet. Each revision now
records ``plane_srid`` (the VN-2000 TM-3 zone of its province, the UTM zone of its centre
outside Vietnam) and its features keep their measuring geometry there, as ``geom_plane``.
Revisions loaded in a TM-3 zone keep their geometry and areas as they were; the others are
projected to the plane of their plan's province (else the zone nearest them) and measured
again.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op
from planning.crs import choose_plane

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

S = "planning"
TABLES = {
    "zoning": ("zone", "area_m2"),
    "parcels": ("parcel", "area_m2"),
    "red_lines": ("red_line", "length_m"),
}
PIECES = (("zone_piece", "zone", "zone_id"), ("red_line_piece", "red_line", "red_line_id"))


def _fill(parent: str, key: str, source: str, column: str) -> str:
    """SQL inserting the pieces of the rows of `source` (a table or a transition table)."""
    return f"""
        INSERT INTO {S}.{parent}_piece ({key}, revision_id, geom, {column})
        SELECT n.id, n.revision_id, ST_Transform(s.g, 4326), s.g
        FROM {source} n, LATERAL ST_Subdivide(n.{column}, 32) AS s(g)
    """


def _piece_triggers(column: str) -> None:
    """(Re)define the functions that keep the pieces in step (migration 0003) on `column`."""
    for table, parent, key in PIECES:
        op.execute(
            f"""
            CREATE OR REPLACE FUNCTION {S}.{table}_insert() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                {_fill(parent, key, "new_rows", column)};
                RETURN NULL;
            END $$;
            CREATE OR REPLACE FUNCTION {S}.{table}_update() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                DELETE FROM {S}.{table} WHERE {key} IN (SELECT id FROM new_rows);
                {_fill(parent, key, "new_rows", column)};
                RETURN NULL;
            END $$;
            """
        )


def upgrade() -> None:
    for table in ("zone", "parcel", "red_line", "zone_piece", "red_line_piece"):
        op.alter_column(table, "geom_native", new_column_name="geom_plane", schema=S)
    _piece_triggers("geom_plane")
    op.add_column("revision", sa.Column("plane_srid", sa.Integer), schema=S)
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            f"SELECT r.id, r.kind, r.srid, p.province_code FROM {S}.revision r "
            f"LEFT JOIN {S}.plan p ON p.id = r.plan_id"
        )
    ).all()
    for r in rows:
        table, size = TABLES[r.kind]
        centre = conn.execute(
            sa.text(
                f"SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(ST_Extent(geom)::geometry) c "
                f"FROM {S}.{table} WHERE revision_id = :r) s"
            ),
            {"r": r.id},
        ).one()
        lonlat = (float(centre[0]), float(centre[1])) if centre[0] is not None else (107.0, 16.0)
        plane = choose_plane(r.srid, r.province_code, lonlat).epsg
        conn.execute(
            sa.text(f"UPDATE {S}.revision SET plane_srid = :p WHERE id = :r"),
            {"p": plane, "r": r.id},
        )
        if plane != r.srid:
            measure = "ST_Area" if size == "area_m2" else "ST_Length"
            conn.execute(
                sa.text(
                    f"UPDATE {S}.{table} SET geom_plane = ST_Transform(geom, :p), "
                    f"{size} = {measure}(ST_Transform(geom, :p)) WHERE revision_id = :r"
                ),
                {"p": plane, "r": r.id},
            )
    op.alter_column("revision", "plane_srid", nullable=False, schema=S)


def downgrade() -> None:
    op.drop_column("revision", "plane_srid", schema=S)
    for table in ("zone", "parcel", "red_line", "zone_piece", "red_line_piece"):
        op.alter_column(table, "geom_plane", new_column_name="geom_native", schema=S)
    _piece_triggers("geom_native")
