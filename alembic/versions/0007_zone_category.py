"""Zone codes as the file wrote them, and the catalogue category beside them.

Ingest used to upper-case land-use codes, so a code written `Town Limits` came back as
`TOWN LIMITS`. ``zone.code`` now keeps the file's text and ``zone.category`` holds the
catalogue code it stands for (matched ignoring case and spaces, or inferred from the
function text); the map colours, the legend and the planned-road flag use the category.
Existing codes were upper-cased at ingest, so they are their own category when the catalogue
has them.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

S = "planning"
_FUNCTION_IS_ROAD = (
    "(coalesce(function_l1, '') || ' ' || coalesce(function_l2, '') || ' ' || "
    "coalesce(function_l3, '') ~* 'giao th(o|ô|Ô)ng')"
)
ZONE_IS_ROAD = f"(category IS NOT DISTINCT FROM 'DGT') OR {_FUNCTION_IS_ROAD}"
OLD_IS_ROAD = f"(code IS NOT DISTINCT FROM 'DGT') OR {_FUNCTION_IS_ROAD}"


def _is_road(expr: str) -> None:
    op.drop_column("zone", "is_road", schema=S)
    op.add_column(
        "zone",
        sa.Column("is_road", sa.Boolean, sa.Computed(expr, persisted=True), nullable=False),
        schema=S,
    )


def upgrade() -> None:
    op.add_column("zone", sa.Column("category", sa.Text), schema=S)
    op.execute(
        f"UPDATE {S}.zone z SET category = z.code FROM {S}.land_use_category c "
        "WHERE c.code = z.code"
    )
    _is_road(ZONE_IS_ROAD)


def downgrade() -> None:
    _is_road(OLD_IS_ROAD)
    op.drop_column("zone", "category", schema=S)
