"""Cancel deadlines: the setting, the deadline of a duty, and the refusal after it."""

from datetime import datetime, timedelta

import pytest

from activities import domain
from activities.dependencies import duty_rules
from activities.exceptions import TooLateToCancel
from guanyinli.timeutil import TZ


def test_default_deadlines_per_kind_and_other_for_the_rest():
    deadlines = domain.cancel_deadlines(None)
    assert {k: deadlines[k] for k in ("patrol", "tutoring", "elderly_visit", "lecture", "sanitation")} == {
        "patrol": 24,
        "tutoring": 24,
        "elderly_visit": 24,
        "lecture": 12,
        "sanitation": 12,
    }
    assert deadlines["convenience"] == deadlines["cultural"] == deadlines["other"] == 24


def test_the_setting_replaces_kinds_it_names_and_other_covers_kinds_named_nowhere():
    deadlines = domain.cancel_deadlines("lecture:6 other:48 patrol:1.5")
    assert (deadlines["lecture"], deadlines["patrol"], deadlines["tutoring"]) == (6, 1.5, 24)
    assert deadlines["cultural"] == deadlines["convenience"] == 48
    assert domain.cancel_deadlines({"sanitation": 0})["sanitation"] == 0
    assert domain.cancel_deadlines("") == domain.cancel_deadlines(None)


@pytest.mark.parametrize(
    "setting, message",
    [
        ("picnic:12", "'picnic' is not a kind"),
        ("lecture", "lecture: None is not a number"),
        ("lecture:soon", "lecture: 'soon' is not a number"),
        ("lecture:-1", "hours from 0 to 720"),
        ("lecture:nan", "hours from 0 to 720"),
        ({"patrol": None}, "patrol: None is not a number"),
    ],
)
def test_a_setting_that_cannot_be_read_is_refused_naming_the_entry(setting, message):
    with pytest.raises(ValueError, match=message):
        domain.cancel_deadlines(setting)


def test_cancel_until_is_the_kinds_hours_before_the_duty_starts():
    deadlines = domain.cancel_deadlines(None)
    start = datetime(2026, 12, 11, 18, 0, tzinfo=TZ)
    assert domain.cancel_until(start, "patrol", deadlines) == datetime(2026, 12, 10, 18, 0, tzinfo=TZ)
    assert domain.cancel_until(start, "lecture", deadlines) == datetime(2026, 12, 11, 6, 0, tzinfo=TZ)
    assert domain.cancel_until(start, "a_kind_of_tomorrow", deadlines) == datetime(2026, 12, 10, 18, 0, tzinfo=TZ)


def test_cancelling_up_to_the_deadline_passes_and_after_it_says_the_deadline_in_both_languages():
    deadlines = domain.cancel_deadlines(None)
    start = datetime(2026, 12, 11, 18, 0, tzinfo=TZ)
    deadline = datetime(2026, 12, 10, 18, 0, tzinfo=TZ)
    domain.check_cancel_in_time(start, "patrol", deadlines, deadline)
    with pytest.raises(TooLateToCancel) as refused:
        domain.check_cancel_in_time(start, "patrol", deadlines, deadline + timedelta(seconds=1))
    assert str(refused.value).startswith("cancel deadline 2026-12-10T18:00:00+08:00 has passed")
    assert "I can't come" in str(refused.value)
    assert "2026-12-10T18:00:00+08:00" in refused.value.message_zh and "我来不了" in refused.value.message_zh
    # The deadline is said in local time whatever the clock's offset.
    with pytest.raises(TooLateToCancel, match=r"^cancel deadline 2026-12-10T18:00:00\+08:00 has passed"):
        domain.check_cancel_in_time(start.astimezone(tz=None), "patrol", deadlines, start)


def test_the_service_reads_its_duty_rules_from_the_config():
    assert duty_rules({"CANCEL_DEADLINES": "patrol:36"}).cancel_deadlines["patrol"] == 36
    assert duty_rules({}).cancel_deadlines == domain.cancel_deadlines(None)
    with pytest.raises(ValueError, match="CANCEL_DEADLINES"):
        duty_rules({"CANCEL_DEADLINES": "patrol:forever"})
