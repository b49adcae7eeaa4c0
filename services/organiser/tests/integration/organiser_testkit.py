"""Helpers shared by the organiser integration and browser tests."""

from __future__ import annotations

import re
import socket
from datetime import date, datetime, timedelta

import requests

from activities.service import ActivitiesService
from guanyinli.timeutil import now

PASSWORD = "correct horse battery staple"
# Next Monday (Asia/Shanghai): the fortnight of patrols the tests roster starts on it, so it lies ahead and
# its weeks fall alike whatever day the tests run.
MONDAY = now().date() + timedelta(days=7 - now().weekday())


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def log_in(web_session, username="wangfang", password=PASSWORD, next="/roster"):
    """The login form fetched and posted as a browser does: the response, redirects not followed."""
    form = web_session.get("/login")
    return web_session.post(
        "/login",
        data={"username": username, "password": password, "csrf": csrf_of(form.text), "next": next},
        allow_redirects=False,
    )


class SourceAddress(requests.adapters.HTTPAdapter):
    """Connections from another loopback address, as another machine would come (Linux answers all of 127/8)."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def browser_at(web_session, address: str):
    """A browser of its own (cookies and all) on ``web_session``'s site, connecting from ``address``."""
    browser = type(web_session)(web_session.base_url)
    browser.mount("http://", SourceAddress(address))
    return browser


def own_web_port(config: dict) -> dict:
    """A copy of ``config`` with a web port of its own.

    The activities service serves feeds over HTTP too; two containers of one test process on the
    same port would share it (SO_REUSEPORT) and answer each other's requests. The organiser
    keeps the fixture's port (the one ``web_session`` talks to); activities gets this one.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return dict(config, WEB_SERVER_ADDRESS=f"127.0.0.1:{port}")


class MovableClock:
    """The organiser's clock in tests: the real time, moved on by ``offset`` when a test says so;
    ``stopped``: the moment it was made, so a throttle's window never passes while a test runs."""

    def __init__(self, stopped: bool = False) -> None:
        from guanyinli.timeutil import now

        self.offset = timedelta(0)
        self.stopped_at = now() if stopped else None

    def now(self) -> datetime:
        from guanyinli.timeutil import now

        return (self.stopped_at or now()) + self.offset


def start_platform(container_factory, config: dict, clock: MovableClock | None = None) -> None:
    """volunteers, activities (with personal feeds enabled) and organiser (on ``clock``), started."""
    from nameko.testing.services import replace_dependencies

    from organiser.service import OrganiserService
    from volunteers.service import VolunteersService

    config["FEED_SECRET"] = "organiser-tests-feed-secret"
    container_factory(VolunteersService, config).start()
    container_factory(ActivitiesService, own_web_port(config)).start()
    organiser = container_factory(OrganiserService, config)
    if clock is not None:
        replace_dependencies(organiser, clock=clock)
    organiser.start()


def duty_under_way(rpc, name: str, phone: str, minutes: int = 120) -> tuple[int, object, dict]:
    """A convenience duty that started 20 minutes ago, with one confirmed volunteer: (volunteer id, start, sign-up)."""
    from datetime import timedelta

    from guanyinli.timeutil import iso, now

    volunteers, activities = rpc("volunteers"), rpc("activities")
    vid = volunteers.create_volunteer(name=name, phone=phone, teams=["convenient_service"])["id"]
    start = now().replace(second=0, microsecond=0) - timedelta(minutes=20)
    window = {"kind": "extra", "start": iso(start - timedelta(hours=1)), "end": iso(start + timedelta(hours=3))}
    volunteers.set_availability(volunteer_id=vid, dated=[window])
    activity = activities.create_activity(
        title="便民服务站值班", kind="convenience", room="服务站", start=iso(start), duration_minutes=minutes
    )
    occurrence = activities.list_occurrences(
        start=iso(start), end=iso(start + timedelta(minutes=minutes)), activity_id=activity["id"]
    )[0]
    signup = activities.sign_up(occurrence_id=occurrence["id"], volunteer_id=vid)
    assert signup["status"] == "confirmed"
    return vid, start, signup


def swappable(r: dict, volunteers: list[int]) -> tuple[int, str, int, str]:
    """Two of `volunteers` and a day of each, in one week, each free on the other's day."""
    day_of = {s["shift_id"]: s["start"][:10] for s in r["shifts"]}
    days = {v: {day_of[a["shift_id"]] for a in r["assignments"] if a["volunteer_id"] == v} for v in volunteers}
    for a in volunteers:
        for b in volunteers:
            for day_a in sorted(days[a] - days[b]):
                for day_b in sorted(days[b] - days[a]):
                    week = date.fromisoformat(day_a).isocalendar()[1] == date.fromisoformat(day_b).isocalendar()[1]
                    if a != b and week:  # the same week: nobody's weekly count changes
                        return a, day_a, b, day_b
    raise AssertionError(f"no swap to try in {days}")


def evening_patrols(activities, grids) -> None:
    """Daily evening patrols (two patrollers, 19:00-21:00) of each grid for the fortnight from MONDAY."""
    for grid in grids:
        activities.create_activity(
            title=f"第{grid}网格晚间巡逻",
            kind="patrol",
            team="voluntary_patrol",
            grid_id=grid,
            start=f"{MONDAY}T19:00:00+08:00",
            duration_minutes=120,
            rrule="FREQ=DAILY;COUNT=14",
            roles=[{"name": "patroller", "needed": 2}],
        )


WEEKENDS = [{"weekday": d, "start": "08:00", "end": "18:00"} for d in (5, 6)]


def school_tutors(volunteers, tutors: list[tuple[str, list[str]]], phones: str) -> list[int]:
    """Tutors (name, skills) free every weekend day, their phones from the prefix `phones` (seven digits)."""
    ids = []
    for n, (name, skills) in enumerate(tutors):
        person = volunteers.create_volunteer(name=name, phone=f"{phones}{n:04d}", skills=skills)
        volunteers.set_availability(volunteer_id=person["id"], weekly=WEEKENDS)
        ids.append(person["id"])
    return ids


def weekend_school(activities) -> dict:
    """The weekend school on Saturday and Sunday mornings of the two weekends after MONDAY."""
    return activities.create_activity(
        title="林宏汉周末爱心学堂",
        kind="tutoring",
        room="社区活动中心",
        start=f"{MONDAY + timedelta(days=5)}T09:00:00+08:00",
        duration_minutes=120,
        rrule="FREQ=WEEKLY;BYDAY=SA,SU;COUNT=4",
        pupils_per_tutor=5,
        roles=[{"name": "tutor", "needed": 1, "skills": ["tutoring"]}],
    )


def door_open_lecture(activities, title: str, capacity: int, residents: list[tuple[str, str]]) -> tuple[dict, list]:
    """A lecture starting in an hour (its door open for check-in) with ``residents`` (name, phone)
    registered in order, those past ``capacity`` on the waitlist: (occurrence, registrations)."""
    from guanyinli.timeutil import iso, now

    start = now().replace(second=0, microsecond=0) + timedelta(hours=1)
    activities.create_activity(
        title=title, kind="lecture", room="立德树人讲堂", capacity=capacity, start=iso(start), duration_minutes=90
    )
    occ = activities.list_occurrences(start=iso(start - timedelta(minutes=1)), end=iso(start + timedelta(hours=2)))[0]
    return occ, [activities.register_attendee(occurrence_id=occ["id"], name=n, phone=p) for n, p in residents]
