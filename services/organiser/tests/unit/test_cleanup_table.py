"""The clean-up rotation laid out as places by weeks, as the page and the command line show it."""

from datetime import date

import pytest

from guanyinli.errors import InvalidInput
from organiser.cleanup_pages import read_period, table, window

VIEW = {
    "start": "2026-12-14T00:00:00+08:00",
    "end": "2026-12-28T00:00:00+08:00",
    "rows": [
        {
            "occurrence_id": 2,
            "place_code": "GS01",
            "place": "商住楼甲栋前庭绿地",
            "place_kind": "green_space",
            "grid_id": 1,
            "start": "2026-12-26T08:00:00+08:00",
            "end": "2026-12-26T10:00:00+08:00",
            "needed": 2,
            "volunteers": [{"id": 3, "name": "李明"}],
        },
        {
            "occurrence_id": 1,
            "place_code": "C08",
            "place": "观音里8号院",
            "place_kind": "courtyard",
            "grid_id": 8,
            "start": "2026-12-19T08:00:00+08:00",
            "end": "2026-12-19T10:00:00+08:00",
            "needed": 2,
            "volunteers": [{"id": 3, "name": "李明"}, {"id": 4, "name": "王芳"}],
        },
    ],
    "counts": [{"volunteer_id": 3, "name": "李明", "count": 2}, {"volunteer_id": 4, "name": "王芳", "count": 1}],
    "own_rota": [{"code": "C01", "name": "观音里1号院", "grid_id": 6}],
}


def test_places_by_weeks_courtyards_first():
    laid = table(VIEW, "zh")
    assert laid["weeks"] == [date(2026, 12, 14), date(2026, 12, 21)]
    assert [p["code"] for p in laid["places"]] == ["C08", "GS01"]
    courtyard, green = laid["places"]
    assert courtyard["cells"][1] == [] and courtyard["cells"][0][0]["volunteers"] == ["李明", "王芳"]
    assert green["cells"][1][0]["missing"] == 1 and green["cells"][1][0]["day"] == "周六 12-26 08:00"
    assert (laid["most"], laid["least"]) == (2, 1) and laid["own_rota"][0]["code"] == "C01"


def test_period_from_the_monday_and_checked():
    assert window(date(2026, 12, 17), 2)[0].date() == date(2026, 12, 14)
    assert read_period("2026-12-17", "8") == (date(2026, 12, 17), 8)
    with pytest.raises(InvalidInput):
        read_period("17/12", None)
    with pytest.raises(InvalidInput):
        read_period(None, "13")
