"""The turn-into-an-activity form of /partners read into the appeals service's arguments."""

from __future__ import annotations

import pytest

from guanyinli.errors import InvalidInput
from organiser.partner_pages import read_turn

FORM = {"title": " 党建联建 ", "kind": "lecture", "start": "2026-12-10T14:00", "end": "2026-12-10T16:00"}


def test_the_form_in_local_time_with_optional_numbers_left_out():
    turned = read_turn(FORM | {"place": "多功能厅", "capacity": "60", "volunteers_needed": ""})
    assert turned == {
        "title": "党建联建",
        "kind": "lecture",
        "start": "2026-12-10T14:00:00+08:00",
        "end": "2026-12-10T16:00:00+08:00",
        "place": "多功能厅",
        "volunteers_needed": None,
        "capacity": 60,
    }


@pytest.mark.parametrize(
    "bad",
    [{"kind": "party"}, {"title": "  "}, {"start": "tomorrow"}, {"end": ""}, {"capacity": "sixty"}, {"kind": None}],
)
def test_bad_fields_are_invalid_input(bad):
    with pytest.raises(InvalidInput):
        read_turn({k: v for k, v in (FORM | bad).items() if v is not None})
