"""The demo month: what it holds, and that loading it twice changes nothing."""

from collections import Counter
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from activities import demo, lecture_demo, store
from activities.models import Activity, Registration
from guanyinli.db import make_engine
from guanyinli.timeutil import TZ, from_db

pytestmark = pytest.mark.integration


def test_demo_month_is_complete_and_idempotent(db_urls):
    monday = demo.next_monday(date.today())
    assert monday.weekday() == 0 and monday > date.today()
    assert demo.main(["--database-url", db_urls["activities"], "--start", monday.isoformat()]) == 0
    assert demo.main(["--database-url", db_urls["activities"], "--start", monday.isoformat()]) == 0
    engine = make_engine(db_urls["activities"])
    with Session(engine) as session, session.begin():
        assert session.scalar(select(func.count(Activity.id))) == len(demo.plan(monday)) + 1 == 53
        start = datetime.combine(monday, time(0), tzinfo=TZ)
        occurrences = store.list_occurrences(session, start, start + timedelta(days=28))
        kinds = Counter(o.activity.kind for o in occurrences)
        assert kinds["tutoring"] == 8  # every Saturday and Sunday morning
        assert kinds["lecture"] == 3
        assert kinds["elderly_visit"] == 16  # four people, weekly
        assert kinds["sanitation"] == 12  # each courtyard once in the four weeks
        assert kinds["patrol"] == 15 * 28 + 15 * 8
        school = [o for o in occurrences if o.activity.kind == "tutoring"]
        assert {from_db(o.start).weekday() for o in school} == {5, 6}
        hall = lecture_demo.CAPACITY + lecture_demo.WAITING
        assert session.scalar(select(func.count(Registration.id))) == 2 * len(demo.RESIDENTS) + hall
        full = next(o for o in occurrences if o.activity.demo_key.endswith("lecture-full-hall"))
        assert (full.attendees, full.attendee_capacity, full.attendee_queue) == (20, 20, lecture_demo.WAITING)
    engine.dispose()
