"""Local time of the community (Asia/Shanghai) and ISO 8601 helpers."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")


def now() -> datetime:
    """The current moment as an aware datetime in community time."""
    return datetime.now(TZ)


def local(dt: datetime) -> datetime:
    """Interpret a naive datetime as community time, convert an aware one to it."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=TZ)
    return dt.astimezone(TZ)


def to_utc(dt: datetime) -> datetime:
    return local(dt).astimezone(UTC)


def to_db(dt: datetime) -> datetime:
    """Datetimes are stored as naive UTC so SQLite and PostgreSQL compare them alike."""
    return to_utc(dt).replace(tzinfo=None)


def from_db(dt: datetime | None) -> datetime | None:
    if dt is None:
        return None
    return dt.replace(tzinfo=UTC).astimezone(TZ)


def iso(dt: datetime) -> str:
    return local(dt).isoformat()


def parse_iso(value: str) -> datetime:
    return local(datetime.fromisoformat(value))
