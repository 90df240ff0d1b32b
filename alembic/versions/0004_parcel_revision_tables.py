"""Parcels revisions in tables of their own: deleting a revision drops its table.

`planning ingest parcels` loads each revision into its own table, planning.parcel_r<id>,
created without indexes, indexed once after the COPY and then made a child of planning.parcel
(table inheritance), so every query of planning.parcel reads it (ingest/load.py). Index upkeep
row by row cost a COPY more than the rows themselves. The foreign key of planning.parcel does
not reach child tables, and one per child would lock planning.revision against concurrent
loads; this trigger deletes a revision's parcels with it instead, as the foreign key's ON DELETE
CASCADE does for rows in planning.parcel itself.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

S = "planning"


def upgrade() -> None:
    op.execute(
        f"""
        CREATE FUNCTION {S}.revision_parcels_delete() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            EXECUTE format('DROP TABLE IF EXISTS {S}.%I', 'parcel_r' || OLD.id);
            RETURN NULL;
        END $$;
        CREATE TRIGGER revision_parcels_delete AFTER DELETE ON {S}.revision
            FOR EACH ROW WHEN (OLD.kind = 'parcels')
            EXECUTE FUNCTION {S}.revision_parcels_delete();
        """
    )


def downgrade() -> None:
    op.execute(
        f"""
        DROP TRIGGER revision_parcels_delete ON {S}.revision;
        DROP FUNCTION {S}.revision_parcels_delete();
        """
    )
