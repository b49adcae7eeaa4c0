"""What the iCal feeds show, read from the activities tables into ``ical`` dataclasses.

Two halves: plain records (``Duty``, ``DutySeries``, ``Instance``, ``ActivityData``) turned into
``ical.Event`` by pure functions (unit-tested without a database), and the queries that fill
those records (``personal_feed``, ``public_feed``).

Decisions a subscriber sees:
- A volunteer's duties in one role of a recurring activity are ONE series: DTSTART at their first
  duty, the activity's RRULE with UNTIL at their last, EXDATE for the occurrences they do not
  hold, RECURRENCE-ID overrides for moved, relocated and cancelled ones. Duties on starts the
  rule no longer has (its schedule changed) are single events; so is everything when a rule
  cannot be re-anchored exactly (checked by expanding it).
- Cancelled activities, occurrences and sign-ups stay as STATUS:CANCELLED for ``CANCELLED_KEPT``
  after their cancellation, then go (a cancelled instance of a series becomes an EXDATE).
- Anything that ended more than ``HISTORY`` ago is left out (a series starts at its first
  instance after that). Time-based cut-offs move once a day, so unchanged data gives the same
  bytes all day.
- SEQUENCE only goes up: a public series carries the activity's, an override adds the
  occurrence's; a personal series adds, for every sign-up it ever had, 1 + the sign-up's and the
  occurrence's counters (rows are never deleted, each counter only grows).
- Public feeds carry no private data: no phone number or volunteer, and no elderly visit at all
  (its times and place would tell when a person living alone is visited; ``PUBLIC_HIDDEN_KINDS``).
- A feed ends up stored by third-party calendar services. A personal feed shows an elderly visit
  as a neutral home visit (``NEUTRAL_VISIT``: no title, place, visited person or address) unless
  the organiser set ``feed_shows_details`` on the activity; then it shows the title and place,
  and the visited person and address to a visitor who may see them (``domain.can_see_private``,
  judged at the start of the day). Never the health notes.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from dateutil.rrule import rrulestr
from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.orm import Session

from activities import domain, ical, recurrence
from activities.domain import Caller
from activities.models import Activity, ActivityRole, FeedToken, Occurrence, OccurrenceRole, Signup
from guanyinli import tenancy
from guanyinli.events import KINDS
from guanyinli.timeutil import TZ, from_db, to_db

log = logging.getLogger(__name__)

CANCELLED_KEPT = timedelta(days=30)
PUBLIC_HIDDEN_KINDS = frozenset({"elderly_visit"})
NEUTRAL_VISIT = "上门探访"  # summary and category of a visit in a personal feed without details
HISTORY = timedelta(days=90)
MAX_INSTANCES = 5000  # a guard when expanding rules

KIND_LABELS = {
    "patrol": "治安巡逻",
    "tutoring": "林宏汉周末爱心学校",
    "lecture": "立德树人讲堂",
    "elderly_visit": "探访老人",
    "sanitation": "清洁绿化",
    "convenience": "便民服务",
    "cultural": "侨之家文化活动",
}
ROLE_LABELS = {
    "patroller": "巡逻",
    "tutor": "辅导老师",
    "setup": "场地布置",
    "reception": "接待",
    "visitor": "探访",
    "cleaner": "清洁",
    "helper": "服务",
}
assert set(KIND_LABELS) == set(KINDS)
# Teams are each community's: their labels are the volunteers service's names (``team_labels``: code ->
# name_zh, the code where there is none), passed in by the caller.


@dataclass(frozen=True)
class Clock:
    """The moments feeds are cut at, from ``now`` floored to the local day (stable bytes all day)."""

    now: datetime

    @property
    def day(self) -> datetime:
        return self.now.astimezone(TZ).replace(hour=0, minute=0, second=0, microsecond=0)

    @property
    def history_start(self) -> datetime:
        """Instances ending before this are left out."""
        return self.day - HISTORY

    def kept(self, cancelled_at: datetime | None) -> bool:
        """Whether something cancelled at ``cancelled_at`` is still shown as cancelled."""
        return cancelled_at is not None and cancelled_at + CANCELLED_KEPT >= self.day


# --- recurrence ------------------------------------------------------------------------------


def _rule_without(rule: str, *names: str) -> list[tuple[str, str]]:
    return [(k, v) for k, v in ical.rule_parts(rule) if k not in names]


def _join(parts: Iterable[tuple[str, str]]) -> str:
    return ";".join(f"{k}={v}" for k, v in parts)


def expand(dtstart: datetime, rule: str, lo: datetime, hi: datetime) -> list[datetime]:
    """Starts of ``rule`` from ``dtstart`` within [lo, hi] (aware, local), UNTIL read in UTC."""
    parsed = rrulestr("RRULE:" + ical.rule_with_utc_until(rule), dtstart=dtstart.astimezone(TZ))
    found = []
    for start in parsed.xafter(lo.astimezone(TZ), inc=True):
        if start > hi:
            break
        found.append(start)
        if len(found) > MAX_INSTANCES:
            raise ical.FeedError(f"rule {rule} has more than {MAX_INSTANCES} instances in the window")
    return found


def bounded_rule(dtstart: datetime, rule: str) -> str:
    """The rule with COUNT replaced by the UNTIL of its last instance (so it can be re-anchored)."""
    parts = ical.rule_parts(rule)
    if "COUNT" not in dict(parts):
        return _join(parts)
    last = list(rrulestr("RRULE:" + ical.rule_with_utc_until(rule), dtstart=dtstart.astimezone(TZ)))[-1]
    return _join(_rule_without(rule, "COUNT") + [("UNTIL", _utc_text(last))])


def first_after(dtstart: datetime, rule: str, moment: datetime) -> datetime | None:
    """The first start of ``rule`` at or after ``moment``."""
    parsed = rrulestr("RRULE:" + ical.rule_with_utc_until(rule), dtstart=dtstart.astimezone(TZ))
    return parsed.after(moment.astimezone(TZ), inc=True)


def _same_instances(rule: str, original: datetime, anchor: datetime, until: datetime) -> bool:
    """Whether ``rule`` re-anchored at ``anchor`` (one of its starts) yields the same starts until ``until``."""
    return expand(original, rule, anchor, until) == expand(anchor, rule, anchor, until)


# --- personal feeds: duties ------------------------------------------------------------------


@dataclass(frozen=True)
class Duty:
    """One of the volunteer's sign-ups on one occurrence, with the occurrence's effective state."""

    original_start: datetime
    start: datetime  # duty window (the role's offset and length applied to the occurrence)
    end: datetime
    signup_status: str  # confirmed | cancelled
    signup_cancelled_at: datetime | None
    occurrence_status: str  # scheduled | cancelled (the activity's cancellation included)
    occurrence_cancelled_at: datetime | None
    location: str
    last_modified: datetime

    @property
    def cancelled(self) -> bool:
        return self.signup_status == "cancelled" or self.occurrence_status == "cancelled"

    @property
    def cancelled_at(self) -> datetime | None:
        moments = [
            m
            for m, on in (
                (self.signup_cancelled_at, self.signup_status == "cancelled"),
                (self.occurrence_cancelled_at, self.occurrence_status == "cancelled"),
            )
            if on and m is not None
        ]
        return min(moments) if moments else None

    def shown(self, clock: Clock) -> bool:
        if self.end < clock.history_start:
            return False
        return not self.cancelled or clock.kept(self.cancelled_at)


@dataclass(frozen=True)
class DutySeries:
    """A volunteer's duties in one role of one activity."""

    key: str
    summary: str
    description: str | None
    location: str
    categories: tuple[str, ...]
    rule: str | None
    activity_start: datetime  # the activity's DTSTART (local)
    duty_offset: timedelta  # duty start minus occurrence start (the role's offset)
    duty_length: timedelta  # of an occurrence left as the rule has it
    sequence: int
    last_modified: datetime
    duties: tuple[Duty, ...] = field(default_factory=tuple)


def _duty_status(duty: Duty) -> str:
    return ical.CANCELLED if duty.cancelled else ical.CONFIRMED


def _single(series: DutySeries, duty: Duty, key: str) -> ical.Event:
    return ical.Event(
        key=key,
        summary=series.summary,
        start=duty.start,
        end=duty.end,
        last_modified=max(series.last_modified, duty.last_modified),
        sequence=series.sequence,
        status=_duty_status(duty),
        location=duty.location,
        description=series.description,
        categories=series.categories,
    )


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _instance_key(series_key: str, original_start: datetime) -> str:
    return f"{series_key}/{_utc_text(original_start)}"


def duty_events(series: DutySeries, clock: Clock) -> list[ical.Event]:
    """The events of one duty series: one VEVENT with RRULE where the rule allows, else singles."""
    duties = sorted((d for d in series.duties if d.shown(clock)), key=lambda d: d.original_start)
    if not duties:
        return []
    if series.rule is None:
        if len(duties) == 1:
            return [_single(series, duties[0], series.key)]
        return [_single(series, d, _instance_key(series.key, d.original_start)) for d in duties]
    rule = bounded_rule(series.activity_start, series.rule)
    on_rule = expand(series.activity_start, rule, duties[0].original_start, duties[-1].original_start)
    on_rule_set = set(on_rule)
    in_series = [d for d in duties if d.original_start in on_rule_set]
    strays = [d for d in duties if d.original_start not in on_rule_set]
    singles = [_single(series, d, _instance_key(series.key, d.original_start)) for d in strays]
    if not in_series:
        return singles
    offset = series.duty_offset
    first_original, last_original = in_series[0].original_start, in_series[-1].original_start
    first, last = first_original + offset, last_original + offset
    own_rule = _join(_rule_without(rule, "COUNT", "UNTIL") + [("UNTIL", _utc_text(last))])
    # Re-anchored at the first duty, the rule must give exactly the activity's starts in between.
    anchored = expand(first, own_rule, first, last)
    if [s - offset for s in anchored] != [s for s in on_rule if first_original <= s <= last_original]:
        return singles + [_single(series, d, _instance_key(series.key, d.original_start)) for d in in_series]
    wanted = {d.original_start + offset for d in in_series}
    overrides = []
    for duty in in_series:
        planned = duty.original_start + offset
        moved = (duty.start, duty.end) != (planned, planned + series.duty_length)
        if moved or duty.location != series.location or duty.cancelled:
            overrides.append(
                ical.Override(
                    recurrence_id=planned,
                    start=duty.start,
                    end=duty.end,
                    last_modified=max(series.last_modified, duty.last_modified),
                    sequence=series.sequence,
                    status=_duty_status(duty),
                    location=duty.location,
                )
            )
    master = ical.Event(
        key=series.key,
        summary=series.summary,
        start=first,
        end=first + series.duty_length,
        last_modified=series.last_modified,
        sequence=series.sequence,
        status=ical.CANCELLED if all(d.cancelled for d in in_series) else ical.CONFIRMED,
        location=series.location,
        description=series.description,
        categories=series.categories,
        rrule=own_rule,
        exdates=tuple(s for s in anchored if s not in wanted),
        overrides=tuple(overrides),
    )
    return singles + [master]


# --- public feeds: activities ----------------------------------------------------------------


@dataclass(frozen=True)
class Instance:
    """A stored occurrence that differs from its rule: moved, relocated or cancelled."""

    original_start: datetime
    start: datetime
    end: datetime
    status: str  # scheduled | cancelled (its own; the activity's status is on ActivityData)
    cancelled_at: datetime | None
    location: str
    sequence: int
    last_modified: datetime
    overridden: bool


@dataclass(frozen=True)
class ActivityData:
    """An activity as a public feed may show it (no private fields exist here)."""

    key: str
    summary: str
    description: str | None
    location: str
    categories: tuple[str, ...]
    start: datetime
    duration: timedelta
    rule: str | None
    exdates: tuple[datetime, ...]
    status: str  # active | cancelled
    cancelled_at: datetime | None
    sequence: int
    last_modified: datetime
    instances: tuple[Instance, ...] = field(default_factory=tuple)


def activity_event(activity: ActivityData, clock: Clock) -> ical.Event | None:
    """The public VEVENT of an activity (with its overrides), or None when it is not shown any more."""
    cancelled = activity.status == "cancelled"
    if cancelled and not clock.kept(activity.cancelled_at):
        return None
    base = ical.Event(
        key=activity.key,
        summary=activity.summary,
        start=activity.start,
        end=activity.start + activity.duration,
        last_modified=activity.last_modified,
        sequence=activity.sequence,
        status=ical.CANCELLED if cancelled else ical.CONFIRMED,
        location=activity.location,
        description=activity.description,
        categories=activity.categories,
    )
    if activity.rule is None:
        own = [i for i in activity.instances if i.original_start == activity.start]
        if own:
            inst = own[0]
            gone = cancelled or inst.status == "cancelled"
            if inst.status == "cancelled" and not cancelled and not clock.kept(inst.cancelled_at):
                return None
            base = replace(
                base,
                start=inst.start,
                end=inst.end,
                location=inst.location,
                status=ical.CANCELLED if gone else ical.CONFIRMED,
                sequence=activity.sequence + inst.sequence,
                last_modified=max(activity.last_modified, inst.last_modified),
            )
        return base if base.end >= clock.history_start else None

    rule = bounded_rule(activity.start, activity.rule)
    # DTSTART is the first instance still shown. That also keeps it on the rule: a DTSTART the
    # rule does not produce (a Monday start for BYDAY=SA,SU) is an instance for ical.js but not
    # for dateutil or the service, so it must never reach a feed.
    lower = max(activity.start, clock.history_start - activity.duration)
    anchor = first_after(activity.start, rule, lower)
    if anchor is None:
        return None
    # Re-anchor only where it provably keeps the same instances (checked over a year ahead).
    if anchor != activity.start and not _same_instances(rule, activity.start, anchor, anchor + timedelta(days=400)):
        anchor = activity.start
    exdates = {d for d in activity.exdates if d >= anchor}
    overrides = []
    for inst in sorted(activity.instances, key=lambda i: i.original_start):
        if inst.original_start < anchor or inst.original_start in exdates:
            continue
        if not expand(activity.start, rule, inst.original_start, inst.original_start):
            continue  # no longer on the rule (its schedule changed): no RECURRENCE-ID to hang it on
        if inst.status == "cancelled" and not cancelled and not clock.kept(inst.cancelled_at):
            exdates.add(inst.original_start)
            continue
        if not (inst.overridden or inst.status == "cancelled" or cancelled):
            continue
        overrides.append(
            ical.Override(
                recurrence_id=inst.original_start,
                start=inst.start,
                end=inst.end,
                last_modified=max(activity.last_modified, inst.last_modified),
                sequence=activity.sequence + inst.sequence,
                status=ical.CANCELLED if cancelled or inst.status == "cancelled" else ical.CONFIRMED,
                location=inst.location,
            )
        )
    return replace(
        base,
        start=anchor,
        end=anchor + activity.duration,
        rrule=rule,
        exdates=tuple(sorted(exdates)),
        overrides=tuple(overrides),
    )


# --- queries ---------------------------------------------------------------------------------


def _aware(value: datetime | None) -> datetime | None:
    return from_db(value)


def _categories(activity: Activity, team_labels: Mapping[str, str]) -> tuple[str, ...]:
    labels = [KIND_LABELS.get(activity.kind, activity.kind)]
    if activity.team:
        labels.append(team_labels.get(activity.team) or activity.team)
    return tuple(labels)


def _public_description(activity: Activity, team_labels: Mapping[str, str]) -> str:
    lines = [activity.description] if activity.description else []
    lines.append(" · ".join(_categories(activity, team_labels)))
    return "\n".join(lines)


def _place(activity: Activity) -> str:
    return domain.place_text(activity.grid_id, activity.courtyard, activity.room)


def _occurrence_place(occ: Occurrence) -> str:
    if occ.overridden and (occ.grid_id is not None or occ.courtyard or occ.room):
        return domain.place_text(occ.grid_id, occ.courtyard, occ.room)
    return _place(occ.activity)


def _usable(activity: Activity) -> bool:
    if recurrence.usable(from_db(activity.dtstart), activity.rrule):
        return True
    log.warning(
        "activity %d: its stored rule fails today's checks; personal feeds show its duties one by one,"
        " public feeds leave it out",
        activity.id,
    )
    return False


def _effective_cancelled_at(occ: Occurrence, activity: Activity) -> datetime | None:
    if occ.status == "cancelled":
        return _aware(occ.cancelled_at)
    if activity.status == "cancelled":
        return _aware(activity.cancelled_at)
    return None


def _series_text(
    activity: Activity,
    role: ActivityRole,
    last_visit: datetime | None,
    clock: Clock,
    days_after: int,
    volunteer_id: int,
    team_labels: Mapping[str, str],
) -> tuple[str, str, str | None, tuple[str, ...]]:
    """Summary, place, description and categories of a duty series in a personal feed."""
    role_line = f"岗位: {ROLE_LABELS.get(role.name, role.name)}"
    if activity.kind == "elderly_visit" and not activity.feed_shows_details:
        return NEUTRAL_VISIT, "", role_line, (NEUTRAL_VISIT,)
    description = [" · ".join(_categories(activity, team_labels)), role_line]
    if activity.description:
        description.insert(0, activity.description)
    place = _place(activity)
    if activity.kind == "elderly_visit" and domain.can_see_private(
        Caller(volunteer_id=volunteer_id), last_visit, clock.day, days_after
    ):
        place = activity.private_address or place
        if activity.visited_person:
            description.append(f"探访对象: {activity.visited_person}")
    summary = f"{activity.title} · {ROLE_LABELS.get(role.name, role.name)}"
    return summary, place, "\n".join(description), _categories(activity, team_labels)


def personal_feed(
    session: Session,
    volunteer_id: int,
    now: datetime,
    days_after: int = domain.VISIT_DETAILS_DAYS_AFTER,
    team_labels: Mapping[str, str] | None = None,
    community_name: str = tenancy.GUANYINLI_NAMES[1],
) -> ical.Feed:
    """All duties of one volunteer (confirmed, and cancelled ones for a while); teams by ``team_labels``;
    the calendar titled with the community's short name (``tenancy.names``)."""
    clock = Clock(now)
    rows = session.execute(
        select(Signup, Occurrence, ActivityRole, Activity)
        .join(Occurrence, Signup.occurrence_id == Occurrence.id)
        .join(OccurrenceRole, Signup.occurrence_role_id == OccurrenceRole.id)
        .join(ActivityRole, OccurrenceRole.role_id == ActivityRole.id)
        .join(Activity, Occurrence.activity_id == Activity.id)
        .where(Signup.volunteer_id == volunteer_id)
        .order_by(Activity.id, ActivityRole.id, Occurrence.original_start, Signup.id)
    ).all()
    grouped: dict[tuple[int, int], list] = defaultdict(list)
    last_visit: dict[int, datetime] = {}
    for row in rows:
        grouped[(row.Activity.id, row.ActivityRole.id)].append(row)
        if row.Signup.status == "confirmed" and row.Occurrence.status == "scheduled":
            end = from_db(row.Occurrence.end)
            last_visit[row.Activity.id] = max(last_visit.get(row.Activity.id, end), end)
    events: list[ical.Event] = []
    for (activity_id, role_id), group in grouped.items():
        activity, role = group[0].Activity, group[0].ActivityRole
        summary, location, description, categories = _series_text(
            activity, role, last_visit.get(activity_id), clock, days_after, volunteer_id, team_labels or {}
        )
        neutral = activity.kind == "elderly_visit" and not activity.feed_shows_details
        start = from_db(activity.dtstart)
        plain = domain.duty_window(
            start,
            start + timedelta(minutes=activity.duration_minutes),
            role.start_offset_minutes,
            role.duration_minutes,
        )
        duties = []
        sequence = activity.sequence
        last_modified = from_db(activity.updated_at)
        for row in group:
            signup, occ = row.Signup, row.Occurrence
            sequence += 1 + (signup.sequence or 0) + occ.sequence
            last_modified = max(last_modified, from_db(signup.updated_at), from_db(occ.updated_at))
            if signup.status not in ("confirmed", "cancelled"):
                continue
            window = domain.duty_window(
                from_db(occ.start), from_db(occ.end), role.start_offset_minutes, role.duration_minutes
            )
            occ_cancelled = occ.status == "cancelled" or activity.status == "cancelled"
            place = _occurrence_place(occ)
            duties.append(
                Duty(
                    original_start=from_db(occ.original_start),
                    start=window[0],
                    end=window[1],
                    signup_status=signup.status,
                    signup_cancelled_at=_aware(signup.cancelled_at),
                    occurrence_status="cancelled" if occ_cancelled else "scheduled",
                    occurrence_cancelled_at=_effective_cancelled_at(occ, activity),
                    location=location if neutral or place == _place(activity) else place,
                    last_modified=max(from_db(signup.updated_at), from_db(occ.updated_at)),
                )
            )
        series = DutySeries(
            key=f"duty/{volunteer_id}/{activity_id}/{role_id}",
            summary=summary,
            description=description,
            location=location,
            categories=categories,
            # A rule stored before today's checks: the duties are shown one by one, without it.
            rule=activity.rrule if _usable(activity) else None,
            activity_start=start,
            duty_offset=plain[0] - start,
            duty_length=plain[1] - plain[0],
            sequence=sequence,
            last_modified=last_modified,
            duties=tuple(duties),
        )
        events += duty_events(series, clock)
    return ical.Feed(
        name=f"{community_name} · 我的志愿服务",
        description=f"我在{community_name}社区的志愿服务值班",
        events=tuple(events),
    )


PUBLIC_SCOPES = ("team", "grid", "kind", "lectures")


def public_scope_name(
    scope: str,
    value: str | int | None,
    team_labels: Mapping[str, str] | None = None,
    community_name: str = tenancy.GUANYINLI_NAMES[1],
) -> str:
    if scope == "team":
        return f"{community_name} · {(team_labels or {}).get(value) or value}"
    if scope == "grid":
        return f"{community_name} · 第{value}网格"
    if scope == "kind":
        return f"{community_name} · {KIND_LABELS[value]}"
    return f"{community_name} · 立德树人讲堂 讲座安排"


def valid_scope(
    scope: str, value: str | int | None, grids: Container[int] | None = None, teams: Container[str] | None = None
) -> bool:
    """Whether a public feed exists (unknown teams, kinds and grids are 404, not empty feeds). The grids and
    teams are the community's (``grids``, ``teams``: the volunteers service's ids and codes; None: any, the
    caller checked it)."""
    if scope == "team":
        return isinstance(value, str) and (teams is None or value in teams)
    if scope == "kind":
        return value in KINDS and value not in PUBLIC_HIDDEN_KINDS
    if scope == "grid":
        return isinstance(value, int) and value >= 1 and (grids is None or value in grids)
    return scope == "lectures"


def _public_activities(scope: str, value: str | int | None, clock: Clock):
    """The activities a public feed considers (by scope; live, or cancelled recently; not long over)."""
    query = select(Activity).where(
        Activity.kind.not_in(sorted(PUBLIC_HIDDEN_KINDS)),
        or_(Activity.status == "active", Activity.cancelled_at >= to_db(clock.day - CANCELLED_KEPT)),
        or_(Activity.rrule.is_not(None), Activity.dtstart >= to_db(clock.history_start - timedelta(days=2))),
    )
    if scope == "team":
        return query.where(Activity.team == value)
    if scope == "grid":
        return query.where(Activity.grid_id == value)
    if scope == "kind":
        return query.where(Activity.kind == value)
    return query.where(Activity.kind == "lecture")


_SHOWN_INSTANCE = or_(Occurrence.overridden.is_(True), Occurrence.status == "cancelled")


# --- versions: a cheap summary of everything a feed is built from -------------------------------

# PostgreSQL notifies this channel at each commit that changes a table versions are read from
# (triggers of migration f3b8d2a6c4e1): replicas keep the versions they read until then.
CHANGES_CHANNEL = "activities_changed"
#
# Every change a feed shows bumps a ``sequence`` counter (activities and occurrences by
# ``store._touch``, sign-ups by their status listener) and an ``updated_at``; new rows change a
# count. So equal versions on the same local day mean equal feeds, and a rendered body can be
# reused (``feeds.FeedCache``). Read the version BEFORE building the feed it labels: a change
# committed in between then only makes the next request render again.


def _personal_aggregates(*extra):
    """The version's aggregates of one volunteer's sign-ups (joined from ``extra`` columns' table)."""
    return select(
        *extra,
        func.count(Signup.id),
        func.sum(Signup.sequence),
        func.max(Signup.updated_at),
        func.sum(Occurrence.sequence),
        func.max(Occurrence.updated_at),
        func.sum(Activity.sequence),
        func.max(Activity.updated_at),
    )


def personal_version(session: Session, volunteer_id: int, now: datetime) -> tuple:
    row = session.execute(
        _personal_aggregates()
        .select_from(Signup)
        .join(Occurrence, Signup.occurrence_id == Occurrence.id)
        .join(Activity, Occurrence.activity_id == Activity.id)
        .where(Signup.volunteer_id == volunteer_id)
    ).one()
    return (Clock(now).day.date(), *row)


# Built once: the statement's cache key is then computed once, not on every request.
_TOKEN_AND_VERSION = (
    _personal_aggregates(FeedToken.volunteer_id, FeedToken.revoked_at)
    .select_from(FeedToken)
    .outerjoin(Signup, Signup.volunteer_id == FeedToken.volunteer_id)
    .outerjoin(Occurrence, Signup.occurrence_id == Occurrence.id)
    .outerjoin(Activity, Occurrence.activity_id == Activity.id)
    .where(FeedToken.id == bindparam("token_id"))
    .group_by(FeedToken.id, FeedToken.volunteer_id, FeedToken.revoked_at)
)


def token_and_version(session: Session, token_id: int, now: datetime) -> tuple[int, datetime | None, tuple] | None:
    """A feed token row's volunteer and revocation, with the volunteer's ``personal_version``, in one
    statement (the 304 path of a feed asks for nothing else); None when there is no such row."""
    row = session.execute(_TOKEN_AND_VERSION, {"token_id": token_id}).first()
    if row is None:
        return None
    return row[0], row[1], (Clock(now).day.date(), *row[2:])


def public_version(session: Session, scope: str, value: str | int | None, now: datetime) -> tuple:
    clock = Clock(now)
    ids = _public_activities(scope, value, clock).with_only_columns(Activity.id).scalar_subquery()
    activities = session.execute(
        select(func.count(Activity.id), func.sum(Activity.sequence), func.max(Activity.updated_at)).where(
            Activity.id.in_(ids)
        )
    ).one()
    instances = session.execute(
        select(func.count(Occurrence.id), func.sum(Occurrence.sequence), func.max(Occurrence.updated_at)).where(
            Occurrence.activity_id.in_(ids), _SHOWN_INSTANCE
        )
    ).one()
    return (clock.day.date(), *activities, *instances)


def public_feed(
    session: Session,
    scope: str,
    value: str | int | None,
    now: datetime,
    team_labels: Mapping[str, str] | None = None,
    community_name: str = tenancy.GUANYINLI_NAMES[1],
) -> ical.Feed:
    """Activities of a team, a grid, a kind, or the lecture hall programme: no private data, no elderly visit;
    teams named by ``team_labels`` (code -> name), else by their codes."""
    team_labels = team_labels or {}
    if not valid_scope(scope, value):
        raise ValueError(f"no public feed {scope}/{value}")
    clock = Clock(now)
    query = _public_activities(scope, value, clock)
    activities = list(session.scalars(query.order_by(Activity.id)))
    instances: dict[int, list[Instance]] = defaultdict(list)
    if activities:
        by_id = {a.id: a for a in activities}
        for occ in session.scalars(
            select(Occurrence).where(
                Occurrence.activity_id.in_(list(by_id)),
                _SHOWN_INSTANCE,
            )
        ):
            instances[occ.activity_id].append(
                Instance(
                    original_start=from_db(occ.original_start),
                    start=from_db(occ.start),
                    end=from_db(occ.end),
                    status=occ.status,
                    cancelled_at=_aware(occ.cancelled_at),
                    location=_occurrence_place(occ),
                    sequence=occ.sequence,
                    last_modified=from_db(occ.updated_at),
                    overridden=occ.overridden,
                )
            )
    events = []
    for activity in activities:
        if not _usable(activity):
            continue
        data = ActivityData(
            key=f"activity/{activity.id}",
            summary=activity.title,
            description=_public_description(activity, team_labels),
            location=_place(activity),
            categories=_categories(activity, team_labels),
            start=from_db(activity.dtstart),
            duration=timedelta(minutes=activity.duration_minutes),
            rule=activity.rrule,
            exdates=tuple(from_db(e.original_start) for e in activity.exdates),
            status=activity.status,
            cancelled_at=_aware(activity.cancelled_at),
            sequence=activity.sequence,
            last_modified=from_db(activity.updated_at),
            instances=tuple(instances[activity.id]),
        )
        event = activity_event(data, clock)
        if event is not None:
            events.append(event)
    return ical.Feed(name=public_scope_name(scope, value, team_labels, community_name), events=tuple(events))
