"""The visit register's add/edit form read into add_visited_person's and update_visited_person's arguments."""

import pytest

from guanyinli.errors import InvalidInput
from organiser.visit_pages import read_consent, read_person

FORM = {
    "name": " 孙奶奶 ",
    "category": "elder_alone",
    "frequency_days": "7",
    "grid_id": "8",
    "courtyard": "观音里3号院",
    "home": "",
    "address": "5幢2单元301",
    "health_notes": "",
    "relative_contact": "",
}


def test_adding_leaves_out_empty_fields_and_records_consent_when_named():
    assert read_person({**FORM, "consent_by": "本人", "consent_how": "phone"}, adding=True) == {
        "name": "孙奶奶",
        "category": "elder_alone",
        "frequency_days": 7,
        "grid_id": 8,
        "courtyard": "观音里3号院",
        "address": "5幢2单元301",
        "consent": {"by": "本人", "how": "phone"},
    }


def test_editing_clears_an_emptied_field_and_never_touches_consent():
    read = read_person({**FORM, "grid_id": "", "consent_by": "本人", "consent_how": "phone"}, adding=False)
    assert read["grid_id"] is None and read["home"] is None and read["health_notes"] is None
    assert "consent" not in read


@pytest.mark.parametrize(
    "change",
    [{"category": "neighbour"}, {"frequency_days": "weekly"}, {"grid_id": "eight"}, {"name": "  "}],
)
def test_a_wrong_field_is_refused(change):
    with pytest.raises(InvalidInput):
        read_person({**FORM, **change}, adding=True)


def test_consent_names_who_and_how():
    assert read_consent({"consent_by": "女儿 吴敏", "consent_how": "relative"}) == {
        "by": "女儿 吴敏",
        "how": "relative",
    }
    with pytest.raises(InvalidInput):
        read_consent({"consent_by": "", "consent_how": "phone"})
    with pytest.raises(InvalidInput):
        read_consent({"consent_by": "本人", "consent_how": "email"})
