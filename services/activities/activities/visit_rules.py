"""The rules of the elderly-visit register as plain Python: who may be planned, when each person is
due a visit, who is overdue. No nameko, no database; ``activities.visits`` feeds them plain values."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

# Who the community visits: elders living alone at home, residents of the old people's homes it
# visits, and families in need visited with condolences.
CATEGORIES = ("elder_alone", "care_home_resident", "condolence")
# How consent was given; "relative" when a relative agreed for someone who cannot say it themselves.
CONSENT_WAYS = ("in_person", "phone", "written", "relative")
STATUSES = ("active", "withdrawn")
MIN_FREQUENCY_DAYS, MAX_FREQUENCY_DAYS = 1, 90
# A planned visit starts at this local time and lasts this long; the pair changes it with the
# person if it does not suit (update_occurrence), so one time for all keeps planning simple.
VISIT_TIME = time(15, 0)
VISIT_MINUTES = 60


@dataclass(frozen=True)
class Standing:
    """What planning needs to know of a person: whether they may be visited, and how often."""

    status: str
    consent_at: datetime | None
    frequency_days: int


def plannable(person: Standing) -> bool:
    """No consent (or consent withdrawn) means no visit is planned."""
    return person.status == "active" and person.consent_at is not None


def next_due(frequency_days: int, last_visit: date | None, since: date) -> date:
    """The day a person is next due: ``frequency_days`` after their last visit, or ``since`` (their
    consent) when never visited."""
    return last_visit + timedelta(days=frequency_days) if last_visit is not None else since


def due_dates(
    frequency_days: int, last_visit: date | None, planned: Iterable[date], start: date, end: date
) -> list[date]:
    """The days in [start, end) a person should get a new visit on.

    The cadence runs on from the later of the last visit made and the last visit planned (not
    cancelled), so planning the same window again adds nothing, a longer window only adds the days
    after what is planned, and a visit over but not yet marked made is not planned a second time the
    next day. A person overdue at ``start`` is due on ``start``; a planned visit that was missed
    shows in the overdue list (judged by visits made), not by a visit added behind the organiser's back.
    """
    anchors = [d for d in (last_visit, max(planned, default=None)) if d is not None]
    due = max(anchors) + timedelta(days=frequency_days) if anchors else start
    due = max(due, start)
    days = []
    while due < end:
        days.append(due)
        due += timedelta(days=frequency_days)
    return days


def overdue_days(due: date, today: date) -> int:
    """Days a visit is late: 0 until the day after it was due."""
    return max(0, (today - due).days)


def missed(status: str, end: datetime, done: bool, attended: bool, now: datetime) -> bool:
    """A visit is missed once it is over with nobody saying it was made: neither marked made by its
    visitors nor its attendance taken, and not cancelled. It keeps its place in the cadence (see
    ``due_dates``) until the organiser cancels it, then the next plan puts the person on its first day."""
    return status == "scheduled" and end <= now and not done and not attended
