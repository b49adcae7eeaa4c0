"""The monthly report of appeals, figure by figure, against examples worked out by hand.

December 2026, judged at noon on the 20th, with the default limits (a normal repair: acknowledged within
2 daytime hours, visited within 24 hours and closed within 7 days of the first daytime moment; an urgent
lift fault around the clock: half an hour, 2 hours, a day):

- A1 grid 1, repair, Mon 7th 09:00; accepted 10:00 (due 11:00), visited 15:00, closed 9th 09:00; 5 of 5.
- A2 grid 1, repair, 7th 23:00 (night: counted from 8th 08:00, acknowledgement due 10:00); accepted 10:30
  (late); no visit recorded, closed 8th 20:00 (the visit counts then: in time); 3 of 5.
- A3 grid 2, urgent lift fault, 12th 02:00 (around the clock); accepted 02:20 (due 02:30), visited 05:00
  (due 04:00: late), still open (closing due 13th 02:00: late, overdue).
- A4 grid 2, repair, received Nov 28th 10:00, accepted 10:30, still open: its visit was due Nov 29th
  (November's), its closing Dec 5th 10:00 (December's, late); overdue.
- A5 grid 1, repair, 19th 19:00; acknowledgement due 20th 09:00 (an hour that evening, an hour next
  morning), not accepted: late and overdue; its visit is due 20th 19:00, after now: not counted yet.
"""

from __future__ import annotations

from datetime import date, datetime
from types import SimpleNamespace

import pytest

from appeals.report import month_bounds, monthly_report, parse_month, percentile, stage_times
from guanyinli.timeutil import TZ

NOW = datetime(2026, 12, 20, 12, 0, tzinfo=TZ)


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


def appeal(grid_id, received_at, category="repair", urgency="normal", **times) -> dict:
    return {"grid_id": grid_id, "category": category, "urgency": urgency, "received_at": received_at, **times}


A1 = appeal(
    1,
    at(12, 7, 9),
    accepted_at=at(12, 7, 10),
    visited_at=at(12, 7, 15),
    closed_at=at(12, 9, 9),
    satisfaction=5,
)
A2 = appeal(1, at(12, 7, 23), accepted_at=at(12, 8, 10, 30), closed_at=at(12, 8, 20), satisfaction=3)
A3 = appeal(
    2, at(12, 12, 2), category="elevator", urgency="urgent", accepted_at=at(12, 12, 2, 20), visited_at=at(12, 12, 5)
)
A4 = appeal(2, at(11, 28, 10), accepted_at=at(11, 28, 10, 30))
A5 = appeal(1, at(12, 19, 19))
ALL = [A1, A2, A3, A4, A5]


def stage(figures: dict, name: str) -> dict:
    return next(s for s in figures["stages"] if s["stage"] == name)


@pytest.fixture
def december() -> dict:
    return monthly_report(ALL, "2026-12", NOW)


def test_the_month_in_community_time():
    assert parse_month("2026-12") == date(2026, 12, 1)
    assert month_bounds(date(2026, 12, 1)) == (at(12, 1, 0), datetime(2027, 1, 1, tzinfo=TZ))
    with pytest.raises(ValueError):
        parse_month("2026-13")


def test_received_by_category_and_urgency(december):
    total = december["total"]
    assert (total["received"], total["received_urgent"]) == (4, 1)  # A4 came in November
    assert total["by_category"] == [
        {"category": "repair", "received": 3, "normal": 3, "urgent": 0},
        {"category": "elevator", "received": 1, "normal": 0, "urgent": 1},
    ]


def test_acknowledged_within_the_limit_night_appeal_counted_from_the_morning(december):
    # A1 and A3 in time; A2 (night: due 08:00 + 2 h) and A5 (due this morning) late; A4 met in November
    assert stage(december["total"], "acknowledge") == {
        "stage": "acknowledge",
        "due": 4,
        "met": 2,
        "late": 2,
        "share": 0.5,
    }


def test_visited_within_the_limit_closing_stands_for_an_unrecorded_visit(december):
    # A1, A2 (closed 8th 20:00, due 9th 08:00) in time; A3 late; A4's fell in November; A5's is still to come
    assert stage(december["total"], "visit") == {"stage": "visit", "due": 3, "met": 2, "late": 1, "share": 0.6667}


def test_closed_within_the_limit_counts_the_deadline_month_of_one_left_open(december):
    # A1, A2 in time; A3 (around the clock: due 13th 02:00) and A4 (due 5th) late while open; A5 not due yet
    assert stage(december["total"], "close") == {"stage": "close", "due": 4, "met": 2, "late": 2, "share": 0.5}


def test_hours_to_acknowledge_and_to_close(december):
    total = december["total"]
    # acknowledged in December after 1, 11.5 and 1/3 hours: median 1, 90th percentile 1 + 0.8 x 10.5
    assert total["hours_to_acknowledge"] == {"count": 3, "median": 1.0, "p90": 9.4}
    # closed in December after 48 and 21 hours
    assert total["hours_to_close"] == {"count": 2, "median": 34.5, "p90": 45.3}
    assert total["closed"] == 2


def test_satisfaction(december):
    assert december["total"]["satisfaction"] == {"answers": 2, "mean": 4.0, "share_satisfied": 0.5}


def test_open_and_overdue(december):
    total = december["total"]
    assert (total["open_at_end"], total["overdue_now"]) == (3, 3)  # A3, A4, A5


def test_per_grid_rows_add_up_to_the_total(december):
    one, two = december["grids"]
    assert (one["grid_id"], one["received"], one["closed"], one["open_at_end"]) == (1, 3, 2, 1)
    assert (two["grid_id"], two["received"], two["closed"], two["open_at_end"]) == (2, 1, 0, 2)
    assert stage(one, "acknowledge")["due"] + stage(two, "acknowledge")["due"] == 4
    assert stage(two, "close") == {"stage": "close", "due": 2, "met": 0, "late": 2, "share": 0.0}
    assert one["satisfaction"] == {"answers": 2, "mean": 4.0, "share_satisfied": 0.5}
    assert two["satisfaction"] == {"answers": 0, "mean": None, "share_satisfied": None}
    assert december["grid_ids"] is None and december["month"] == "2026-12"


def test_around_the_clock_category_is_late_at_night():
    # The same lift fault as a normal repair would have been due at 10:00 and in time at 09:00
    lift = appeal(2, at(12, 12, 2), category="elevator", urgency="urgent", accepted_at=at(12, 12, 9))
    repair = appeal(2, at(12, 12, 2), accepted_at=at(12, 12, 9))
    assert stage(monthly_report([lift], "2026-12", NOW)["total"], "acknowledge")["met"] == 0
    assert stage(monthly_report([repair], "2026-12", NOW)["total"], "acknowledge")["met"] == 1


def test_the_month_before_counts_what_belongs_to_it():
    november = monthly_report(ALL, "2026-11", NOW)["total"]
    assert november["received"] == 1
    assert stage(november, "acknowledge")["met"] == 1
    assert stage(november, "visit") == {"stage": "visit", "due": 1, "met": 0, "late": 1, "share": 0.0}
    assert november["hours_to_acknowledge"] == {"count": 1, "median": 0.5, "p90": 0.5}
    # open when November ended; overdue now, and received by then
    assert (november["open_at_end"], november["overdue_now"]) == (1, 1)


def test_a_month_with_no_appeals():
    for report in (monthly_report(ALL, "2026-10", NOW), monthly_report([], "2026-12", NOW)):
        total = report["total"]
        assert total["received"] == total["closed"] == total["open_at_end"] == total["overdue_now"] == 0
        assert total["by_category"] == []
        assert all(s["due"] == 0 and s["share"] is None for s in total["stages"])
        assert total["hours_to_close"] == {"count": 0, "median": None, "p90": None}
        assert total["satisfaction"]["mean"] is None
    assert monthly_report([], "2026-12", NOW)["grids"] == []


def test_named_grids_each_have_a_row_and_the_total_is_theirs():
    report = monthly_report(ALL, "2026-12", NOW, grid_ids=[3, 1])
    assert [g["grid_id"] for g in report["grids"]] == [1, 3]
    assert report["grid_ids"] == [1, 3]
    assert report["grids"][1]["received"] == 0
    assert report["total"]["received"] == 3  # grid 1's A1, A2, A5


def test_records_as_objects_without_a_visit_column():
    # before visited_at exists on the model: the attribute is missing altogether
    record = SimpleNamespace(
        grid_id=1,
        category="repair",
        urgency="normal",
        received_at=at(12, 7, 9),
        accepted_at=None,
        closed_at=at(12, 7, 9, 30),
        satisfaction=None,
    )
    times = stage_times(record)
    assert times == {"acknowledge": at(12, 7, 9, 30), "visit": at(12, 7, 9, 30), "close": at(12, 7, 9, 30)}
    total = monthly_report([record], "2026-12", NOW)["total"]
    assert [s["met"] for s in total["stages"]] == [1, 1, 1]


def test_a_visit_before_acceptance_acknowledges():
    times = stage_times(appeal(1, at(12, 7, 9), accepted_at=at(12, 7, 12), visited_at=at(12, 7, 10)))
    assert times["acknowledge"] == at(12, 7, 10)


def test_percentile_interpolates_between_sorted_values():
    assert percentile([], 0.5) is None
    assert percentile([7.0], 0.9) == 7.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 0.5) == 2.5
    assert percentile([10.0, 0.0], 0.9) == 9.0


def test_naive_times_are_refused():
    with pytest.raises(ValueError):
        monthly_report([appeal(1, datetime(2026, 12, 7, 9))], "2026-12", NOW)
    with pytest.raises(ValueError):
        monthly_report([], "2026-12", datetime(2026, 12, 20))


def test_the_same_records_in_any_order_give_the_same_report(december):
    assert monthly_report(list(reversed(ALL)), "2026-12", NOW) == december
