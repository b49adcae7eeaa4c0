"""The organisation of Guanyinli: three teams, six alliances, 15 grids, 12 courtyards, 3 buildings, green spaces.

This is reference data, not user data: it lives in code (validated by the schemas and guarded by
CHECK constraints in the tables) so every database, empty or not, agrees on it. What changes over
time (who leads or serves a grid) is stored in the database.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Team:
    code: str
    name: str
    name_zh: str
    description: str


@dataclass(frozen=True)
class Alliance:
    code: str
    name: str
    name_zh: str


@dataclass(frozen=True)
class Grid:
    id: int
    code: str
    name: str
    kind: str  # "exclusive" or "comprehensive"


@dataclass(frozen=True)
class Courtyard:
    id: int
    code: str
    name: str
    kind: str  # "courtyard" or "commercial_residential"
    grid_id: int
    self_managed: bool


@dataclass(frozen=True)
class GreenSpace:
    """A public green space the sanitation and green protection team looks after (not a courtyard's own)."""

    id: int
    code: str
    name: str
    grid_id: int


TEAMS: tuple[Team, ...] = (
    Team("convenient_service", "Convenient service", "便民服务队", "errands, small repairs, help for the elderly"),
    Team("sanitation_green", "Clean sanitation and green protection", "清洁卫生护绿队", "clean-ups and greenery"),
    Team("voluntary_patrol", "Voluntary patrol", "义务巡逻队", "safety patrols of courtyards and streets"),
)

ALLIANCES: tuple[Alliance, ...] = (
    Alliance("community_cadres", "Community cadres", "社区干部"),
    Alliance("resident_units", "Units in the area", "驻区单位"),
    Alliance("individual_businesses", "Individual businesses in the area", "个体工商户"),
    Alliance("in_service_party_members", "In-service party members", "在职党员"),
    Alliance("community_party_members", "Community party members", "社区党员"),
    Alliance("non_profits", "Non-profit organisations", "公益组织"),
)

_EXCLUSIVE = ("商住楼甲栋专属网格", "商住楼乙栋专属网格", "商住楼丙栋专属网格", "沿街商铺专属网格", "驻区单位专属网格")
_NUMERALS = ("六", "七", "八", "九", "十", "十一", "十二", "十三", "十四", "十五")

GRIDS: tuple[Grid, ...] = tuple(
    Grid(i + 1, f"G{i + 1:02d}", name, "exclusive") for i, name in enumerate(_EXCLUSIVE)
) + tuple(
    Grid(i + 6, f"G{i + 6:02d}", f"观音里第{numeral}综合网格", "comprehensive") for i, numeral in enumerate(_NUMERALS)
)

# Twelve courtyards in the ten comprehensive grids (grids 6 and 7 hold two each), seven of them
# self-managed; the three commercial-residential buildings each make an exclusive grid.
COURTYARDS: tuple[Courtyard, ...] = tuple(
    Courtyard(i + 1, f"C{i + 1:02d}", f"观音里{i + 1}号院", "courtyard", grid, i < 7)
    for i, grid in enumerate((6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 6, 7))
) + tuple(
    Courtyard(13 + i, f"B{i + 1:02d}", f"观音里商住楼{stem}栋", "commercial_residential", i + 1, False)
    for i, stem in enumerate("甲乙丙")
)

# The public green spaces of the area, by the grid they lie in: street gardens along the shops, the
# buildings' forecourts, and the gardens and tree-lined lanes between the courtyards.
GREEN_SPACES: tuple[GreenSpace, ...] = tuple(
    GreenSpace(i + 1, f"GS{i + 1:02d}", name, grid)
    for i, (name, grid) in enumerate(
        (
            ("商住楼甲栋前庭绿地", 1),
            ("商住楼丙栋屋顶花园", 3),
            ("观音里街心游园", 4),
            ("沿街行道树带", 4),
            ("观音里口袋公园", 6),
            ("社区活动中心花园", 8),
            ("银杏林荫道", 9),
            ("日间照料中心康养花园", 11),
            ("香樟广场", 12),
            ("停车场绿化带", 13),
            ("桂花园", 15),
        )
    )
)

TEAM_CODES: tuple[str, ...] = tuple(t.code for t in TEAMS)
ALLIANCE_CODES: tuple[str, ...] = tuple(a.code for a in ALLIANCES)
PATROL_TEAM = "voluntary_patrol"
PATROL_LEADER = "patrol_leader"


def grid_of(grid_id: int) -> Grid | None:
    """The grid with this id, None for none. Read from ``GRIDS`` at each call, so the grids are
    whatever the data holds (a community with a sixteenth grid adds one line above)."""
    return next((g for g in GRIDS if g.id == grid_id), None)


def grid_ids() -> tuple[int, ...]:
    return tuple(g.id for g in GRIDS)


def courtyards_of(grid_id: int) -> list[Courtyard]:
    return [c for c in COURTYARDS if c.grid_id == grid_id]


def green_spaces_of(grid_id: int) -> list[GreenSpace]:
    return [g for g in GREEN_SPACES if g.grid_id == grid_id]
