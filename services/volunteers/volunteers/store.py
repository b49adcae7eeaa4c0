"""Database side of the volunteers service: every query and write, inside the caller's transaction.

Functions take an open ``Session`` (the service commits or rolls back), raise the service's typed
errors, and return plain dicts ready for the response schemas, so nothing is lazily loaded after
the session closes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import (
    DateTime,
    Integer,
    Select,
    String,
    bindparam,
    cast,
    delete,
    func,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from guanyinli.timeutil import from_db, to_db
from volunteers import domain
from volunteers.exceptions import (
    GridLeaderTaken,
    GridNotFound,
    PhoneTaken,
    SourceKeyTaken,
    VolunteerInactive,
    VolunteerNotFound,
    no_grid,
)
from volunteers.models import (
    DatedWindow,
    GridRole,
    LedgerEntry,
    Partner,
    PreferredDay,
    PreferredTime,
    Volunteer,
    VolunteerSkill,
    VolunteerTeam,
    WeeklyWindow,
    utcnow,
)
from volunteers.structure import Structure

SIMPLE_FIELDS = ("name", "phone", "email", "grid_id", "alliance", "language", "max_duties_per_week", "target_per_month")

# --- volunteers --------------------------------------------------------------------------------


def get_volunteer_row(session: Session, volunteer_id: int, lock: bool = False) -> Volunteer:
    volunteer = session.get(Volunteer, volunteer_id, with_for_update=lock or None)
    if volunteer is None:
        raise VolunteerNotFound(f"volunteer_id: no volunteer {volunteer_id}")
    return volunteer


VIEW_COLUMNS = (
    Volunteer.id,
    Volunteer.name,
    Volunteer.phone,
    Volunteer.email,
    Volunteer.grid_id,
    Volunteer.alliance,
    Volunteer.language,
    Volunteer.active,
    Volunteer.created_at,
    Volunteer.updated_at,
    Volunteer.deactivated_at,
    Volunteer.max_duties_per_week,
    Volunteer.target_per_month,
)


_NO_GRID = cast(null(), Integer)
_NO_TEXT = cast(null(), String)


def _view_statements(match):
    """The two reads of views_by_id for a predicate on the volunteer id column: rows, then parts
    (volunteer id, kind, a text value, a number value)."""
    rows = select(*VIEW_COLUMNS).where(match(Volunteer.id))
    parts = union_all(
        select(VolunteerTeam.volunteer_id, cast(literal("team"), String), VolunteerTeam.team, _NO_GRID).where(
            match(VolunteerTeam.volunteer_id)
        ),
        select(VolunteerSkill.volunteer_id, cast(literal("skill"), String), VolunteerSkill.skill, _NO_GRID).where(
            match(VolunteerSkill.volunteer_id)
        ),
        select(GridRole.volunteer_id, cast(literal("role"), String), GridRole.role, GridRole.grid_id).where(
            match(GridRole.volunteer_id)
        ),
        select(PreferredDay.volunteer_id, cast(literal("day"), String), _NO_TEXT, PreferredDay.weekday).where(
            match(PreferredDay.volunteer_id)
        ),
        select(PreferredTime.volunteer_id, cast(literal("time"), String), PreferredTime.time_of_day, _NO_GRID).where(
            match(PreferredTime.volunteer_id)
        ),
        select(Partner.volunteer_id, cast(literal("partner"), String), _NO_TEXT, Partner.partner_id).where(
            match(Partner.volunteer_id)
        ),
    )
    return rows, parts


# Built once: constructing a statement costs more than running it on the hot read path. One id (every
# get_volunteer) has its own pair: an expanding IN is compiled again on each execution.
_VIEW_ROWS, _VIEW_PARTS = _view_statements(lambda column: column.in_(bindparam("ids", expanding=True)))
_VIEW_ROW, _VIEW_ROW_PARTS = _view_statements(lambda column: column == bindparam("id"))


def views_by_id(session: Session, volunteer_ids: Iterable[int]) -> dict[int, dict]:
    """Views of the given volunteers in two Core queries (rows, then teams, skills and grid roles).

    Reads are the hot path (other services call get_volunteer for every sign-up), so they skip
    the ORM's identity map and relationship loading.
    """
    ids = sorted(set(volunteer_ids))
    if not ids:
        return {}
    session.flush()  # the Core reads below must see this transaction's pending writes
    conn = session.connection()
    if len(ids) == 1:
        statements, params = (_VIEW_ROW, _VIEW_ROW_PARTS), {"id": ids[0]}
    else:
        statements, params = (_VIEW_ROWS, _VIEW_PARTS), {"ids": ids}
    views: dict[int, dict] = {}
    for row in conn.execute(statements[0], params):
        view = row._asdict()
        for key in ("created_at", "updated_at", "deactivated_at"):
            view[key] = from_db(view[key])
        view.update(teams=[], skills=[], grid_roles=[], preferred_days=[], preferred_times=[], partners=[])
        views[view["id"]] = view
    lists = {"team": "teams", "skill": "skills", "time": "preferred_times"}
    numbers = {"day": "preferred_days", "partner": "partners"}
    for vid, kind, value, number in conn.execute(statements[1], params):
        view = views[vid]
        if kind in lists:
            view[lists[kind]].append(value)
        elif kind in numbers:
            view[numbers[kind]].append(number)
        else:
            view["grid_roles"].append({"grid_id": number, "role": value})
    for view in views.values():
        for key in ("teams", "skills", "preferred_days", "partners"):
            view[key].sort()
        view["preferred_times"] = domain.ordered_times(view["preferred_times"])
        view["grid_roles"].sort(key=lambda r: r["grid_id"])
    return views


def views_of(session: Session, volunteer_ids: list[int]) -> list[dict]:
    """Views in the order of the ids given."""
    views = views_by_id(session, volunteer_ids)
    return [views[vid] for vid in volunteer_ids]


def get_volunteer(session: Session, volunteer_id: int) -> dict:
    views = views_by_id(session, [volunteer_id])
    if not views:
        raise VolunteerNotFound(f"volunteer_id: no volunteer {volunteer_id}")
    return views[volunteer_id]


def find_by_phone(session: Session, phone: str) -> dict:
    """The volunteer with this number, active or not (numbers are stored normalised)."""
    found = session.scalar(select(Volunteer.id).where(Volunteer.phone == domain.normalize_phone(phone)))
    if found is None:
        raise VolunteerNotFound("phone: no volunteer has this number")
    return get_volunteer(session, found)


def _check_phone_free(session: Session, phone: str, volunteer_id: int | None = None) -> None:
    owner = session.scalar(select(Volunteer.id).where(Volunteer.phone == phone))
    if owner is not None and owner != volunteer_id:
        raise PhoneTaken(f"phone: {phone} already belongs to volunteer {owner}")


def _flush_volunteer(session: Session, phone: str) -> None:
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        # Lost a race for the same phone number with another writer.
        raise PhoneTaken(f"phone: {phone} already belongs to another volunteer") from None


def _unique(values: Iterable[str]) -> list[str]:
    return sorted(set(values))


def create_volunteer(session: Session, data: dict, demo_key: str | None = None) -> dict:
    data = {**data, "phone": domain.normalize_phone(data["phone"])}
    _check_phone_free(session, data["phone"])
    volunteer = Volunteer(
        **{k: data.get(k) for k in SIMPLE_FIELDS if k != "language"},
        language=data.get("language") or "zh",
        demo_key=demo_key,
        teams=[VolunteerTeam(team=t) for t in _unique(data.get("teams") or [])],
        skills=[VolunteerSkill(skill=s) for s in _unique(data.get("skills") or [])],
    )
    session.add(volunteer)
    _flush_volunteer(session, volunteer.phone)
    return get_volunteer(session, volunteer.id)


def _snapshot(volunteer: Volunteer) -> dict:
    return {
        **{k: getattr(volunteer, k) for k in SIMPLE_FIELDS},
        "teams": volunteer.team_codes,
        "skills": volunteer.skill_names,
        "preferred_days": volunteer.preferred_days,
        "preferred_times": volunteer.preferred_times,
        "partners": volunteer.partners,
    }


def _lock_in_order(session: Session, volunteer_ids: Iterable[int]) -> dict[int, bool]:
    """Lock the rows of these volunteers in id order and return id -> active of those that exist.

    One order for every writer: two volunteers naming each other partners at once wait for each other
    instead of deadlocking, and a partner cannot be deactivated between the check and the commit."""
    query = select(Volunteer.id, Volunteer.active).where(Volunteer.id.in_(set(volunteer_ids)))
    return dict(session.execute(query.order_by(Volunteer.id).with_for_update()).all())


def _replace_partners(session: Session, volunteer_id: int, partners: list[int]) -> list[int]:
    """The partners checked (``domain.check_partners``) with their rows and the volunteer's locked."""
    current = session.scalars(select(Partner.partner_id).where(Partner.volunteer_id == volunteer_id))
    active = _lock_in_order(session, {volunteer_id, *partners, *current})
    if volunteer_id not in active:
        raise VolunteerNotFound(f"volunteer_id: no volunteer {volunteer_id}")
    return domain.check_partners(volunteer_id, partners, active)


# field of update_volunteer -> (the Volunteer's collection, the column of a row's value, a new row)
CHILD_FIELDS = {
    "teams": ("teams", "team", lambda v: VolunteerTeam(team=v)),
    "skills": ("skills", "skill", lambda v: VolunteerSkill(skill=v)),
    "preferred_days": ("days", "weekday", lambda v: PreferredDay(weekday=v)),
    "preferred_times": ("times", "time_of_day", lambda v: PreferredTime(time_of_day=v)),
    "partners": ("partner_links", "partner_id", lambda v: Partner(partner_id=v)),
}


def _replace(rows: list, key: str, wanted: Iterable, make) -> list:
    """A child collection holding exactly ``wanted`` (values of ``key``): the rows kept, new ones made."""
    wanted = set(wanted)
    kept = [r for r in rows if getattr(r, key) in wanted]
    have = {getattr(r, key) for r in kept}
    return kept + [make(v) for v in sorted(wanted - have)]


def update_volunteer(session: Session, volunteer_id: int, changes: dict) -> tuple[dict, list[str]]:
    """Apply the given fields; returns the new view and the names of the fields that changed."""
    if "partners" in changes:
        changes = {**changes, "partners": _replace_partners(session, volunteer_id, changes["partners"])}
    volunteer = get_volunteer_row(session, volunteer_id, lock=True)
    before = _snapshot(volunteer)
    if "phone" in changes:
        changes = {**changes, "phone": domain.normalize_phone(changes["phone"])}
    if "phone" in changes and changes["phone"] != volunteer.phone:
        _check_phone_free(session, changes["phone"], volunteer_id)
    for key in SIMPLE_FIELDS:
        if key in changes:
            setattr(volunteer, key, changes[key])
    for field, (collection, key, make) in CHILD_FIELDS.items():
        if field in changes:
            setattr(volunteer, collection, _replace(getattr(volunteer, collection), key, changes[field], make))
    changed = domain.changed_fields(before, _snapshot(volunteer))
    if changed:
        volunteer.updated_at = utcnow()
        _flush_volunteer(session, volunteer.phone)
        session.refresh(volunteer)
    return get_volunteer(session, volunteer_id), changed


def deactivate_volunteer(session: Session, volunteer_id: int, reason: str | None) -> tuple[dict, bool]:
    """Deactivate and give up any grid roles; a second call changes nothing (returns False)."""
    volunteer = get_volunteer_row(session, volunteer_id, lock=True)
    if not volunteer.active:
        return get_volunteer(session, volunteer_id), False
    volunteer.active = False
    volunteer.deactivated_at = volunteer.updated_at = utcnow()
    volunteer.deactivation_reason = reason
    session.execute(delete(GridRole).where(GridRole.volunteer_id == volunteer_id))
    session.flush()
    return get_volunteer(session, volunteer_id), True


def drop_partner(session: Session, volunteer_id: int) -> list[int]:
    """A deactivated volunteer is nobody's partner any more: the volunteers who named them, whose
    partners changed."""
    named_by = sorted(session.scalars(select(Partner.volunteer_id).where(Partner.partner_id == volunteer_id)))
    # Their rows are not locked (nor their updated_at touched): a writer naming partners holds its own
    # row and waits for this volunteer's, and must not find this one waiting for its row in turn.
    session.execute(delete(Partner).where(Partner.partner_id == volunteer_id))
    return named_by


def _filtered_ids(team=None, grid_id=None, skill=None, active=None, volunteer_ids=None) -> Select:
    """A subquery of volunteer ids matching every given filter."""
    query = select(Volunteer.id)
    if team is not None:
        query = query.where(Volunteer.id.in_(select(VolunteerTeam.volunteer_id).where(VolunteerTeam.team == team)))
    if skill is not None:
        query = query.where(
            Volunteer.id.in_(
                select(VolunteerSkill.volunteer_id).where(
                    (VolunteerSkill.skill == skill) | VolunteerSkill.skill.startswith(skill + ":", autoescape=True)
                )
            )
        )
    if grid_id is not None:
        query = query.where(Volunteer.grid_id == grid_id)
    if active is not None:
        query = query.where(Volunteer.active == active)
    if volunteer_ids is not None:
        query = query.where(Volunteer.id.in_(list(volunteer_ids)))
    return query


def list_volunteers(session: Session, *, limit: int, offset: int, **filters) -> dict:
    ids = _filtered_ids(**filters)
    total = session.scalar(select(func.count()).select_from(ids.subquery()))
    page = list(session.scalars(ids.order_by(Volunteer.id).limit(limit).offset(offset)))
    return {"items": views_of(session, page), "total": total, "limit": limit, "offset": offset}


# --- reference data and grids ------------------------------------------------------------------


def _count_by(session: Session, column, where=None) -> dict:
    query = select(column, func.count()).group_by(column)
    if where is not None:
        query = query.where(where)
    return dict(session.execute(query).all())


# Each takes the structure of the community the session's storage belongs to (``volunteers.structure``).


def list_teams(session: Session, org: Structure) -> list[dict]:
    counts = _count_by(session, VolunteerTeam.team, VolunteerTeam.volunteer_id.in_(_filtered_ids(active=True)))
    return [{**vars(t), "members": counts.get(t.code, 0)} for t in org.teams]


def list_alliances(session: Session, org: Structure) -> list[dict]:
    counts = _count_by(session, Volunteer.alliance, Volunteer.active.is_(True))
    return [{**vars(a), "volunteers": counts.get(a.code, 0)} for a in org.alliances]


def list_courtyards(org: Structure, grid_id: int | None = None) -> list[dict]:
    if grid_id is not None:
        _grid(org, grid_id)
    return [vars(c) for c in org.courtyards if grid_id is None or c.grid_id == grid_id]


def list_green_spaces(org: Structure, grid_id: int | None = None) -> list[dict]:
    if grid_id is not None:
        _grid(org, grid_id)
    return [vars(g) for g in org.green_spaces if grid_id is None or g.grid_id == grid_id]


def _grid_people(session: Session, grid_id: int | None = None) -> dict[int, dict[str, list[dict]]]:
    query = (
        select(GridRole.grid_id, GridRole.role, Volunteer.id, Volunteer.name, Volunteer.phone)
        .join(Volunteer, Volunteer.id == GridRole.volunteer_id)
        .order_by(GridRole.grid_id, Volunteer.id)
    )
    if grid_id is not None:
        query = query.where(GridRole.grid_id == grid_id)
    people: dict[int, dict[str, list[dict]]] = defaultdict(lambda: {"leader": [], "member": []})
    for gid, role, vid, name, phone in session.execute(query):
        people[gid][role].append({"id": vid, "name": name, "phone": phone})
    return people


def _grid_summary(org: Structure, grid, people: dict[str, list[dict]]) -> dict:
    return {
        **vars(grid),
        "leader": people["leader"][0] if people["leader"] else None,
        "member_count": len(people["member"]),
        "courtyards": [c.code for c in org.courtyards_of(grid.id)],
    }


def list_grids(session: Session, org: Structure) -> list[dict]:
    people = _grid_people(session)
    return [_grid_summary(org, g, people[g.id]) for g in org.grids]


def _grid(org: Structure, grid_id: int):
    grid = org.grid_of(grid_id)
    if grid is None:
        raise GridNotFound(f"grid_id: {no_grid(grid_id, org.grid_ids())}")
    return grid


def get_grid(session: Session, org: Structure, grid_id: int) -> dict:
    grid = _grid(org, grid_id)
    people = _grid_people(session, grid_id)[grid_id]
    residents = session.scalar(
        select(func.count()).select_from(Volunteer).where(Volunteer.grid_id == grid_id, Volunteer.active.is_(True))
    )
    return {
        **_grid_summary(org, grid, people),
        "members": people["member"],
        "courtyards": [vars(c) for c in org.courtyards_of(grid_id)],
        "volunteers": residents,
    }


def assign_grid_role(session: Session, org: Structure, grid_id: int, volunteer_id: int, role: str) -> tuple[dict, bool]:
    """Make a volunteer the leader or a member of a grid; returns (grid, changed).

    One leader per grid: naming a second one raises ``GridLeaderTaken`` (the partial UNIQUE index
    settles races between replicas). A member named leader is promoted; the leader added as a
    member stays leader.
    """
    grid = _grid(org, grid_id)
    volunteer = get_volunteer_row(session, volunteer_id)
    if not volunteer.active:
        raise VolunteerInactive(f"volunteer_id: volunteer {volunteer_id} is deactivated")
    existing = session.get(GridRole, (grid_id, volunteer_id))
    if role == "leader":
        current = session.scalar(select(GridRole).where(GridRole.grid_id == grid_id, GridRole.role == "leader"))
        if current is not None and current.volunteer_id != volunteer_id:
            leader = session.get(Volunteer, current.volunteer_id)
            raise GridLeaderTaken(
                f"grid_id: grid {grid.code} already has a leader, {leader.name} (volunteer {leader.id})"
            )
    if existing is not None and (existing.role == role or existing.role == "leader"):
        return get_grid(session, org, grid_id), False
    if existing is not None:
        existing.role = role
        existing.since = utcnow()
    else:
        session.add(GridRole(grid_id=grid_id, volunteer_id=volunteer_id, role=role))
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        # A concurrent writer got there first: a leader for the grid, or this very membership.
        if role == "leader":
            raise GridLeaderTaken(f"grid_id: grid {grid.code} already has a leader") from None
        return get_grid(session, org, grid_id), False
    return get_grid(session, org, grid_id), True


def remove_grid_role(session: Session, org: Structure, grid_id: int, volunteer_id: int) -> tuple[dict, bool]:
    _grid(org, grid_id)
    get_volunteer_row(session, volunteer_id)
    removed = session.execute(
        delete(GridRole).where(GridRole.grid_id == grid_id, GridRole.volunteer_id == volunteer_id)
    ).rowcount
    return get_grid(session, org, grid_id), bool(removed)


# --- availability ------------------------------------------------------------------------------


def _weekly_of(session: Session, volunteer_id: int) -> list[domain.WeeklyWindow]:

    rows = session.execute(
        select(WeeklyWindow.weekday, WeeklyWindow.start_minute, WeeklyWindow.end_minute)
        .where(WeeklyWindow.volunteer_id == volunteer_id)
        .order_by(WeeklyWindow.weekday, WeeklyWindow.start_minute)
    )
    return [domain.WeeklyWindow(*row) for row in rows]


def _dated_of(session: Session, volunteer_id: int, start: datetime | None = None, end: datetime | None = None):
    query = select(DatedWindow).where(DatedWindow.volunteer_id == volunteer_id).order_by(DatedWindow.start_at)
    if start is not None and end is not None:
        query = query.where(DatedWindow.start_at < to_db(end), DatedWindow.end_at > to_db(start))
    return [domain.DatedWindow(d.kind, from_db(d.start_at), from_db(d.end_at), d.note) for d in session.scalars(query)]


def availability_view(volunteer_id: int, weekly, dated) -> dict:
    return {
        "volunteer_id": volunteer_id,
        "weekly": [
            {
                "weekday": w.weekday,
                "start": domain.format_minute(w.start_minute),
                "end": domain.format_minute(w.end_minute),
            }
            for w in weekly
        ],
        "dated": [{"kind": d.kind, "start": d.start, "end": d.end, "note": d.note} for d in dated],
    }


def get_availability(session: Session, volunteer_id: int) -> dict:
    get_volunteer_row(session, volunteer_id)
    return availability_view(volunteer_id, _weekly_of(session, volunteer_id), _dated_of(session, volunteer_id))


def set_availability(session: Session, volunteer_id: int, weekly: list[dict], dated: list[dict]) -> dict:
    """Replace the volunteer's weekly windows and dated exceptions (rejected whole if any overlap)."""

    get_volunteer_row(session, volunteer_id, lock=True)
    weekly_rules = [
        domain.WeeklyWindow(w["weekday"], domain.parse_minute(w["start"]), domain.parse_minute(w["end"]))
        for w in weekly
    ]
    dated_rules = [domain.DatedWindow(d["kind"], d["start"], d["end"], d.get("note")) for d in dated]
    domain.check_no_overlap(weekly_rules, dated_rules)
    session.execute(delete(WeeklyWindow).where(WeeklyWindow.volunteer_id == volunteer_id))
    session.execute(delete(DatedWindow).where(DatedWindow.volunteer_id == volunteer_id))
    session.add_all(
        WeeklyWindow(volunteer_id=volunteer_id, weekday=w.weekday, start_minute=w.start_minute, end_minute=w.end_minute)
        for w in weekly_rules
    )
    session.add_all(
        DatedWindow(volunteer_id=volunteer_id, kind=d.kind, start_at=to_db(d.start), end_at=to_db(d.end), note=d.note)
        for d in dated_rules
    )
    session.flush()
    return get_availability(session, volunteer_id)


def check_availability(session: Session, volunteer_id: int, start: datetime, end: datetime) -> dict:
    active = session.scalar(select(Volunteer.active).where(Volunteer.id == volunteer_id))
    if active is None:
        raise VolunteerNotFound(f"volunteer_id: no volunteer {volunteer_id}")
    available, reason = domain.availability_verdict(
        active, _weekly_of(session, volunteer_id), _dated_of(session, volunteer_id, start, end), start, end
    )
    return {"available": available, "reason": reason}


def availability_spans(session: Session, volunteer_id: int, start: datetime, end: datetime) -> dict:
    """The spans of [start, end) in which the volunteer is available (``domain.free_windows``):
    ``check_availability`` says yes for exactly the duties one span holds whole. None when inactive."""
    active = session.scalar(select(Volunteer.active).where(Volunteer.id == volunteer_id))
    if active is None:
        raise VolunteerNotFound(f"volunteer_id: no volunteer {volunteer_id}")
    spans = []
    if active:
        weekly, dated = _weekly_of(session, volunteer_id), _dated_of(session, volunteer_id, start, end)
        spans = domain.free_windows(weekly, dated, start, end)
    return {"volunteer_id": volunteer_id, "active": active, "windows": spans}


def availability_rules(session: Session, start: datetime, end: datetime, **filters) -> dict[int, tuple[list, list]]:
    """Weekly windows, and dated windows meeting [start, end), of every active volunteer matching the filters.

    One round trip: the volunteers, their weekly windows and their dated windows come back as one
    UNION ALL (the volunteers' own rows so that those without any window are listed too).
    """
    ids = _filtered_ids(active=True, **filters)
    no_int, no_time = cast(null(), Integer), cast(null(), DateTime)
    query = union_all(
        select(Volunteer.id, cast(literal("volunteer"), String), no_int, no_int, no_int, no_time, no_time).where(
            Volunteer.id.in_(ids)
        ),
        select(
            WeeklyWindow.volunteer_id,
            cast(literal("weekly"), String),
            WeeklyWindow.weekday,
            WeeklyWindow.start_minute,
            WeeklyWindow.end_minute,
            no_time,
            no_time,
        ).where(WeeklyWindow.volunteer_id.in_(ids)),
        select(
            DatedWindow.volunteer_id,
            cast(DatedWindow.kind, String),
            no_int,
            no_int,
            no_int,
            DatedWindow.start_at,
            DatedWindow.end_at,
        ).where(
            DatedWindow.volunteer_id.in_(ids), DatedWindow.start_at < to_db(end), DatedWindow.end_at > to_db(start)
        ),
    )
    rules: dict[int, tuple[list, list]] = {}
    for vid, kind, weekday, start_minute, end_minute, start_at, end_at in session.execute(query):
        weekly, dated = rules.setdefault(vid, ([], []))
        if kind == "weekly":
            weekly.append(domain.WeeklyWindow(weekday, start_minute, end_minute))
        elif kind != "volunteer":
            dated.append(domain.DatedWindow(kind, from_db(start_at), from_db(end_at)))
    return dict(sorted(rules.items()))


def availability_windows(
    session: Session, start: datetime, end: datetime, **filters
) -> dict[int, list[domain.Interval]]:
    """Concrete windows in [start, end) of every active volunteer matching the filters, by id.

    Only declared availability counts: the roster plans with nobody who has not said when they can.
    """
    return {
        vid: domain.expand(weekly, dated, start, end)
        for vid, (weekly, dated) in availability_rules(session, start, end, **filters).items()
    }


def available_volunteers(session: Session, start: datetime, end: datetime, **filters) -> list[dict]:
    """Active volunteers matching the filters who can take [start, end) (``domain.availability_verdict``)."""
    rules = availability_rules(session, start, end, **filters)
    ids = [
        vid for vid, (weekly, dated) in rules.items() if domain.availability_verdict(True, weekly, dated, start, end)[0]
    ]
    return views_of(session, ids)


# --- ledger ------------------------------------------------------------------------------------


def entry_view(entry: LedgerEntry) -> dict:
    return {
        "id": entry.id,
        "volunteer_id": entry.volunteer_id,
        "hours": round(entry.hours, 2),
        "points": entry.points,
        "reason": entry.reason,
        "source": entry.source,
        "source_key": entry.source_key,
        "team": entry.team,
        "occurred_at": from_db(entry.occurred_at),
        "created_at": from_db(entry.created_at),
    }


def find_entry(session: Session, source_key: str) -> LedgerEntry | None:
    return session.scalar(select(LedgerEntry).where(LedgerEntry.source_key == source_key))


def add_ledger_entry(
    session: Session,
    volunteer_id: int,
    hours: float,
    points: int,
    reason: str,
    source: str,
    source_key: str | None = None,
    team: str | None = None,
    occurred_at: datetime | None = None,
) -> tuple[dict, bool]:
    """Append one entry; returns (entry, created). An entry with the same source_key is returned as is."""
    get_volunteer_row(session, volunteer_id)
    if source_key is not None:
        existing = find_entry(session, source_key)
        if existing is not None:
            if existing.volunteer_id != volunteer_id:
                raise SourceKeyTaken(f"source_key: {source_key!r} was used for volunteer {existing.volunteer_id}")
            return entry_view(existing), False
    now = utcnow()
    entry = LedgerEntry(
        volunteer_id=volunteer_id,
        hours=hours,
        points=points,
        reason=reason,
        source=source,
        source_key=source_key,
        team=team,
        occurred_at=to_db(occurred_at) if occurred_at else now,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(entry)
            session.flush()
    except IntegrityError:
        # Another writer stored the same source_key between our check and our insert.
        existing = find_entry(session, source_key) if source_key else None
        if existing is None or existing.volunteer_id != volunteer_id:
            raise SourceKeyTaken(f"source_key: {source_key!r} is already used") from None
        return entry_view(existing), False
    return entry_view(entry), True


def get_ledger(session: Session, volunteer_id: int, limit: int, offset: int) -> dict:
    get_volunteer_row(session, volunteer_id)
    count, hours, points = session.execute(
        select(
            func.count(), func.coalesce(func.sum(LedgerEntry.hours), 0), func.coalesce(func.sum(LedgerEntry.points), 0)
        ).where(LedgerEntry.volunteer_id == volunteer_id)
    ).one()
    entries = session.scalars(
        select(LedgerEntry)
        .where(LedgerEntry.volunteer_id == volunteer_id)
        .order_by(LedgerEntry.occurred_at.desc(), LedgerEntry.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return {
        "volunteer_id": volunteer_id,
        "total_hours": round(float(hours), 2),
        "total_points": int(points),
        "entries": [entry_view(e) for e in entries],
        "total": count,
        "limit": limit,
        "offset": offset,
    }


def leaderboard(session: Session, team=None, grid=None, since=None, limit: int = 20) -> list[dict]:
    """Active volunteers by points (then hours) over the ledger, optionally since a moment."""
    points = func.sum(LedgerEntry.points).label("points")
    hours = func.sum(LedgerEntry.hours).label("hours")
    query = (
        select(Volunteer.id, Volunteer.name, Volunteer.grid_id, hours, points)
        .join(LedgerEntry, LedgerEntry.volunteer_id == Volunteer.id)
        .where(Volunteer.id.in_(_filtered_ids(team=team, grid_id=grid, active=True)))
        .group_by(Volunteer.id, Volunteer.name, Volunteer.grid_id)
        .order_by(points.desc(), hours.desc(), Volunteer.id)
        .limit(limit)
    )
    if since is not None:
        query = query.where(LedgerEntry.occurred_at >= to_db(since))
    rows = [
        {"volunteer_id": vid, "name": name, "grid_id": grid_id, "hours": round(float(h), 2), "points": int(p)}
        for vid, name, grid_id, h, p in session.execute(query)
    ]
    return domain.rank(rows)


def lookup(session: Session, volunteer_ids: list[int], grid_ids: list[int], source_keys: list[str]) -> dict:
    """Names of volunteers (no contacts), the leaders of grids with their phones, and ledger entries
    by source key: what a service needs to show a list of duties, in three small queries."""
    names = session.execute(
        select(Volunteer.id, Volunteer.name).where(Volunteer.id.in_(set(volunteer_ids))).order_by(Volunteer.id)
    )
    leaders = session.execute(
        select(GridRole.grid_id, Volunteer.id, Volunteer.name, Volunteer.phone)
        .join(Volunteer, Volunteer.id == GridRole.volunteer_id)
        .where(GridRole.role == "leader", GridRole.grid_id.in_(set(grid_ids)))
        .order_by(GridRole.grid_id)
    )
    entries = session.execute(
        select(LedgerEntry.source_key, LedgerEntry.volunteer_id, LedgerEntry.hours, LedgerEntry.points)
        .where(LedgerEntry.source_key.in_(set(source_keys)))
        .order_by(LedgerEntry.source_key)
    )
    return {
        "volunteers": [{"id": vid, "name": name} for vid, name in names],
        "grid_leaders": [
            {"grid_id": gid, "id": vid, "name": name, "phone": phone} for gid, vid, name, phone in leaders
        ],
        "entries": [
            {"source_key": key, "volunteer_id": vid, "hours": round(hours, 2), "points": points}
            for key, vid, hours, points in entries
        ],
    }


def count_active(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Volunteer).where(Volunteer.active.is_(True)))


def grids_led_by(session: Session, volunteer_id: int | None) -> frozenset[int]:
    if volunteer_id is None:
        return frozenset()
    query = select(GridRole.grid_id).where(GridRole.volunteer_id == volunteer_id, GridRole.role == "leader")
    return frozenset(session.scalars(query))
