"""The organisation of each community: its teams, alliances, grids, courtyards and green spaces.

This is reference data, not user data: every database of a community, empty or not, agrees on it,
and the service checks every grid, team and alliance it is given against the community's own
(``Structures.of``; the schemas through ``current``). What changes over time (who leads or serves
a grid) is stored in the database.

Guanyinli's organisation (the default community: three teams, six alliances, 15 grids, 12
courtyards, 3 buildings, green spaces) is below, in code. Any other community's is a JSON file
``<COMMUNITIES_DIR>/<slug>.json`` (``communities_dir``: default ``config/communities`` of the
repository; ``config/communities/wutaishan.json`` shows the shape), checked when the service
starts (``load_file``): a wrong file stops it with an error naming the file and the field. A grid of
a file may list its ``neighbours`` (grid ids; either side of a border is enough), which the activities
service's patrol rosters use; Guanyinli's are the activities service's ``GRID_NEIGHBOURS`` setting.
"""

from __future__ import annotations

import contextvars
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate, validates_schema

from guanyinli import tenancy
from guanyinli.errors import CommunityNotFound, format_validation

GUANYINLI = "guanyinli"  # the community whose organisation is in code
SETTING = tenancy.DIR_SETTING
ENV = tenancy.DIR_ENV
DEFAULT_DIR = tenancy.DEFAULT_DIR
GRID_KINDS = ("exclusive", "comprehensive")
COURTYARD_KINDS = ("courtyard", "commercial_residential")


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
    neighbours: tuple[int, ...] = ()  # the grids that border it (for patrols of the grids next door)


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


@dataclass(frozen=True)
class Structure:
    """One community's organisation."""

    community: str
    teams: tuple[Team, ...]
    alliances: tuple[Alliance, ...]
    grids: tuple[Grid, ...]
    courtyards: tuple[Courtyard, ...]
    green_spaces: tuple[GreenSpace, ...]

    @property
    def team_codes(self) -> tuple[str, ...]:
        return tuple(t.code for t in self.teams)

    @property
    def alliance_codes(self) -> tuple[str, ...]:
        return tuple(a.code for a in self.alliances)

    def grid_of(self, grid_id: int) -> Grid | None:
        return next((g for g in self.grids if g.id == grid_id), None)

    def grid_ids(self) -> tuple[int, ...]:
        return tuple(g.id for g in self.grids)

    def courtyards_of(self, grid_id: int) -> list[Courtyard]:
        return [c for c in self.courtyards if c.grid_id == grid_id]

    def green_spaces_of(self, grid_id: int) -> list[GreenSpace]:
        return [g for g in self.green_spaces if g.grid_id == grid_id]


def guanyinli() -> Structure:
    """Guanyinli's organisation, read from the constants above at each call (a test that adds a
    grid to ``GRIDS`` sees it everywhere)."""
    return Structure(GUANYINLI, TEAMS, ALLIANCES, GRIDS, COURTYARDS, GREEN_SPACES)


# Guanyinli's, for code that serves the default community only (the demo data, benchmarks).
def grid_of(grid_id: int) -> Grid | None:
    return guanyinli().grid_of(grid_id)


def grid_ids() -> tuple[int, ...]:
    return guanyinli().grid_ids()


def courtyards_of(grid_id: int) -> list[Courtyard]:
    return guanyinli().courtyards_of(grid_id)


def green_spaces_of(grid_id: int) -> list[GreenSpace]:
    return guanyinli().green_spaces_of(grid_id)


# --- another community's file -------------------------------------------------------------------

CODE = validate.Regexp(r"^[a-z][a-z0-9_]{0,39}$", error="a code of lowercase letters, digits and _ (at most 40)")
NAME = validate.Length(min=1, max=100)


class StructureError(ValueError):
    """A community's structure file that is missing, not JSON, or wrong: names the file and the field."""


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class _TeamFile(_Strict):
    code = fields.String(required=True, validate=CODE)
    name = fields.String(required=True, validate=NAME)
    name_zh = fields.String(required=True, validate=NAME)
    description = fields.String(load_default="", validate=validate.Length(max=300))

    @post_load
    def make(self, data, **kw):
        return Team(**data)


class _AllianceFile(_Strict):
    code = fields.String(required=True, validate=CODE)
    name = fields.String(required=True, validate=NAME)
    name_zh = fields.String(required=True, validate=NAME)

    @post_load
    def make(self, data, **kw):
        return Alliance(**data)


_Id = lambda **kw: fields.Integer(strict=True, validate=validate.Range(min=1, max=9999), **kw)  # noqa: E731
_Code = lambda: fields.String(required=True, validate=validate.Length(min=1, max=20))  # noqa: E731


class _GridFile(_Strict):
    id = _Id(required=True)
    code = _Code()
    name = fields.String(required=True, validate=NAME)
    kind = fields.String(required=True, validate=validate.OneOf(GRID_KINDS))
    neighbours = fields.List(_Id(), load_default=list)

    @post_load
    def make(self, data, **kw):
        return Grid(**{**data, "neighbours": tuple(data["neighbours"])})


class _CourtyardFile(_Strict):
    id = _Id(required=True)
    code = _Code()
    name = fields.String(required=True, validate=NAME)
    kind = fields.String(required=True, validate=validate.OneOf(COURTYARD_KINDS))
    grid_id = _Id(required=True)
    self_managed = fields.Boolean(required=True)

    @post_load
    def make(self, data, **kw):
        return Courtyard(**data)


class _GreenSpaceFile(_Strict):
    id = _Id(required=True)
    code = _Code()
    name = fields.String(required=True, validate=NAME)
    grid_id = _Id(required=True)

    @post_load
    def make(self, data, **kw):
        return GreenSpace(**data)


def _distinct(items: list, attr: str, field: str) -> None:
    seen: set = set()
    for i, item in enumerate(items):
        value = getattr(item, attr)
        if value in seen:
            raise ValidationError(f"{attr} {value!r} appears twice", f"{field}.{i}.{attr}")
        seen.add(value)


class _StructureFile(_Strict):
    community = fields.String(required=True)
    name = fields.String(load_default="", validate=validate.Length(max=100))
    name_zh = fields.String(load_default="", validate=validate.Length(max=100))
    district = fields.String(load_default="", validate=validate.Length(max=100))
    teams = fields.List(fields.Nested(_TeamFile), required=True, validate=validate.Length(min=1))
    alliances = fields.List(fields.Nested(_AllianceFile), load_default=list)
    grids = fields.List(fields.Nested(_GridFile), required=True, validate=validate.Length(min=1))
    courtyards = fields.List(fields.Nested(_CourtyardFile), load_default=list)
    green_spaces = fields.List(fields.Nested(_GreenSpaceFile), load_default=list)

    @validates_schema(skip_on_field_errors=True)
    def consistent(self, data, **kw):
        for field, attrs in (
            ("teams", ("code",)),
            ("alliances", ("code",)),
            ("grids", ("id", "code")),
            ("courtyards", ("id", "code")),
            ("green_spaces", ("id", "code")),
        ):
            for attr in attrs:
                _distinct(data[field], attr, field)
        grids = {g.id for g in data["grids"]}
        for field in ("courtyards", "green_spaces"):
            for i, place in enumerate(data[field]):
                if place.grid_id not in grids:
                    raise ValidationError(f"no grid {place.grid_id} in grids", f"{field}.{i}.grid_id")
        for i, grid in enumerate(data["grids"]):
            for n in grid.neighbours:
                if n not in grids or n == grid.id:
                    raise ValidationError(f"no other grid {n} in grids", f"grids.{i}.neighbours")


def load_file(path: Path | str, slug: str | None = None) -> Structure:
    """A community's structure from its JSON file; ``StructureError`` naming the file and the field
    for a file that is missing, not JSON, or not a structure (of the community ``slug``)."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StructureError(f"{path}: no such file (the structure of community {slug or path.stem!r})") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StructureError(f"{path}: not a JSON file: {exc}") from None
    try:
        data = _StructureFile().load(raw)
    except ValidationError as exc:
        raise StructureError(f"{path}: {format_validation(exc.messages)}") from None
    expected = slug or path.stem
    if data["community"] != expected:
        raise StructureError(f"{path}: community: {data['community']!r}, but the file is community {expected!r}'s")
    return Structure(
        expected,
        tuple(data["teams"]),
        tuple(data["alliances"]),
        tuple(data["grids"]),
        tuple(data["courtyards"]),
        tuple(data["green_spaces"]),
    )


communities_dir = tenancy.communities_dir  # COMMUNITIES_DIR, GUANYINLI_COMMUNITIES_DIR, config/communities


class Structures:
    """The organisation of every community an installation serves: Guanyinli's from code, each
    other's from its file, all read (and checked) when made."""

    def __init__(self, config: dict | None = None, slugs: Iterable[str] | None = None):
        self.config = config
        folder = communities_dir(config)
        self._files = {
            slug: load_file(folder / f"{slug}.json", slug)
            for slug in (tenancy.served(config) if slugs is None else slugs)
            if slug != GUANYINLI
        }

    def of(self, slug: str) -> Structure:
        if slug == GUANYINLI:
            return guanyinli()
        try:
            return self._files[slug]
        except KeyError:
            raise CommunityNotFound(f"no community {slug!r} in this installation", f"本系统没有社区 {slug!r}") from None


# The structure of the community the running worker acts for, for the schemas' validators (a
# marshmallow validator sees no worker). Each worker runs in its own greenlet, which has its own
# context, so one worker's community never shows in another's; outside a worker, Guanyinli's.
_CURRENT: contextvars.ContextVar[Callable[[], Structure]] = contextvars.ContextVar(
    "volunteers_structure", default=guanyinli
)


def current() -> Structure:
    return _CURRENT.get()()


def set_current(find: Callable[[], Structure]) -> contextvars.Token:
    return _CURRENT.set(find)


def reset_current(token: contextvars.Token) -> None:
    _CURRENT.reset(token)
