"""The demo month: what it holds, and that loading it twice changes nothing."""

from collections import Counter
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from activities import demo, lecture_demo, store, visits, visits_demo
from activities.domain import Viewer
from activities.models import Activity, PersonVisit, Registration
from guanyinli.db import make_engine
from guanyinli.identity import Identity
from guanyinli.timeutil import TZ, from_db, now

pytestmark = pytest.mark.integration


def test_demo_month_is_complete_and_idempotent(db_urls):
    monday = demo.next_monday(date.today())
    assert monday.weekday() == 0 and monday > date.today()
    assert demo.main(["--database-url", db_urls["activities"], "--start", monday.isoformat()]) == 0
    assert demo.main(["--database-url", db_urls["activities"], "--start", monday.isoformat()]) == 0
    engine = make_engine(db_urls["activities"])
    with Session(engine) as session, session.begin():
        assert len(demo.plan(monday)) == 40
        # The visit register's visits (activities.visits_demo) are activities of their own.
        register = set(session.scalars(select(PersonVisit.activity_id)))
        start = datetime.combine(monday, time(0), tzinfo=TZ)
        occurrences = [
            o
            for o in store.list_occurrences(session, start, start + timedelta(days=28))
            if o.activity_id not in register
        ]
        kinds = Counter(o.activity.kind for o in occurrences)
        assert kinds["tutoring"] == 8  # every Saturday and Sunday morning
        assert kinds["lecture"] == 3  # two monthly lectures and lecture_demo's full hall
        assert kinds["elderly_visit"] == 16  # four people, weekly
        # the clean-up rotation: five courtyards and three buildings weekly, eleven green spaces fortnightly
        assert kinds["sanitation"] == 5 * 4 + 3 * 4 + 11 * 2
        assert session.scalar(select(func.count(Activity.id))) == 40 + 1 + kinds["sanitation"] + len(register)
        assert kinds["patrol"] == 15 * 28 + 15 * 8
        school = [o for o in occurrences if o.activity.kind == "tutoring"]
        assert {from_db(o.start).weekday() for o in school} == {5, 6}
        hall = lecture_demo.CAPACITY + lecture_demo.WAITING
        assert session.scalar(select(func.count(Registration.id))) == 2 * len(demo.RESIDENTS) + hall
        full = next(o for o in occurrences if (o.activity.demo_key or "").endswith("lecture-full-hall"))
        assert (full.attendees, full.attendee_capacity, full.attendee_queue) == (20, 20, lecture_demo.WAITING)
    engine.dispose()


def test_demo_register_has_a_month_of_visits_and_one_person_overdue(db_urls):
    assert demo.main(["--database-url", db_urls["activities"]]) == 0
    assert demo.main(["--database-url", db_urls["activities"]]) == 0
    engine = make_engine(db_urls["activities"])
    organiser = Viewer(Identity(roles=frozenset({"organiser"})), now())
    with Session(engine) as session, session.begin():
        people = visits.list_people(session, organiser)
        assert len(people) == len(visits_demo.PEOPLE) == 10
        assert [p["name"] for p in visits.overdue(session, now().date(), organiser)] == [visits_demo.OVERDUE]
        assert all(p["last_visit"] is not None and p["next_planned"] is not None for p in people)
        made = session.scalars(select(PersonVisit).where(PersonVisit.done_at.is_not(None))).all()
        assert len(made) >= 10 and all(v.note for v in made)
        assert {v.due_on for v in made} <= {now().date() - timedelta(days=d) for d in range(1, 31)}
    engine.dispose()
