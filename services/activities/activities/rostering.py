"""Patrol rosters in the activities service: gather the problem, solve off the hub, publish the duties.

``RosterMixin`` joins ``ActivitiesService`` through its bases and uses its ``db``, ``dispatch``,
``caller`` and ``volunteers``. The solver (``activities.roster``) is pure and blocks while it
works, so it runs in eventlet's OS thread pool with a time limit; its progress callback, called
on the solver's thread, only puts numbers on a thread-safe queue that a green thread turns into
``roster_progress`` events, so heartbeats and other workers go on during a solve.

Shifts are patrol occurrences (``shift_id`` is the occurrence id as text); a published roster's
duties are confirmed sign-ups with ``source = 'roster'``.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta

import eventlet
import eventlet.tpool
from eventlet import patcher
from nameko.dependency_providers import Config
from nameko.extensions import DependencyProvider
from sqlalchemy import select
from sqlalchemy.orm import Session

from activities import domain, roster, schemas, store, swaps
from activities.exceptions import GridNotFound, NotExportable, SwapClosed, SwapExpired, SwapRejected
from activities.models import OUTBOX, Activity, Occurrence, Roster, RosterSwap, Signup
from activities.roster import fileformat
from guanyinli import tenancy
from guanyinli.errors import (
    Conflict,
    Forbidden,
    InternalError,
    InvalidInput,
    KeyReused,
    NotFound,
    Unavailable,
    no_grid,
    number_ranges,
)
from guanyinli.events import publish
from guanyinli.identity import ORGANISERS, READERS, own
from guanyinli.rpc import CORRELATION_KEY, rpc, rpc_request
from guanyinli.schemas import contract
from guanyinli.timeutil import TZ, from_db, iso, local, now, to_db

log = logging.getLogger(__name__)


class ContextDataProvider(DependencyProvider):
    """The worker's whole context data (nameko's own provider of that name gives one key)."""

    def get_dependency(self, worker_ctx):
        return worker_ctx.context_data


_queue = patcher.original("queue")

MAX_TIME_LIMIT = 120.0
ROSTER_ERRORS = (NotFound, InvalidInput, Conflict, Unavailable)  # Unavailable: GRID_NEIGHBOURS unreadable


# --- the problem, from our tables and the volunteers service (pure where it can be) -----------


def naive(dt: datetime) -> datetime:
    """The solver's time: naive local Asia/Shanghai."""
    return local(dt).replace(tzinfo=None)


def roster_key(scope: str, request_id: str) -> str:
    """A build's ``request_key`` for a caller's request_id: the caller's own (guanyinli.keys), so
    the same string from another organiser is another build."""
    return "key:" + hashlib.sha256(f"{scope}\n{request_id}".encode()).hexdigest()


def patrol_occurrences(session: Session, start: datetime, end: datetime, grids: list[int]) -> list[Occurrence]:
    found = store.list_occurrences(session, start, end, kind="patrol")
    return [
        occ
        for occ in found
        if store.effective_status(occ) == "scheduled"
        and store.effective_place(occ)[0] in grids
        and occ.start >= to_db(start)
        and occ.end <= to_db(end)
    ]


def window_grids(grids: list[int] | None, known: Iterable[int]) -> list[int]:
    """The grids a roster window asks for, sorted; every grid the community has (``known``, the volunteers
    service's) when none is named, and GridNotFound for one it does not have."""
    unknown = set(grids or ()) - set(known)
    if unknown:
        raise GridNotFound(
            f"grids: {no_grid(unknown, known)}",
            f"没有{'、'.join(f'{g}号网格' for g in sorted(unknown))}；社区的网格是{number_ranges(known)}",
        )
    return sorted(set(grids or known))


def no_patrols(start: datetime, end: datetime, grids: list[int]) -> InvalidInput:
    """A roster request whose window and grids hold no patrol: said in plain words, not an empty roster."""
    a, b = f"{local(start):%Y-%m-%d %H:%M}", f"{local(end):%Y-%m-%d %H:%M}"
    return InvalidInput(
        f"start, end: no patrol of grid{'s' if len(grids) > 1 else ''} {', '.join(map(str, grids))} from {a} to "
        f"{b}, so there is nothing to roster; choose a window with patrols (list_occurrences with kind patrol "
        "shows them) or create the patrols first",
        f"{a} 至 {b} 期间，{'、'.join(f'{g}号网格' for g in grids)}没有巡逻班次，无需排班；请选择有巡逻的时间段，或先创建巡逻活动",
    )


def shift_of(occ: Occurrence) -> roster.Shift:
    seats = occ.roles[0] if occ.roles else None
    needed = seats.role.needed if seats is not None else 2
    capacity = seats.capacity if seats is not None else needed
    start = naive(from_db(occ.start))
    return roster.Shift(
        id=str(occ.id),
        grid=store.effective_place(occ)[0],
        start=start,
        end=naive(from_db(occ.end)),
        min_patrollers=needed,
        max_patrollers=max(capacity, needed),
        leader_needed=True,
        kind=roster.shift_kind(start),
    )


def confirmed_duties(session: Session, start: datetime, end: datetime) -> list[tuple[int, Occurrence, Activity]]:
    rows = session.execute(
        select(Signup.volunteer_id, Occurrence, Activity)
        .join(Occurrence, Signup.occurrence_id == Occurrence.id)
        .join(Activity, Occurrence.activity_id == Activity.id)
        .where(Signup.status == "confirmed", Occurrence.start < to_db(end), Occurrence.end > to_db(start))
    )
    return [(vid, occ, act) for vid, occ, act in rows]


def problem_from(
    shifts: list[roster.Shift],
    team: list[dict],
    windows: dict[int, list[tuple[datetime, datetime]]],
    other_duties: dict[int, list[tuple[datetime, datetime]]],
    pinned: list[roster.Assignment],
    rules: roster.Rules,
    grid_neighbours: dict[int, frozenset[int]] | None = None,
    grid_names_zh: dict[int, str] | None = None,
    period: tuple[datetime, datetime] | None = None,
) -> roster.Problem:
    """The solver's input: a volunteer is unavailable for every shift time no window of theirs covers,
    and brings their roster settings (``settings_of``; targets for the roster's ``period``). Messages
    name a grid "grid 7" in English (the solver's default) and by its own name (`grid_names_zh`) in Chinese."""
    times = sorted({(s.start, s.end) for s in shifts})
    known = {str(person["id"]) for person in team}
    volunteers = []
    for person in team:
        own = [(naive(a), naive(b)) for a, b in windows.get(person["id"], [])]
        away = tuple((a, b) for a, b in times if not any(w0 <= a and b <= w1 for w0, w1 in own))
        volunteers.append(
            roster.Volunteer(
                id=str(person["id"]),
                name=person["name"],
                home_grid=person.get("grid_id") or 0,
                leader="patrol_leader" in (person.get("skills") or []),
                unavailable=away,
                duties=tuple((naive(a), naive(b)) for a, b in other_duties.get(person["id"], [])),
                **settings_of(person, rules, period, known),
            )
        )
    return roster.Problem(
        volunteers=tuple(volunteers),
        shifts=tuple(shifts),
        rules=rules,
        pinned=tuple(p for p in pinned if p.volunteer_id in known),
        grid_names_zh=grid_names_zh or {},
        grid_neighbours=grid_neighbours or {},
    )


def settings_of(person: dict, rules: roster.Rules, period: tuple[datetime, datetime] | None, team: set[str]) -> dict:
    """A volunteer's roster settings (volunteers service) as the solver's ``Volunteer`` fields: their own
    weekly cap when it is below the roster's, their target a month as the roster period's share
    (``domain.period_target``; none without a period), preferred days and times of day, and the partners
    among the patrol team (``team``: its ids)."""
    cap = person.get("max_duties_per_week")
    return {
        "max_per_week": min(cap, rules.max_per_week) if cap is not None else None,
        "target": domain.period_target(person.get("target_per_month"), *period) if period else None,
        "preferred_days": frozenset(person.get("preferred_days") or ()),
        "preferred_kinds": frozenset(person.get("preferred_times") or ()),
        "partners": frozenset(str(p) for p in person.get("partners") or ()) & team,
    }


def grid_map(text: str | None) -> dict[int, frozenset[int]]:
    """GRID_NEIGHBOURS from the config, e.g. "1:2,6 2:3,7": which grids border which (both ways)."""
    near: dict[int, set[int]] = defaultdict(set)
    for entry in str(text or "").split():
        grid, _, others = entry.partition(":")
        try:
            g, ns = int(grid), [int(n) for n in others.split(",") if n]
        except ValueError:
            raise ValueError(f"GRID_NEIGHBOURS: {entry!r} is not GRID:GRID,GRID,...") from None
        if not ns or not all(x >= 1 for x in (g, *ns)):
            raise ValueError(f"GRID_NEIGHBOURS: {entry!r} needs grid ids (from 1), each with its neighbours")
        for n in ns:
            if n != g:
                near[g].add(n)
                near[n].add(g)
    return {g: frozenset(ns) for g, ns in sorted(near.items())}


def rules_from(options: dict) -> roster.Rules:
    rules = roster.Rules()
    changes = {
        k: options[k] for k in ("max_per_week", "min_rest_hours", "neighbour_grids") if options.get(k) is not None
    }
    return roster.Rules(**{**rules.__dict__, **changes})


def result_document(problem: roster.Problem, result: roster.RosterResult) -> dict:
    """What a roster row keeps of a solve: everything the board, the report and a repair need."""
    report = result.report
    return {
        "solver_status": result.status,
        "objective": result.objective,
        # a repair minimises changes and proves no bound on the cost: none is shown rather than 0
        "bound": result.bound if result.gap is not None else None,
        "gap": result.gap,
        "wall_time": round(result.wall_time, 3),
        "solutions": result.solutions,
        "first_solution_time": result.first_solution_time,
        "changed": result.changed,
        "forced_out": result.forced_out,
        "shifts": [
            {
                "shift_id": s.id,
                "occurrence_id": int(s.id),
                "grid_id": s.grid,
                "start": iso(s.start),
                "end": iso(s.end),
                "min_patrollers": s.min_patrollers,
                "max_patrollers": s.max_patrollers,
                "leader_needed": s.leader_needed,
                "kind": s.kind,
            }
            for s in sorted(problem.shifts, key=lambda s: (s.start, s.grid))
        ],
        "assignments": [
            {"shift_id": a.shift_id, "volunteer_id": int(a.volunteer_id)} for a in sorted(result.assignments)
        ],
        "gaps": [
            {
                "shift_id": g.shift_id,
                "grid": g.grid,
                "missing": g.missing,
                "leader_missing": g.leader_missing,
                "reason": g.reason,
                "reason_zh": g.reason_zh or g.reason,
            }
            for g in result.gaps
        ],
        "problems": list(result.problems),
        "problems_zh": list(result.problems_zh or result.problems),
        "suggestions": [
            {"kind": r.kind, "description": r.description, "description_zh": r.description_zh, "fixes": r.fixes}
            for r in result.suggestions
        ],
        "report": None
        if report is None
        else {
            "coverage": {str(g): dict(c) for g, c in report.coverage.items()},
            "load": {role: dict(v) for role, v in report.load.items()},
            "volunteers": [
                {"volunteer_id": int(v.volunteer_id), "role": v.role, "shifts": v.shifts, "target": v.target}
                for v in report.volunteers
            ],
            "costs": dict(report.costs),
        },
    }


def roster_view(row: Roster) -> dict:
    view = {
        "id": row.id,
        "status": row.status,
        "start": from_db(row.start),
        "end": from_db(row.end),
        "grids": row.grids,
        "options": row.options,
        "job_id": row.job_id,
        "parent_id": row.parent_id,
        "created_at": from_db(row.created_at),
        "published_at": from_db(row.published_at),
        **(row.result or {}),
    }
    if row.result is not None:
        view["assignment_count"] = len(view.get("assignments") or ())
        view["shifts_short"] = len({g["shift_id"] for g in view.get("gaps") or ()})
    if "problems" in view:  # rosters stored before the Chinese wording: their English stands in
        view.setdefault("problems_zh", view["problems"])
        for gap in view.get("gaps") or ():
            gap.setdefault("reason_zh", gap.get("reason"))
    return view


def assignment_changes(
    before: set[tuple[str, int]], after: set[tuple[str, int]], shifts: dict[str, dict]
) -> list[dict]:
    """Per volunteer, the shifts a new roster adds and removes (the roster_published payload)."""
    per: dict[int, dict] = defaultdict(lambda: {"added": [], "removed": []})
    for key, pairs in (("added", after - before), ("removed", before - after)):
        for shift_id, vid in sorted(pairs):
            s = shifts[shift_id]
            per[vid][key].append(
                {
                    "shift_id": shift_id,
                    "grid_id": s["grid_id"],
                    "start": s["start"],
                    "end": s["end"],
                    "occurrence_id": int(shift_id),
                }
            )
    return [{"volunteer_id": vid, **changes} for vid, changes in sorted(per.items())]


# --- the mixin -----------------------------------------------------------------------------------


class RosterMixin:
    """RPC of the patrol roster: build, read, publish, repair, swap."""

    request_context = ContextDataProvider()
    roster_settings = Config()

    def _grid_map(self) -> dict[int, frozenset[int]]:
        """Which grids border which: the community's own map (the ``neighbours`` of its grids in the
        volunteers service's structure), else, for the default community only, GRID_NEIGHBOURS of the config."""
        near = self.volunteers.grid_neighbours()
        community = self.volunteers.community()
        if near or (community is not None and not tenancy.is_default(community, self.roster_settings)):
            return near
        try:
            return grid_map((self.roster_settings or {}).get("GRID_NEIGHBOURS"))
        except ValueError as exc:
            raise Unavailable(str(exc)) from None

    @property
    def request_key(self) -> str | None:
        correlation = (self.request_context or {}).get(CORRELATION_KEY)
        return f"rpc:{correlation}" if correlation else None

    def _roster(self, session: Session, roster_id: int) -> Roster:
        row = session.get(Roster, roster_id)
        if row is None:
            raise NotFound(f"roster_id: no roster {roster_id}")
        return row

    def _problem(
        self, start: datetime, end: datetime, grids: list[int], options: dict, names_zh: dict[int, str] | None = None
    ) -> roster.Problem:
        """Shifts and pinned duties from our tables, the patrol team and its availability over RPC (and the
        grids' names, unless the caller asked for them already)."""

        def gather(session):
            occurrences = patrol_occurrences(session, start, end, grids)
            shift_ids = {occ.id for occ in occurrences}
            pinned, others = [], defaultdict(list)
            for vid, occ, _activity in confirmed_duties(session, start, end):
                if occ.id in shift_ids:
                    pinned.append(roster.Assignment(str(occ.id), str(vid)))
                else:
                    others[vid].append((from_db(occ.start), from_db(occ.end)))
            return [shift_of(o) for o in occurrences], pinned, dict(others)

        shifts, pinned, others = self._work(gather)
        team = self.volunteers.patrol_team()
        windows = self.volunteers.availability_windows(start, end, "voluntary_patrol")
        if names_zh is None:
            names_zh = self.volunteers.grid_names()
        rules = rules_from(options)
        return problem_from(
            shifts, team, windows, others, pinned, rules, self._grid_map(), names_zh, period=(start, end)
        )

    def _solve(self, roster_id: int, job_id: str, fn, *args, **kwargs) -> roster.RosterResult:
        """Run a solver call in the OS thread pool; its progress becomes roster_progress events."""
        updates = _queue.Queue()
        finished = eventlet.event.Event()

        def progress(solutions, objective, bound, gap, elapsed):
            updates.put((solutions, objective, bound, gap, elapsed, False))

        def pump():
            while True:
                try:
                    solutions, objective, bound, gap, elapsed, done = updates.get_nowait()
                except _queue.Empty:
                    if finished.ready():
                        return
                    eventlet.sleep(0.1)
                    continue
                try:
                    publish(
                        self.dispatch,
                        "roster_progress",
                        {
                            "roster_id": roster_id,
                            "job_id": job_id,
                            "solutions": solutions,
                            "objective": objective,
                            "bound": bound,
                            "gap": gap,
                            "elapsed": elapsed,
                            "done": done,
                        },
                    )
                except Exception:  # progress is a courtesy: a lost one never fails the solve
                    log.warning("roster_progress not dispatched", exc_info=True)

        pumper = eventlet.spawn(pump)
        try:
            if "progress" in inspect.signature(fn).parameters:
                kwargs["progress"] = progress
            result = eventlet.tpool.execute(fn, *args, **kwargs)
        finally:
            finished.send()
        pumper.wait()
        try:
            publish(
                self.dispatch,
                "roster_progress",
                {
                    "roster_id": roster_id,
                    "job_id": job_id,
                    "solutions": result.solutions,
                    "objective": result.objective,
                    "bound": result.bound,
                    "gap": result.gap,
                    "elapsed": result.wall_time,
                    "done": True,
                },
            )
        except Exception:
            log.warning("final roster_progress not dispatched", exc_info=True)
        return result

    @rpc_request
    @contract(
        access=ORGANISERS,
        request=schemas.BuildRosterIn,
        response=schemas.RosterOut(),
        errors=(*ROSTER_ERRORS, GridNotFound, KeyReused),
        emits=("roster_progress",),
    )
    def build_roster(self, start, end, grids=None, options=None, request_id=None):
        """Build a draft patrol roster of [start, end) for the grids (default every grid), with its report.

        Progress (rosters found, objective, bound, gap) is dispatched as roster_progress events while
        the solver works. A window and grids without a patrol are refused (InvalidInput). When shifts
        cannot all be covered, the draft carries the plain-words reasons (gaps, problems) and
        suggested relaxations, and is the best roster with gaps marked.
        Options: time_limit (s, default 10), coverage (auto|hard|soft), max_per_week, min_rest_hours,
        neighbour_grids (volunteers may patrol the grids next to their own, as the community's structure
        maps them, or for the default community the GRID_NEIGHBOURS config; InvalidInput without a map).
        The same request_id of the same caller with the same window, grids and options (or a request
        the broker delivers again because the service died while solving) continues the same roster
        instead of making a second one; with other arguments it is refused (KeyReused).
        """
        self._organiser()
        names_zh = self.volunteers.grid_names()
        grids = window_grids(grids, names_zh)
        options = dict(options or {})
        if not self._grid_map() and options.get("neighbour_grids"):  # a broken map: Unavailable, before any row
            raise InvalidInput(
                "neighbour_grids: this community has no map of which grids border which (the neighbours of its"
                " grids in its structure file; for the default community GRID_NEIGHBOURS in the config, e.g."
                ' "1:2,6 2:3,7")'
            )
        job_id = uuid.uuid4().hex
        key = roster_key(self.caller.scope, request_id) if request_id else self.request_key

        def create(session):
            found = session.scalars(select(Roster).where(Roster.request_key == key)).first() if key else None
            if found is not None:
                if request_id and (from_db(found.start), from_db(found.end), found.grids, found.options) != (
                    start,
                    end,
                    grids,
                    options,
                ):
                    raise KeyReused(
                        f"request_id {request_id!r} was used for another request of build_roster:"
                        " use a new request_id for a new request",
                        f"request_id「{request_id}」已用于另一个build_roster请求：新的请求请用新的request_id",
                    )
                return found.id, found.status != "solving"
            if not patrol_occurrences(session, start, end, grids):
                raise no_patrols(start, end, grids)
            row = Roster(
                start=to_db(start),
                end=to_db(end),
                grids=grids,
                options=options,
                status="solving",
                job_id=job_id,
                created_by=self.caller.name,
                request_key=key,
            )
            session.add(row)
            session.flush()
            return row.id, False

        roster_id, answered = self._work(create)
        if answered:
            return self._work(lambda s: roster_view(self._roster(s, roster_id)))
        try:
            problem = self._problem(start, end, grids, options, names_zh)
            solver_options = roster.Options(
                time_limit=options.get("time_limit", 10.0), coverage=options.get("coverage", "auto")
            )
            result = self._solve(roster_id, job_id, roster.solve, problem, solver_options)
            # pins the rules forbid (a sign-up in another grid or outside the volunteer's hours) are left
            # out and named in the draft's problems; every other rule is checked
            unkept = set(result.unkept_pins)
            kept = replace(problem, pinned=tuple(p for p in problem.pinned if p not in unkept))
            broken = roster.validate(kept, result.assignments, coverage=False)
            if broken:  # the independent check of every roster before anyone sees it
                log.error("roster %s breaks hard rules: %s", roster_id, broken)
                raise InternalError(
                    f"roster {roster_id}: the solver's roster breaks {broken[0].rule}: {broken[0].message}"
                )
        except Exception:
            self._work(lambda s: setattr(self._roster(s, roster_id), "status", "failed"))
            raise

        def save(session):
            row = self._roster(session, roster_id)
            row.result = result_document(problem, result)
            row.status = "draft"
            return roster_view(row)

        return self._work(save)

    @rpc
    @contract(access=READERS, request=schemas.RosterIdIn, response=schemas.RosterOut(), errors=(NotFound,))
    def get_roster(self, roster_id):
        """One roster: shifts, assignments, gaps with reasons, suggestions and the report."""
        return self._work(lambda s: roster_view(self._roster(s, roster_id)))

    @rpc
    @contract(access=READERS, response=schemas.RosterSummary(many=True))
    def list_rosters(self):
        """Every roster, newest first, without its assignments."""
        return self._work(lambda s: [roster_view(r) for r in s.scalars(select(Roster).order_by(Roster.id.desc()))])

    @rpc
    @contract(access=READERS, request=schemas.RosterIdIn, response=schemas.RosterReportOut(), errors=(NotFound,))
    def roster_report(self, roster_id):
        """Coverage per grid, load per volunteer (min, max, spread by role), each soft rule's cost, gaps."""

        def work(session):
            view = roster_view(self._roster(session, roster_id))
            return {
                k: view.get(k)
                for k in (
                    "id",
                    "status",
                    "solver_status",
                    "objective",
                    "bound",
                    "gap",
                    "report",
                    "gaps",
                    "problems",
                    "problems_zh",
                    "suggestions",
                )
            }

        return self._work(work)

    @rpc
    @contract(
        access=READERS,
        request=schemas.RosterWindowIn,
        response=schemas.RosterMonthOut(),
        errors=(InvalidInput, GridNotFound, NotExportable, Unavailable),
    )
    def export_roster_month(self, start, end, grids=None):
        """The month build_roster would solve, as a patrol-roster/1 instance for solvers outside the service.

        The same shifts, volunteers and availability as a build with the service's default rules, in the
        format of docs/ROSTER-FORMAT.md; volunteers appear by name only. A window and grids without a
        patrol are refused (InvalidInput), a month whose rules the format cannot say too (NotExportable).
        Duties already signed up for and the service's own soft rules are not part of the format.
        """
        names_zh = self.volunteers.grid_names()
        grids = window_grids(grids, names_zh)
        problem = self._problem(start, end, grids, {}, names_zh)
        if not problem.shifts:
            raise no_patrols(start, end, grids)
        name = (
            f"Guanyinli patrols {local(start):%Y-%m-%d %H:%M} to {local(end):%Y-%m-%d %H:%M}, "
            f"grid{'s' if len(grids) > 1 else ''} {', '.join(map(str, grids))}"
        )
        try:
            return fileformat.instance_of(problem, name, TZ.key)
        except fileformat.FormatError as exc:
            raise NotExportable(str(exc)) from None

    def _apply(self, session: Session, row: Roster, event_type: str) -> dict:
        """Make a roster's assignments the confirmed roster duties of its shifts; queue the event."""
        result = row.result or {}
        shifts = {s["shift_id"]: s for s in result.get("shifts", [])}
        wanted = {(a["shift_id"], a["volunteer_id"]) for a in result.get("assignments", [])}
        current = {
            (str(occ_id), vid): signup_id
            for signup_id, occ_id, vid in session.execute(
                select(Signup.id, Signup.occurrence_id, Signup.volunteer_id).where(
                    Signup.occurrence_id.in_([int(s) for s in shifts]),
                    Signup.status == "confirmed",
                    Signup.source == "roster",
                )
            )
        }
        stamp = to_db(now())
        for pair in sorted(set(current) - wanted):
            if to_db(local(datetime.fromisoformat(shifts[pair[0]]["start"]))) > stamp:
                store.cancel_sign_up(session, current[pair])
        for shift_id, vid in sorted(wanted - set(current)):
            store.assign_patrol_duty(session, int(shift_id), vid)
        for older in session.scalars(
            select(Roster).where(
                Roster.status == "published", Roster.id != row.id, Roster.start < row.end, Roster.end > row.start
            )
        ):
            if set(older.grids) & set(row.grids):
                older.status = "superseded"
        row.status, row.published_at, row.version = "published", stamp, row.version + 1
        changes = assignment_changes(set(current), wanted, shifts)
        OUTBOX.add(
            session,
            event_type,
            {"roster_id": row.id, "start": from_db(row.start), "end": from_db(row.end), "changes": changes},
        )
        return roster_view(row)

    @rpc
    @contract(
        access=ORGANISERS,
        request=schemas.RosterIdIn,
        response=schemas.RosterOut(),
        errors=ROSTER_ERRORS,
        emits=("roster_published",),
    )
    def publish_roster(self, roster_id):
        """Create the roster's duties as confirmed sign-ups and announce each volunteer's changes.

        Publishing a published roster again changes nothing. A draft whose duties no longer fit
        (a full patrol, a clash with a duty taken since) is refused: build it again.
        """
        self._organiser()

        def work(session):
            row = self._roster(session, roster_id)
            if row.status == "published":
                return roster_view(row)
            if row.status != "draft":
                raise Conflict(f"roster_id: roster {roster_id} is {row.status}, only a draft can be published")
            return self._apply(session, row, "roster_published")

        return self._work(work)

    @rpc
    @contract(
        access=ORGANISERS,
        request=schemas.RepairRosterIn,
        response=schemas.RosterOut(),
        errors=ROSTER_ERRORS,
        emits=("roster_repaired",),
    )
    def repair_roster(self, roster_id, volunteer_ids, from_date=None):
        """Volunteers drop out of a published roster: re-solve with the fewest changed assignments.

        Shifts that have started stay as they are; the repaired roster is published at once (the old
        one is superseded) and roster_repaired tells each affected volunteer their changes.
        """
        self._organiser()
        row = self._work(lambda s: roster_view(self._roster(s, roster_id)))
        if row["status"] != "published":
            raise Conflict(f"roster_id: roster {roster_id} is {row['status']}; only a published roster is repaired")
        begin = max(row["start"], now())
        if from_date is not None:
            begin = max(begin, local(datetime.combine(from_date, datetime.min.time())))
        if begin >= row["end"]:
            raise Conflict(f"roster_id: roster {roster_id} has no shift left to repair")
        later = {s["shift_id"] for s in row.get("shifts", []) if datetime.fromisoformat(s["start"]) >= begin}
        rostered = {a["volunteer_id"] for a in row.get("assignments", []) if a["shift_id"] in later}
        idle = [v for v in dict.fromkeys(volunteer_ids) if v not in rostered]
        if idle:  # a mistyped id must not supersede the published roster with an identical one
            raise InvalidInput(
                f"volunteer_ids: {', '.join(map(str, idle))} {'has' if len(idle) == 1 else 'have'} no shift in "
                f"roster {roster_id} from {begin:%Y-%m-%d %H:%M} on: nothing to repair"
            )
        problem = self._problem(begin, row["end"], row["grids"], row["options"])
        absent = {str(v): [(naive(begin), naive(row["end"]))] for v in volunteer_ids}
        kept_before = [
            roster.Assignment(a["shift_id"], str(a["volunteer_id"]))
            for a in row.get("assignments", [])
            if a["shift_id"] in {s.id for s in problem.shifts}
        ]
        # The published duties are the previous roster, not pins: the repair may move them.
        problem = replace(
            problem,
            pinned=tuple(p for p in problem.pinned if p not in set(kept_before) and p.volunteer_id not in absent),
        )
        job_id = uuid.uuid4().hex
        # the build's time limit is only a guard here: a repair stops once its fewest changes are proven
        guard = roster.Options(time_limit=max(10.0, float(row["options"].get("time_limit", 10.0))))
        result = self._solve(
            roster_id,
            job_id,
            roster.repair,
            problem,
            kept_before,
            unavailable=absent,
            frozen_until=naive(now()),
            options=guard,
        )
        past = [a for a in row.get("assignments", []) if a["shift_id"] not in {s.id for s in problem.shifts}]
        document = result_document(problem, result)
        document["assignments"] = sorted(
            past + document["assignments"], key=lambda a: (a["shift_id"], a["volunteer_id"])
        )
        document["shifts"] = sorted(
            [s for s in row.get("shifts", []) if s["shift_id"] not in {x.id for x in problem.shifts}]
            + document["shifts"],
            key=lambda s: (s["start"], s["grid_id"]),
        )

        def work(session):
            old = self._roster(session, roster_id)
            new = Roster(
                start=old.start,
                end=old.end,
                grids=old.grids,
                options=old.options,
                status="draft",
                job_id=job_id,
                parent_id=old.id,
                result=document,
                created_by=self.caller.name,
            )
            session.add(new)
            session.flush()
            return self._apply(session, new, "roster_repaired")

        return self._work(work)

    # --- swaps: a volunteer proposes, the other volunteer (or an organiser) accepts ------------

    def _swap_check(
        self, roster_id: int, volunteer_a: int, shift_a: str, volunteer_b: int, shift_b: str
    ) -> tuple[dict, int, list[roster.Violation]]:
        """The roster as it is now (view and version) and the hard rules the swap would break in it."""

        def read(session):
            row = self._roster(session, roster_id)
            return roster_view(row), row.version

        view, version = self._work(read)
        if view["status"] not in ("draft", "published"):
            raise Conflict(f"roster_id: roster {roster_id} is {view['status']}", f"排班{roster_id}已不可换班")
        problem = self._problem(view["start"], view["end"], view["grids"], view["options"])
        assignments = {roster.Assignment(a["shift_id"], str(a["volunteer_id"])) for a in view.get("assignments", [])}
        a, b = roster.Assignment(shift_a, str(volunteer_a)), roster.Assignment(shift_b, str(volunteer_b))
        # The swap itself is what is asked, so the two duties must not count as pinned.
        problem = replace(problem, pinned=tuple(p for p in problem.pinned if p not in (a, b)))
        return view, version, roster.check_swap(problem, assignments, a, b)

    @rpc
    @contract(
        access=own("a volunteer for their own rostered patrol, or an organiser"),
        request=schemas.SwapOptionsIn,
        response=schemas.SwapOption(many=True),
        errors=(NotFound, Forbidden, Conflict),
    )
    def swap_options(self, volunteer_id, occurrence_id, days=7, limit=20):
        """Other volunteers' rostered patrols, within ``days`` of this volunteer's patrol on
        ``occurrence_id`` and not yet started, that a swap could exchange for it without breaking a
        hard rule, nearest first: what a volunteer chooses from before proposing a swap."""
        self._for_volunteer(volunteer_id)
        shift_a = str(occurrence_id)

        def read(session):
            for row in session.scalars(select(Roster).where(Roster.status == "published").order_by(Roster.id.desc())):
                pairs = (row.result or {}).get("assignments") or ()
                if any(a["shift_id"] == shift_a and a["volunteer_id"] == volunteer_id for a in pairs):
                    return roster_view(row)
            return None

        view = self._work(read)
        if view is None:
            raise NotFound(
                f"occurrence_id: volunteer {volunteer_id} has no rostered patrol on {occurrence_id}",
                f"志愿者{volunteer_id}在活动{occurrence_id}上没有排班",
            )
        now = self.clock()
        starts = {s["shift_id"]: local(datetime.fromisoformat(s["start"])) for s in view["shifts"]}
        if starts[shift_a] <= now:
            raise Conflict(f"occurrence_id: patrol {occurrence_id} has started", f"巡逻{occurrence_id}已开始")
        problem = self._problem(view["start"], view["end"], view["grids"], view["options"])
        assignments = {roster.Assignment(a["shift_id"], str(a["volunteer_id"])) for a in view["assignments"]}
        a = roster.Assignment(shift_a, str(volunteer_id))
        reach = timedelta(days=days)
        candidates = sorted(
            (
                b
                for b in assignments
                if b.volunteer_id != a.volunteer_id
                and b.shift_id != shift_a
                and now < starts[b.shift_id]
                and abs(starts[b.shift_id] - starts[shift_a]) <= reach
            ),
            key=lambda b: (abs(starts[b.shift_id] - starts[shift_a]), b.shift_id, b.volunteer_id),
        )
        shifts = {s["shift_id"]: s for s in view["shifts"]}
        options = []
        for b in candidates:
            free = replace(problem, pinned=tuple(p for p in problem.pinned if p not in (a, b)))
            if roster.check_swap(free, assignments, a, b):
                continue
            shift = shifts[b.shift_id]
            options.append(
                {
                    "roster_id": view["id"],
                    "shift_a": shift_a,
                    "volunteer_b": int(b.volunteer_id),
                    "shift_b": b.shift_id,
                    "occurrence_id": int(b.shift_id),
                    "grid_id": shift["grid_id"],
                    "start": starts[b.shift_id],
                    "end": local(datetime.fromisoformat(shift["end"])),
                }
            )
            if len(options) >= limit:
                break
        return options

    @staticmethod
    def _rejection(swap_id: int | None, violations: list[roster.Violation]) -> SwapRejected:
        reason = "; ".join(f"{v.rule}: {v.message}" for v in violations)
        reason_zh = "；".join(v.message_zh or v.message for v in violations)
        return SwapRejected(f"swap {swap_id} rejected: {reason}", f"换班申请{swap_id}未通过：{reason_zh}")

    @rpc
    @contract(
        access=own("one of the two volunteers (a proposal the other accepts), or an organiser (applied at once)"),
        request=schemas.SwapIn,
        response=schemas.SwapOut(),
        errors=(NotFound, Forbidden, SwapRejected, SwapExpired, Conflict),
        emits=("swap_proposed", "swap_accepted"),
        key="request_id",
    )
    def request_swap(self, roster_id, volunteer_a, shift_a, volunteer_b, shift_b, request_id=None):
        """Volunteer a takes shift b and volunteer b takes shift a, if no hard rule breaks.

        One of the two volunteers proposes it: the swap is checked against the hard rules, kept as
        ``proposed`` and announced (swap_proposed); the roster changes only when the other volunteer
        or an organiser accepts it (accept_swap) before either shift starts. An organiser's swap
        applies at once (swap_accepted tells both volunteers). A swap that would break a hard rule
        is kept ``rejected`` with the rule and answered with SwapRejected naming it. The same
        request_id with the same arguments returns the first answer (guanyinli.keys).
        """
        proposer = domain.swap_proposer(self.caller, volunteer_a, volunteer_b)
        view, version, violations = self._swap_check(roster_id, volunteer_a, shift_a, volunteer_b, shift_b)
        now = self.clock()
        expires = swaps.expiry(view, shift_a, shift_b)
        if proposer is not None:
            domain.check_can_propose(expires, now)
        reason = "; ".join(f"{v.rule}: {v.message}" for v in violations) or None

        def work(session):
            if proposer is not None and not violations:
                twin = swaps.open_twin(session, roster_id, (volunteer_a, shift_a), (volunteer_b, shift_b), now)
                if twin is not None:
                    raise Conflict(
                        f"swap {twin} already proposes this swap and waits for an answer",
                        f"换班申请{twin}已提出同样的换班，正在等待答复",
                    )
            row = RosterSwap(
                roster_id=roster_id,
                volunteer_a=volunteer_a,
                shift_a=shift_a,
                volunteer_b=volunteer_b,
                shift_b=shift_b,
                status="rejected" if violations else "accepted" if proposer is None else "proposed",
                reason=reason,
                proposed_by=proposer,
                expires_at=to_db(expires) if expires is not None else None,
                created_at=to_db(now),
            )
            if proposer is None and not violations:
                row.decided_by, row.decided_at = self.caller.name, to_db(now)
            session.add(row)
            session.flush()
            if not violations and proposer is None:
                swaps.apply(session, row, version, by_organiser=True)
            elif not violations:
                OUTBOX.add(session, "swap_proposed", swaps.event_payload(row, view, by_organiser=False))
            return swaps.view(row, now)

        answer = self._work(work)
        if violations:
            raise self._rejection(answer["swap_id"], violations)
        return answer

    def _open_swap(self, swap_id: int) -> tuple[domain.Swap, int]:
        def read(session):
            row = swaps.get(session, swap_id)
            if not domain.may_see_swap(self.caller, swaps.swap_of(row)):
                raise Forbidden(f"swap_id: swap {swap_id} is not yours", f"换班申请{swap_id}与您无关")
            return swaps.swap_of(row), row.roster_id

        return self._work(read)

    @rpc
    @contract(
        access=own("the volunteer asked, or an organiser"),
        request=schemas.SwapIdIn,
        response=schemas.SwapOut(),
        errors=(NotFound, Forbidden, SwapRejected, SwapExpired, SwapClosed, Conflict),
        emits=("swap_accepted",),
    )
    def accept_swap(self, swap_id):
        """The other volunteer (who did not propose it) or an organiser accepts a proposed swap.

        The hard rules are checked again against the roster as it is now; the swap then applies
        (the duties follow in a published roster) and swap_accepted tells both volunteers. Refused
        with SwapExpired once either shift has started, SwapClosed once answered or withdrawn,
        SwapRejected when a rule would now break (the proposal stays open), and Conflict when the
        roster changed during the check (another swap accepted at the same moment): ask again.
        """
        swap, roster_id = self._open_swap(swap_id)
        domain.check_answer(self.caller, swap, self.clock())
        _view, version, violations = self._swap_check(
            roster_id, swap.volunteer_a, swap.shift_a, swap.volunteer_b, swap.shift_b
        )
        if violations:
            raise self._rejection(swap_id, violations)

        def work(session):
            now = self.clock()
            row = swaps.answer(session, swap_id, "accepted", self.caller.name, now)
            swaps.apply(session, row, version, by_organiser=self.caller.is_organiser)
            return swaps.view(row, now)

        return self._work(work)

    @rpc
    @contract(
        access=own("the volunteer asked, or an organiser"),
        request=schemas.DeclineSwapIn,
        response=schemas.SwapOut(),
        errors=(NotFound, Forbidden, SwapExpired, SwapClosed, Conflict),
        emits=("swap_declined",),
    )
    def decline_swap(self, swap_id, reason=None):
        """The other volunteer or an organiser declines a proposed swap; swap_declined tells both."""
        swap, _roster_id = self._open_swap(swap_id)
        domain.check_answer(self.caller, swap, self.clock())
        return self._close_swap(swap_id, "declined", "swap_declined", reason)

    @rpc
    @contract(
        access=own("the volunteer who proposed it"),
        request=schemas.SwapIdIn,
        response=schemas.SwapOut(),
        errors=(NotFound, Forbidden, SwapExpired, SwapClosed, Conflict),
        emits=("swap_withdrawn",),
    )
    def withdraw_swap(self, swap_id):
        """The proposer withdraws their open proposal; swap_withdrawn tells the other volunteer."""
        swap, _roster_id = self._open_swap(swap_id)
        domain.check_withdraw(self.caller, swap, self.clock())
        return self._close_swap(swap_id, "withdrawn", "swap_withdrawn")

    def _close_swap(self, swap_id: int, status: str, event_type: str, reason: str | None = None) -> dict:
        def work(session):
            now = self.clock()
            row = swaps.answer(session, swap_id, status, self.caller.name, now, reason)
            document = self._roster(session, row.roster_id).result or {}
            payload = swaps.event_payload(row, document, self.caller.is_organiser, reason)
            OUTBOX.add(session, event_type, payload)
            return swaps.view(row, now)

        return self._work(work)

    @rpc
    @contract(
        access=own("organisers and viewers every swap; a volunteer their own"),
        request=schemas.ListSwapsIn,
        response=schemas.SwapOut(many=True),
        errors=(Forbidden,),
    )
    def list_swaps(self, roster_id=None, volunteer_id=None, status=None, limit=None, offset=None):
        """Swaps newest first, by roster, volunteer and status (``proposed`` lists the open proposals).

        Organisers and viewers see every swap; a volunteer only the swaps they are part of."""
        if not self.caller.may_read_all:
            if self.caller.volunteer_id is None or volunteer_id not in (None, self.caller.volunteer_id):
                raise Forbidden("a volunteer lists only their own swaps", "志愿者只能查看自己的换班申请")
            volunteer_id = self.caller.volunteer_id
        now = self.clock()
        return self._work(
            lambda s: [swaps.view(r, now) for r in swaps.query(s, now, roster_id, volunteer_id, status, limit, offset)]
        )
