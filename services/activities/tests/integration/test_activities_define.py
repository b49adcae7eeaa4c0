"""Defining activities: kinds, teams, places, recurrence with EXDATE, overrides and cancellation."""

import pytest
from activities_testkit import as_volunteer, at, iso
from sqlalchemy import create_engine, text

from activities.exceptions import GridNotFound, OccurrenceClosed
from guanyinli.errors import Forbidden, InvalidInput, NotFound

pytestmark = pytest.mark.integration


def weekend_school(organiser, **extra):
    fields = dict(
        title="林宏汉周末爱心学堂",
        kind="tutoring",
        room="社区活动中心 201",
        start=iso(at(1, 9)),
        duration_minutes=120,
        rrule="FREQ=DAILY;COUNT=14",
    )
    fields.update(extra)
    return organiser.create_activity(**fields)


def test_kinds_get_their_team_roles_and_lecture_duties(organiser, events):
    patrol = organiser.create_activity(
        title="夜间巡逻", kind="patrol", grid_id=7, start=iso(at(1, 19)), duration_minutes=120
    )
    assert patrol["team"] == "voluntary_patrol"
    assert [(r["name"], r["needed"]) for r in patrol["roles"]] == [("patroller", 2)]
    assert patrol["place"] == "第7网格" and patrol["sequence"] == 0 and patrol["status"] == "active"

    lecture = organiser.create_activity(
        title="立德树人讲堂：家庭用电安全",
        kind="lecture",
        room="立德树人讲堂",
        capacity=60,
        start=iso(at(3, 14, 30)),
        duration_minutes=90,
    )
    assert [r["name"] for r in lecture["roles"]] == ["setup", "reception"]
    occ = organiser.list_occurrences(start=iso(at(3, 0)), end=iso(at(4, 0)), kind="lecture")[0]
    setup, reception = occ["roles"]
    assert setup["duty_start"] == iso(at(3, 13, 30)) and setup["duty_end"] == iso(at(3, 14, 30))
    assert reception["duty_start"] == iso(at(3, 14)) and reception["duty_end"] == iso(at(3, 16))
    assert occ["attendee_capacity"] == 60

    created = events.wait("activity_created", 2)
    assert {e["activity_id"] for e in created} == {patrol["id"], lecture["id"]}


@pytest.mark.parametrize(
    "bad, field",
    [
        ({"kind": "party"}, "kind"),
        ({"grid_id": 0}, "grid_id"),
        ({"team": "Chess Club"}, "team"),  # not a code; a code of no team of the community: TeamNotFound
        ({"duration_minutes": 0}, "duration_minutes"),
        ({"rrule": "FREQ=SECONDLY"}, "rrule"),
        ({"start": "next tuesday"}, "start"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_input_is_a_typed_error_naming_the_field(organiser, bad, field):
    fields = {
        **dict(title="清扫", kind="sanitation", courtyard="一号院", start=iso(at(1, 8)), duration_minutes=60),
        **bad,
    }
    with pytest.raises(InvalidInput, match=field):
        organiser.create_activity(**fields)


def test_a_grid_the_community_lacks_is_named(organiser):
    """The grids are the volunteers service's: an activity, or an occurrence moved, in another is refused."""
    fields = dict(title="清扫", kind="sanitation", start=iso(at(1, 8)), duration_minutes=60)
    with pytest.raises(GridNotFound, match=r"^grid_id: no grid 16; the grids are 1-15$"):
        organiser.create_activity(**fields, grid_id=16)
    activity = organiser.create_activity(**fields, grid_id=15)
    (occ,) = organiser.list_occurrences(start=iso(at(1, 0)), end=iso(at(2, 0)), activity_id=activity["id"])
    with pytest.raises(GridNotFound, match="no grid 99"):
        organiser.update_occurrence(occurrence_id=occ["id"], grid_id=99)
    with pytest.raises(GridNotFound, match="no grid 16"):
        organiser.update_activity(activity_id=activity["id"], changes={"grid_id": 16})
    assert organiser.list_activities(grid=16) == []  # a filter by a grid nobody has finds nothing


def test_only_organisers_define_activities(call):
    for user in (None, as_volunteer(5)):
        with pytest.raises(Forbidden):
            call(user).create_activity(
                title="清扫", kind="sanitation", courtyard="一号院", start=iso(at(1, 8)), duration_minutes=60
            )


def test_recurrence_exdate_and_materialised_rows(organiser, services):
    school = weekend_school(organiser, exdates=[iso(at(3, 9))])
    occs = organiser.list_occurrences(start=iso(at(0, 0)), end=iso(at(8, 0)), kind="tutoring")
    assert [o["start"] for o in occs] == [iso(at(d, 9)) for d in (1, 2, 4, 5, 6, 7)]
    assert all(o["recurring"] and o["status"] == "scheduled" for o in occs)
    # Listing again returns the same rows: one per (activity, original start).
    again = organiser.list_occurrences(start=iso(at(0, 0)), end=iso(at(8, 0)), team=None, kind="tutoring")
    assert [o["id"] for o in again] == [o["id"] for o in occs]
    engine = create_engine(services["DB_URIS"]["activities"])
    with engine.connect() as conn:
        assert (
            conn.execute(text("SELECT count(*) FROM occurrences WHERE activity_id = :a"), {"a": school["id"]}).scalar()
            == 6
        )
    engine.dispose()
    assert organiser.list_occurrences(start=iso(at(0, 0)), end=iso(at(8, 0)), kind="patrol") == []


def test_filters_by_team_and_grid(organiser):
    organiser.create_activity(title="巡逻三", kind="patrol", grid_id=3, start=iso(at(1, 19)), duration_minutes=60)
    organiser.create_activity(title="巡逻五", kind="patrol", grid_id=5, start=iso(at(1, 19)), duration_minutes=60)
    organiser.create_activity(
        title="清扫", kind="sanitation", grid_id=3, courtyard="二号院", start=iso(at(1, 8)), duration_minutes=60
    )
    window = dict(start=iso(at(0, 0)), end=iso(at(3, 0)))
    assert [o["title"] for o in organiser.list_occurrences(grid=3, **window)] == ["清扫", "巡逻三"]
    assert [o["title"] for o in organiser.list_occurrences(team="voluntary_patrol", **window)] == ["巡逻三", "巡逻五"]
    assert [a["title"] for a in organiser.list_activities(grid=5)] == ["巡逻五"]


def test_override_moves_one_occurrence_and_bumps_its_sequence(organiser, events):
    weekend_school(organiser)
    occ = organiser.list_occurrences(start=iso(at(2, 0)), end=iso(at(3, 0)))[0]
    moved = organiser.update_occurrence(occurrence_id=occ["id"], start=iso(at(2, 14)), room="社区活动中心 305")
    assert moved["start"] == iso(at(2, 14)) and moved["end"] == iso(at(2, 16))
    assert moved["original_start"] == iso(at(2, 9)) and moved["overridden"]
    assert moved["room"] == "社区活动中心 305" and moved["sequence"] == occ["sequence"] + 1
    changed = events.wait("occurrence_changed")[0]
    assert changed["previous_start"] == iso(at(2, 9)) and changed["start"] == iso(at(2, 14))
    # Listed where it moved to, not twice, and a window holding only the new time finds it.
    assert [o["id"] for o in organiser.list_occurrences(start=iso(at(2, 13)), end=iso(at(2, 15)))] == [occ["id"]]
    assert organiser.list_occurrences(start=iso(at(2, 8)), end=iso(at(2, 10))) == []


def test_cancelled_occurrence_keeps_its_record(organiser, events):
    weekend_school(organiser)
    occ = organiser.list_occurrences(start=iso(at(2, 0)), end=iso(at(3, 0)))[0]
    cancelled = organiser.cancel_occurrence(occurrence_id=occ["id"], reason="暴雨预警")
    assert cancelled["status"] == "cancelled" and cancelled["cancel_reason"] == "暴雨预警" and cancelled["cancelled_at"]
    assert cancelled["sequence"] == occ["sequence"] + 1
    assert organiser.get_occurrence(occurrence_id=occ["id"])["status"] == "cancelled"
    listed = organiser.list_occurrences(start=iso(at(2, 0)), end=iso(at(3, 0)))
    assert [(o["id"], o["status"]) for o in listed] == [(occ["id"], "cancelled")]
    assert events.wait("occurrence_cancelled")[0]["reason"] == "暴雨预警"
    organiser.cancel_occurrence(occurrence_id=occ["id"])  # again: no second event
    with pytest.raises(OccurrenceClosed):
        organiser.update_occurrence(occurrence_id=occ["id"], start=iso(at(2, 10)))
    assert len(events.of("occurrence_cancelled")) == 1


def test_update_and_cancel_activity(organiser, events, volunteers):
    school = weekend_school(organiser)
    volunteers.add(1, skills=["tutoring"])
    occs = organiser.list_occurrences(start=iso(at(0, 0)), end=iso(at(4, 0)))
    organiser.sign_up(occurrence_id=occs[1]["id"], volunteer_id=1)
    # Skipping a date that has a volunteer cancels it (kept); a date without anyone is removed.
    updated = organiser.update_activity(
        activity_id=school["id"], changes={"exdates": [occs[0]["start"], occs[1]["start"]], "title": "周末爱心学堂"}
    )
    assert updated["sequence"] == 1 and updated["title"] == "周末爱心学堂" and len(updated["exdates"]) == 2
    assert events.wait("activity_updated")[0]["changed"] == ["title", "exdates"]
    dropped = events.wait("occurrence_cancelled")[0]
    assert dropped["occurrence_id"] == occs[1]["id"] and dropped["volunteer_ids"] == [1]
    listed = organiser.list_occurrences(start=iso(at(0, 0)), end=iso(at(4, 0)))
    assert [(o["id"], o["status"]) for o in listed] == [(occs[1]["id"], "cancelled"), (occs[2]["id"], "scheduled")]

    cancelled = organiser.cancel_activity(activity_id=school["id"], reason="场地维修")
    assert cancelled["status"] == "cancelled" and cancelled["sequence"] == 2
    assert organiser.get_activity(activity_id=school["id"])["cancel_reason"] == "场地维修"
    assert organiser.list_activities() == [] and len(organiser.list_activities(include_cancelled=True)) == 1
    assert {o["status"] for o in organiser.list_occurrences(start=iso(at(0, 0)), end=iso(at(4, 0)))} == {"cancelled"}
    with pytest.raises(NotFound):
        organiser.cancel_activity(activity_id=999)


def test_moving_the_series_cancels_dropped_occurrences_with_people_and_removes_the_rest(organiser, volunteers, events):
    volunteers.add(1)
    patrol = organiser.create_activity(
        title="第六网格夜巡",
        kind="patrol",
        grid_id=6,
        start=iso(at(1, 19)),
        duration_minutes=120,
        rrule="FREQ=DAILY;COUNT=3",
    )
    before = organiser.list_occurrences(start=iso(at(0, 0)), end=iso(at(4, 0)))
    organiser.sign_up(occurrence_id=before[0]["id"], volunteer_id=1)
    organiser.update_occurrence(occurrence_id=before[2]["id"], room="网格驿站")  # an override stays an override
    organiser.update_activity(activity_id=patrol["id"], changes={"start": iso(at(1, 19, 30)), "duration_minutes": 90})
    assert events.wait("activity_updated")[0]["changed"] == ["duration_minutes", "start"]
    assert events.wait("occurrence_cancelled", 2) and {
        e["occurrence_id"] for e in events.of("occurrence_cancelled")
    } == {
        before[0]["id"],
        before[2]["id"],
    }
    after = organiser.list_occurrences(start=iso(at(0, 0)), end=iso(at(4, 0)))
    assert [(o["start"], o["end"], o["status"]) for o in after] == [
        (iso(at(1, 19)), iso(at(1, 21)), "cancelled"),
        (iso(at(1, 19, 30)), iso(at(1, 21)), "scheduled"),
        (iso(at(2, 19, 30)), iso(at(2, 21)), "scheduled"),
        (iso(at(3, 19)), iso(at(3, 21)), "cancelled"),
        (iso(at(3, 19, 30)), iso(at(3, 21)), "scheduled"),
    ]
