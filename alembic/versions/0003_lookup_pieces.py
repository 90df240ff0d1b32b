"""Subdivided pieces of zones and red lines, for point lookups.

A long road corridor or red line has a bounding box that covers most of a city, so a GiST
search on whole geometries returns it for almost every point and the lookup then measures it
exactly. Its ST_Subdivide'd pieces (at most 32 vertices each) have small boxes: a point lookup
finds a handful of candidates and tests small geometries. Triggers keep the pieces in step
with every insert or update of zone and red_line (COPY included); deletes cascade.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from geoalchemy2 import Geometry

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

S = "planning"
# (piece table, parent table, parent key column in the piece table)
PIECES = (("zone_piece", "zone", "zone_id"), ("red_line_piece", "red_line", "red_line_id"))
MAX_VERTICES = 32


def _fill(parent: str, key: str, source: str) -> str:
    """SQL inserting the pieces of the rows of `source` (a table or a transition table)."""
    return f"""
        INSERT INTO {S}.{parent}_piece ({key}, revision_id, geom, geom_native)
        SELECT n.id, n.revision_id, ST_Transform(s.g, 4326), s.g
        FROM {source} n, LATERAL ST_Subdivide(n.geom_native, {MAX_VERTICES}) AS s(g)
    """


def upgrade() -> None:
    for table, parent, key in PIECES:
        op.create_table(
            table,
            sa.Column(
                key,
                sa.BigInteger,
                sa.ForeignKey(f"{S}.{parent}.id", ondelete="CASCADE"),
                nullable=False,
            ),
            sa.Column("revision_id", sa.Integer, nullable=False),
            sa.Column("geom", Geometry("GEOMETRY", srid=4326, spatial_index=False), nullable=False),
            sa.Column(
                "geom_native", Geometry("GEOMETRY", srid=-1, spatial_index=False), nullable=False
            ),
            schema=S,
        )
        op.create_index(f"{table}_geom_gist", table, ["geom"], postgresql_using="gist", schema=S)
        op.create_index(f"{table}_{key}", table, [key], schema=S)
        op.execute(
            f"""
            CREATE FUNCTION {S}.{table}_insert() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                {_fill(parent, key, "new_rows")};
                RETURN NULL;
            END $$;
            CREATE FUNCTION {S}.{table}_update() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                DELETE FROM {S}.{table} WHERE {key} IN (SELECT id FROM new_rows);
                {_fill(parent, key, "new_rows")};
                RETURN NULL;
            END $$;
            CREATE TRIGGER {table}_insert AFTER INSERT ON {S}.{parent}
                REFERENCING NEW TABLE AS new_rows
                FOR EACH STATEMENT EXECUTE FUNCTION {S}.{table}_insert();
            CREATE TRIGGER {table}_update AFTER UPDATE ON {S}.{parent}
                REFERENCING NEW TABLE AS new_rows
                FOR EACH STATEMENT EXECUTE FUNCTION {S}.{table}_update();
            """
        )
        op.execute(_fill(parent, key, f"{S}.{parent}"))
        op.execute(f"ANALYZE {S}.{table}")


def downgrade() -> None:
    for table, parent, _key in PIECES:
        op.execute(
            f"""
            DROP TRIGGER {table}_insert ON {S}.{parent};
            DROP TRIGGER {table}_update ON {S}.{parent};
            DROP FUNCTION {S}.{table}_insert();
            DROP FUNCTION {S}.{table}_update();
            """
        )
        op.drop_table(table, schema=S)
