"""The monthly report of resident appeals, per grid and for the community: the figures the community
reports upward (received, answered within the limits, how long it took, satisfaction, open and overdue).

Plain rules over plain records (mappings or objects with the appeal's fields, aware datetimes): no
database, no clock of its own. The month is a calendar month of community time (Asia/Shanghai).

How each figure is counted:

- **received**: appeals received in the month, by category and urgency.
- **within limits**, per stage (acknowledge, visit, close): each appeal's stage is counted once, in the
  month its outcome became known: the moment it was done when done in time, else its deadline. ``due`` is
  how many were settled in the month, ``met`` how many of them in time, ``share`` met / due. A stage whose
  deadline has not come and that is not done yet is counted in no month so far.
- A stage is done: *acknowledged* when first accepted by a handler (or visited, or closed, whichever came
  first); *visited* at ``visited_at``, else, when no visit was recorded, at closing; *closed* at closing.
- **hours to acknowledge / to close**: clock hours from receipt, of the appeals acknowledged (closed) in the
  month; median and 90th percentile by linear interpolation between the sorted values.
- **satisfaction**: of the appeals closed in the month with an answer: how many, the mean, the share of 4-5.
- **open at month end**: received before the month's end (or before ``now`` in the month still running)
  and not closed by then.
- **overdue now**: of the appeals received by the month's end, those not closed whose open stage (the
  stages after the last one done) has passed its deadline at ``now``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from appeals.time_limits import CATEGORIES, DEFAULT_LIMITS, STAGES, URGENCIES, Limits, deadlines
from guanyinli.timeutil import TZ

SATISFIED = 4  # a 4 or a 5 of 5 counts as satisfied


def parse_month(value: str | date) -> date:
    """``YYYY-MM`` (or any day of the month) as the month's first day; ValueError otherwise."""
    if isinstance(value, date):
        return value.replace(day=1)
    return datetime.strptime(value.strip(), "%Y-%m").date()


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """The month's first moment and the next month's first moment, in community time."""
    start = datetime(month.year, month.month, 1, tzinfo=TZ)
    following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return start, datetime(following.year, following.month, 1, tzinfo=TZ)


def _field(appeal: Any, name: str) -> Any:
    if isinstance(appeal, Mapping):
        return appeal.get(name)
    return getattr(appeal, name, None)


def _moment(appeal: Any, name: str) -> datetime | None:
    value = _field(appeal, name)
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} of appeal {_field(appeal, 'id')} must be aware, got {value.isoformat()}")
    return value.astimezone(TZ)


def stage_times(appeal: Any) -> dict[str, datetime | None]:
    """When each stage was done (None: not yet). A later stage done implies the earlier ones done."""
    closed = _moment(appeal, "closed_at")
    visited = _moment(appeal, "visited_at") or closed
    accepted = _moment(appeal, "acknowledged_at") or _moment(appeal, "accepted_at")
    acknowledged = min((t for t in (accepted, visited, closed) if t is not None), default=None)
    return {"acknowledge": acknowledged, "visit": visited, "close": closed}


def percentile(values: list[float], fraction: float) -> float | None:
    """The ``fraction`` quantile of ``values`` by linear interpolation between the sorted values
    (position (n - 1) x fraction); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _rounded(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def _hours(span: timedelta) -> float:
    return span.total_seconds() / 3600


def _times(hours: list[float]) -> dict:
    return {
        "count": len(hours),
        "median": _rounded(percentile(hours, 0.5)),
        "p90": _rounded(percentile(hours, 0.9)),
    }


class _Appeal:
    """One record with its stage times and deadlines worked out once."""

    def __init__(self, record: Any, limits: Limits):
        self.grid_id = _field(record, "grid_id")
        self.category = _field(record, "category")
        self.urgency = _field(record, "urgency")
        self.satisfaction = _field(record, "satisfaction")
        self.received_at = _moment(record, "received_at")
        self.done = stage_times(record)
        due = deadlines(self.category, self.urgency, self.received_at, limits)
        self.deadline = {stage: due.of(stage) for stage in STAGES}

    def settled(self, stage: str) -> tuple[datetime, bool]:
        """When the stage's outcome became known, and whether it was in time (see the module's words)."""
        done, deadline = self.done[stage], self.deadline[stage]
        if done is not None and done <= deadline:
            return done, True
        return deadline, False

    def overdue(self, now: datetime) -> bool:
        if self.done["close"] is not None:
            return False
        last_done = max((i for i, stage in enumerate(STAGES) if self.done[stage] is not None), default=-1)
        return any(self.deadline[stage] < now for stage in STAGES[last_done + 1 :])


def _within(moment: datetime | None, start: datetime, end: datetime) -> bool:
    return moment is not None and start <= moment < end


def figures(appeals: Iterable[_Appeal], start: datetime, end: datetime, now: datetime) -> dict:
    """The report's figures of some appeals for the month [start, end), judged at ``now``."""
    appeals = list(appeals)
    as_of = min(end, now)
    received = [a for a in appeals if _within(a.received_at, start, end)]
    by_category = []
    for category in CATEGORIES:
        counts = {u: sum(1 for a in received if a.category == category and a.urgency == u) for u in URGENCIES}
        if any(counts.values()):
            by_category.append({"category": category, "received": sum(counts.values()), **counts})
    stages = []
    for stage in STAGES:
        settled = [a.settled(stage) for a in appeals]
        counted = [met for at, met in settled if start <= at < end and at <= now]
        met = sum(counted)
        stages.append(
            {
                "stage": stage,
                "due": len(counted),
                "met": met,
                "late": len(counted) - met,
                "share": _share(met, len(counted)),
            }
        )
    acknowledged = [a for a in appeals if _within(a.done["acknowledge"], start, end)]
    closed = [a for a in appeals if _within(a.done["close"], start, end)]
    answers = [a.satisfaction for a in closed if a.satisfaction is not None]
    return {
        "received": len(received),
        "received_urgent": sum(1 for a in received if a.urgency == "urgent"),
        "by_category": by_category,
        "stages": stages,
        "hours_to_acknowledge": _times([_hours(a.done["acknowledge"] - a.received_at) for a in acknowledged]),
        "hours_to_close": _times([_hours(a.done["close"] - a.received_at) for a in closed]),
        "closed": len(closed),
        "satisfaction": {
            "answers": len(answers),
            "mean": _rounded(sum(answers) / len(answers)) if answers else None,
            "share_satisfied": _share(sum(1 for s in answers if s >= SATISFIED), len(answers)),
        },
        "open_at_end": sum(
            1 for a in appeals if a.received_at < as_of and (a.done["close"] is None or a.done["close"] >= as_of)
        ),
        "overdue_now": sum(1 for a in appeals if a.received_at < end and a.overdue(now)),
    }


def monthly_report(
    records: Iterable[Any],
    month: str | date,
    now: datetime,
    grid_ids: Iterable[int] | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> dict:
    """The month's report: ``grids`` (one row per grid, by id) and ``total`` over them.

    ``records`` may hold any appeals; those outside the month count only where they belong (still open,
    a stage settled in the month). ``grid_ids``: only these grids, each with a row even when it had no
    appeal; None: every grid with an appeal among ``records``, the total being the community's."""
    first = parse_month(month)
    start, end = month_bounds(first)
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be aware, got {now.isoformat()}")
    now = now.astimezone(TZ)
    appeals = [_Appeal(r, limits) for r in records]
    wanted = None if grid_ids is None else set(grid_ids)
    if wanted is not None:
        appeals = [a for a in appeals if a.grid_id in wanted]
    grids = sorted(wanted if wanted is not None else {a.grid_id for a in appeals})
    return {
        "month": f"{first:%Y-%m}",
        "start": start,
        "end": end,
        "now": now,
        "grid_ids": None if wanted is None else grids,
        "grids": [{"grid_id": g, **figures((a for a in appeals if a.grid_id == g), start, end, now)} for g in grids],
        "total": figures(appeals, start, end, now),
    }
