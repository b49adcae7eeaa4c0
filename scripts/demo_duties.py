"""Demo duties through the services' own RPC: sign-ups for the coming two weeks, the patrol roster, and a
tighter draft that shows what cannot be covered and why.

Run by `make run` once the services answer, so the demo has calendars with something in them.
Every call is idempotent (sign-ups carry a request_id; a published roster is not built again),
so restarting `make run` adds nothing.
"""

from __future__ import annotations

import itertools
from datetime import timedelta

from nameko.exceptions import MethodNotFound, UnknownService

import guanyinli.errors
from activities import cleanup_rotation
from guanyinli.identity import tools_context
from guanyinli.timeutil import now

SYSTEM = tools_context(["system"], name="demo")
SIGNUP_DAYS = 14


def sign_up_duties(rpc, start, days: int = SIGNUP_DAYS) -> int:
    """Fill the roles of non-patrol occurrences from available volunteers, spreading the load. Patrol
    leaders are left to the patrol roster: a grid has few, and one busy elsewhere on a morning its patrol
    needs a leader leaves that patrol short."""
    occurrences = rpc.activities.list_occurrences(
        start=start.isoformat(), end=(start + timedelta(days=days)).isoformat()
    )
    confirmed = 0
    turn = itertools.count()
    for occurrence in occurrences:
        if occurrence["kind"] == "patrol" or occurrence["status"] != "scheduled":
            continue
        for role in occurrence["roles"]:
            missing = role["needed"] - role["confirmed"]
            if missing <= 0:
                continue
            candidates = rpc.volunteers.available_volunteers(
                start=role["duty_start"],
                end=role["duty_end"],
                team=occurrence["team"],
                skill=role["skills"][0] if role["skills"] else None,
            )
            candidates = [c for c in candidates if "patrol_leader" not in (c.get("skills") or [])]
            if not candidates:
                continue
            shift = next(turn) * 7 % len(candidates)
            for volunteer in candidates[shift:] + candidates[:shift]:
                if missing <= 0:
                    break
                try:
                    signup = rpc.activities.sign_up(
                        occurrence_id=occurrence["id"],
                        volunteer_id=volunteer["id"],
                        role=role["name"],
                        request_id=f"demo:{occurrence['id']}:{role['name']}:{volunteer['id']}",
                    )
                except guanyinli.errors.PlatformError:
                    continue  # a clash or a missing skill: the next candidate
                if signup["status"] == "confirmed":
                    missing -= 1
                    confirmed += 1
    return confirmed


def publish_patrol_roster(rpc, start, days: int = 28) -> str:
    """Build and publish the patrol roster of the demo month unless one is published already."""
    try:
        rosters = rpc.activities.list_rosters()
    except MethodNotFound:
        return "the activities service has no roster calls"
    if any(r.get("status") == "published" for r in rosters):
        return "patrol roster already published"
    draft = rpc.activities.build_roster(
        start=start.isoformat(), end=(start + timedelta(days=days)).isoformat(), options={"time_limit": 10}
    )
    published = rpc.activities.publish_roster(roster_id=draft["id"])
    return (
        f"patrol roster {published['id']} published: {len(draft.get('assignments') or [])} assignments, "
        f"{len(draft.get('gaps') or [])} shifts short (solver: {draft.get('solver_status')})"
    )


def assign_weekend_school(rpc, start, days: int = 28) -> str:
    """The weekend school's tutors for the demo month (its register is activities.demo's), unless assigned."""
    window = {"start": start.isoformat(), "end": (start + timedelta(days=days)).isoformat()}
    try:
        if rpc.activities.list_assignments(**window):
            return "weekend school already assigned"
        answer = rpc.activities.assign_tutors(**window, time_limit=10)
    except MethodNotFound:
        return "the activities service has no weekend school calls"
    except guanyinli.errors.PlatformError as exc:  # the services keep running; the organiser can assign
        return f"weekend school not assigned: {type(exc).__name__}: {exc}"
    return (
        f"weekend school: {answer['covered']} of {answer['needs']} pupils' subjects have a tutor over "
        f"{answer['sessions']} sessions (solver: {answer['status']}); `guanyinli school show` lists them"
    )


TIGHT_GRIDS = [7]
TIGHT_OPTIONS = {"time_limit": 5, "max_per_week": 1}


def tight_draft(rpc, start, days: int = 7) -> str:
    """A second, tighter draft (never published): grid 7 for a week if each volunteer patrolled once a
    week at most. It cannot be covered, and the draft says which shifts and why, with suggestions. Made
    before the month is published, whose duties would otherwise be kept in it as confirmed sign-ups."""
    if any(r.get("grids") == TIGHT_GRIDS for r in rpc.activities.list_rosters()):
        return "tighter draft roster already there"
    draft = rpc.activities.build_roster(
        start=start.isoformat(),
        end=(start + timedelta(days=days)).isoformat(),
        grids=TIGHT_GRIDS,
        options=TIGHT_OPTIONS,
    )
    return (
        f"tighter draft roster {draft['id']} (grid 7, one week, one patrol a week each): "
        f"{len(draft.get('gaps') or [])} of {len(draft.get('shifts') or [])} shifts short (solver: "
        f"{draft.get('solver_status')}); `guanyinli roster show {draft['id']}` says why"
    )


def community_needs(rpc) -> str:
    """The two-way list's community needs derived again once the sign-ups are in (roles still short
    of people, appeals nobody took), and the matches the partners' offers make with them."""
    found = rpc.appeals.refresh_community_needs()
    proposed = rpc.appeals.propose_matches()
    return f"two-way list: {found['opened']} community needs derived, {len(proposed)} more matches proposed"


def appeals_month(rpc) -> str:
    """The past month of residents' appeals (``appeals.month_demo``), handled by the grids' own people."""
    from sqlalchemy.orm import Session

    from appeals.month_demo import demo_month
    from guanyinli.config import database_url
    from guanyinli.db import make_engine

    grids = [rpc.volunteers.get_grid(grid_id=g["id"]) for g in rpc.volunteers.list_grids()]
    engine = make_engine(database_url("appeals"))
    try:
        with Session(engine, expire_on_commit=False) as session, session.begin():
            made = demo_month(session, grids, now())
    finally:
        engine.dispose()
    if not made["appeals"]:
        return "appeals: the past month is there already"
    return f"appeals: {made['appeals']} over the past month, {made['closed']} closed, {made['open']} open"


def populate(rpc_config: dict) -> None:
    from guanyinli.client import Client

    monday = (now() + timedelta(days=7 - now().weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    with Client(rpc_config, timeout=120, context_data=SYSTEM) as rpc:
        print(f"demo: {cleanup_rotation.demo(rpc, monday.date())}", flush=True)  # before the sign-ups fill seats
        print(f"demo: {assign_weekend_school(rpc, monday)}", flush=True)
        print(f"demo: {sign_up_duties(rpc, monday)} sign-ups confirmed for the next two weeks", flush=True)
        try:
            print(f"demo: {tight_draft(rpc, monday)}", flush=True)
        except (guanyinli.errors.PlatformError, MethodNotFound) as exc:
            print(f"demo: no tighter draft roster: {type(exc).__name__}: {exc}", flush=True)
        try:
            print(f"demo: {publish_patrol_roster(rpc, monday)}", flush=True)
        except guanyinli.errors.PlatformError as exc:  # the services keep running; the organiser can retry
            print(f"demo: patrol roster not published: {type(exc).__name__}: {exc}", flush=True)
        try:
            print(f"demo: {appeals_month(rpc)}", flush=True)
        except (guanyinli.errors.PlatformError, MethodNotFound, UnknownService) as exc:
            print(f"demo: no month of appeals: {type(exc).__name__}: {exc}", flush=True)
        try:
            print(f"demo: {community_needs(rpc)}", flush=True)
        except (guanyinli.errors.PlatformError, MethodNotFound, UnknownService) as exc:
            print(f"demo: two-way list not refreshed: {type(exc).__name__}: {exc}", flush=True)
