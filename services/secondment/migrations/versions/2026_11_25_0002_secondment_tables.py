"""secondment tables: batches, pairs, secondments, vettings, reviews, reserve pool, scores, roster mirror

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 14:24:27.479434
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cadrekit.db import UTCDateTime
from cadrekit.roster_mirror import create_mirror_tables, drop_mirror_tables

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_mirror_tables()
    op.create_table(
        "batches",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("term_months", sa.Integer(), nullable=False),
        sa.Column("allow_unpaired", sa.Boolean(), nullable=False),
        sa.Column("needed_specialties", sa.JSON(), nullable=False),
        sa.Column("performance_top_share", sa.String(length=20), nullable=False),
        sa.Column("performance_year", sa.Integer(), nullable=True),
        sa.Column("quota_rules", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("approved_by", sa.String(length=200), nullable=True),
        sa.Column("approved_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batches")),
    )
    op.create_table(
        "cadre_scores",
        sa.Column("cadre_id", sa.String(length=36), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("total", sa.String(length=20), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("cadre_id", "year", name=op.f("pk_cadre_scores")),
    )
    op.create_table(
        "reserve_entries",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("cadre_id", sa.String(length=36), nullable=False),
        sa.Column("cadre_name", sa.String(length=50), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("secondment_id", sa.String(length=36), nullable=True),
        sa.Column("added_on", sa.Date(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reserve_entries")),
        sa.UniqueConstraint("cadre_id", "source", name=op.f("uq_reserve_entries_cadre_id")),
    )
    op.create_table(
        "pairs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("batch_id", sa.String(length=36), nullable=False),
        sa.Column("city_organ_id", sa.String(length=36), nullable=False),
        sa.Column("city_organ_name", sa.String(length=200), nullable=False),
        sa.Column("grassroots_unit_id", sa.String(length=36), nullable=False),
        sa.Column("grassroots_unit_name", sa.String(length=200), nullable=False),
        sa.Column("grassroots_unit_kind", sa.String(length=30), nullable=False),
        sa.Column("region", sa.String(length=100), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["batches.id"], name=op.f("fk_pairs_batch_id_batches")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pairs")),
        sa.UniqueConstraint("batch_id", "city_organ_id", "grassroots_unit_id", name=op.f("uq_pairs_batch_id")),
    )
    op.create_index(op.f("ix_pairs_batch_id"), "pairs", ["batch_id"], unique=False)

    op.create_table(
        "secondments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("batch_id", sa.String(length=36), nullable=False),
        sa.Column("pair_id", sa.String(length=36), nullable=True),
        sa.Column("cadre_id", sa.String(length=36), nullable=False),
        sa.Column("holds_cadre_id", sa.String(length=36), nullable=True),
        sa.Column("cadre_name", sa.String(length=50), nullable=False),
        sa.Column("gender", sa.String(length=6), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("party_member", sa.Boolean(), nullable=False),
        sa.Column("direction", sa.String(length=30), nullable=False),
        sa.Column("from_unit_id", sa.String(length=36), nullable=False),
        sa.Column("from_unit_name", sa.String(length=200), nullable=False),
        sa.Column("from_unit_kind", sa.String(length=30), nullable=False),
        sa.Column("to_unit_id", sa.String(length=36), nullable=False),
        sa.Column("to_unit_name", sa.String(length=200), nullable=False),
        sa.Column("to_unit_kind", sa.String(length=30), nullable=False),
        sa.Column("region", sa.String(length=100), nullable=True),
        sa.Column("title_held", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("eligibility", sa.JSON(), nullable=False),
        sa.Column("performance_judgement", sa.String(length=20), nullable=True),
        sa.Column("term_months", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=True),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("end_kind", sa.String(length=20), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=True),
        sa.Column("days_served", sa.Integer(), nullable=True),
        sa.Column("extensions", sa.JSON(), nullable=False),
        sa.Column("withdraw_reason", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("nominated_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["batch_id"], ["batches.id"], name=op.f("fk_secondments_batch_id_batches")),
        sa.ForeignKeyConstraint(["pair_id"], ["pairs.id"], name=op.f("fk_secondments_pair_id_pairs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_secondments")),
        sa.UniqueConstraint("holds_cadre_id", name=op.f("uq_secondments_holds_cadre_id")),
    )
    op.create_index(op.f("ix_secondments_batch_id"), "secondments", ["batch_id"], unique=False)
    op.create_index(op.f("ix_secondments_cadre_id"), "secondments", ["cadre_id"], unique=False)

    op.create_table(
        "reviews",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("secondment_id", sa.String(length=36), nullable=False),
        sa.Column("cadre_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("rating", sa.String(length=30), nullable=False),
        sa.Column("reviewed_on", sa.Date(), nullable=False),
        sa.Column("comments", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["secondment_id"], ["secondments.id"], name=op.f("fk_reviews_secondment_id_secondments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
    )
    op.create_index(op.f("ix_reviews_secondment_id"), "reviews", ["secondment_id"], unique=False)

    op.create_table(
        "vettings",
        sa.Column("secondment_id", sa.String(length=36), nullable=False),
        sa.Column("political_quality", sa.String(length=10), nullable=True),
        sa.Column("moral_quality", sa.String(length=10), nullable=True),
        sa.Column("results", sa.String(length=10), nullable=True),
        sa.Column("diligence", sa.String(length=10), nullable=True),
        sa.Column("integrity", sa.String(length=10), nullable=True),
        sa.Column("discipline_reference", sa.String(length=200), nullable=True),
        sa.Column("discipline_opinion", sa.Text(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("vetted_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["secondment_id"], ["secondments.id"], name=op.f("fk_vettings_secondment_id_secondments")
        ),
        sa.PrimaryKeyConstraint("secondment_id", name=op.f("pk_vettings")),
    )


def downgrade() -> None:
    op.drop_table("vettings")
    op.drop_index(op.f("ix_reviews_secondment_id"), table_name="reviews")

    op.drop_table("reviews")
    op.drop_index(op.f("ix_secondments_cadre_id"), table_name="secondments")
    op.drop_index(op.f("ix_secondments_batch_id"), table_name="secondments")

    op.drop_table("secondments")
    op.drop_index(op.f("ix_pairs_batch_id"), table_name="pairs")

    op.drop_table("pairs")
    op.drop_table("reserve_entries")
    op.drop_table("cadre_scores")
    op.drop_table("batches")
    drop_mirror_tables()
