"""the two-way service list: partners of the six alliances, their offers and needs, matches

Revision ID: c8e4a2f6d1b7
Revises: e4a7c2b9d105
Create Date: 2026-12-07 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "c8e4a2f6d1b7"
down_revision = "e4a7c2b9d105"
branch_labels = None
depends_on = None

# As of this revision (appeals.partners_domain may grow; this migration does not).
ALLIANCES = (
    "community_cadres",
    "resident_units",
    "individual_businesses",
    "in_service_party_members",
    "community_party_members",
    "non_profits",
)
PARTNER_KINDS = ("unit", "business", "non_profit", "person", "other")
RESOURCE_KINDS = ("venue", "skill", "volunteer_hours", "goods", "other")
NEED_SOURCES = ("manual", "appeals", "activity")
NEED_STATUSES = ("open", "closed")
MATCH_STATUSES = ("proposed", "agreed", "turned_into_activity", "declined")


def _one_of(column, values):
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "partners",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("alliance", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("contact_person", sa.String(length=100), nullable=True),
        sa.Column("contact_phone", sa.String(length=30), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(_one_of("alliance", ALLIANCES), name="ck_partners_alliance"),
        sa.CheckConstraint(_one_of("kind", PARTNER_KINDS), name="ck_partners_kind"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_partners_alliance", "partners", ["alliance"])
    op.create_table(
        "partner_offers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("what", sa.String(length=200), nullable=False),
        sa.Column("words", sa.String(length=500), nullable=False),
        sa.Column("quantity", sa.Float(), nullable=False),
        sa.Column("available_from", sa.Date(), nullable=True),
        sa.Column("available_until", sa.Date(), nullable=True),
        sa.Column("grid_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint(_one_of("kind", RESOURCE_KINDS), name="ck_partner_offers_kind"),
        sa.CheckConstraint("quantity > 0", name="ck_partner_offers_quantity"),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_partner_offers_partner_id", "partner_offers", ["partner_id"])
    op.create_table(
        "partner_needs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("what", sa.String(length=200), nullable=False),
        sa.Column("words", sa.String(length=500), nullable=False),
        sa.Column("quantity", sa.Float(), nullable=False),
        sa.Column("by_when", sa.Date(), nullable=True),
        sa.Column("grid_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("source_ref", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(_one_of("kind", RESOURCE_KINDS), name="ck_partner_needs_kind"),
        sa.CheckConstraint(_one_of("source", NEED_SOURCES), name="ck_partner_needs_source"),
        sa.CheckConstraint(_one_of("status", NEED_STATUSES), name="ck_partner_needs_status"),
        sa.CheckConstraint("quantity > 0", name="ck_partner_needs_quantity"),
        sa.ForeignKeyConstraint(["partner_id"], ["partners.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "source_ref", name="uq_partner_needs_source_ref"),
    )
    op.create_index("ix_partner_needs_partner_id", "partner_needs", ["partner_id"])
    op.create_table(
        "partner_matches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("offer_id", sa.Integer(), nullable=False),
        sa.Column("need_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Float(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("reasons", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=25), nullable=False),
        sa.Column("activity_id", sa.Integer(), nullable=True),
        sa.Column("proposed_at", sa.DateTime(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("note", sa.String(length=300), nullable=True),
        sa.CheckConstraint(_one_of("status", MATCH_STATUSES), name="ck_partner_matches_status"),
        sa.ForeignKeyConstraint(["offer_id"], ["partner_offers.id"]),
        sa.ForeignKeyConstraint(["need_id"], ["partner_needs.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("offer_id", "need_id", name="uq_partner_matches_pair"),
        sa.UniqueConstraint("activity_id", name="uq_partner_matches_activity"),
    )
    op.create_index("ix_partner_matches_offer_id", "partner_matches", ["offer_id"])
    op.create_index("ix_partner_matches_need_id", "partner_matches", ["need_id"])


def downgrade() -> None:
    op.drop_index("ix_partner_matches_need_id", table_name="partner_matches")
    op.drop_index("ix_partner_matches_offer_id", table_name="partner_matches")
    op.drop_table("partner_matches")
    op.drop_index("ix_partner_needs_partner_id", table_name="partner_needs")
    op.drop_table("partner_needs")
    op.drop_index("ix_partner_offers_partner_id", table_name="partner_offers")
    op.drop_table("partner_offers")
    op.drop_index("ix_partners_alliance", table_name="partners")
    op.drop_table("partners")
