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


SHIFT_2 = {**SHIFT, "shift_id": "s2", "start": "2026-11-27T19:00:00+08:00", "end": "2026-11-27T21:00:00+08:00"}
SWAP = {
    "swap_id": 4,
    "roster_id": 1,
    "shifts": [SHIFT, SHIFT_2],
    "with": [5],
    "proposed_by": 5,
    "by_organiser": False,
    "reason": None,
    "expires": SHIFT["start"],
    "gives": SHIFT_2,
    "takes": SHIFT,
    "other_id": 5,
    "other_name": "张伟",
}


STANDIN = {
    **CONTEXTS["signup"],
    "duty_start": SHIFT["start"],
    "duty_end": SHIFT["end"],
    "offer_id": 4,
    "grid_id": 3,
    "taken_by": 6,
    "taker_name": "张伟",
    "volunteer_name": "李强",
}


APPEAL = {
    "appeal_id": 12,
    "category": "repair",
    "urgency": "urgent",
    "grid_id": 6,
    "courtyard": "C01",
    "why": "routed",
    "stage": "acknowledge",
    "level": "grid_leader",
    "handler_id": 5,
    "deadline": "2026-11-26T11:00:00+08:00",
}


def context_for(kind: str) -> dict:
    if kind.startswith("appeal"):
        return {**APPEAL, "audience": "handler"}
    if kind.startswith("roster"):
        return {**CONTEXTS["roster"], "added": [SHIFT], "removed": []}
    if kind.startswith("swap"):
        return {**SWAP, "proposer": False}
    if kind.startswith("standin"):
        return {**STANDIN, "audience": "candidate"}
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
    assert len(rendering.kinds("zh")) == 20


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


def test_the_one_asked_to_swap_reads_who_asks_what_they_give_and_take_and_how_to_answer():
    out = rendering.render("swap_proposed", "zh", {**SWAP, "proposer": False}, "李娜")
    assert out.subject == "换班申请：张伟（编号 5）想与您换班"
    assert "您交出：11月27日（周五） 19:00–21:00，第 3 网格" in out.text
    assert "您接手：11月26日（周四） 19:00–21:00，第 3 网格" in out.text
    assert "接受换班申请（编号 4）" in out.text and "11月26日（周四） 19:00 之前答复" in out.text
    mine = rendering.render("swap_proposed", "zh", {**SWAP, "proposer": True, "other_name": None}, "王芳")
    assert mine.subject == "换班申请已发出，等待志愿者（编号 5）答复" and "撤回" in mine.text


def test_swap_answers_say_who_answered():
    accepted = rendering.render("swap_accepted", "zh", {**SWAP, "proposer": True}, "王芳")
    assert "张伟（编号 5）已同意您的换班申请（申请编号 4）" in accepted.text
    by_organiser = rendering.render(
        "swap_accepted", "en", {**SWAP, "proposed_by": None, "by_organiser": True, "proposer": False}
    )
    assert "An organiser has swapped your shift with 张伟 (no. 5)" in by_organiser.text
    declined = rendering.render("swap_declined", "zh", {**SWAP, "proposer": True, "reason": "那天要加班"}, "王芳")
    assert declined.subject == "换班申请未获同意" and "原因：那天要加班" in declined.text
    # a context with the shifts alone (no gives and takes) still renders
    older = rendering.render(
        "swap_accepted", "zh", {"swap_id": 1, "roster_id": 1, "shifts": [SHIFT], "with": [6]}, "王芳"
    )
    assert "您的换班申请已确认" in older.text


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize(
    ("kind", "audiences"),
    [
        ("standin_offered", ("candidate", "leader")),
        ("standin_taken", ("volunteer", "taker", "leader")),
        ("standin_unfilled", ("volunteer", "organisers")),  # the grid leader reads what organisers read
    ],
)
def test_each_reader_of_a_stand_in_message_reads_their_own_words(kind, audiences, language):
    texts = {a: rendering.render(kind, language, {**STANDIN, "audience": a}, "王芳") for a in audiences}
    assert len({t.text for t in texts.values()}) == len(audiences)
    for out in texts.values():
        assert "19:00" in out.subject and "巡逻队员" in out.text


def test_a_stand_in_message_names_the_taker_and_tells_the_volunteer_to_stay_home():
    out = rendering.render("standin_taken", "zh", {**STANDIN, "audience": "volunteer"}, "李强")
    assert "张伟（编号 6）" in out.text and "不必再到岗" in out.text
    unfilled = rendering.render("standin_unfilled", "en", {**STANDIN, "audience": "volunteer"}, "Li")
    assert "still yours" in unfilled.text and "withdraw offer no. 4" in unfilled.text


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize(
    ("kind", "audiences"),
    [("appeal_assigned", ("handler", "organisers")), ("appeal_escalated", ("handler", "leader", "organisers"))],
)
def test_each_reader_of_an_appeal_message_reads_their_own_words(kind, audiences, language):
    texts = {a: rendering.render(kind, language, {**APPEAL, "audience": a}, "王芳") for a in audiences}
    assert len({t.text for t in texts.values()}) == len(audiences)
    for out in texts.values():
        assert "12" in out.subject and ("维修" if language == "zh" else "repair") in out.subject + out.text


def test_an_escalation_says_by_when_and_what_is_late():
    handler = rendering.render("appeal_escalated", "zh", {**APPEAL, "level": "handler", "audience": "handler"}, "王芳")
    assert handler.subject == "诉求即将超时：维修（编号 12）11月26日（周四） 11:00前接单"
    leader = rendering.render("appeal_escalated", "zh", {**APPEAL, "audience": "leader"}, "陈组长")
    assert "已经超时" in leader.text and "志愿者编号 5" in leader.text and "紧急" in leader.text
    unhandled = {**APPEAL, "level": "community_office", "handler_id": None, "audience": "organisers"}
    office = rendering.render("appeal_escalated", "en", unhandled, None)
    assert office.subject.startswith("Appeal long overdue") and "Nobody handles it now" in office.text
