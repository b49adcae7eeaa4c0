"""Communities are apart: with the five services serving guanyinli and wutaishan, every RPC method of
every service, called as wutaishan's organiser, volunteer and services with guanyinli's real ids, answers
nothing of guanyinli's records and changes none of them; and a personal feed link works only under the
community that issued it (``guanyinli.tenancy``)."""

from __future__ import annotations

import inspect
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta

import pytest
from marshmallow import fields, validate
from sqlalchemy import create_engine, text
from sqlalchemy import inspect as inspect_db
from test_security_identity import declared_methods

from guanyinli.config import normalize_url
from guanyinli.rpc import ServiceRpcProxy
from guanyinli.testing import SECOND_COMMUNITY, signed
from guanyinli.timeutil import now

pytestmark = [pytest.mark.integration, pytest.mark.security]

SERVICES = ("volunteers", "activities", "notifications", "organiser", "appeals")
FEED_SECRET = "security-suite-feed-secret-0123456789"

# Every planted record carries one of these: no answer to wutaishan may hold any of them.
MARK = "观音里标记"
PHONES = ("13811110001", "13811110002", "13811110003", "13911110009")
USERNAME = "gylmarkorganiser"
PASSWORD = "a-long-password-guanyinli-1"

HERE = signed({"roles": ["organiser"], "name": MARK + "王芳"})


def callers(volunteer_id: int) -> dict[str, dict]:
    """wutaishan's callers: its organiser, a volunteer of it whose id is a guanyinli volunteer's, its services."""
    return {
        "wutaishan organiser": signed({"roles": ["organiser"], "community": SECOND_COMMUNITY}),
        "wutaishan volunteer": signed({"volunteer_id": volunteer_id, "community": SECOND_COMMUNITY}),
        "wutaishan system": signed({"roles": ["system"], "community": SECOND_COMMUNITY}),
    }


@pytest.fixture
def platform(container_factory, two_communities):
    """The five services serving two communities (test_security_identity's ``platform`` on one)."""
    from activities.service import ActivitiesService
    from appeals.service import AppealsService
    from notifications.service import NotificationsService
    from organiser.service import OrganiserService
    from volunteers.service import VolunteersService

    started = {}
    for cls in (VolunteersService, ActivitiesService, NotificationsService, OrganiserService, AppealsService):
        started[cls.name] = container_factory(cls, {**two_communities, "FEED_SECRET": FEED_SECRET})
        started[cls.name].start()
    two_communities["containers"] = started
    return two_communities


@pytest.fixture
def feeds(container_factory, two_communities):
    """Volunteers and activities alone: the web server of activities' feeds is then the only one on
    the port (organiser's would share it and answer half the requests)."""
    from activities.service import ActivitiesService
    from volunteers.service import VolunteersService

    for cls in (VolunteersService, ActivitiesService):
        container_factory(cls, {**two_communities, "FEED_SECRET": FEED_SECRET}).start()
    return two_communities


# --- guanyinli's records ----------------------------------------------------------------------------


def plant(config) -> dict[str, list[int]]:
    """Records of every service in guanyinli, made through RPC as its organiser, each holding a
    marker (``MARK``, a planted phone, e-mail or user name): their ids by kind."""
    at = (now() + timedelta(days=3)).replace(hour=19, minute=0, second=0, microsecond=0)
    ids: dict[str, list[int]] = {}
    with ServiceRpcProxy("volunteers", config, context_data=HERE, timeout=30) as rpc:
        made = [
            rpc.create_volunteer(
                name=f"{MARK}志愿者{n}",
                phone=phone,
                email=f"gylmark{n}@example.com",
                teams=["voluntary_patrol"],
                grid_id=5,
            )
            for n, phone in enumerate(PHONES[:3], start=1)
        ]
        ids["volunteer"] = [v["id"] for v in made]
        rpc.assign_grid_leader(5, made[2]["id"])
        rpc.add_grid_member(5, made[0]["id"])
        ids["grid"] = [5]
    with ServiceRpcProxy("activities", config, context_data=HERE, timeout=30) as rpc:
        patrol = rpc.create_activity(
            title=f"{MARK}夜间巡逻",
            description=f"{MARK}巡逻说明",
            kind="patrol",
            team="voluntary_patrol",
            grid_id=5,
            start=at.isoformat(),
            duration_minutes=120,
            rrule="FREQ=WEEKLY;COUNT=2",
        )
        lecture = rpc.create_activity(
            title=f"{MARK}健康讲座",
            kind="lecture",
            room="立德树人讲堂",
            capacity=30,
            start=(at + timedelta(days=1)).replace(hour=14).isoformat(),
            duration_minutes=90,
        )
        ids["activity"] = [patrol["id"], lecture["id"]]
        occurrences = rpc.list_occurrences(
            start=(at - timedelta(days=1)).isoformat(), end=(at + timedelta(days=10)).isoformat()
        )
        ids["occurrence"] = [o["id"] for o in occurrences]
        patrols = [o for o in occurrences if o["activity_id"] == patrol["id"]]
        signup = rpc.sign_up(occurrence_id=patrols[0]["id"], volunteer_id=made[0]["id"])
        ids["signup"] = [signup.get("signup_id") or signup.get("id")]
        talk = next(o for o in occurrences if o["activity_id"] == lecture["id"])
        rpc.issue_feed_token(volunteer_id=made[0]["id"])
    with ServiceRpcProxy("activities", config, timeout=30) as resident:
        registration = resident.register_attendee(occurrence_id=talk["id"], name=f"{MARK}李阿姨", phone=PHONES[3])
        ids["registration"] = [registration["id"]]
    with ServiceRpcProxy("appeals", config, context_data=HERE, timeout=30) as rpc:
        appeal = rpc.receive_appeal(
            category="repair",
            grid_id=5,
            description=f"{MARK}楼道水管漏水",
            resident_name=f"{MARK}张大爷",
            resident_phone=PHONES[3],
        )
        ids["appeal"] = [appeal["id"]]
    with ServiceRpcProxy("notifications", config, context_data=HERE, timeout=30) as rpc:
        rpc.set_preferences(volunteer_id=made[0]["id"], language="zh")
    with ServiceRpcProxy("organiser", config, context_data=HERE, timeout=30) as rpc:
        rpc.create_account(username=USERNAME, password=PASSWORD, display_name=f"{MARK}组织者", role="organiser")
    return ids


def snapshot(config) -> dict[str, list[str]]:
    """Every row of every table of every service's default storage (guanyinli's)."""
    rows = {}
    for service in SERVICES:
        engine = create_engine(normalize_url(config["DB_URIS"][service]))
        try:
            with engine.connect() as conn:
                for table in inspect_db(conn).get_table_names():
                    found = conn.execute(text(f'SELECT * FROM "{table}"')).all()
                    rows[f"{service}.{table}"] = sorted(repr(tuple(r)) for r in found)
        finally:
            engine.dispose()
    return rows


def settled(config, seconds: float = 60) -> dict[str, list[str]]:
    """The snapshot once events and outboxes have done with the planting (two alike a while apart)."""
    deadline = time.monotonic() + seconds
    before = snapshot(config)
    while True:
        time.sleep(2)
        after = snapshot(config)
        if after == before or time.monotonic() > deadline:
            return after
        before = after


def differences(before: dict, after: dict) -> list[str]:
    changed = []
    for table in sorted(set(before) | set(after)):
        gone = set(before.get(table, ())) - set(after.get(table, ()))
        new = set(after.get(table, ())) - set(before.get(table, ()))
        if gone or new:
            changed.append(f"{table}: -{sorted(gone)[:3]} +{sorted(new)[:3]}")
    return changed


# --- arguments built from guanyinli's ids ------------------------------------------------------------


def _is_id(name: str) -> bool:
    return name == "id" or name.endswith("_id") or name in ("volunteer_a", "volunteer_b")


def _is_ids(name: str) -> bool:
    return name == "ids" or name.endswith("_ids") or name == "grids"


def _value(name: str, field, k: int, window: tuple[datetime, datetime]):
    """A value for parameter ``name`` (its request schema field, if any) with ``k`` for every id."""
    start, end = window
    if name == "request_id":  # an idempotency key, new each call
        return f"probe-{uuid.uuid4().hex}"
    if _is_ids(name):
        return [k]
    if _is_id(name):
        return k
    if name in ("phone", "resident_phone", "guardian_phone", "contact_phone"):
        return PHONES[k % len(PHONES)]
    if name == "username":
        return USERNAME
    if name == "password":
        return PASSWORD
    if name == "subject":
        return f"account:{USERNAME}"
    if field is None:
        return {"start": start.isoformat(), "end": end.isoformat(), "since": start.date().isoformat()}.get(name, "探针")
    return _from_field(name, field, k, window)


def _from_field(name: str, field, k: int, window: tuple[datetime, datetime]):
    start, end = window
    moment = end if name in ("end", "until", "available_until") else start
    choices = [v for v in getattr(field, "validators", ()) if isinstance(v, validate.OneOf)]
    if choices:
        return list(choices[0].choices)[0]
    if isinstance(field, fields.List):
        return [_from_field(name, field.inner, k, window)]
    if isinstance(field, fields.DateTime):
        return moment.isoformat()
    if isinstance(field, fields.Date):
        return moment.date().isoformat()
    if isinstance(field, fields.Time):
        return "19:00"
    if isinstance(field, fields.Boolean):
        return False
    ranges = [v for v in getattr(field, "validators", ()) if isinstance(v, validate.Range)]
    if isinstance(field, fields.Number):
        value = k if isinstance(field, fields.Integer) else 1.0
        low = ranges[0].min if ranges and ranges[0].min is not None else value
        return max(value, low)
    if isinstance(field, fields.Email):
        return "probe@example.com"
    if isinstance(field, (fields.Dict, fields.Nested)):
        return {}
    if name == "month":
        return moment.strftime("%Y-%m")
    return "探针"


def argument_sets(cls_method, contract, id_values, window):
    """No arguments; then, for each planted id, every id-like parameter set to it and every other
    required one (and every optional id-like one) from its field in the method's request schema."""
    yield {}
    params = [p for p in inspect.signature(cls_method).parameters.values() if p.name != "self"]
    if not params:
        return
    schema_fields = contract.request().fields if contract.request is not None else {}
    seen = set()
    for k in id_values:
        args = {}
        for p in params:
            if p.default is inspect.Parameter.empty or _is_id(p.name) or _is_ids(p.name):
                field = schema_fields.get(p.name)
                args[p.name] = _value(p.name, field, k, window)
        key = repr(sorted((n, v) for n, v in args.items() if n != "request_id"))
        if key not in seen:
            seen.add(key)
            yield args


def service_method(service: str, name: str):
    from activities.service import ActivitiesService
    from appeals.service import AppealsService
    from notifications.service import NotificationsService
    from organiser.service import OrganiserService
    from volunteers.service import VolunteersService

    classes = {
        c.name: c
        for c in (VolunteersService, ActivitiesService, NotificationsService, OrganiserService, AppealsService)
    }
    return getattr(classes[service], name)


# --- the attacks ------------------------------------------------------------------------------------


MARKERS = {MARK, USERNAME, *PHONES, "gylmark"}


def probe(config, context, methods, id_values, window) -> tuple[list[str], Counter]:
    """Every argument set of every method called as ``context``: the answers (or refusals) holding a
    planted marker the caller did not pass in itself, and how the calls ended."""
    proxies = {s: ServiceRpcProxy(s, config, context_data=context, timeout=30) for s in SERVICES}
    opened = {s: p.start() for s, p in proxies.items()}
    supplied: set[str] = set()  # what the caller passed in, it knew already
    leaks, ends = [], Counter()
    try:
        for service, method, contract in methods:
            for args in argument_sets(service_method(service, method), contract, id_values, window):
                supplied.update(m for m in MARKERS if m in repr(args))
                try:
                    answer = repr(getattr(opened[service], method)(**args))
                    ends["answered"] += 1
                except Exception as exc:  # a refusal: its words must not tell either
                    answer = f"{type(exc).__name__}: {exc}"
                    ends[type(exc).__name__] += 1
                found = [m for m in MARKERS - supplied if m in answer]
                leaks.append(f"{service}.{method}({args}) -> {found}: {answer[:300]}" if found else None)
    finally:
        for p in proxies.values():
            p.stop()
    return leaks, ends


def test_no_rpc_of_wutaishan_reaches_guanyinlis_records(platform, attacks, db_backend):
    ids = plant(platform)
    id_values = sorted({i for values in ids.values() for i in values})
    before = settled(platform)
    assert any(MARK in row for rows in before.values() for row in rows), "nothing planted"
    window = (now() - timedelta(days=1), now() + timedelta(days=13))
    methods = [(s, m, service_method(s, m).__contract__) for s, m, _ in declared_methods()]
    assert len(methods) > 60
    leaked, answered = [], 0
    for caller, context in callers(ids["volunteer"][0]).items():
        leaks, ends = probe(platform, context, methods, id_values, window)
        for leak in leaks:
            attacks(f"{caller}: rpc with guanyinli's ids", leak is None)
        leaked += [f"{caller}: {leak}" for leak in leaks if leak]
        answered += ends["answered"]
        print(caller, dict(ends))
    after = settled(platform, seconds=30)
    changed = differences(before, after)
    attacks("guanyinli's storage changed by wutaishan", not changed)
    assert answered > 300, "too few calls got past their arguments' checks to prove anything"
    assert not leaked, "\n".join(leaked[:30])
    assert not changed, "\n".join(changed)
    # The same reads by guanyinli's own organiser do find the markers: the probe can see a leak.
    reads = [m for m in methods if m[1].startswith(("get_", "list_", "lookup", "find_", "door_"))]
    seen, _ = probe(platform, HERE, reads, id_values, window)
    found_by = {leak.split("(", 1)[0] for leak in seen if leak}
    assert {"volunteers.get_volunteer", "activities.get_activity", "appeals.get_appeal"} <= found_by, found_by


def test_a_feed_link_works_only_in_the_community_that_issued_it(feeds, attacks, web_session, db_backend):
    platform = feeds
    ours = signed({"roles": ["organiser"]})
    theirs = signed({"roles": ["organiser"], "community": SECOND_COMMUNITY})
    links = {}
    for slug, context, name, phone in (
        ("guanyinli", ours, f"{MARK}张三", PHONES[0]),
        (SECOND_COMMUNITY, theirs, "五台山赵六", "13900000009"),
    ):
        with ServiceRpcProxy("volunteers", platform, context_data=context, timeout=30) as rpc:
            v = rpc.create_volunteer(name=name, phone=phone, teams=["voluntary_patrol"], grid_id=5)
        with ServiceRpcProxy("activities", platform, context_data=context, timeout=30) as rpc:
            links[slug] = (rpc.issue_feed_token(volunteer_id=v["id"])["personal"]["https"], v["id"])
    base = "http://" + platform["WEB_SERVER_ADDRESS"]
    paths = {slug: url[len(base) :] if url.startswith(base) else url for slug, (url, _) in links.items()}
    token = {slug: path.rsplit("/", 1)[1] for slug, path in paths.items()}
    wrong = []
    alike = token["guanyinli"] == token[SECOND_COMMUNITY]
    attacks("two communities' first feed tokens alike", not alike)
    if alike:  # wutaishan's volunteer 1 then holds the key to guanyinli's volunteer 1's feed
        wrong.append(f"volunteer 1's first feed token is the same string in both communities: {paths}")
    here = "/feeds/volunteers/{}"
    there = f"/c/{SECOND_COMMUNITY}/feeds/volunteers/{{}}"
    prefixed = paths[SECOND_COMMUNITY] == there.format(token[SECOND_COMMUNITY])
    attacks("wutaishan's feed link without /c/wutaishan/ (guanyinli's path)", prefixed)
    if not prefixed:
        wrong.append(f"wutaishan's feed link is not under /c/{SECOND_COMMUNITY}/: {paths[SECOND_COMMUNITY]}")
    assert web_session.get(here.format(token["guanyinli"])).status_code == 200
    assert web_session.get(there.format(token[SECOND_COMMUNITY])).status_code == 200
    for attack, path in (
        ("wutaishan's feed token on guanyinli's feed URL", here.format(token[SECOND_COMMUNITY])),
        ("guanyinli's feed token under /c/wutaishan/", there.format(token["guanyinli"])),
    ):
        answer = web_session.get(path)
        refused = answer.status_code == 404 and MARK not in answer.text
        attacks(attack, refused)
        if not refused:
            wrong.append(f"{attack}: {path} -> {answer.status_code}")
    assert not wrong, "\n".join(wrong)
