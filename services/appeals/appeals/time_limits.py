"""Time limits of resident appeals: the deadlines per category and urgency, and the escalation ladder.

Plain rules over plain data: no nameko, no database, no clock of its own. The service feeds it an appeal's
times and the escalation steps it has already fired, and fires what comes back (each step once, by its key),
then sleeps until ``next_check``.

How the limits are counted (the "full response" promise of the community office):

- **acknowledge** within N *daytime* hours. Daytime is 08:00-20:00 community time, every day of the week,
  because the grid members' duty runs through weekends. An appeal received at night is counted from 08:00 the
  next morning, so an appeal at 23:00 with a 2-hour limit is due at 10:00, not at 01:00.
- **visit** within M clock hours and **close** within K days, both counted from the same start as the
  acknowledgement (the first daytime moment at or after receipt), so a night appeal does not lose its night.
- *around the clock* categories (urgent safety hazards, elevator faults) count every stage from the moment of
  receipt, day or night: someone trapped in a lift or a smouldering battery in a corridor cannot wait for 08:00.
- A later stage is never due before an earlier one: an urgent repair received at 19:30 has its visit due no
  earlier than its acknowledgement the next morning.

Asia/Shanghai has had no daylight saving since 1991, so wall-clock arithmetic on aware datetimes is exact.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, fields, replace
from datetime import datetime, time, timedelta
from types import MappingProxyType
from typing import Any

from appeals.domain import CATEGORIES, URGENCIES
from guanyinli.timeutil import TZ

DAY_START = time(8, 0)
DAY_END = time(20, 0)
_DAY_LENGTH = timedelta(hours=DAY_END.hour - DAY_START.hour, minutes=DAY_END.minute - DAY_START.minute)

STAGES = ("acknowledge", "visit", "close")

# Upper bounds a config may set: beyond them a typo (hours written as minutes) is likelier than intent.
_MAXIMUM = {"acknowledge_hours": 24 * 7, "visit_hours": 24 * 30, "close_days": 365}


class UnknownCategory(ValueError):
    """A category or urgency that has no time limit."""


class LimitsConfigError(ValueError):
    """A time-limits config that cannot be used. ``errors`` lists every problem, each naming its path."""

    def __init__(self, errors: list[str]):
        super().__init__("invalid appeal time limits: " + "; ".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class Limit:
    """The limits of one category at one urgency."""

    acknowledge_hours: float  # daytime hours, or clock hours when around_the_clock
    visit_hours: float  # clock hours from the start of the count
    close_days: float  # days from the start of the count
    around_the_clock: bool = False  # count from receipt, day and night


@dataclass(frozen=True)
class Deadlines:
    acknowledge: datetime
    visit: datetime
    close: datetime

    def of(self, stage: str) -> datetime:
        return getattr(self, stage)


Limits = Mapping[tuple[str, str], Limit]


def _default_limits() -> Limits:
    # Normal appeals: acknowledged within 2 daytime hours, visited within a day, closed within a week; the
    # quick kinds (an errand, a hazard, a lift) within 3 days. Urgent ones: within an hour, visited within 4
    # hours, closed within 3 days (an errand within one).
    normal_close = {"errand": 3, "safety_hazard": 3, "elevator": 3}
    urgent_close = {"errand": 1}
    table: dict[tuple[str, str], Limit] = {}
    for category in CATEGORIES:
        table[category, "normal"] = Limit(2, 24, normal_close.get(category, 7))
        table[category, "urgent"] = Limit(1, 4, urgent_close.get(category, 3))
    # Danger to life does not wait for the morning: half an hour, a visit within 2 hours, closed next day.
    table["safety_hazard", "urgent"] = Limit(0.5, 2, 1, around_the_clock=True)
    table["elevator", "urgent"] = Limit(0.5, 2, 1, around_the_clock=True)
    # A stopped lift strands the old people of the upper floors, whatever its urgency on the form.
    table["elevator", "normal"] = Limit(1, 12, 3, around_the_clock=True)
    return MappingProxyType(table)


DEFAULT_LIMITS: Limits = _default_limits()


def limit_for(limits: Limits, category: str, urgency: str) -> Limit:
    try:
        return limits[category, urgency]
    except KeyError:
        raise UnknownCategory(
            f"no time limit for category {category!r} at urgency {urgency!r} "
            f"(categories: {', '.join(CATEGORIES)}; urgencies: {', '.join(URGENCIES)})"
        ) from None


# --- config -----------------------------------------------------------------------------------------------


def limits_from_config(config: Mapping[str, Any] | None, base: Limits = DEFAULT_LIMITS) -> Limits:
    """The limits of ``base`` overridden by a plain dict, e.g. from the service's YAML config::

        {"repair": {"acknowledge_hours": 3, "urgent": {"visit_hours": 6}},
         "environment": {"close_days": 5}}

    Fields at the category level apply to both urgencies; a ``normal`` or ``urgent`` dict inside overrides
    them for that urgency. Every problem is reported at once in a ``LimitsConfigError``.
    """
    if config is None:
        return base
    if not isinstance(config, Mapping):
        raise LimitsConfigError(
            [f"the time limits must be a mapping of category to limits, got {type(config).__name__}"]
        )
    errors: list[str] = []
    table = dict(base)
    for category, entry in config.items():
        if category not in CATEGORIES:
            errors.append(f"{category}: unknown category (known: {', '.join(CATEGORIES)})")
            continue
        if not isinstance(entry, Mapping):
            errors.append(f"{category}: must be a mapping of limits, got {type(entry).__name__}")
            continue
        shared = {key: value for key, value in entry.items() if key not in URGENCIES}
        shared_fields = _checked_fields(category, shared, errors)
        for urgency in URGENCIES:
            own = entry.get(urgency, {})
            if not isinstance(own, Mapping):
                errors.append(f"{category}.{urgency}: must be a mapping of limits, got {type(own).__name__}")
                continue
            own_fields = _checked_fields(f"{category}.{urgency}", own, errors)
            table[category, urgency] = replace(limit_for(base, category, urgency), **{**shared_fields, **own_fields})
    if errors:
        raise LimitsConfigError(errors)
    return MappingProxyType(table)


def _checked_fields(path: str, values: Mapping[str, Any], errors: list[str]) -> dict[str, Any]:
    known = {field.name for field in fields(Limit)}
    checked: dict[str, Any] = {}
    for name, value in values.items():
        where = f"{path}.{name}"
        if name not in known:
            errors.append(f"{where}: unknown field (known: {', '.join(sorted(known))}, normal, urgent)")
        elif name == "around_the_clock":
            if isinstance(value, bool):
                checked[name] = value
            else:
                errors.append(f"{where}: must be true or false, got {value!r}")
        elif isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            errors.append(f"{where}: must be a number, got {value!r}")
        elif not 0 < value <= _MAXIMUM[name]:
            errors.append(f"{where}: must be more than 0 and at most {_MAXIMUM[name]}, got {value!r}")
        else:
            checked[name] = value
    return checked


# --- deadlines --------------------------------------------------------------------------------------------


def _aware(dt: datetime, name: str) -> datetime:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime, got naive {dt.isoformat()}")
    return dt.astimezone(TZ)


def daytime_start(at: datetime) -> datetime:
    """The first daytime moment at or after ``at``: ``at`` itself in the daytime, else the next 08:00."""
    at = _aware(at, "at")
    day_start = datetime.combine(at.date(), DAY_START, TZ)
    if at < day_start:
        return day_start
    if at.time() >= DAY_END:
        return day_start + timedelta(days=1)
    return at


def add_daytime(start: datetime, duration: timedelta) -> datetime:
    """``start`` moved on by ``duration`` of daytime, skipping nights. A span that ends exactly at 20:00 ends
    that evening, not at 08:00 next morning."""
    at = daytime_start(start)
    remaining = duration
    while True:
        evening = datetime.combine(at.date(), DAY_END, TZ)
        if remaining <= evening - at:
            return at + remaining
        remaining -= evening - at
        # Whole days at once, so a limit of weeks does not loop day by day.
        whole_days = max(0, (remaining - timedelta(microseconds=1)) // _DAY_LENGTH)
        remaining -= whole_days * _DAY_LENGTH
        at = datetime.combine(at.date() + timedelta(days=1 + whole_days), DAY_START, TZ)


def _stage_time(limit: Limit, received_at: datetime, stage: str, fraction: float) -> datetime:
    """When ``fraction`` of the stage's limit has run, before the rule that stages keep their order."""
    start = received_at if limit.around_the_clock else daytime_start(received_at)
    if stage == "acknowledge":
        span = timedelta(hours=limit.acknowledge_hours * fraction)
        return start + span if limit.around_the_clock else add_daytime(start, span)
    if stage == "visit":
        return start + timedelta(hours=limit.visit_hours * fraction)
    return start + timedelta(days=limit.close_days * fraction)


def _ladder_times(limit: Limit, received_at: datetime, fraction: float) -> dict[str, datetime]:
    times: dict[str, datetime] = {}
    earlier = None
    for stage in STAGES:
        at = _stage_time(limit, received_at, stage, fraction)
        earlier = at if earlier is None else max(earlier, at)
        times[stage] = earlier
    return times


def deadlines(category: str, urgency: str, received_at: datetime, limits: Limits = DEFAULT_LIMITS) -> Deadlines:
    """The acknowledge, visit and close deadlines of an appeal received at ``received_at`` (aware)."""
    limit = limit_for(limits, category, urgency)
    return Deadlines(**_ladder_times(limit, _aware(received_at, "received_at"), 1.0))


# --- escalation -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    level: str  # who is told
    fraction: float  # of the stage's limit, when they are told


# Warn the handler when three quarters of the time has run, tell the grid leader when the limit breaks, and
# the community office when it is broken by half its length again.
LADDER = (Step("handler", 0.75), Step("grid_leader", 1.0), Step("community_office", 1.5))
LEVELS = tuple(step.level for step in LADDER)


@dataclass(frozen=True, order=True)
class EscalationKey:
    """Names one step of one appeal for good, so the caller records it and fires it once."""

    appeal_id: str
    stage: str
    level: str

    def __str__(self) -> str:
        return f"{self.appeal_id}:{self.stage}:{self.level}"

    @classmethod
    def parse(cls, text: str) -> EscalationKey:
        appeal_id, stage, level = text.rsplit(":", 2)
        if stage not in STAGES or level not in LEVELS:
            raise ValueError(f"not an escalation key: {text!r}")
        return cls(appeal_id, stage, level)


@dataclass(frozen=True)
class AppealTimes:
    """What the ladder needs of an appeal. Times are aware; a stage done implies the earlier ones done."""

    appeal_id: str | int
    category: str
    urgency: str
    received_at: datetime
    acknowledged_at: datetime | None = None
    visited_at: datetime | None = None
    closed_at: datetime | None = None


@dataclass(frozen=True)
class Escalation:
    key: EscalationKey
    due_at: datetime  # when this step became due
    deadline: datetime  # the stage's deadline, for the message

    @property
    def stage(self) -> str:
        return self.key.stage

    @property
    def level(self) -> str:
        return self.key.level


def _open_stages(appeal: AppealTimes) -> tuple[str, ...]:
    done = (appeal.acknowledged_at, appeal.visited_at, appeal.closed_at)
    # A visit acknowledges, a close visits: only the stages after the last one done are still open.
    last_done = max((index for index, at in enumerate(done) if at is not None), default=-1)
    return STAGES[last_done + 1 :]


def _pending(appeal: AppealTimes, fired: Collection[EscalationKey | str], limits: Limits) -> list[Escalation]:
    """Every step of the open stages not fired yet, due or not, earliest first."""
    limit = limit_for(limits, appeal.category, appeal.urgency)
    received_at = _aware(appeal.received_at, "received_at")
    fired_names = {str(key) for key in fired}
    stage_deadlines = _ladder_times(limit, received_at, 1.0)
    open_stages = _open_stages(appeal)
    pending = []
    for step in LADDER:
        times = _ladder_times(limit, received_at, step.fraction)
        for stage in open_stages:
            key = EscalationKey(str(appeal.appeal_id), stage, step.level)
            if str(key) not in fired_names:
                pending.append(Escalation(key, times[stage], stage_deadlines[stage]))
    pending.sort(key=lambda escalation: (escalation.due_at, STAGES.index(escalation.stage), escalation.key))
    return pending


def due_escalations(
    now: datetime,
    appeal: AppealTimes,
    fired: Collection[EscalationKey | str] = (),
    limits: Limits = DEFAULT_LIMITS,
) -> list[Escalation]:
    """The steps due at ``now`` that are not in ``fired`` (keys or their ``str``), earliest first.

    Steps a restart let pile up all come back, each once: the handler still learns of the stage the office
    now chases. A stage done (or the appeal closed) stops its ladder, even for steps that were due before.
    """
    now = _aware(now, "now")
    return [escalation for escalation in _pending(appeal, fired, limits) if escalation.due_at <= now]


def next_check(
    now: datetime,
    appeal: AppealTimes,
    fired: Collection[EscalationKey | str] = (),
    limits: Limits = DEFAULT_LIMITS,
) -> datetime | None:
    """When a timer should look at the appeal again: the earliest step not yet fired (at or before ``now``
    when something is due already), or None when nothing can become due any more (closed, or all fired)."""
    _aware(now, "now")
    pending = _pending(appeal, fired, limits)
    return pending[0].due_at if pending else None
