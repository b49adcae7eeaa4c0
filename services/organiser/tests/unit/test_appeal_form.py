"""The appeals forms read into receive_appeal's and close_appeal's arguments, and the list's order."""

import pytest

from appeals.domain import CATEGORIES as SERVICE_CATEGORIES
from appeals.domain import STATUSES as SERVICE_STATUSES
from appeals.domain import URGENCIES as SERVICE_URGENCIES
from guanyinli.errors import InvalidInput
from organiser import i18n
from organiser.appeal_pages import open_first, read_closing, read_intake
from organiser.appeal_words import CATEGORIES, STATUSES, URGENCIES

FORM = {
    "category": "repair",
    "grid_id": "6",
    "courtyard": " C01 ",
    "building": "",
    "urgency": "urgent",
    "description": " 楼道水管漏水 ",
    "resident_name": "李桂兰",
    "resident_phone": "13911112222",
    "resident_address": "",
    "request_id": "web-abc",
}


def test_intake_leaves_out_empty_optional_fields_and_trims():
    assert read_intake(FORM) == {
        "category": "repair",
        "grid_id": 6,
        "courtyard": "C01",
        "urgency": "urgent",
        "description": "楼道水管漏水",
        "resident_name": "李桂兰",
        "resident_phone": "13911112222",
        "request_id": "web-abc",
    }


@pytest.mark.parametrize("grid", ["", "六"])
def test_intake_needs_a_grid_number(grid):
    with pytest.raises(InvalidInput, match="grid_id"):
        read_intake({**FORM, "grid_id": grid})


def test_closing_reads_numbers_and_leaves_the_reply_out_when_empty():
    form = {"outcome": " 更换了水管 ", "resident_reply": "", "satisfaction": "5", "hours": "1.5"}
    assert read_closing(form) == {"outcome": "更换了水管", "resident_reply": None, "satisfaction": 5, "hours": 1.5}
    assert read_closing({"outcome": "x"}) == {
        "outcome": "x",
        "resident_reply": None,
        "satisfaction": None,
        "hours": 0.0,
    }
    with pytest.raises(InvalidInput, match="hours"):
        read_closing({"outcome": "x", "hours": "two"})


def test_open_appeals_come_first_each_in_the_services_order():
    rows = [{"id": 5, "status": "closed"}, {"id": 4, "status": "assigned"}, {"id": 3, "status": "closed"}]
    rows.append({"id": 2, "status": "unrouted"})
    assert [a["id"] for a in open_first(rows)] == [4, 2, 5, 3]


def test_the_pages_have_words_for_every_code_of_the_service_in_both_languages():
    assert (CATEGORIES, URGENCIES, STATUSES) == (SERVICE_CATEGORIES, SERVICE_URGENCIES, SERVICE_STATUSES)
    keys = [f"appeals_cat_{c}" for c in CATEGORIES] + [f"appeals_urg_{u}" for u in URGENCIES]
    keys += [f"appeals_st_{s}" for s in STATUSES] + ["nav_appeals"]
    for key in keys:
        assert i18n.translate("zh", key) != key and i18n.translate("en", key) != key


def test_an_appeals_page_lists_the_time_limit_alerts_fired_with_their_stage_and_level():
    from datetime import datetime

    from guanyinli.timeutil import TZ
    from organiser import web

    at = datetime(2026, 12, 5, 17, 24, tzinfo=TZ)
    appeal = {
        "id": 113,
        "category": "neighbours",
        "status": "assigned",
        "urgency": "normal",
        "grid_id": 6,
        "handler_id": None,
        "received_at": at,
        "notes": [],
        "escalations": [
            {"stage": "acknowledge", "level": "handler", "deadline": at, "fired_at": at, "due_at": at},
            {"stage": "acknowledge", "level": "grid_leader", "deadline": at, "fired_at": at, "due_at": at},
        ],
    }
    page = web.render("appeal.html", "zh", login=None, a=appeal, names={}, choices=None, satisfaction=(), done=None)
    text = page.get_data(as_text=True)
    assert 'id="escalations"' in text and "超时提醒" in text
    assert "响应 · 已提醒承办人" in text and "响应 · 已报网格长" in text
    appeal["escalations"] = []
    assert 'id="escalations"' not in web.render(
        "appeal.html", "zh", login=None, a=appeal, names={}, choices=None, satisfaction=(), done=None
    ).get_data(as_text=True)
