"""The rules of activities, sign-ups and attendance as plain Python: no nameko, no database.

The unit of work in ``store.py`` feeds these functions plain values and acts on their answers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Container, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from activities.exceptions import (
    DutyClash,
    OccurrenceClosed,
    SkillMissing,
    StandinClosed,
    StandinTaken,
    SwapClosed,
    SwapExpired,
    TooLateToCancel,
    VolunteerUnavailable,
    WeeklyCapReached,
)
from guanyinli.errors import Conflict, Forbidden, InvalidInput, PlatformError
from guanyinli.events import KINDS
from guanyinli.identity import Identity as Caller  # noqa: F401 - the caller, as domain rules see it
from guanyinli.timeutil import local

LATE_NOTICE = timedelta(hours=48)
DEFAULT_PUPILS_PER_TUTOR = 5
# A visitor keeps seeing a visit's private fields this many days after their last visit of it
# (config VISIT_DETAILS_DAYS_AFTER): time to write up the visit, not access for ever.
VISIT_DETAILS_DAYS_AFTER = 7

# Roles an activity gets when its creator names none. A lecture always gets its duty shifts
# (setup before it starts, reception from half an hour before until it ends), even when other
# roles are given; a visit goes in pairs.
DEFAULT_ROLES: dict[str, list[dict]] = {
    "patrol": [{"name": "patroller", "needed": 2, "skills": []}],
    "tutoring": [{"name": "tutor", "needed": 1, "skills": ["tutoring"]}],
    "lecture": [],
    "elderly_visit": [{"name": "visitor", "needed": 2, "skills": []}],
    "sanitation": [{"name": "cleaner", "needed": 4, "skills": []}],
    "convenience": [{"name": "helper", "needed": 2, "skills": []}],
    "cultural": [{"name": "helper", "needed": 2, "skills": []}],
}
LECTURE_DUTIES: list[dict] = [
    {"name": "setup", "needed": 2, "skills": [], "start_offset_minutes": -60, "duration_minutes": 60},
    {"name": "reception", "needed": 2, "skills": [], "start_offset_minutes": -30, "duration_minutes": None},
]
KIND_TEAM = {"patrol": "voluntary_patrol", "sanitation": "sanitation_green", "convenience": "convenient_service"}

assert set(DEFAULT_ROLES) == set(KINDS)


class RuleViolation(ValueError):
    """A request the rules refuse; ``code`` says which rule (the service maps it to an error class)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def roles_for(kind: str, given: list[dict] | None) -> list[dict]:
    """The roles an activity of ``kind`` gets: the given ones (or the defaults) plus lecture duties."""
    roles = [dict(r) for r in (given if given else DEFAULT_ROLES[kind])]
    for role in roles:
        role.setdefault("skills", [])
        role.setdefault("start_offset_minutes", 0)
        role.setdefault("duration_minutes", None)
    if kind == "lecture":
        names = {r["name"] for r in roles}
        roles += [dict(d) for d in LECTURE_DUTIES if d["name"] not in names]
    names = [r["name"] for r in roles]
    if len(names) != len(set(names)):
        raise RuleViolation("invalid", "role names must be unique within an activity")
    if kind == "elderly_visit":
        for role in roles:
            if role["name"] == "visitor" and role["needed"] % 2:
                raise RuleViolation("invalid", "visitors go in pairs: needed must be even")
    return roles


def team_for(kind: str, team: str | None, teams: Container[str] | None = None) -> str | None:
    """The team of a new activity: the one named, else the kind's usual team (KIND_TEAM) if the community
    (``teams``: its team codes; None: Guanyinli's demo data, which has them all) has it. The service has
    checked a named team against the community's (``TeamNotFound``)."""
    if team is not None:
        return team
    usual = KIND_TEAM.get(kind)
    return usual if teams is None or usual in teams else None


def check_place(kind: str, grid_id: int | None, courtyard: str | None, room: str | None) -> None:
    if grid_id is None and not courtyard and not room:
        raise RuleViolation("invalid", "place: give a grid, a courtyard or a room")
    if kind == "patrol" and grid_id is None:
        raise RuleViolation("invalid", "grid_id: a patrol belongs to a grid")


def place_text(grid_id: int | None, courtyard: str | None, room: str | None) -> str:
    parts = []
    if grid_id is not None:
        parts.append(f"第{grid_id}网格")
    if courtyard:
        parts.append(courtyard)
    if room:
        parts.append(room)
    return " · ".join(parts)


def seats_for(role_name: str, needed: int, kind: str, attendees: int, pupils_per_tutor: int | None) -> int:
    """Seats of a role in one occurrence: tutors grow with the registered pupils (``tutor_seats``)."""
    if kind == "tutoring" and role_name == "tutor":
        return tutor_seats(needed, attendees, pupils_per_tutor)
    return needed


def duty_window(
    start: datetime, end: datetime, start_offset_minutes: int, duration_minutes: int | None
) -> tuple[datetime, datetime]:
    """When a role's duty runs within an occurrence [start, end)."""
    duty_start = start + timedelta(minutes=start_offset_minutes or 0)
    duty_end = duty_start + timedelta(minutes=duration_minutes) if duration_minutes else end
    return duty_start, max(duty_end, duty_start + timedelta(minutes=1))


def overlaps(a: tuple[datetime, datetime], b: tuple[datetime, datetime]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def missing_skills(required: list[str], has: list[str]) -> list[str]:
    """Required skills the volunteer lacks; ``tutoring`` is met by any ``tutoring:<subject>``."""
    has = set(has or [])
    return sorted(r for r in set(required) if r not in has and not any(h.startswith(r + ":") for h in has))


def iso_week(moment: datetime) -> tuple[datetime, datetime]:
    """The ISO week ``moment`` falls in: Monday 00:00 to the next Monday 00:00, Asia/Shanghai."""
    day = local(moment).replace(hour=0, minute=0, second=0, microsecond=0)
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=7)


def weighing_window(duties: Iterable[tuple[datetime, datetime]]) -> tuple[datetime, datetime]:
    """Where a volunteer's confirmed duties bear on whether these duties fit them (``duty_fits``):
    from the first one's ISO week to the end of the last one's week, or of the last duty if later."""
    duties = list(duties)
    last_start = max(d[0] for d in duties)
    return iso_week(min(d[0] for d in duties))[0], max(iso_week(last_start)[1], max(local(d[1]) for d in duties))


@dataclass
class SignupCheck:
    """What the service learned about a volunteer before taking a seat: their record (skills,
    active, own weekly cap ``max_duties_per_week``), their availability for the duty, and the
    platform's weekly caps (None: none apply, as for the roster, which keeps its own)."""

    volunteer: dict
    available: bool
    reason: str | None = None
    caps: WeeklyCaps | None = None


def duty_fits(
    duty: tuple[datetime, datetime],
    required_skills: Iterable[str],
    skills: Iterable[str],
    available: Iterable[tuple[datetime, datetime]],
    confirmed: Iterable[Booked],
    caps: WeeklyCaps | None = None,
    own_cap: int | None = None,
    kind: str = "",
) -> bool:
    """Whether a volunteer could take a duty of ``kind``: ``misfit`` with their available spans (one
    must hold the whole duty) and their ``confirmed`` duties, under the weekly caps (``WeeklyCaps``
    and the volunteer's ``own_cap``)."""
    start, end = duty
    helper = Helper(
        volunteer_id=0,
        skills=tuple(skills),
        available=any(a <= start and end <= b for a, b in available),
        duties=tuple(confirmed),
        max_per_week=own_cap,
    )
    limits = (caps or WeeklyCaps(per_kind={})).of(kind)
    return misfit(OpenDuty(0, kind, start, end, tuple(required_skills), **limits), helper) is None


def signup_misfit(
    occurrence_id: int,
    kind: str,
    duty: tuple[datetime, datetime],
    required_skills: Iterable[str],
    check: SignupCheck,
    booked: Iterable[Booked],
    now: datetime,
) -> PlatformError | None:
    """Why a volunteer may not sign up for a duty (None when they may): a duty that is over is
    closed; then the rule every other way of taking a duty follows (``misfit``): active, skills,
    available, no clash with their confirmed duties (``booked``, this occurrence's left out), and
    the weekly caps of ``check.caps`` with their own."""
    if duty[1] <= now:
        return OccurrenceClosed("the duty is over", "该班次已结束")
    record = check.volunteer
    helper = Helper(
        volunteer_id=int(record.get("id") or 0),
        active=bool(record.get("active", True)),
        skills=tuple(record.get("skills") or ()),
        available=check.available,
        reason=check.reason,
        duties=tuple(b for b in booked if b.occurrence_id != occurrence_id),
        max_per_week=record.get("max_duties_per_week") if check.caps is not None else None,
    )
    limits = check.caps.of(kind) if check.caps is not None else {}
    return misfit(OpenDuty(occurrence_id, kind, duty[0], duty[1], tuple(required_skills), **limits), helper)


def check_cancellable(signup_id: int, attendance: str | None, end: datetime, now: datetime) -> None:
    """A sign-up can be cancelled while its duty is not over and no attendance is recorded for it;
    after that its attendance is marked instead (no_show, excused)."""
    if attendance is not None:
        raise Conflict(
            f"sign-up {signup_id} has its attendance recorded; mark it instead", "该班次已记录签到，请改签到状态"
        )
    if end <= now:
        raise OccurrenceClosed("the duty is over; mark its attendance instead", "该班次已结束，请记录签到")


def clashing(duty: tuple[datetime, datetime], booked: Iterable[Booked]) -> list[int]:
    """The occurrences of confirmed duties that overlap ``duty``: a volunteer is in one place at a time."""
    return sorted({b.occurrence_id for b in booked if overlaps((b.start, b.end), duty)})


# --- seats and the waitlist: one mechanism for volunteers' sign-ups and residents' registrations -----
# A role of an occurrence has seats for volunteers, a lecture hall (or a weekend school room) places
# for residents (or pupils). Either is taken while one is free, else the person joins the waitlist
# with the next number; a freed or added seat goes to the head of the waitlist. A waitlisted
# volunteer whose confirmed duties meanwhile clash with this one is passed over and keeps their
# place. The store takes each seat with a guarded UPDATE, so two workers never give one seat twice.


@dataclass(frozen=True)
class Seats:
    """Seats of a role, or places of a hall: ``capacity`` None is no limit."""

    capacity: int | None
    taken: int

    @property
    def free(self) -> int | None:
        return None if self.capacity is None else max(0, self.capacity - self.taken)

    @property
    def full(self) -> bool:
        return self.capacity is not None and self.taken >= self.capacity

    def resized(self, wanted: int | None) -> Seats:
        """``wanted`` seats, never fewer than those taken: nobody confirmed loses their seat."""
        return Seats(None if wanted is None else max(wanted, self.taken), self.taken)


@dataclass(frozen=True)
class Waiting:
    """A place on a waitlist: the sign-up's or registration's id, its number (handed out in order)
    and the volunteer holding it (None for a resident)."""

    id: int
    number: int
    volunteer_id: int | None = None


def waitlist_position(numbers: Iterable[int], number: int) -> int:
    """The position of the place with ``number`` on a waitlist holding ``numbers``, from 1 at the head."""
    return sum(1 for n in numbers if n <= number)


def promotions(
    seats: Seats, waiting: Iterable[Waiting], passed_over: Callable[[Waiting], bool] = lambda w: False
) -> list[Waiting]:
    """Who takes the free seats, in waitlist order: the heads of the waitlist that are not
    ``passed_over`` (a volunteer whose confirmed duties clash), as many as seats are free."""
    free = seats.free
    chosen: list[Waiting] = []
    for place in sorted(waiting, key=lambda w: w.number):
        if free is not None and len(chosen) >= free:
            break
        if not passed_over(place):
            chosen.append(place)
    return chosen


def tutor_seats(needed: int, pupils: int, pupils_per_tutor: int | None) -> int:
    """Tutor seats of a weekend school session: one per ``pupils_per_tutor`` registered pupils, at
    least the role's ``needed``."""
    return max(needed, math.ceil(pupils / (pupils_per_tutor or DEFAULT_PUPILS_PER_TUTOR)))


# --- registrations: residents at a lecture, pupils at the weekend school ------------------------------
REGISTRATION_KINDS = ("lecture", "tutoring")
# The door opens for check-in this long before a lecture starts; check-in closes when it ends.
CHECK_IN_OPENS = timedelta(hours=2)


def check_registrable(kind: str, cancelled: bool, end: datetime, now: datetime) -> None:
    """Residents register for a lecture, pupils for a tutoring session, while it is on and not over."""
    if kind not in REGISTRATION_KINDS:
        raise InvalidInput(
            "occurrence_id: registrations are for lectures and tutoring sessions", "只有讲座和辅导可以报名"
        )
    if cancelled or end <= now:
        raise OccurrenceClosed("the occurrence is cancelled or over", "该活动已取消或已结束")


def check_check_in(status: str, start: datetime, end: datetime, now: datetime, cancelled: bool = False) -> None:
    """Only a registered resident is checked in (one on the waitlist is registered first, if a
    place is free), from ``CHECK_IN_OPENS`` before the lecture until it ends, unless it is cancelled."""
    if cancelled:
        raise OccurrenceClosed("the occurrence is cancelled", "该活动已取消")
    if status != "registered":
        raise Conflict(
            f"only a registered resident is checked in; this registration is {status}",
            "只有已报名（非候补、未取消）的居民可以签到",
        )
    if not start - CHECK_IN_OPENS <= now < end:
        raise OccurrenceClosed(
            f"check-in is open from {local(start - CHECK_IN_OPENS):%Y-%m-%d %H:%M} until the end",
            f"签到时间为{local(start - CHECK_IN_OPENS):%Y-%m-%d %H:%M}至活动结束",
        )


def mask_phone(phone: str | None) -> str | None:
    """A phone as people without a need for it see it: the last four digits (138****5678)."""
    if not phone:
        return None
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 8 else f"****{phone[-4:]}"


DOOR_SEARCH_DIGITS = 4


def door_matches(name: str, phone: str | None, query: str | None) -> bool:
    """The door list's search: part of the name, or the last digits of the phone (at most four, what a
    masked phone shows: a longer number would let anyone at the door probe the rest)."""
    query = (query or "").strip()
    if not query:
        return True
    if query.isdigit():
        return bool(phone) and len(query) <= DOOR_SEARCH_DIGITS and phone.endswith(query)
    return query in name


def can_see_private(
    caller: Caller, last_duty_end: datetime | None, now: datetime, days_after: int = VISIT_DETAILS_DAYS_AFTER
) -> bool:
    """Elderly-visit private fields (visited person, address, health notes): organisers, and the
    visitors with a confirmed visit of that activity that is current or coming or ended at most
    ``days_after`` days ago (``last_duty_end``: the end of their last one, None without any)."""
    if caller.is_organiser:
        return True
    if caller.volunteer_id is None or last_duty_end is None:
        return False
    return now <= last_duty_end + timedelta(days=days_after)


@dataclass(frozen=True)
class Viewer:
    """Who reads activities and when: what they see of elderly visits follows ``can_see_private``."""

    caller: Caller
    now: datetime
    days_after: int = VISIT_DETAILS_DAYS_AFTER

    def sees_private(self, last_duty_end: datetime | None) -> bool:
        return can_see_private(self.caller, last_duty_end, self.now, self.days_after)


def attendance_facts(start: datetime, end: datetime, confirmed_at: datetime | None) -> dict:
    """Hours, weekend and late notice of an attended duty (the volunteers ledger turns them into points)."""
    start_local = local(start)
    late = confirmed_at is not None and start - confirmed_at < LATE_NOTICE
    return {
        "hours": round((end - start).total_seconds() / 3600, 2),
        "weekend": start_local.weekday() >= 5,
        "late_notice": bool(late),
    }


def no_show_rate(attended: int, no_show: int) -> float | None:
    """No-shows among duties that were due (excused ones do not count); None before the first."""
    due = attended + no_show
    return round(no_show / due, 4) if due else None


# --- cancelling ---------------------------------------------------------------------------------
# A volunteer cancels a confirmed duty themselves until some hours before it starts, so that there
# is time to fill the seat; later they say "I can't come" and the organisers find a stand-in. An
# organiser cancels at any time, and a waitlisted place is left at any time (it holds no seat).
# Config CANCEL_DEADLINES replaces these hours kind by kind; a kind named nowhere takes "other".

CANCEL_DEADLINE_HOURS: dict[str, float] = {
    "patrol": 24,
    "tutoring": 24,
    "elderly_visit": 24,
    "lecture": 12,
    "sanitation": 12,
    "other": 24,
}
OTHER_KINDS = "other"
MAX_CANCEL_DEADLINE_HOURS = 24 * 30


def cancel_deadlines(setting: str | Mapping | None) -> dict[str, float]:
    """Hours before the start of a duty when volunteers' own cancellations close, for every kind and
    "other": config CANCEL_DEADLINES ("lecture:12 other:48", or a mapping) over CANCEL_DEADLINE_HOURS.

    Raises ValueError naming the entry that is not a kind (or other) with its hours."""
    given = dict(CANCEL_DEADLINE_HOURS)
    if isinstance(setting, Mapping):
        entries = [(str(kind), hours) for kind, hours in setting.items()]
    else:
        entries = [
            tuple(entry.split(":", 1)) if ":" in entry else (entry, None) for entry in str(setting or "").split()
        ]
    for kind, hours in entries:
        if kind not in KINDS and kind != OTHER_KINDS:
            raise ValueError(f"CANCEL_DEADLINES: {kind!r} is not a kind ({', '.join(KINDS)}) nor {OTHER_KINDS}")
        try:
            value = float(hours)
        except (TypeError, ValueError):
            raise ValueError(f"CANCEL_DEADLINES: {kind}: {hours!r} is not a number of hours (e.g. {kind}:24)") from None
        if not 0 <= value <= MAX_CANCEL_DEADLINE_HOURS:
            raise ValueError(f"CANCEL_DEADLINES: {kind}: hours from 0 to {MAX_CANCEL_DEADLINE_HOURS}, not {hours}")
        given[kind] = value
    return {kind: given.get(kind, given[OTHER_KINDS]) for kind in (*KINDS, OTHER_KINDS)}


def cancel_until(duty_start: datetime, kind: str, deadlines: Mapping[str, float]) -> datetime:
    """The last moment a volunteer may cancel their confirmed duty themselves (local time)."""
    hours = deadlines.get(kind, deadlines.get(OTHER_KINDS, CANCEL_DEADLINE_HOURS[OTHER_KINDS]))
    return local(duty_start) - timedelta(hours=hours)


def check_cancel_in_time(duty_start: datetime, kind: str, deadlines: Mapping[str, float], now: datetime) -> None:
    """TooLateToCancel once ``cancel_until`` has passed. Both messages carry the deadline in one form,
    "cancel deadline <ISO 8601> has passed", for pages that say it in the volunteer's language."""
    deadline = cancel_until(duty_start, kind, deadlines)
    if now > deadline:
        stamp = deadline.isoformat(timespec="seconds")
        hours = f"{(local(duty_start) - deadline).total_seconds() / 3600:g}"
        raise TooLateToCancel(
            f"cancel deadline {stamp} has passed ({hours} h before a {kind} duty starts): "
            'use "I can\'t come" (cant_come) instead',
            f"取消截止时间 {stamp} 已过（开始前{hours}小时内不能自行取消），请改用“我来不了”",
        )


# --- listing occurrences ---------------------------------------------------------------------
# Anyone may list the occurrences of any window of at most LISTING_WINDOW within LISTING_REACH of
# today: a volunteer browsing next year's weekend school expects to see its Saturdays, as their
# phone's calendar does from the feed. But a listing writes an occurrence row (with its seat
# rows) only when the occurrence starts within MATERIALISE_BEHIND before now and
# MATERIALISE_AHEAD after it, or when an organiser (or a system caller) lists it: sign-ups open on
# rows, and these reach what volunteers sign up for (a term of the weekend school, the next
# lectures) and what organisers mark attendance for (last month). Further occurrences a volunteer
# lists are computed from the rule and shown without an id (nothing to sign up for yet); an
# organiser's listing, a roster build or the occurrence coming within reach gives them their row.
# So an anonymous caller cannot fill the database with rows for the year 2300.
LISTING_WINDOW = timedelta(days=400)
LISTING_REACH = timedelta(days=3653)  # ten years: expanding a rule costs in proportion to the distance
MATERIALISE_BEHIND = timedelta(days=31)
MATERIALISE_AHEAD = timedelta(days=120)


@dataclass(frozen=True)
class Materialise:
    """Which original starts a listing writes rows for: within [since, until), or all when both are None."""

    since: datetime | None = None
    until: datetime | None = None

    def __call__(self, start: datetime) -> bool:
        return (self.since is None or start >= self.since) and (self.until is None or start < self.until)


EVERYTHING = Materialise()


def check_window(start: datetime, end: datetime) -> None:
    """A listing's window: after its start, at most ``LISTING_WINDOW`` long."""
    if end <= start:
        raise RuleViolation("invalid", "end: must be after start")
    if end - start > LISTING_WINDOW:
        raise RuleViolation("invalid", f"end: the window is at most {LISTING_WINDOW.days} days")


def listing_rows(caller: Caller, start: datetime, end: datetime, now: datetime) -> Materialise:
    """Check a caller's listing window and say which of its occurrences get rows (see LISTING_WINDOW)."""
    check_window(start, end)
    if start < now - LISTING_REACH or end > now + LISTING_REACH:
        raise RuleViolation(
            "invalid",
            f"start, end: a listing lies within {LISTING_REACH.days} days of today "
            f"({(now - LISTING_REACH).date().isoformat()} to {(now + LISTING_REACH).date().isoformat()})",
        )
    if caller.is_organiser:
        return EVERYTHING
    return Materialise(now - MATERIALISE_BEHIND, now + MATERIALISE_AHEAD)


# A volunteer's open duties are looked for in a window of at most OPEN_DUTIES_WINDOW: the volunteers
# service answers their availability over the whole window (with the duties' margins) in one call,
# and takes ranges of up to 100 days.
OPEN_DUTIES_WINDOW = timedelta(days=62)


def open_duty_rows(caller: Caller, start: datetime, end: datetime, now: datetime) -> Materialise:
    """Check a window of open duties and say which of its occurrences get rows (as ``listing_rows``)."""
    rows = listing_rows(caller, start, end, now)
    if end - start > OPEN_DUTIES_WINDOW:
        raise RuleViolation("invalid", f"end: open duties are listed for at most {OPEN_DUTIES_WINDOW.days} days")
    return rows


# --- roster swaps: a volunteer proposes, the other volunteer (or an organiser) answers ------------

SWAP_STATUSES = ("proposed", "accepted", "declined", "withdrawn", "rejected", "expired")
# "expired" is never stored: a proposal is expired from the start of its earlier shift on.


@dataclass(frozen=True)
class Swap:
    """Volunteer a takes shift b and volunteer b takes shift a: proposed by one of them (or made
    by an organiser, ``proposed_by`` None), then accepted, declined or withdrawn while it is open."""

    id: int
    volunteer_a: int
    shift_a: str
    volunteer_b: int
    shift_b: str
    status: str
    proposed_by: int | None = None
    expires_at: datetime | None = None

    def status_at(self, now: datetime) -> str:
        if self.status == "proposed" and self.expires_at is not None and now >= self.expires_at:
            return "expired"
        return self.status

    @property
    def answerer(self) -> int | None:
        """The volunteer who did not propose it: the one whose consent it waits for."""
        if self.proposed_by is None:
            return None
        return self.volunteer_b if self.proposed_by == self.volunteer_a else self.volunteer_a

    def involves(self, volunteer_id: int | None) -> bool:
        return volunteer_id is not None and volunteer_id in (self.volunteer_a, self.volunteer_b)


def swap_proposer(caller: Caller, volunteer_a: int, volunteer_b: int) -> int | None:
    """Who proposes a swap asked for by ``caller``: None for an organiser (the swap applies at once),
    else the calling volunteer, who must be one of the two."""
    if volunteer_a == volunteer_b:
        raise InvalidInput("volunteer_b: a swap is between two different volunteers")
    if caller.is_organiser:
        return None
    if caller.volunteer_id is None or caller.volunteer_id not in (volunteer_a, volunteer_b):
        raise Forbidden(
            "a volunteer proposes swaps only of their own shifts (volunteer_a or volunteer_b must be the caller)",
            "志愿者只能为自己的班次申请换班",
        )
    return caller.volunteer_id


def check_can_propose(expires_at: datetime | None, now: datetime) -> None:
    """A swap is proposed before either of its shifts starts (an organiser may still swap later)."""
    if expires_at is not None and now >= expires_at:
        raise SwapExpired(
            f"shift_a: a shift of this swap started at {local(expires_at):%Y-%m-%d %H:%M}; ask an organiser",
            f"换班涉及的班次已于{local(expires_at):%Y-%m-%d %H:%M}开始，请联系组织者",
        )


def check_proposal_open(swap: Swap, now: datetime) -> None:
    """SwapExpired once a shift has started, SwapClosed once it was answered."""
    status = swap.status_at(now)
    if status == "expired":
        raise SwapExpired(
            f"swap {swap.id}: the proposal expired when its first shift started ({local(swap.expires_at):%Y-%m-%d %H:%M})",
            f"换班申请{swap.id}已过期：班次已于{local(swap.expires_at):%Y-%m-%d %H:%M}开始",
        )
    if status != "proposed":
        raise SwapClosed(f"swap {swap.id} is {status}, no longer open", f"换班申请{swap.id}已处理（{status}）")


def check_answer(caller: Caller, swap: Swap, now: datetime) -> None:
    """Accepting or declining is for the volunteer who did not propose, or an organiser."""
    if not (caller.is_organiser or (caller.volunteer_id is not None and caller.volunteer_id == swap.answerer)):
        raise Forbidden(
            f"swap {swap.id}: only volunteer {swap.answerer} (who did not propose it) or an organiser may answer it",
            f"换班申请{swap.id}只能由被邀请的志愿者或组织者答复",
        )
    check_proposal_open(swap, now)


def check_withdraw(caller: Caller, swap: Swap, now: datetime) -> None:
    """Only the proposer withdraws a proposal (an organiser declines it instead)."""
    if swap.proposed_by is None or caller.volunteer_id != swap.proposed_by:
        raise Forbidden(f"swap {swap.id}: only its proposer withdraws it", f"换班申请{swap.id}只能由申请人撤回")
    check_proposal_open(swap, now)


def may_see_swap(caller: Caller, swap: Swap) -> bool:
    return caller.is_organiser or swap.involves(caller.volunteer_id)


# --- the patrol roster -------------------------------------------------------------------------------


def period_target(per_month: int | None, start: datetime, end: datetime) -> int | None:
    """The patrols a roster of [start, end) aims to give a volunteer whose target is ``per_month`` a
    calendar month: the target times the share of each month the roster covers, summed and rounded
    half up (a roster of one whole month: the target itself). None (no target) stays None: a fair share."""
    if per_month is None:
        return None
    start, end = local(start), local(end)
    share = 0.0
    first = start.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    while first < end:
        following = (first + timedelta(days=32)).replace(day=1)
        share += max(timedelta(0), min(end, following) - max(start, first)) / (following - first)
        first = following
    return math.floor(per_month * share + 0.5 + 1e-9)


# --- who fits a duty: sign-ups, open duties, stand-ins, and volunteers whose circumstances changed --
# A volunteer fits a duty when they are active, have the role's skills, are available then (the
# volunteers service's word), are not on it already, hold no confirmed duty that overlaps it and
# stay within the weekly caps (``WeeklyCaps``). Plain data in, a reason out: a sign-up, the stand-in
# offers, the listing of open duties and the re-check after an availability change all ask the same rule.

# Confirmed duties of one kind a volunteer holds in a week (Monday to Sunday, local), config
# WEEKLY_CAPS; a kind not named has no cap. Patrols: the roster's own cap (roster.Rules.max_per_week).
WEEKLY_CAPS: dict[str, int] = {"patrol": 3}
# Organisers are told of an offer nobody took this long before the duty (config STANDIN.ALERT_HOURS).
STANDIN_ALERT = timedelta(hours=12)


@dataclass(frozen=True)
class Booked:
    """A confirmed duty a volunteer holds (its window, aware)."""

    occurrence_id: int
    kind: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class OpenDuty:
    """A duty to fill: one role of one occurrence, its window and what it asks of a volunteer."""

    occurrence_id: int
    kind: str
    start: datetime
    end: datetime
    skills: tuple[str, ...] = ()
    weekly_cap: int | None = None  # duties of its kind a week (WeeklyCaps.per_kind)
    overall_cap: int | None = None  # duties of any kind a week (WeeklyCaps.overall)


@dataclass(frozen=True)
class Helper:
    """A volunteer as the fits rule sees them: their record, their availability for the duty's window
    (from the volunteers service) and the confirmed duties they hold around it."""

    volunteer_id: int
    active: bool = True
    skills: tuple[str, ...] = ()
    available: bool = True
    reason: str | None = None  # why not available, as the volunteers service says it
    duties: tuple[Booked, ...] = ()
    max_per_week: int | None = None  # their own cap: confirmed duties of any kind a week (max_duties_per_week)


def week_of(moment: datetime) -> tuple[int, int]:
    """The local ISO (year, week) a moment falls in."""
    return tuple(local(moment).isocalendar())[:2]


def week_span(moment: datetime) -> tuple[datetime, datetime]:
    """Monday 00:00 to the next Monday 00:00 (local) around a moment: the window a weekly cap counts in."""
    day = local(moment).replace(hour=0, minute=0, second=0, microsecond=0)
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=7)


def weekly_cap(kind: str, caps: Mapping[str, int] | None = None) -> int | None:
    return (WEEKLY_CAPS if caps is None else caps).get(kind)


@dataclass(frozen=True)
class WeeklyCaps:
    """The weekly cap, one rule for every way a volunteer takes a duty: the confirmed duties they hold
    in the duty's ISO week (local) stay under the platform's cap of duties of any kind (config
    MAX_DUTIES_PER_WEEK), the cap of the duty's kind (config WEEKLY_CAPS) and their own
    (``Helper.max_per_week``); the first reached refuses."""

    overall: int | None = None
    per_kind: Mapping[str, int] = field(default_factory=lambda: dict(WEEKLY_CAPS))

    def of(self, kind: str) -> dict:
        """The caps of an ``OpenDuty`` of ``kind``."""
        return {"weekly_cap": weekly_cap(kind, self.per_kind), "overall_cap": self.overall}


def over_weekly_cap(duty: OpenDuty, helper: Helper) -> WeeklyCapReached | None:
    """The weekly cap ``duty`` would break for ``helper`` (see ``WeeklyCaps``), None when within them all."""
    who, week = f"volunteer {helper.volunteer_id}", week_of(duty.start)
    this_week = [b for b in helper.duties if week_of(b.start) == week]
    held = len({b.occurrence_id for b in this_week})
    if duty.weekly_cap is not None:
        same_kind = len({b.occurrence_id for b in this_week if b.kind == duty.kind})
        if same_kind >= duty.weekly_cap:
            return WeeklyCapReached(
                f"{who} has {same_kind} {duty.kind} duties that week already, at most {duty.weekly_cap} a week",
                f"本周已有{same_kind}个同类班次，每周最多{duty.weekly_cap}个",
            )
    if duty.overall_cap is not None and held >= duty.overall_cap:
        return WeeklyCapReached(
            f"{who} has {held} duties that week already, at most {duty.overall_cap} a week",
            f"本周已有{held}个值班，每周最多{duty.overall_cap}个",
        )
    if helper.max_per_week is not None and held >= helper.max_per_week:
        return WeeklyCapReached(
            f"{who} has {held} duties that week already, at most {helper.max_per_week} a week (their own limit)",
            f"本周已有{held}个值班，您设定每周最多{helper.max_per_week}个",
        )
    return None


def misfit(duty: OpenDuty, helper: Helper, taking: bool = True) -> PlatformError | None:
    """Why ``helper`` does not fit ``duty``, as the error to answer with (None when they fit).

    ``taking``: they would take it anew (a stand-in), so a duty of theirs on the same occurrence,
    an overlapping duty and the weekly cap count too; otherwise the duty is theirs already and only
    what is about them (active, skills, availability) is asked again."""
    who = f"volunteer {helper.volunteer_id}"
    if not helper.active:
        return VolunteerUnavailable(f"{who} is not active", f"志愿者{helper.volunteer_id}已停用")
    missing = missing_skills(list(duty.skills), list(helper.skills))
    if missing:
        return SkillMissing(f"{who}: missing skills: {', '.join(missing)}", f"缺少所需技能：{'、'.join(missing)}")
    if not helper.available:
        reason = helper.reason or "no reason given"
        return VolunteerUnavailable(f"{who} is not available then: {reason}", f"该时段不可参加：{reason}")
    if not taking:
        return None
    if any(b.occurrence_id == duty.occurrence_id for b in helper.duties):
        return Conflict(f"{who} is on this duty already", "您已在该班次中")
    clashes = clashing((duty.start, duty.end), helper.duties)
    if clashes:
        return DutyClash(f"{who}: clashes with confirmed duties of occurrences {clashes}", "与您已确认的班次时间冲突")
    return over_weekly_cap(duty, helper)


def fits(duty: OpenDuty, helper: Helper) -> bool:
    return misfit(duty, helper) is None


def cancel_deadline(kind: str, deadlines: Mapping[str, float] | None = None) -> timedelta:
    """How long before its start a duty of ``kind`` can still simply be cancelled (``cancel_deadlines``)."""
    hours = (deadlines or CANCEL_DEADLINE_HOURS).get(kind)
    return timedelta(hours=CANCEL_DEADLINE_HOURS[OTHER_KINDS] if hours is None else float(hours))


def drop_out(rostered: bool, start: datetime, now: datetime, deadline: timedelta) -> str:
    """What becomes of a confirmed duty its volunteer no longer fits: ``standin`` (an offer; they stay
    on it until someone takes it) for a rostered patrol or a duty within the cancellation deadline,
    else ``cancel`` (the seat goes to the waitlist)."""
    return "standin" if rostered or start - now <= deadline else "cancel"


# --- stand-in offers: "I can't come" ----------------------------------------------------------------

STANDIN_STATUSES = ("open", "taken", "unfilled", "withdrawn")
# open -> taken (a volunteer took it) | unfilled (its alert time passed: organisers were told) | withdrawn
# unfilled -> taken | withdrawn: someone may still step in until the duty starts.
STANDIN_LIVE = ("open", "unfilled")


@dataclass(frozen=True)
class Offer:
    """A stand-in offer of ``volunteer_id``'s confirmed duty (see STANDIN_STATUSES)."""

    id: int
    volunteer_id: int
    status: str
    duty_start: datetime
    taken_by: int | None = None

    @property
    def live(self) -> bool:
        return self.status in STANDIN_LIVE


def alert_time(duty_start: datetime, now: datetime, lead: timedelta = STANDIN_ALERT) -> datetime:
    """When organisers hear of an offer nobody took: ``lead`` before the duty, or at once when that has passed."""
    return max(now, duty_start - lead)


def check_standin_offer(status: str, duty_start: datetime, now: datetime, scheduled: bool = True) -> None:
    """Only a confirmed duty of a scheduled occurrence that has not started is offered."""
    if not scheduled:
        raise OccurrenceClosed("the occurrence is cancelled", "该活动已取消")
    if status != "confirmed":
        raise Conflict(
            f"only a confirmed duty is offered to a stand-in; this sign-up is {status}",
            "只有已确认的班次才能请人替班",
        )
    if duty_start <= now:
        raise OccurrenceClosed(
            f"the duty started at {local(duty_start):%Y-%m-%d %H:%M}; tell an organiser",
            f"班次已于{local(duty_start):%Y-%m-%d %H:%M}开始，请联系组织者",
        )


def check_standin_take(offer: Offer, volunteer_id: int, now: datetime) -> None:
    """An offer is taken while it is live and its duty has not started, by someone else than its volunteer."""
    if offer.status == "taken":
        raise StandinTaken(
            f"stand-in offer {offer.id} is already taken, thank you", f"该替班已有人接替，谢谢您（替班编号 {offer.id}）"
        )
    if offer.status == "withdrawn":
        raise StandinClosed(
            f"stand-in offer {offer.id} was withdrawn: the volunteer can come after all",
            f"替班{offer.id}已撤回：原志愿者可以到岗",
        )
    if offer.duty_start <= now:
        raise StandinClosed(
            f"stand-in offer {offer.id}: the duty started at {local(offer.duty_start):%Y-%m-%d %H:%M}",
            f"替班{offer.id}的班次已于{local(offer.duty_start):%Y-%m-%d %H:%M}开始",
        )
    if volunteer_id == offer.volunteer_id:
        raise Conflict(
            f"volunteer {volunteer_id} offered this duty; to keep it, withdraw the offer",
            "这是您自己请人替班的班次；如能到岗，请撤回替班",
        )


def check_standin_withdraw(caller: Caller, offer: Offer) -> None:
    """The volunteer who offered it (they can come after all) or an organiser, while it is live."""
    if not caller.acts_for(offer.volunteer_id):
        raise Forbidden(
            f"stand-in offer {offer.id}: only volunteer {offer.volunteer_id} or an organiser withdraws it",
            f"替班{offer.id}只能由原志愿者或组织者撤回",
        )
    if offer.status == "taken":  # withdrawing twice is no error: the second changes nothing
        raise StandinClosed(
            f"stand-in offer {offer.id} was taken by volunteer {offer.taken_by}", f"替班{offer.id}已有人接替"
        )
