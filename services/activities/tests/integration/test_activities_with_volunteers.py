"""The activities service with the real volunteers service: skills, availability and the ledger."""

import time
from datetime import timedelta

import pytest
from activities_testkit import ORGANISER, at, iso

from activities.exceptions import SkillMissing, VolunteerUnavailable
from activities.service import ActivitiesService
from guanyinli.rpc import ServiceRpcProxy
from guanyinli.testing import signed
from guanyinli.timeutil import now

pytestmark = pytest.mark.integration
volunteers_service = pytest.importorskip("volunteers.service")


@pytest.fixture
def both(container_factory, service_config, test_databases, db_backend):
    config = dict(service_config)
    config["DB_URIS"] = {**config["DB_URIS"], "volunteers": test_databases.url(db_backend, "volunteers")}
    test_databases.empty(db_backend, "volunteers")
    for cls in (ActivitiesService, volunteers_service.VolunteersService):
        container_factory(cls, config).start()
    with (
        ServiceRpcProxy("activities", config, context_data=signed(ORGANISER), timeout=30) as activities,
        ServiceRpcProxy("volunteers", config, context_data=signed(ORGANISER), timeout=30) as volunteers,
    ):
        yield activities, volunteers


def test_sign_up_checks_the_real_directory_and_attendance_reaches_the_ledger(both):
    activities, volunteers = both
    window = {"start": iso(now() - timedelta(days=1)), "end": iso(now() + timedelta(days=3))}
    tutor = volunteers.create_volunteer(name="钱老师", phone="13900000001", skills=["tutoring:math"])
    away = volunteers.create_volunteer(name="冯同学", phone="13900000002", skills=["tutoring:english"])
    volunteers.set_availability(volunteer_id=tutor["id"], dated=[{"kind": "extra", **window}])
    volunteers.set_availability(volunteer_id=away["id"], dated=[{"kind": "off", "note": "期末考试", **window}])

    start = now().replace(second=0, microsecond=0) - timedelta(minutes=30)
    activities.create_activity(
        title="林宏汉周末爱心学堂", kind="tutoring", room="社区活动中心 201", start=iso(start), duration_minutes=120
    )
    occ = activities.list_occurrences(start=iso(start), end=iso(start + timedelta(hours=1)))[0]
    signup = activities.sign_up(occurrence_id=occ["id"], volunteer_id=tutor["id"])
    assert signup["status"] == "confirmed"
    with pytest.raises(VolunteerUnavailable, match="期末考试"):
        activities.sign_up(occurrence_id=occ["id"], volunteer_id=away["id"])

    activities.create_activity(
        title="急救站值守",
        kind="convenience",
        courtyard="观音里2号院",
        start=iso(at(2, 9)),
        duration_minutes=60,
        roles=[{"name": "medic", "needed": 1, "skills": ["first_aid"]}],
    )
    medic = activities.list_occurrences(start=iso(at(2, 0)), end=iso(at(3, 0)))[0]
    with pytest.raises(SkillMissing, match="first_aid"):
        activities.sign_up(occurrence_id=medic["id"], volunteer_id=tutor["id"])

    activities.mark_attendance(signup_id=signup["id"], status="attended")
    deadline = time.monotonic() + 10
    while not (ledger := volunteers.get_ledger(volunteer_id=tutor["id"]))["entries"] and time.monotonic() < deadline:
        time.sleep(0.05)
    entry = ledger["entries"][0]
    assert (entry["hours"], entry["source"], entry["source_key"]) == (2.0, "activities", f"attendance:{signup['id']}")
    assert entry["points"] >= 20 + 20  # two hours, at late notice
