"""The residents' appeal form (organiser.resident_pages): where they live, what they typed; no I/O."""

from __future__ import annotations

from werkzeug.datastructures import MultiDict

from organiser.resident_pages import places, read_form

COURTYARDS = [
    {"id": 13, "code": "B01", "name": "观音里商住楼甲栋", "kind": "commercial_residential", "grid_id": 1},
    {"id": 1, "code": "C01", "name": "观音里1号院", "kind": "courtyard", "grid_id": 6},
    {"id": 11, "code": "C11", "name": "观音里11号院", "kind": "courtyard", "grid_id": 6},
]
GRIDS = [
    {"id": 1, "code": "G01", "name": "商住楼甲栋专属网格"},
    {"id": 4, "code": "G04", "name": "沿街商铺专属网格"},
    {"id": 6, "code": "G06", "name": "观音里第六综合网格"},
]


def test_courtyards_then_buildings_then_the_grids_without_either():
    chosen = places(COURTYARDS, GRIDS)
    assert [p["value"] for p in chosen] == ["C01", "C11", "B01", "G04"]
    assert chosen[0] == {"value": "C01", "name": "观音里1号院", "grid_id": 6, "courtyard": "C01"}
    assert chosen[-1] == {"value": "G04", "name": "沿街商铺专属网格", "grid_id": 4, "courtyard": None}


def test_the_form_is_trimmed_and_what_is_missing_or_unknown_named_in_order():
    known = places(COURTYARDS, GRIDS)
    values, missing = read_form(
        MultiDict(
            {
                "category": "repair",
                "place": "C01",
                "description": "  灯坏了 ",
                "resident_name": "赵" * 300,
                "urgency": "x",
            }
        ),
        known,
    )
    assert missing == [] and values["description"] == "灯坏了" and len(values["resident_name"]) == 100
    assert values["urgency"] == "normal" and values["building"] == ""
    _, missing = read_form(MultiDict({"category": "lottery", "place": "C99", "description": " "}), known)
    assert missing == ["category", "place", "description", "resident_name"]
