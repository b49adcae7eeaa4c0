"""Every feed of the demo month, read by ical.js and recurring-ical-events, against the service's own
list of occurrences: the real rules (weekends, monthly clean-ups, patrols of all 15 grids), one
occurrence moved and one cancelled, and a volunteer with duties in several kinds of activity."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy.orm import Session

from activities import demo, feed_data, ical, store
from activities.exceptions import DutyClash
from activities.feeds import public_feeds
from guanyinli.db import make_engine
from guanyinli.timeutil import TZ, from_db, now
from tests.js.ical_parsers import both
from volunteers.structure import TEAMS as GUANYINLI_TEAMS

pytestmark = pytest.mark.integration

VOLUNTEER = 501


def expected(occurrences) -> list[tuple]:
    return sorted(
        (from_db(o.start).astimezone(UTC), "CANCELLED" if store.effective_status(o) == "cancelled" else "CONFIRMED")
        for o in occurrences
    )


def seen(body: bytes, start: datetime, end: datetime) -> list[tuple]:
    return sorted((o["start"], o["status"]) for o in both(body, start.astimezone(UTC), end.astimezone(UTC)))


def test_every_feed_of_the_demo_month_agrees_with_list_occurrences(db_urls):
    monday = demo.next_monday(date.today())
    assert demo.main(["--database-url", db_urls["activities"], "--start", monday.isoformat()]) == 0
    start = datetime.combine(monday, time(0), tzinfo=TZ)
    end = start + timedelta(days=28)
    engine = make_engine(db_urls["activities"])
    with Session(engine) as session, session.begin():
        occurrences = store.list_occurrences(session, start, end)
        school = [o for o in occurrences if o.activity.kind == "tutoring"]
        patrols = [o for o in occurrences if o.activity.kind == "patrol" and o.activity.grid_id == 3]
        signed = 0
        for occ in school[:4] + patrols[:6:2] + [o for o in occurrences if o.activity.kind == "sanitation"][:2]:
            try:
                store.sign_up(session, occ.id, None, VOLUNTEER, None)
                signed += 1
            except DutyClash:
                pass  # a clash between two of the picks
        assert signed >= 5
        store.update_occurrence(session, school[1].id, {"start": from_db(school[1].start) + timedelta(hours=1)})
        store.cancel_occurrence(session, school[2].id, "停电")

    with Session(engine) as session, session.begin():
        at = now()
        grids = demo.community_grids()
        teams = {t.code: t.name_zh for t in GUANYINLI_TEAMS}
        scopes = public_feeds(grids, teams)
        assert len(scopes) == 1 + len(teams) + len(feed_data.KIND_LABELS) - 1 + len(grids)
        with pytest.raises(ValueError):
            feed_data.public_feed(session, "kind", "elderly_visit", at)
        for scope, value in scopes:
            body = ical.render(feed_data.public_feed(session, scope, value, at, teams))
            filters = {
                "lectures": {"kind": "lecture"},
                "team": {"team": value},
                "kind": {"kind": value},
                "grid": {"grid_id": value},
            }[scope]
            listed = store.list_occurrences(session, start, end, **filters)
            want = expected([o for o in listed if o.activity.kind != "elderly_visit"])  # never public
            assert seen(body, start, end) == want, (scope, value)
            assert want or scope == "team", (scope, value)  # the demo month fills every feed but a team or two

        duties = store.list_duties(session, VOLUNTEER, start, end)
        body = ical.render(feed_data.personal_feed(session, VOLUNTEER, at))
        mine = []
        for signup in duties:
            window = store.duty_of(signup.occurrence, signup.occurrence_role.role)
            status = "CANCELLED" if store.effective_status(signup.occurrence) == "cancelled" else "CONFIRMED"
            mine.append((window[0].astimezone(UTC), status))
        assert seen(body, start, end) == sorted(mine) and len(mine) == signed
        assert ("CANCELLED" in {s for _, s in mine}) and body.count(b"RRULE:") >= 1
    engine.dispose()
