"""An existing installation migrates into one community without loss: the demo data, loaded into
databases at the revision before each service's ``community_of_the_storage`` migration, keeps every
row through the upgrade (and a downgrade and upgrade again), the storage names ``guanyinli`` as its
community, and the services started on it serve it to guanyinli's organiser; on both databases."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.orm import Session

from guanyinli import tenancy
from guanyinli.config import normalize_url
from guanyinli.db import make_engine
from guanyinli.migrate import SERVICES, alembic_config, upgrade
from guanyinli.rpc import ServiceRpcProxy
from guanyinli.testing import PG_ADMIN_URL
from guanyinli.timeutil import now

pytestmark = pytest.mark.integration

# Each service's revision before its migration ``community_of_the_storage``.
BEFORE_COMMUNITIES = {
    "volunteers": "c9d4e2a7b1f3",
    "activities": "b7e3c9a1d5f2",
    "notifications": "f3c8a2d6b1e4",
    "organiser": "c4d2e8f1a9b3",
    "appeals": "c8e4a2f6d1b7",
}
USERNAME, PASSWORD = "organiser", "guanyinli-demo"  # scripts/run.py's demo organiser account


@pytest.fixture
def old_installation(tmp_path, db_backend):
    """A database per service at the revision before communities, holding the demo data."""
    urls, made = {}, []
    for service in SERVICES:
        if db_backend == "sqlite":
            url = f"sqlite:///{tmp_path / (service + '.db')}"
        else:
            name = f"gytest_old_{service}_{uuid.uuid4().hex[:8]}"
            admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            admin.dispose()
            made.append(name)
            url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
        upgrade(service, url, revision=BEFORE_COMMUNITIES[service])
        urls[service] = url
    load_demo(urls)
    yield urls
    if made:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for name in made:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def load_demo(urls: dict[str, str]) -> None:
    """``make run``'s demo data (each service's ``demo.load*``), the demo organiser account, and a
    volunteer's contact and preferences in notifications, written as the old schema's installation would."""
    from activities import demo as activities_demo
    from appeals.partners_demo import partner_demo
    from notifications import store as notifications_store
    from notifications.domain import DigestSchedule, Preferences
    from organiser import accounts
    from organiser.security import hash_password
    from volunteers import demo as volunteers_demo

    at = now()
    monday = (at + timedelta(days=7 - at.weekday())).date()

    def write(service, work):
        engine = make_engine(urls[service])
        try:
            with Session(engine, expire_on_commit=False) as session, session.begin():
                work(session)
        finally:
            engine.dispose()

    write("volunteers", lambda s: volunteers_demo.load_demo(s))
    write("activities", lambda s: activities_demo.load(s, monday))
    write("appeals", lambda s: partner_demo(s, at.date(), at))
    write(
        "organiser", lambda s: accounts.create_account(s, USERNAME, hash_password(PASSWORD), "演示组织者", "organiser")
    )

    def notifications(session):
        notifications_store.save_contact(session, 1, at, name="张三", phone="13800000001")
        notifications_store.save_preferences(session, 1, Preferences(), at, DigestSchedule())

    write("notifications", notifications)


def rows(url: str) -> dict[str, list[str]]:
    """Every row of every table but Alembic's version table, by table."""
    engine = create_engine(normalize_url(url))
    try:
        with engine.connect() as conn:
            return {
                table: sorted(repr(tuple(r)) for r in conn.execute(text(f'SELECT * FROM "{table}"')))
                for table in inspect(conn).get_table_names()
                if not table.startswith("alembic_version")
            }
    finally:
        engine.dispose()


def ids(url: str, table: str) -> set[int]:
    engine = create_engine(normalize_url(url))
    try:
        with engine.connect() as conn:
            return set(conn.execute(text(f'SELECT id FROM "{table}"')).scalars())
    finally:
        engine.dispose()


def test_an_existing_installation_migrates_into_one_community_without_loss(
    old_installation, rabbit_config, web_config, container_factory
):
    before = {service: rows(url) for service, url in old_installation.items()}
    for service, tables in before.items():
        assert tenancy.TABLE not in tables
        if service in ("volunteers", "activities", "appeals"):
            assert sum(len(r) for r in tables.values()) > 20, f"{service}: the demo data did not load"

    for service, url in old_installation.items():
        upgrade(service, url)
    after = {service: rows(url) for service, url in old_installation.items()}
    for service in SERVICES:
        assert after[service].pop(tenancy.TABLE) == [repr(("guanyinli",))], service
        assert after[service] == before[service], f"{service}: rows changed by the upgrade"

    for service, url in old_installation.items():
        command.downgrade(alembic_config(service, url), BEFORE_COMMUNITIES[service])
        assert rows(url) == before[service], f"{service}: rows changed by the downgrade"
        upgrade(service, url)
        again = rows(url)
        assert again.pop(tenancy.TABLE) == [repr(("guanyinli",))]
        assert again == before[service], f"{service}: rows changed by the upgrade after a downgrade"

    served_by_the_services(old_installation, before, {**rabbit_config, **web_config}, container_factory)


def served_by_the_services(urls, before, base_config, container_factory) -> None:
    """The five services on the migrated databases: the demo organiser signs in and sees the demo data."""
    from activities.service import ActivitiesService
    from appeals.service import AppealsService
    from notifications.service import NotificationsService
    from organiser.service import OrganiserService
    from volunteers.service import VolunteersService

    config = {**base_config, "DB_URIS": dict(urls)}
    for cls in (VolunteersService, ActivitiesService, NotificationsService, OrganiserService, AppealsService):
        container_factory(cls, config).start()
    with ServiceRpcProxy("organiser", config, timeout=30) as anonymous:
        login = anonymous.issue_token(username=USERNAME, password=PASSWORD)
    organiser = {"identity": login["token"]}
    with ServiceRpcProxy("volunteers", config, context_data=organiser, timeout=30) as rpc:
        page = rpc.list_volunteers(limit=500)
        assert {v["id"] for v in page["items"]} == ids(urls["volunteers"], "volunteers")
    with ServiceRpcProxy("activities", config, context_data=organiser, timeout=30) as rpc:
        shown = rpc.list_activities(include_cancelled=True)
        assert {a["id"] for a in shown} == ids(urls["activities"], "activities")
    with ServiceRpcProxy("appeals", config, context_data=organiser, timeout=30) as rpc:
        partners = rpc.list_partners(include_inactive=True)
        assert {p["id"] for p in partners} == ids(urls["appeals"], "partners")
    with ServiceRpcProxy("notifications", config, context_data=organiser, timeout=30) as rpc:
        assert rpc.get_preferences(volunteer_id=1)["volunteer_id"] == 1
