"""teams and alliances are data: each community's own, not Guanyinli's codes in the tables

Revision ID: f4a6c8e2b0d7
Revises: e2b8c4d6f1a3
Create Date: 2026-12-07 20:00:00

Which teams and alliances a community has is its structure's to say (``volunteers.structure``:
Guanyinli's in code, another community's in its file), checked by the service at each call, as
the grids are since c9d4e2a7b1f3; the columns keep only what holds for any community.
"""

from alembic import op

revision = "f4a6c8e2b0d7"
down_revision = "e2b8c4d6f1a3"
branch_labels = None
depends_on = None

GUANYINLI_TEAMS = ("convenient_service", "sanitation_green", "voluntary_patrol")
GUANYINLI_ALLIANCES = (
    "community_cadres",
    "resident_units",
    "individual_businesses",
    "in_service_party_members",
    "community_party_members",
    "non_profits",
)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _checks(team: str, alliance: str) -> None:
    with op.batch_alter_table("volunteer_teams", schema=None) as batch_op:
        batch_op.drop_constraint("ck_volunteer_teams_team", type_="check")
        batch_op.create_check_constraint("ck_volunteer_teams_team", team)
    with op.batch_alter_table("volunteers", schema=None) as batch_op:
        batch_op.drop_constraint("ck_volunteers_alliance", type_="check")
        batch_op.create_check_constraint("ck_volunteers_alliance", f"alliance IS NULL OR {alliance}")


def upgrade() -> None:
    _checks("team <> ''", "alliance <> ''")


def downgrade() -> None:
    _checks(_one_of("team", GUANYINLI_TEAMS), _one_of("alliance", GUANYINLI_ALLIANCES))
