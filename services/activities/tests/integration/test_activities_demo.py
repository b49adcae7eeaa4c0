"""The demo month: what it holds, and that loading it twice changes nothing."""

from collections import Counter
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from activities import demo, store
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
        assert len(demo.plan(monday)) == 40
        start = datetime.combine(monday, time(0), tzinfo=TZ)
        occurrences = store.list_occurrences(session, start, start + timedelta(days=28))
        kinds = Counter(o.activity.kind for o in occurrences)
        assert kinds["tutoring"] == 8  # every Saturday and Sunday morning
        assert kinds["lecture"] == 2
        assert kinds["elderly_visit"] == 16  # four people, weekly
        # the clean-up rotation: five courtyards and three buildings weekly, eleven green spaces fortnightly
        assert kinds["sanitation"] == 5 * 4 + 3 * 4 + 11 * 2
        assert session.scalar(select(func.count(Activity.id))) == 40 + kinds["sanitation"]
        assert kinds["patrol"] == 15 * 28 + 15 * 8
        school = [o for o in occurrences if o.activity.kind == "tutoring"]
        assert {from_db(o.start).weekday() for o in school} == {5, 6}
        assert session.scalar(select(func.count(Registration.id))) == 2 * len(demo.RESIDENTS)
    engine.dispose()
