"""Templates: every kind renders in both languages, with the right facts in the text."""

from __future__ import annotations

import pytest

from notifications import rendering

SHIFT = {"shift_id": "s1", "grid_id": 3, "start": "2026-11-26T19:00:00+08:00", "end": "2026-11-26T21:00:00+08:00"}
CONTEXTS = {
    "signup": {
        "title": "第3网格夜间巡逻",
        "activity_kind": "patrol",
        "start": "2026-11-26T19:00:00+08:00",
        "end": "2026-11-26T21:00:00+08:00",
        "place": "观音里3号院",
        "role": "巡逻队员",
        "waitlist_position": 2,
    },
    "roster": {"roster_id": 1, "roster_start": "2026-11-23T00:00:00+08:00", "roster_end": "2026-11-29T23:59:00+08:00"},
}


def context_for(kind: str) -> dict:
    if kind.startswith("roster"):
        return {**CONTEXTS["roster"], "added": [SHIFT], "removed": []}
    if kind == "swap_accepted":
        return {"swap_id": 1, "roster_id": 1, "shifts": [SHIFT], "with": [6]}
    if kind == "digest":
        return {
            "period": "2026-11-23T08:00:00+08:00",
            "items": [{"kind": "signup_confirmed", "context": CONTEXTS["signup"]}],
            "duties": [{"title": "巡逻", "start": SHIFT["start"], "end": SHIFT["end"], "place": None}],
        }
    return {
        **CONTEXTS["signup"],
        "reason": "暴雨",
        "previous_start": "2026-11-25T19:00:00+08:00",
        "previous_end": "2026-11-25T21:00:00+08:00",
        "lead": "24h",
    }


def test_both_languages_have_the_same_kinds():
    assert rendering.kinds("zh") == rendering.kinds("en")
    assert len(rendering.kinds("zh")) == 12


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("kind", rendering.kinds("zh"))
def test_every_kind_renders(kind, language):
    out = rendering.render(kind, language, context_for(kind), "王芳")
    assert out.subject and "\n" not in out.subject
    assert "王芳" in out.text and len(out.text) > 40


def test_chinese_confirmation_names_time_place_and_role():
    out = rendering.render("signup_confirmed", "zh", CONTEXTS["signup"], "王芳")
    assert out.subject == "报名成功：第3网格夜间巡逻 11月26日（周四） 19:00"
    assert "11月26日（周四） 19:00–21:00" in out.text and "观音里3号院" in out.text and "巡逻队员" in out.text


def test_english_and_unknown_language_falls_back_to_chinese():
    assert rendering.render("reminder_2h", "en", context_for("reminder_2h")).subject.startswith("Starting soon:")
    assert rendering.render("reminder_2h", "fr", context_for("reminder_2h")).subject.startswith("即将开始")


def test_times_are_shown_in_community_time():
    utc_context = {**CONTEXTS["signup"], "start": "2026-11-26T11:00:00+00:00", "end": "2026-11-26T13:00:00+00:00"}
    assert "19:00–21:00" in rendering.render("signup_confirmed", "en", utc_context).text


def test_digest_lists_held_notices_and_coming_duties():
    out = rendering.render("digest", "zh", context_for("digest"), "李明")
    assert "报名成功：第3网格夜间巡逻" in out.text and "巡逻" in out.text and out.subject.startswith("每周汇总")


def test_a_missing_field_is_an_error_not_a_blank():
    with pytest.raises(Exception, match="place|title"):
        rendering.render("signup_confirmed", "zh", {"start": SHIFT["start"], "end": SHIFT["end"]})
