"""RFC 5545 recurrence of activities, expanded with python-dateutil in community local time.

Rules are expanded from an aware local DTSTART (Asia/Shanghai), so "every Saturday 09:00" stays
09:00 local. A rule is stored as the RRULE value only (``FREQ=WEEKLY;BYDAY=SA``); exception dates
(EXDATE) and per-occurrence overrides live in their own tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta

from dateutil.rrule import DAILY, rrule, rrulestr

from guanyinli.timeutil import local

ALLOWED_FREQ = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
# The time of day of every occurrence is the start's: a rule naming hours, minutes or seconds
# either repeats the start's (nothing to say) or yields other times, and several a day.
TIME_OF_DAY_PARTS = ("BYHOUR", "BYMINUTE", "BYSECOND")
MAX_EXPANSION = 5000  # occurrences per activity and window: a guard against runaway rules
# A new rule is expanded this far (or this many times) from its start to check that it yields at
# most one occurrence a local day, whatever combination of parts (BYSETPOS, INTERVAL...) it uses.
SAMPLE_SPAN = timedelta(days=800)
SAMPLE_COUNT = 800


class RecurrenceError(ValueError):
    """The RRULE cannot be used (syntax, more than one occurrence a day, UNTIL without zone...)."""


def normalise_rule(value: str | None) -> str | None:
    """The RRULE value without the ``RRULE:`` prefix, upper case; ``None`` for a one-off."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if value.upper().startswith("RRULE:"):
        value = value[6:]
    value = value.upper()
    parts = dict(p.split("=", 1) for p in value.split(";") if "=" in p)
    if parts.get("FREQ") not in ALLOWED_FREQ:
        raise RecurrenceError(f"FREQ must be one of {', '.join(ALLOWED_FREQ)}")
    for name in TIME_OF_DAY_PARTS:
        if name in parts:
            raise RecurrenceError(f"{name} is not allowed: every occurrence starts at the time of day of start")
    if "COUNT" in parts and "UNTIL" in parts:
        raise RecurrenceError("COUNT and UNTIL cannot both be given")
    if "UNTIL" in parts and not parts["UNTIL"].endswith("Z") and "T" in parts["UNTIL"]:
        raise RecurrenceError("UNTIL with a time must be in UTC (ending in Z)")
    return value


def _rule(dtstart: datetime, rule: str) -> rrule:
    text = rule
    until = dict(p.split("=", 1) for p in rule.split(";") if "=" in p).get("UNTIL")
    if until and "T" not in until:
        # A date-only UNTIL is inclusive of that local day; dateutil wants an aware moment.
        day = datetime.strptime(until, "%Y%m%d").replace(hour=23, minute=59, second=59)
        text = rule.replace(f"UNTIL={until}", "UNTIL=" + local(day).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ"))
    try:
        parsed = rrulestr("RRULE:" + text, dtstart=local(dtstart))
    except (ValueError, TypeError, OverflowError) as exc:
        raise RecurrenceError(f"not a valid RRULE: {exc}") from None
    _at_most_daily(parsed)
    return parsed


def _at_most_daily(parsed: rrule) -> None:
    """Refuse what dateutil parsed into more than one start a day, or into a start repeated forever.

    Checked on every expansion, so a rule stored before this check existed is refused (typed) at
    listing instead of expanding into thousands of starts, or looping on INTERVAL=0.
    """
    if parsed._freq > DAILY:  # dateutil's order: YEARLY=0 ... DAILY=3, HOURLY=4 ...
        raise RecurrenceError("more than one occurrence a day: FREQ must be DAILY or longer")
    if parsed._interval < 1:
        raise RecurrenceError("INTERVAL must be at least 1")
    for name, values in (("BYHOUR", parsed._byhour), ("BYMINUTE", parsed._byminute), ("BYSECOND", parsed._bysecond)):
        if values is not None and len(values) > 1:
            raise RecurrenceError(f"more than one occurrence a day: {name} has {len(values)} values")


def _expanded(starts: Iterable[datetime]) -> Iterator[datetime]:
    """The starts, with dateutil's errors while expanding (years past 9999...) and any second start
    on one local day raised as RecurrenceError."""
    previous = None
    try:
        for start in starts:
            if previous is not None and start.date() <= previous.date():
                raise RecurrenceError(
                    f"more than one occurrence a day ({previous.isoformat()} and {start.isoformat()})"
                )
            previous = start
            yield start
    except (ValueError, OverflowError, TypeError) as exc:
        if isinstance(exc, RecurrenceError):
            raise
        raise RecurrenceError(f"cannot be expanded: {exc}") from None


def at_most_daily(dtstart: datetime, rule: str) -> None:
    """The rule of activities: at most one occurrence a local day (so at most one per day per
    activity on every roster, feed and listing). Checked on dateutil's own expansion of the rule
    over ``SAMPLE_SPAN`` (or ``SAMPLE_COUNT`` starts), not on its text alone."""
    parsed = _rule(dtstart, rule)
    first = local(dtstart)
    sample = 0
    for start in _expanded(parsed.xafter(first - timedelta(seconds=1), inc=True)):
        sample += 1
        if sample >= SAMPLE_COUNT or start > first + SAMPLE_SPAN:
            return
    if sample == 0:
        raise RecurrenceError("the rule produces no occurrence")


def usable(dtstart: datetime, rule: str | None) -> bool:
    """Whether a stored rule passes today's checks on what dateutil parses (without expanding it):
    a rule stored before them may yield several starts a day, or one start forever (INTERVAL=0)."""
    try:
        if rule is not None:
            _rule(dtstart, rule)
    except RecurrenceError:
        return False
    return True


def validate(dtstart: datetime, rule: str | None) -> str | None:
    """Normalise and check a rule against its start; returns the value to store."""
    rule = normalise_rule(rule)
    if rule is not None:
        at_most_daily(dtstart, rule)
    return rule


def original_starts(
    dtstart: datetime,
    rule: str | None,
    duration: timedelta,
    window_start: datetime,
    window_end: datetime,
    exdates: frozenset[datetime] | set[datetime] = frozenset(),
) -> list[datetime]:
    """Original starts (aware, local) of the occurrences that overlap [window_start, window_end).

    EXDATEs are left out; overrides that move an occurrence are the caller's business (they are
    stored per occurrence and keyed by the original start returned here).
    """
    dtstart = local(dtstart)
    window_start, window_end = local(window_start), local(window_end)
    excluded = {local(d) for d in exdates}
    if rule is None:
        starts = [dtstart] if dtstart < window_end and dtstart + duration > window_start else []
    else:
        starts = []
        for s in _expanded(_rule(dtstart, rule).xafter(window_start - duration, inc=False)):
            if s >= window_end:
                break
            starts.append(s)
            if len(starts) > MAX_EXPANSION:
                raise RecurrenceError(f"more than {MAX_EXPANSION} occurrences in the window")
    return [s for s in starts if s not in excluded]


def is_occurrence(dtstart: datetime, rule: str | None, original_start: datetime) -> bool:
    """Whether ``original_start`` is one of the rule's starts (EXDATEs not considered)."""
    original_start = local(original_start)
    if rule is None:
        return local(dtstart) == original_start
    parsed = _rule(dtstart, rule)
    for found in _expanded(parsed.xafter(original_start - timedelta(seconds=1), inc=True)):
        return found == original_start
    return False
