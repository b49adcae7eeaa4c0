"""Two organisers planning at the same moment: clean-ups, visits and the school's assignment each made once.

Each plan runs in two RPC calls at once (two proxies, two workers of the service), on both databases.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import eventlet
import pytest
from activities_testkit import ORGANISER, iso, next_monday
from test_school import pupil, tutors, weekend_school, window

from activities import cleanups
from conftest import REAL_VOLUNTEERS

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        REAL_VOLUNTEERS is None, reason="the plans read places and teams from the real volunteers service"
    ),
]

SECOND_ORGANISER = {"volunteer_id": 9001, "roles": ["organiser"], "name": "网格长 李强"}
# free on the mornings of every clean-up session
MORNINGS = [{"weekday": s.weekday, "start": "07:00", "end": "12:00"} for s in cleanups.SESSIONS]
CONSENT = {"by": "本人", "how": "in_person"}


def at_once(call, method: str, **kwargs) -> list:
    """``method`` called by two organisers at the same moment; both answers."""
    proxies = [call(ORGANISER), call(SECOND_ORGANISER)]
    threads = [eventlet.spawn(getattr(p, method), **kwargs) for p in proxies]
    return [t.wait() for t in threads]


def test_two_clean_up_plans_at_once_make_each_clean_up_once(call):
    directory = call({"roles": ["organiser"]}, service="volunteers")
    for n in range(12):
        person = directory.create_volunteer(
            name=f"清洁队员{n}", phone=f"1390000{n:04d}", teams=["sanitation_green"], grid_id=6 + n % 10
        )
        directory.set_availability(volunteer_id=person["id"], weekly=MORNINGS)
    first, second = at_once(call, "plan_cleanups", start=next_monday().date().isoformat(), weeks=2)

    made = call(ORGANISER).list_occurrences(start=first["start"], end=first["end"], kind="sanitation")
    places = Counter((o["courtyard"], o["start"][:10]) for o in made)
    assert places and max(places.values()) == 1, "a place cleaned twice the same day"
    assert first["created"] + second["created"] == len(made) == len(first["rows"])
    assert first["signed_up"] + second["signed_up"] == sum(len(r["volunteers"]) for r in second["rows"])
    for row in second["rows"]:
        ids = [v["id"] for v in row["volunteers"]]
        assert len(ids) == len(set(ids)) <= row["needed"]


def test_two_visit_plans_at_once_plan_each_visit_once(call, volunteers):
    for vid in (1, 2, 3, 4):
        volunteers.add(vid)
    organiser = call(ORGANISER)
    for name, frequency in (("孙奶奶", 7), ("周爷爷", 14)):
        organiser.add_visited_person(
            category="elder_alone",
            name=name,
            grid_id=9,
            courtyard="观音里5号院",
            frequency_days=frequency,
            consent=CONSENT,
        )
    first = (next_monday() + timedelta(days=1)).date()
    answers = at_once(call, "plan_visits", start=first.isoformat(), end=(first + timedelta(days=28)).isoformat())

    planned = [p for answer in answers for p in answer]
    assert len(planned) == 4 + 2
    assert len({(p["person_id"], p["day"]) for p in planned}) == len(planned)
    made = organiser.list_occurrences(start=iso(next_monday()), end=iso(next_monday() + timedelta(days=30)))
    assert len([o for o in made if o["kind"] == "elderly_visit"]) == len(planned)
    for p in planned:
        roles = organiser.get_occurrence(occurrence_id=p["occurrence_id"])["roles"]
        assert sorted(roles[0]["volunteer_ids"]) == sorted(p["visitor_ids"])


def test_two_tutor_assignments_at_once_keep_one_row_and_one_duty_per_need(call):
    organiser = call(ORGANISER)
    math, chinese = tutors(call, ("math",), ("chinese",))
    weekend_school(organiser, pupils_per_tutor=3)
    pupil(organiser, "小明", 3, ["math", "chinese"], 1)
    pupil(organiser, "小红", 5, ["math"], 2)
    first, second = at_once(call, "assign_tutors", **window(), time_limit=5)

    rows = organiser.list_assignments(**window())
    assert len(rows) == 4 * 3 and len({(a["occurrence_id"], a["pupil_id"], a["subject"]) for a in rows}) == 12
    assert {(a["id"], a["tutor_id"]) for a in rows} == {(a["id"], a["tutor_id"]) for a in second["assignments"]}
    for tutor in (math, chinese):
        duties = organiser.list_duties(volunteer_id=tutor, **window())
        assert len(duties) == len({d["occurrence_id"] for d in duties}) == 4
