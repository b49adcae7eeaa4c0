"""The roster settings form (organiser page and phone page) read into update_volunteer's arguments."""

import pytest
from werkzeug.datastructures import MultiDict

from guanyinli.errors import InvalidInput
from organiser import roster_settings


def form(**fields) -> MultiDict:
    return MultiDict(
        [(k, v) for k, values in fields.items() for v in (values if isinstance(values, list) else [values])]
    )


def test_an_organisers_form_sets_everything_it_names():
    sent = form(max_duties_per_week="2", target_per_month=" 6 ", day=["6", "5", "5"], time=["evening", "morning"])
    sent.setlist("partner", ["12", "", "7"])
    assert roster_settings.read(sent, organiser=True) == {
        "max_duties_per_week": 2,
        "target_per_month": 6,
        "preferred_days": [5, 6],
        "preferred_times": ["morning", "evening"],
        "partners": [7, 12],
        "clear": [],
    }


def test_empty_numbers_clear_and_nothing_ticked_is_no_preference():
    assert roster_settings.read(form(max_duties_per_week="", target_per_month=""), organiser=True) == {
        "preferred_days": [],
        "preferred_times": [],
        "partners": [],
        "clear": ["max_duties_per_week", "target_per_month"],
    }


def test_a_volunteers_form_leaves_the_target_and_partners_alone():
    sent = form(max_duties_per_week="1", target_per_month="30", partner="3", time="night")
    assert roster_settings.read(sent, organiser=False) == {
        "max_duties_per_week": 1,
        "preferred_days": [],
        "preferred_times": [],
        "clear": [],
    }


@pytest.mark.parametrize("fields", [{"max_duties_per_week": "two"}, {"day": "Mon"}, {"partner": "1.5"}])
def test_what_is_not_a_whole_number_is_refused_naming_the_field(fields):
    with pytest.raises(InvalidInput, match=f"^{next(iter(fields))}: a whole number"):
        roster_settings.read(form(**fields), organiser=True)


def test_partners_are_offered_by_name_never_the_volunteer_themselves():
    team = [{"id": 3, "name": "王芳"}, {"id": 1, "name": "陈刚"}, {"id": 5, "name": "李明", "active": False}]
    assert roster_settings.partner_choices(team, {9: "赵磊"}, 1) == [(3, "王芳"), (9, "赵磊")]
