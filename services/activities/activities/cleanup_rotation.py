"""The clean-up rotation in the activities service: plan it into sanitation occurrences and sign-ups, read it back.

Use cases are functions over a session; ``CleanupMixin`` joins ``ActivitiesService`` through its bases
with two thin RPC methods. The places come from the volunteers service (courtyards, the buildings and
the green spaces); the plan is ``activities.cleanups``'s. A clean-up is one sanitation occurrence of a
place on a day, found again by its place and day, so planning twice (or planning over clean-ups an
organiser made by hand) adds only what is missing; volunteers already on a clean-up stay on it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from activities import cleanups, domain, grid_scope, planning, schemas, store, views
from activities.cleanups import Place, Slot
from activities.models import OUTBOX, Occurrence
from activities.rostering import confirmed_duties, naive
from guanyinli.errors import Forbidden, InvalidInput, Unavailable
from guanyinli.identity import ORGANISERS
from guanyinli.rpc import rpc
from guanyinli.schemas import contract
from guanyinli.timeutil import TZ, from_db, local, now

KIND = "sanitation"
TEAM = domain.KIND_TEAM[KIND]
SOURCE = "rotation"  # the sign-ups a plan made, as a roster's are "roster"
TITLES = {"green_space": "绿地养护：{}", "courtyard": "清洁家园：{}", "commercial_residential": "清洁家园：{}"}
DEMO_WEEKS = 4


@dataclass(frozen=True)
class Outcome:
    created: int  # occurrences made
    signed_up: int  # sign-ups made
    short: list[str]  # slot ids short of volunteers


# --- from the volunteers service -----------------------------------------------------------------


def places_from(courtyards: list[dict], green_spaces: list[dict]) -> list[Place]:
    """The volunteers service's courtyards, buildings and green spaces as the planner's places."""
    return [Place(c["code"], c["name"], c["kind"], c["grid_id"], bool(c.get("self_managed"))) for c in courtyards] + [
        Place(g["code"], g["name"], "green_space", g["grid_id"]) for g in green_spaces
    ]


def team_from(
    members: list[dict], windows: dict[int, list[tuple[datetime, datetime]]], busy: dict[int, list]
) -> list[cleanups.Volunteer]:
    return [
        cleanups.Volunteer(
            id=m["id"],
            name=m["name"],
            home_grid=m.get("grid_id"),
            windows=tuple((naive(a), naive(b)) for a, b in windows.get(m["id"], [])),
            busy=tuple(busy.get(m["id"], [])),
            max_per_week=m.get("max_duties_per_week"),
        )
        for m in members
    ]


# --- use cases over a session ------------------------------------------------------------------


def window(monday: date, weeks: int) -> tuple[datetime, datetime]:
    start = datetime.combine(cleanups.monday_of(monday), datetime.min.time(), tzinfo=TZ)
    return start, start + timedelta(weeks=weeks)


def found_cleanups(session: Session, start: datetime, end: datetime) -> dict[tuple[str, date], Occurrence]:
    """Live sanitation occurrences of [start, end) by (place name, local day)."""
    found = {}
    for occ in store.list_occurrences(session, start, end, kind=KIND):
        name = store.effective_place(occ)[1]
        if store.effective_status(occ) == "scheduled" and name:
            found.setdefault((name, local(from_db(occ.start)).date()), occ)
    return found


def with_found(planned: list[Slot], found: dict, kept: dict[int, list[int]]) -> list[Slot]:
    """The planned slots, those already made at their made times, seats and volunteers."""
    slots = []
    for slot in planned:
        occ = found.get((slot.place.name, slot.start.date()))
        if occ is None:
            slots.append(slot)
            continue
        seats = sum(r.capacity for r in occ.roles) or slot.needed
        start, end = naive(from_db(occ.start)), naive(from_db(occ.end))
        slots.append(replace(slot, start=start, end=end, needed=seats, kept=tuple(kept.get(occ.id, ()))))
    return slots


def other_duties(session: Session, start: datetime, end: datetime, skip: set[int]) -> dict[int, list]:
    busy: dict[int, list] = {}
    for vid, occ, _ in confirmed_duties(session, start, end):
        if occ.id not in skip:
            busy.setdefault(vid, []).append((naive(from_db(occ.start)), naive(from_db(occ.end))))
    return busy


def make_plan(
    session: Session, places: list[Place], monday: date, weeks: int, members: list[dict], windows: dict, at: datetime
) -> tuple[cleanups.Plan, dict]:
    """The plan of ``weeks`` weeks from ``monday``'s week over what is already there; clean-ups that
    start before ``at`` are neither made nor staffed (a plan of the week under way fills the rest)."""
    start, end = window(monday, weeks)
    found = found_cleanups(session, start, end)
    kept = store.confirmed_volunteers(session, [o.id for o in found.values()])
    planned = with_found(cleanups.occurrences(places, monday, weeks), found, kept)
    slots = [s for s in planned if s.start >= naive(at)]
    team = team_from(members, windows, other_duties(session, start, end, {o.id for o in found.values()}))
    plan = cleanups.Plan(tuple(slots), cleanups.spread(slots, team), tuple(cleanups.to_clean(places)[1]))
    return plan, found


def apply(session: Session, plan: cleanups.Plan, found: dict, created_by: int | None) -> Outcome:
    """Make the plan's missing occurrences and sign-ups (each sign-up announced as ``signup_confirmed``)."""
    created = signed_up = 0
    for slot in plan.slots:
        occ = found.get((slot.place.name, slot.start.date()))
        if occ is None:
            occ = create_cleanup(session, slot, created_by)
            created += 1
        for vid in plan.assigned.get(slot.id, ()):
            if vid in slot.kept:
                continue
            try:
                signup, changed = store.sign_up(session, occ.id, None, vid, None, source=SOURCE, waitlist=False)
            except domain.RuleViolation:
                continue  # a duty taken since the plan was read: the next plan fills the seat
            if changed:
                OUTBOX.add(session, "signup_confirmed", views.signup_event(session, signup))
                signed_up += 1
    short = [s.id for s in plan.slots if len(plan.assigned.get(s.id, ())) < s.needed]
    return Outcome(created, signed_up, short)


def create_cleanup(session: Session, slot: Slot, created_by: int | None) -> Occurrence:
    start = slot.start.replace(tzinfo=TZ)
    activity = store.create_activity(
        session,
        {
            "title": TITLES[slot.place.kind].format(slot.place.name),
            "kind": KIND,
            "team": TEAM,
            "grid_id": slot.place.grid_id,
            "courtyard": slot.place.name,
            "start": start,
            "duration_minutes": int((slot.end - slot.start).total_seconds() // 60),
            "roles": [{"name": "cleaner", "needed": slot.needed, "skills": []}],
        },
        created_by,
    )
    return store.ensure_occurrence(session, activity.id, start)


def rotation(session: Session, places: list[Place], start: datetime, end: datetime) -> dict:
    """The clean-ups of [start, end) at the rotation's places as rows, counts of volunteers' clean-ups
    (names to be filled in), and the self-managed courtyards left to their own rota."""
    rotating, own = cleanups.to_clean(places)
    by_name = {p.name: p for p in rotating}
    found = [
        (key, occ) for key, occ in sorted(found_cleanups(session, start, end).items(), key=_when) if key[0] in by_name
    ]
    people = store.confirmed_volunteers(session, [occ.id for _, occ in found])
    rows = [
        {
            "occurrence_id": occ.id,
            "place_code": by_name[name].code,
            "place": name,
            "place_kind": by_name[name].kind,
            "grid_id": by_name[name].grid_id,
            "start": from_db(occ.start),
            "end": from_db(occ.end),
            "needed": sum(r.capacity for r in occ.roles),
            "volunteers": [{"id": vid} for vid in people.get(occ.id, [])],
        }
        for (name, _), occ in found
    ]
    counts = Counter(v["id"] for row in rows for v in row["volunteers"])
    return {
        "start": start,
        "end": end,
        "rows": rows,
        "counts": [{"volunteer_id": vid, "count": n} for vid, n in sorted(counts.items(), key=lambda x: (-x[1], x[0]))],
        "own_rota": [{"code": p.code, "name": p.name, "grid_id": p.grid_id} for p in own],
    }


def _when(item):
    (name, _), occ = item
    return occ.start, name


def named(view: dict, members: list[dict], others: dict[int, str]) -> dict:
    """The rotation with each volunteer's name, and a count for every member of the team (none for
    some is part of the picture of fairness)."""
    names = {**others, **{m["id"]: m["name"] for m in members}}
    for row in view["rows"]:
        for person in row["volunteers"]:
            person["name"] = names.get(person["id"], "")
    counts = {m["id"]: 0 for m in members} | {c["volunteer_id"]: c["count"] for c in view["counts"]}
    view["counts"] = [
        {"volunteer_id": vid, "name": names.get(vid, ""), "count": n}
        for vid, n in sorted(counts.items(), key=lambda x: (-x[1], x[0]))
    ]
    return view


# --- the RPC methods -----------------------------------------------------------------------------


class CleanupMixin:
    """``plan_cleanups`` and ``cleanup_rotation``; uses the service's ``_work``, ``caller``, ``volunteers``."""

    def _places(self) -> list[Place]:
        courtyards, green = self.volunteers.cleanup_places()
        return places_from(courtyards, green)

    def _named_rotation(self, view: dict, members: list[dict]) -> dict:
        others = {c["volunteer_id"] for c in view["counts"]} - {m["id"] for m in members}
        found = self.volunteers.lookup(others, [], [])["volunteers"] if others else []
        return named(view, members, {v["id"]: v["name"] for v in found})

    @rpc
    @contract(
        access=ORGANISERS,
        request=schemas.PlanCleanupsIn,
        response=schemas.CleanupPlanOut(),
        errors=(Forbidden, InvalidInput, Unavailable),
        emits=("signup_confirmed",),
    )
    def plan_cleanups(self, start, weeks=4):
        """Plan the clean-up rotation of ``weeks`` weeks from the week of ``start``: sanitation occurrences of
        the courtyards (the seven self-managed ones run their own rota), the buildings and the green
        spaces at their cadence, and the sanitation and green protection team spread fairly over them.

        Planning again adds only what is missing: the clean-ups already there (by place and day) and
        the volunteers on them stay, and each volunteer's count includes them."""
        if not self.caller.is_organiser:
            raise Forbidden("organisers only (context data user.roles must include 'organiser')")
        places = self._places()
        begin, end = window(start, weeks)
        members = self.volunteers.team_members(TEAM)
        windows = self.volunteers.availability_windows(begin, end, TEAM)

        def work(session):
            planning.hold(session, "cleanups")  # the clean-ups of a plan made meanwhile are found, not made again
            plan, found = make_plan(session, places, start, weeks, members, windows, self.clock())
            outcome = apply(session, plan, found, self.caller.volunteer_id)
            view = rotation(session, places, begin, end)
            return {**view, "created": outcome.created, "signed_up": outcome.signed_up, "short": outcome.short}

        return self._named_rotation(self._work(work), members)

    @rpc
    @contract(
        access=grid_scope.READERS_AND_LEADERS,
        request=schemas.CleanupRotationIn,
        response=schemas.CleanupRotationOut(),
        errors=(InvalidInput, Unavailable),
    )
    def cleanup_rotation(self, start, end):
        """The clean-ups of [start, end) at the rotation's places: each with its place, time and volunteers;
        each volunteer's count (the fairness of the spread) and the self-managed courtyards' own rota.

        A grid leader gets the places of the grids they lead, and the counts of the volunteers on their
        clean-ups or living there."""
        places, members = self._places(), self.volunteers.team_members(TEAM)
        grids = grid_scope.grids_read(self.caller)
        if grids is not None:
            places = [p for p in places if p.grid_id in grids]
            members = [m for m in members if m.get("grid_id") in grids]
        return self._named_rotation(self._work(lambda s: rotation(s, places, start, end)), members)


def demo_cleanups(session: Session, monday: date) -> int:
    """``make run``'s clean-ups, loaded before the services run: the coming four weeks' rotation without
    volunteers (``demo`` fills the seats once the services answer). The places are the volunteers
    service's reference data, read from its code as the demo runs beside it; none without it."""
    try:
        from volunteers import structure
    except ImportError:
        return 0
    places = places_from([vars(c) for c in structure.COURTYARDS], [vars(g) for g in structure.GREEN_SPACES])
    plan, found = make_plan(session, places, monday, DEMO_WEEKS, [], {}, now())
    return apply(session, plan, found, None).created


def demo(rpc, monday: date) -> str:
    """``make run``'s clean-up rotation: the coming four weeks planned (a second run adds nothing)."""
    plan = rpc.activities.plan_cleanups(start=monday.isoformat(), weeks=DEMO_WEEKS)
    counts = [c["count"] for c in plan["counts"]] or [0]
    return (
        f"clean-up rotation of {DEMO_WEEKS} weeks: {len(plan['rows'])} clean-ups ({plan['created']} new), "
        f"{plan['signed_up']} sign-ups made, {len(plan['counts'])} volunteers with {min(counts)}-{max(counts)} each, "
        f"{len(plan['own_rota'])} self-managed courtyards on their own rota"
    )
