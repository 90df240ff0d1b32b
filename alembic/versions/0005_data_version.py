"""The data version in commit order, publishes serialised, no two live revisions.

The data version was max(publication.id). Sequence values follow INSERT order, not COMMIT
order: of two publishes running at once, the one with the higher id may commit first, and the
other's commit then changes the data without changing the version (and tiles cached under
that version stay stale). Now one row holds the version; every publish and rollback locks it
first (so they run one at a time) and increments it in the same transaction, so the version
follows commit order and names exactly one state of the published data.

Exclusion constraints forbid what the publishing code already avoids: two published
revisions of one plan and kind in force on the same day, and two coverages of one commune in
force on the same day.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

S = "planning"


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.create_table(
        "data_version",
        sa.Column("one", sa.Boolean, primary_key=True, server_default=sa.text("true")),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.CheckConstraint("one", name="data_version_one_row"),
        schema=S,
    )
    op.execute(
        f"INSERT INTO {S}.data_version (one, version) "
        f"SELECT true, coalesce(max(id), 0) FROM {S}.publication"
    )
    op.add_column("publication", sa.Column("data_version", sa.BigInteger), schema=S)
    op.execute(f"UPDATE {S}.publication SET data_version = id")
    op.alter_column("publication", "data_version", nullable=False, schema=S)
    op.execute(
        f"""
        ALTER TABLE {S}.revision ADD CONSTRAINT revision_one_in_force
            EXCLUDE USING gist (plan_id WITH =, kind WITH =,
                                daterange(effective_from, effective_to) WITH &&)
            WHERE (state = 'published' AND plan_id IS NOT NULL);
        ALTER TABLE {S}.parcel_coverage ADD CONSTRAINT parcel_coverage_one_in_force
            EXCLUDE USING gist (commune_code WITH =,
                                daterange(effective_from, effective_to) WITH &&);
        """
    )


def downgrade() -> None:
    op.execute(
        f"""
        ALTER TABLE {S}.parcel_coverage DROP CONSTRAINT parcel_coverage_one_in_force;
        ALTER TABLE {S}.revision DROP CONSTRAINT revision_one_in_force;
        """
    )
    op.drop_column("publication", "data_version", schema=S)
    op.drop_table("data_version", schema=S)
