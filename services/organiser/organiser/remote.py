"""The calls organiser tools make to the other services, in one place, and how their failures read.

``Platform`` wraps the RPC proxies (``volunteers``, ``activities``, ``appeals``), whichever kind: a
``ClusterRpcProxy`` in the command line, nameko ``RpcProxy`` dependencies in the web service.
``classify`` turns any failure of a call into an exit code and one line for people. ``Timed``
bounds every call of a proxy: a service that does not answer becomes ``Unavailable``.
"""

from __future__ import annotations

import importlib
import socket
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import eventlet
from nameko.exceptions import MethodNotFound, RemoteError, RpcTimeout, UnknownService

from guanyinli.errors import PlatformError, Unavailable
from guanyinli.timeutil import TZ, iso
from organiser import board

# Importing the services' exception modules registers their typed errors with nameko, so a call
# fails with e.g. ``PhoneTaken`` rather than a bare ``RemoteError``. They are optional here.
for _module in ("volunteers.exceptions", "activities.exceptions", "notifications.exceptions", "appeals.exceptions"):
    try:
        importlib.import_module(_module)
    except ImportError:  # pragma: no cover - a slimmed image without that service
        pass

OK, REJECTED, USAGE, UNREACHABLE = 0, 1, 2, 3
USER_CONTEXT_KEY = "user"


@dataclass(frozen=True)
class Failure:
    code: int
    message: str
    message_zh: str | None = None  # the service's own Chinese words, where it gave them


def classify(exc: BaseException) -> Failure | None:
    """Exit code and message for a failed remote call; None when it is not a remote failure."""
    if isinstance(exc, UnknownService):
        return Failure(UNREACHABLE, f"the {exc._service_name} service is not running (no one consumes its RPC queue)")
    if isinstance(exc, MethodNotFound):
        return Failure(UNREACHABLE, f"the running service does not offer this call yet: {exc}")
    if isinstance(exc, RpcTimeout):
        return Failure(UNREACHABLE, f"no answer within {exc} s: the service is busy or stopped")
    if isinstance(exc, Unavailable):  # no answer in time, or the service said something behind it did not answer
        return Failure(UNREACHABLE, f"{type(exc).__name__}: {exc}", exc.message_zh)
    if isinstance(exc, PlatformError):
        return Failure(REJECTED, f"{type(exc).__name__}: {exc}", exc.message_zh)
    if isinstance(exc, RemoteError):
        return Failure(REJECTED, f"{exc.exc_type}: {exc.value}")
    if isinstance(exc, (ConnectionError, socket.error, OSError)):
        return Failure(UNREACHABLE, f"cannot reach the message broker: {exc}")
    try:
        import amqp.exceptions
        import kombu.exceptions

        if isinstance(exc, (amqp.exceptions.AMQPError, kombu.exceptions.OperationalError)):
            return Failure(UNREACHABLE, f"cannot reach the message broker: {exc}")
    except ImportError:  # pragma: no cover
        pass
    return None


class Timed:
    """An RPC proxy whose calls give up after ``timeout`` seconds with ``Unavailable``.

    The web page's proxies are nameko's, which wait for an answer for ever: a stopped or stuck
    service would hold the page's worker, and then every worker. ``call_async`` is bounded too
    (publishing the request); waiting for its answer is the caller's business.
    """

    def __init__(self, proxy, service: str, timeout: float):
        self._proxy, self._service, self._timeout = proxy, service, timeout

    def __getattr__(self, method: str) -> TimedMethod:
        if method.startswith("__"):
            raise AttributeError(method)
        return TimedMethod(getattr(self._proxy, method), f"{self._service}.{method}", self._timeout)


class TimedMethod:
    def __init__(self, method, name: str, timeout: float):
        self._method, self._name, self._timeout = method, name, timeout

    def _bounded(self, call: Callable, *args, **kwargs):
        timer = eventlet.Timeout(self._timeout)
        try:
            return call(*args, **kwargs)
        except eventlet.Timeout as exc:
            if exc is not timer:
                raise
            raise Unavailable(
                f"{self._name} did not answer within {self._timeout:g} s: the service is busy or stopped; try again",
                f"{self._name} 在 {self._timeout:g} 秒内没有应答：服务繁忙或未运行，请稍后再试",
            ) from None
        finally:
            timer.cancel()

    def __call__(self, *args, **kwargs):
        return self._bounded(self._method, *args, **kwargs)

    def call_async(self, *args, **kwargs):
        return self._bounded(self._method.call_async, *args, **kwargs)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=TZ)
    return start, start + timedelta(days=1)


class Platform:
    """The RPC calls of the organiser tools. Keyword arguments only, as the contract names them."""

    def __init__(self, volunteers, activities, appeals=None):
        self.volunteers = volunteers
        self.activities = activities
        self.appeals = appeals

    # --- reference data and volunteers -----------------------------------------------------

    def teams(self) -> list[dict]:
        return self.volunteers.list_teams()

    def grids(self) -> list[dict]:
        return self.volunteers.list_grids()

    def grid_names(self) -> dict[int, str]:
        return {int(g["id"]): g.get("name") or str(g["id"]) for g in self.grids()}

    def alliances(self) -> list[dict]:
        return self.volunteers.list_alliances()

    def all_volunteers(self, **filters) -> list[dict]:
        """Every volunteer matching the filters, page by page."""
        found: list[dict] = []
        offset = 0
        while True:
            page = self.volunteers.list_volunteers(limit=500, offset=offset, **filters)
            found += page["items"]
            offset += len(page["items"])
            if not page["items"] or offset >= page["total"]:
                return found

    def names(self, ids: Iterable[int] | None = None) -> dict[int, str]:
        """Volunteer id -> name; few ids are asked one by one, many by listing everyone."""
        wanted = None if ids is None else set(int(i) for i in ids)
        if wanted is not None and len(wanted) <= 10:
            return {v: self.volunteers.get_volunteer(volunteer_id=v)["name"] for v in wanted}
        found = {int(v["id"]): v["name"] for v in self.all_volunteers()}
        return found if wanted is None else {k: v for k, v in found.items() if k in wanted}

    # --- rosters ---------------------------------------------------------------------------

    def roster_people(self, roster: dict) -> dict[int, str]:
        """Id -> name of everyone with a shift in the roster."""
        ids = board.rostered_ids(roster)
        return self.names(ids) if ids else {}

    def volunteers_typed(self, roster_id: int, typed: dict[str, str]) -> list[int]:
        """The volunteers an organiser typed, field -> a number or a name (board.volunteer_in), in order; the
        roster's people are looked up only when a name was typed. board.NotInRoster naming the field."""
        texts = {f: (t or "").strip() for f, t in typed.items()}
        names: dict[int, str] = {}
        if not all(t[:1].isdigit() for t in texts.values()):
            names = self.roster_people(self.get_roster(roster_id))
        return [board.volunteer_in(text, names, f) for f, text in texts.items()]

    def build_roster(self, start: datetime, end: datetime, grids: list[int] | None, options: Mapping) -> dict:
        return self.activities.build_roster(start=iso(start), end=iso(end), grids=grids or None, options=dict(options))

    def start_build(self, start: datetime, end: datetime, grids: list[int] | None, options: Mapping, request_id: str):
        """Send build_roster and return its pending reply (``.result()``) without waiting for the solve."""
        return self.activities.build_roster.call_async(
            start=iso(start), end=iso(end), grids=grids or None, options=dict(options), request_id=request_id
        )

    def export_roster_month(self, start: datetime, end: datetime, grids: list[int] | None) -> dict:
        """The month a build would roster, as a patrol-roster/1 instance."""
        return self.activities.export_roster_month(start=iso(start), end=iso(end), grids=grids or None)

    def get_roster(self, roster_id: int) -> dict:
        return self.activities.get_roster(roster_id=roster_id)

    def list_rosters(self) -> list[dict]:
        return self.activities.list_rosters()

    def roster_report(self, roster_id: int) -> dict:
        return self.activities.roster_report(roster_id=roster_id)

    def publish_roster(self, roster_id: int) -> dict:
        return self.activities.publish_roster(roster_id=roster_id)

    def repair_roster(self, roster_id: int, volunteer_id: int) -> dict:
        return self.activities.repair_roster(roster_id=roster_id, volunteer_ids=[volunteer_id])

    def swap_on_days(
        self, roster_id: int, volunteer_a: int, day_a: datetime, volunteer_b: int, day_b: datetime
    ) -> tuple[dict, dict, dict]:
        """Volunteer a takes b's shift of day_b and b takes a's of day_a (a day, or a start time for someone with
        two patrols that day): the swap as activities answers it, and the two shifts. LookupError naming
        DAY_A or DAY_B when a volunteer has no such shift; the service's SwapRejected when a rule breaks."""
        r = self.get_roster(roster_id)
        shift_a = board.shift_on(r, volunteer_a, day_a, "DAY_A")
        shift_b = board.shift_on(r, volunteer_b, day_b, "DAY_B")
        swap = self.activities.request_swap(
            roster_id=roster_id,
            volunteer_a=volunteer_a,
            shift_a=shift_a["shift_id"],
            volunteer_b=volunteer_b,
            shift_b=shift_b["shift_id"],
        )
        return swap, shift_a, shift_b

    def list_swaps(self, roster_id: int, status: str | None = None) -> list[dict]:
        """The roster's swaps, newest first (``proposed``: the proposals waiting for an answer)."""
        return self.activities.list_swaps(roster_id=roster_id, status=status, limit=500)

    # --- occurrences, duties and attendance -------------------------------------------------

    def occurrences_on(self, day: date, kind: str | None = None) -> list[dict]:
        start, end = day_bounds(day)
        return self.activities.list_occurrences(start=iso(start), end=iso(end), kind=kind)

    def duties(self, volunteer_id: int, start: datetime, end: datetime) -> list[dict]:
        return self.activities.list_duties(volunteer_id=volunteer_id, start=iso(start), end=iso(end))

    def attendance_sheet(self, day: date) -> list[dict]:
        """Every confirmed duty of the day, one row per sign-up, in time order."""
        start, end = day_bounds(day)
        volunteer_ids = sorted(
            {v for occ in self.occurrences_on(day) for role in occ["roles"] for v in role["volunteer_ids"]}
        )
        names = self.names(volunteer_ids) if volunteer_ids else {}
        rows = []
        for vid in volunteer_ids:
            for duty in self.duties(vid, start, end):
                rows.append({**duty, "volunteer_name": names.get(vid, f"#{vid}")})
        rows.sort(key=lambda d: (d["duty_start"], d["title"], d["role"], d["volunteer_name"]))
        return rows

    def mark_attendance(self, signup_id: int, status: str, hours: float | None = None) -> dict:
        return self.activities.mark_attendance(signup_id=signup_id, status=status, hours=hours)

    def feed_urls(self, volunteer_id: int, issue: bool = False) -> dict:
        """{"personal": {"https", "webcal"} or None, "public": [...]}; ``issue`` creates the personal link."""
        if issue:
            return self.activities.issue_feed_token(volunteer_id=volunteer_id)
        return self.activities.feed_urls(volunteer_id=volunteer_id)
