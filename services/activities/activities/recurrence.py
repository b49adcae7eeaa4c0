"""RFC 5545 recurrence of activities, expanded with python-dateutil in community local time.

Rules are expanded from an aware local DTSTART (Asia/Shanghai), so "every Saturday 09:00" stays
09:00 local. A rule is stored as the RRULE value only (``FREQ=WEEKLY;BYDAY=SA``); exception dates
(EXDATE) and per-occurrence overrides live in their own tables.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dateutil.rrule import rrule, rrulestr

from guanyinli.timeutil import local

ALLOWED_FREQ = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
MAX_EXPANSION = 5000  # occurrences per activity and window: a guard against runaway rules


class RecurrenceError(ValueError):
    """The RRULE cannot be used (syntax, frequency finer than daily, UNTIL without zone...)."""


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
        return rrulestr("RRULE:" + text, dtstart=local(dtstart))
    except (ValueError, TypeError) as exc:
        raise RecurrenceError(f"not a valid RRULE: {exc}") from None


def validate(dtstart: datetime, rule: str | None) -> str | None:
    """Normalise and check a rule against its start; returns the value to store."""
    rule = normalise_rule(rule)
    if rule is not None:
        r = _rule(dtstart, rule)
        if r.after(local(dtstart) - timedelta(seconds=1), inc=True) is None:
            raise RecurrenceError("the rule produces no occurrence")
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
        for s in _rule(dtstart, rule).xafter(window_start - duration, inc=False):
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
    found = _rule(dtstart, rule).after(original_start - timedelta(seconds=1), inc=True)
    return found == original_start
