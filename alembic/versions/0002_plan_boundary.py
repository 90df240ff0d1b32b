"""Plan boundaries for the plans tileset: the union of a zoning revision's zones.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from geoalchemy2 import Geometry

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

S = "planning"


def upgrade() -> None:
    op.add_column(
        "revision",
        sa.Column("boundary", Geometry("MULTIPOLYGON", srid=4326, spatial_index=False)),
        schema=S,
    )
    op.create_index(
        "revision_boundary_gist", "revision", ["boundary"], postgresql_using="gist", schema=S
    )
    op.execute(
        f"""
        UPDATE {S}.revision r SET boundary = (
            SELECT ST_Multi(ST_CollectionExtract(ST_Union(z.geom), 3))
            FROM {S}.zone z WHERE z.revision_id = r.id)
        WHERE r.kind = 'zoning'
        """
    )


def downgrade() -> None:
    op.drop_index("revision_boundary_gist", table_name="revision", schema=S)
    op.drop_column("revision", "boundary", schema=S)
