"""Input validation of the volunteers contract: every rejection names the field."""

import pytest

from guanyinli.errors import InvalidInput
from guanyinli.schemas import load
from volunteers import schemas

VALID = {"name": "李桂兰", "phone": "13912345678"}


@pytest.mark.parametrize("phone", ["13912345678", "+86 139 1234 5678", "025-84561234", "02584561234"])
def test_phone_numbers_accepted(phone):
    assert load(schemas.CreateVolunteerIn, {**VALID, "phone": phone})["phone"] == phone.replace(" ", "")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"phone": "12912345678"}, "phone: not a phone number"),
        ({"phone": "1391234567"}, "phone: not a phone number"),
        ({"email": "li@"}, "email: Not a valid email address."),
        ({"skills": ["tutoring:"]}, "skills.0: not a skill name"),
        ({"skills": ["patrol leader"]}, "skills.0: not a skill name"),
        ({"teams": ["voluntary_patrol", "x"]}, "teams.1: Must be one of"),
        ({"grid_id": 0}, "grid_id: no grid 0"),
        ({"grid_id": True}, "grid_id: Not a valid integer."),
        ({"alliance": "party"}, "alliance: Must be one of"),
        ({"name": "x" * 101}, "name: Length must be between 1 and 100."),
        ({"hobby": "chess"}, "hobby: Unknown field."),
    ],
)
def test_create_rejections_name_the_field(changes, message):
    with pytest.raises(InvalidInput) as error:
        load(schemas.CreateVolunteerIn, {**VALID, **changes})
    assert str(error.value).startswith(message)


def test_the_grids_are_the_data(sixteenth_grid):
    """A grid added to the data is a grid everywhere an id is checked; one it lacks is named with the known ones."""
    assert load(schemas.CreateVolunteerIn, {**VALID, "grid_id": 16})["grid_id"] == 16
    assert load(schemas.LeaderboardIn, {"grid": 16})["grid"] == 16
    assert load(schemas.LookupIn, {"grid_ids": list(range(1, 17))})["grid_ids"][-1] == 16
    with pytest.raises(InvalidInput, match=r"^grid_id: no grid 17; the grids are 1-16$"):
        load(schemas.UpdateVolunteerIn, {"volunteer_id": 1, "grid_id": 17})


def test_without_it_grid_16_is_unknown():
    with pytest.raises(InvalidInput, match=r"^grid: no grid 16; the grids are 1-15$"):
        load(schemas.AvailableVolunteersIn, {"start": "2026-03-02T08:00", "end": "2026-03-02T10:00", "grid": 16})


def test_weekly_and_dated_windows():
    loaded = load(
        schemas.SetAvailabilityIn,
        {
            "volunteer_id": 1,
            "weekly": [{"weekday": 6, "start": "22:00", "end": "24:00"}],
            "dated": [{"kind": "off", "start": "2026-03-02T00:00", "end": "2026-03-03T00:00+08:00"}],
        },
    )
    assert loaded["dated"][0]["start"].utcoffset().total_seconds() == 8 * 3600  # naive means Asia/Shanghai
    for window, message in [
        ({"weekday": 0, "start": "19:00", "end": "19:00"}, "weekly.0.end: must be after start"),
        ({"weekday": 0, "start": "24:00", "end": "24:00"}, "weekly.0.start: not a time HH:MM"),
        ({"weekday": 0, "start": "9:00", "end": "10:00"}, "weekly.0.start: not a time HH:MM"),
        ({"weekday": "mon", "start": "09:00", "end": "10:00"}, "weekly.0.weekday: Not a valid integer."),
    ]:
        with pytest.raises(InvalidInput) as error:
            load(schemas.SetAvailabilityIn, {"volunteer_id": 1, "weekly": [window]})
        assert str(error.value) == message


def test_ranges_are_ordered_and_bounded():
    with pytest.raises(InvalidInput, match="^end: must be after start$"):
        load(schemas.AvailabilityWindowsIn, {"start": "2026-03-02T10:00", "end": "2026-03-02T09:00"})
    with pytest.raises(InvalidInput, match="^end: at most 100 days after start$"):
        load(schemas.AvailabilityWindowsIn, {"start": "2026-03-02T00:00", "end": "2026-07-01T00:00"})


def test_ledger_entry_defaults_and_limits():
    loaded = load(schemas.AddLedgerEntryIn, {"volunteer_id": 1, "hours": 2, "reason": "巡逻"})
    assert (loaded["source"], loaded["points"], loaded["source_key"]) == ("manual", None, None)
    with pytest.raises(InvalidInput, match="^hours: Special numeric values"):
        load(schemas.AddLedgerEntryIn, {"volunteer_id": 1, "hours": float("nan"), "reason": "巡逻"})
    with pytest.raises(InvalidInput, match="^source: "):
        load(schemas.AddLedgerEntryIn, {"volunteer_id": 1, "hours": 1, "reason": "巡逻", "source": "Bad Source"})


def test_roster_settings_in_an_update():
    loaded = load(
        schemas.UpdateVolunteerIn,
        {
            "volunteer_id": 1,
            "max_duties_per_week": 2,
            "target_per_month": 0,
            "preferred_days": [5, 6],
            "preferred_times": ["morning"],
            "partners": [2, 3],
            "clear": [],
        },
    )
    assert (loaded["max_duties_per_week"], loaded["target_per_month"], loaded["partners"]) == (2, 0, [2, 3])
    assert load(schemas.UpdateVolunteerIn, {"volunteer_id": 1, "clear": ["max_duties_per_week"]})["clear"] == [
        "max_duties_per_week"
    ]
    for changes, message in [
        ({"max_duties_per_week": 0}, "max_duties_per_week: Must be greater than or equal to 1"),
        ({"max_duties_per_week": 15}, "max_duties_per_week: Must be greater than or equal to 1 and less than or"),
        ({"max_duties_per_week": "2"}, "max_duties_per_week: Not a valid integer."),
        ({"target_per_month": -1}, "target_per_month: Must be greater than or equal to 0"),
        ({"preferred_days": [7]}, "preferred_days.0: Must be greater than or equal to 0"),
        ({"preferred_times": ["night"]}, "preferred_times.0: Must be one of"),
        ({"partners": [1, 2, 3, 4]}, "partners: Longer than maximum length 3."),
        ({"partners": [0]}, "partners.0: Must be greater than or equal to 1"),
    ]:
        with pytest.raises(InvalidInput) as error:
            load(schemas.UpdateVolunteerIn, {"volunteer_id": 1, **changes})
        assert str(error.value).startswith(message), (changes, str(error.value))
