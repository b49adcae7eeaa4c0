"""iCalendar (RFC 5545) feeds rendered from plain dataclasses: no database, no nameko, bytes out.

What subscribing clients (Google, Apple, Outlook, Thunderbird) need, see ``shared/ICAL.md``:
local times carry ``TZID=Asia/Shanghai`` with a matching VTIMEZONE, an RRULE's UNTIL is in UTC,
UIDs are uuid5 of a stable database key, DTSTAMP/LAST-MODIFIED are the last change (never
"now"), and the same input always gives the same bytes (events, overrides and EXDATEs are
sorted here, so callers may pass them in any order). No METHOD: a feed is not an invitation.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from icalendar import Calendar, Timezone, TimezoneStandard, vDuration, vRecur, vText
from icalendar import Event as VEvent

from guanyinli.timeutil import TZ

PRODID = "-//Guanyinli Community//Activities feeds 1.0//ZH"
TZID = "Asia/Shanghai"
# Fixed forever: every UID ever published is derived from it.
UID_NAMESPACE = uuid.UUID("f5c05d92-8525-54a5-90dc-48f908369638")  # uuid5(NAMESPACE_DNS, "feeds.activities.guanyinli")
CONFIRMED = "CONFIRMED"
CANCELLED = "CANCELLED"
TENTATIVE = "TENTATIVE"
STATUSES = (CONFIRMED, CANCELLED, TENTATIVE)
DEFAULT_REFRESH = timedelta(hours=1)

# Control characters are not allowed in iCalendar TEXT (RFC 5545 3.3.11); newlines are escaped.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def uid_for(key: str) -> str:
    """The UID of the database object named by ``key`` (e.g. ``activity/12``): opaque and stable."""
    return str(uuid.uuid5(UID_NAMESPACE, key))


@dataclass(frozen=True)
class Override:
    """One instance of a recurring event that differs from the rule (iCalendar RECURRENCE-ID).

    ``recurrence_id`` is the instance's original start by the rule. ``None`` in summary,
    location or description means "as the series".
    """

    recurrence_id: datetime
    start: datetime
    end: datetime
    last_modified: datetime
    sequence: int = 0
    status: str = CONFIRMED
    summary: str | None = None
    location: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class Event:
    """A VEVENT: one-off, or a series with ``rrule`` (an RRULE value), EXDATEs and overrides.

    ``key`` names the database object (``activity/12``, ``duty/7/12/3``); its uuid5 is the UID.
    All datetimes must be aware; they are written in Asia/Shanghai local time (DTSTAMP and
    LAST-MODIFIED in UTC).
    """

    key: str
    summary: str
    start: datetime
    end: datetime
    last_modified: datetime
    sequence: int = 0
    status: str = CONFIRMED
    location: str | None = None
    description: str | None = None
    categories: tuple[str, ...] = ()
    rrule: str | None = None
    exdates: tuple[datetime, ...] = ()
    overrides: tuple[Override, ...] = ()

    @property
    def uid(self) -> str:
        return uid_for(self.key)


@dataclass(frozen=True)
class Feed:
    """A calendar: its name (X-WR-CALNAME and NAME), how often clients should re-read it, its events."""

    name: str
    events: tuple[Event, ...] = field(default_factory=tuple)
    description: str | None = None
    refresh: timedelta = DEFAULT_REFRESH


class FeedError(ValueError):
    """The input cannot be rendered as a valid feed (naive datetime, override without rule...)."""


# --- values ----------------------------------------------------------------------------------


def _aware(dt: datetime, what: str) -> datetime:
    if dt.tzinfo is None or dt.tzinfo.utcoffset(dt) is None:
        raise FeedError(f"{what}: naive datetime {dt.isoformat()} (give an aware one)")
    return dt.replace(microsecond=0)


def _local(dt: datetime, what: str) -> datetime:
    return _aware(dt, what).astimezone(TZ)


def _utc(dt: datetime, what: str) -> datetime:
    return _aware(dt, what).astimezone(UTC)


def clean_text(value: str | None) -> str | None:
    """Text as iCalendar may carry it: CRLF/CR become LF, other control characters go."""
    if value is None:
        return None
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", value)


def rule_parts(rule: str) -> list[tuple[str, str]]:
    """``FREQ=WEEKLY;BYDAY=SA`` as ordered (name, value) pairs, names upper case."""
    text = rule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    parts = []
    for item in text.split(";"):
        if not item:
            continue
        name, sep, value = item.partition("=")
        if not sep or not value:
            raise FeedError(f"rrule: malformed part {item!r}")
        parts.append((name.strip().upper(), value.strip().upper()))
    if "FREQ" not in dict(parts):
        raise FeedError("rrule: FREQ is required")
    return parts


def until_utc(value: str) -> str:
    """An RRULE UNTIL in UTC (RFC 5545 3.3.10: required when DTSTART has a TZID).

    A date (``20261231``) means that whole local day; a local date-time is read in Asia/Shanghai.
    """
    if value.endswith("Z"):
        return value
    if "T" in value:
        moment = datetime.strptime(value, "%Y%m%dT%H%M%S").replace(tzinfo=TZ)
    else:
        moment = datetime.strptime(value, "%Y%m%d").replace(hour=23, minute=59, second=59, tzinfo=TZ)
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def rule_with_utc_until(rule: str) -> str:
    """The RRULE value with its UNTIL (if any) rewritten in UTC."""
    return ";".join(f"{k}={until_utc(v) if k == 'UNTIL' else v}" for k, v in rule_parts(rule))


# --- components ------------------------------------------------------------------------------


def vtimezone() -> Timezone:
    """Asia/Shanghai: UTC+8 without daylight saving since 1992 (as tzurl.org publishes it)."""
    zone = Timezone()
    zone.add("tzid", TZID)
    zone.add("x-lic-location", TZID)
    standard = TimezoneStandard()
    standard.add("tzoffsetfrom", timedelta(hours=8))
    standard.add("tzoffsetto", timedelta(hours=8))
    standard.add("tzname", "CST")
    standard.add("dtstart", datetime(1970, 1, 1))
    zone.add_component(standard)
    return zone


def _status(value: str, what: str) -> str:
    if value not in STATUSES:
        raise FeedError(f"{what}: status must be one of {', '.join(STATUSES)}, not {value!r}")
    return value


def _check_span(start: datetime, end: datetime, what: str) -> None:
    if end <= start:
        raise FeedError(f"{what}: end {end.isoformat()} is not after start {start.isoformat()}")


def _common(vevent: VEvent, uid: str, last_modified: datetime, sequence: int, what: str) -> None:
    stamp = _utc(last_modified, f"{what} last_modified")
    vevent.add("uid", uid)
    vevent.add("dtstamp", stamp)
    vevent.add("last-modified", stamp)
    if sequence < 0:
        raise FeedError(f"{what}: sequence must not be negative")
    vevent.add("sequence", sequence)


def _text(vevent: VEvent, name: str, value: str | None) -> None:
    value = clean_text(value)
    if value:
        vevent.add(name, value)


def _master(event: Event) -> VEvent:
    what = f"event {event.key}"
    vevent = VEvent()
    _common(vevent, event.uid, event.last_modified, event.sequence, what)
    start, end = _local(event.start, f"{what} start"), _local(event.end, f"{what} end")
    _check_span(start, end, what)
    vevent.add("dtstart", start)
    vevent.add("dtend", end)
    if event.rrule:
        vevent.add("rrule", vRecur.from_ical(rule_with_utc_until(event.rrule)))
        exdates = sorted({_local(d, f"{what} exdate") for d in event.exdates})
        if exdates:
            vevent.add("exdate", exdates)
    elif event.exdates or event.overrides:
        raise FeedError(f"{what}: EXDATE and overrides need an rrule")
    _text(vevent, "summary", event.summary)
    _text(vevent, "location", event.location)
    _text(vevent, "description", event.description)
    if event.categories:
        vevent.add("categories", [clean_text(c) for c in event.categories])
    vevent.add("status", _status(event.status, what))
    return vevent


def _override(event: Event, override: Override) -> VEvent:
    what = f"event {event.key} instance {override.recurrence_id.isoformat()}"
    vevent = VEvent()
    # Clients ignore an override whose SEQUENCE is below the series' (an "older edit").
    _common(vevent, event.uid, override.last_modified, max(override.sequence, event.sequence), what)
    start, end = _local(override.start, f"{what} start"), _local(override.end, f"{what} end")
    _check_span(start, end, what)
    vevent.add("recurrence-id", _local(override.recurrence_id, f"{what} recurrence_id"))
    vevent.add("dtstart", start)
    vevent.add("dtend", end)
    _text(vevent, "summary", override.summary if override.summary is not None else event.summary)
    _text(vevent, "location", override.location if override.location is not None else event.location)
    _text(vevent, "description", override.description if override.description is not None else event.description)
    if event.categories:
        vevent.add("categories", [clean_text(c) for c in event.categories])
    vevent.add("status", _status(override.status, what))
    return vevent


def components(event: Event) -> list[VEvent]:
    """The VEVENTs of one event: the master, then its overrides in RECURRENCE-ID order."""
    result = [_master(event)]
    seen: set[datetime] = set()
    for override in sorted(event.overrides, key=lambda o: _utc(o.recurrence_id, f"event {event.key} override")):
        rid = _utc(override.recurrence_id, f"event {event.key} override")
        if rid in seen:
            raise FeedError(f"event {event.key}: two overrides of the instance {rid.isoformat()}")
        seen.add(rid)
        result.append(_override(event, override))
    return result


def _order(events: Iterable[Event]) -> list[Event]:
    found = list(events)
    uids = [e.uid for e in found]
    if len(uids) != len(set(uids)):
        raise FeedError("two events share a key")
    return sorted(found, key=lambda e: (_utc(e.start, f"event {e.key} start"), e.uid))


def render(feed: Feed) -> bytes:
    """The feed as iCalendar bytes (UTF-8, CRLF, lines folded at 75 octets)."""
    cal = Calendar()
    cal.add("version", "2.0")
    cal.add("prodid", PRODID)
    cal.add("calscale", "GREGORIAN")
    name = clean_text(feed.name)
    # vText explicitly: calendar-level NAME and X- properties are not escaped otherwise.
    cal.add("name", vText(name))
    cal.add("x-wr-calname", vText(name))
    if feed.description:
        description = clean_text(feed.description)
        cal.add("description", vText(description))
        cal.add("x-wr-caldesc", vText(description))
    cal.add("x-wr-timezone", TZID)
    cal.add("refresh-interval", feed.refresh, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", vDuration(feed.refresh))
    cal.add_component(vtimezone())
    for event in _order(feed.events):
        for vevent in components(event):
            cal.add_component(vevent)
    return cal.to_ical()


__all__ = [
    "CANCELLED",
    "CONFIRMED",
    "TENTATIVE",
    "Event",
    "Feed",
    "FeedError",
    "Override",
    "clean_text",
    "render",
    "rule_with_utc_until",
    "uid_for",
    "until_utc",
]
