"""The two-way list's matching, one rule at a time, and the community needs it derives."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from appeals import partners_domain as pd
from appeals.exceptions import AllianceUnknown

TODAY = date(2026, 12, 7)


def offer(id=1, partner_id=10, kind="skill", quantity=10.0, words=("electrician",), **kw):
    return pd.Offer(id, partner_id, kind, quantity, pd.words(words), **kw)


def need(id=1, kind="skill", quantity=4.0, words=("electrician",), **kw):
    return pd.Need(id, kind, quantity, words=pd.words(words), **kw)


def test_alliances_are_the_six_of_the_volunteers_service():
    from volunteers.structure import ALLIANCE_CODES

    assert pd.ALLIANCES == ALLIANCE_CODES
    assert pd.check_alliance("non_profits") == "non_profits"
    with pytest.raises(AllianceUnknown):
        pd.check_alliance("friends")


def test_words_are_lower_case_without_punctuation():
    assert pd.words(["Electrician, 水电", "  plumbing! "]) == {"electrician", "水电", "plumbing"}


# --- one rule each ---------------------------------------------------------------------------------


def test_kind_same_kind_fits_best_and_skill_hours_count_as_volunteer_hours():
    assert pd.kind_points(offer(kind="skill"), need(kind="skill")) == 3
    assert pd.kind_points(offer(kind="skill"), need(kind="volunteer_hours")) == 1
    assert pd.kind_points(offer(kind="volunteer_hours"), need(kind="skill")) is None
    assert pd.kind_points(offer(kind="goods"), need(kind="venue")) is None


def test_words_a_skill_need_must_share_a_word():
    assert pd.word_points(offer(words=("plumbing",)), need(words=("electrician",))) is None
    assert pd.word_points(offer(words=("electrician", "plumbing")), need(words=("electrician", "plumbing"))) == 4


def test_words_goods_must_be_the_goods_asked_for_a_venue_need_not():
    assert pd.word_points(offer(kind="goods", words=("bread",)), need(kind="goods", words=("chairs",))) is None
    assert pd.word_points(offer(kind="goods", words=("rice",)), need(kind="goods", words=())) == 0
    assert pd.word_points(offer(kind="venue", words=("hall",)), need(kind="venue", words=("garden",))) == 0


def test_words_found_in_the_offers_text_count():
    assert pd.word_points(offer(words=(), what="会议室 room"), need(kind="venue", words=("会议室",))) == 2


def test_place_same_grid_scores_other_grid_rules_out_community_wide_fits():
    assert pd.place_points(offer(grid_id=6), need(grid_id=6)) == pd.WEIGHTS["same_grid"]
    assert pd.place_points(offer(grid_id=6), need(grid_id=7)) is None
    assert pd.place_points(offer(grid_id=None), need(grid_id=7)) == 0
    assert pd.place_points(offer(grid_id=6), need(grid_id=None)) == 0


def test_time_offer_must_be_there_before_the_deadline_and_not_expired():
    later = TODAY + timedelta(days=10)
    assert pd.time_points(offer(available_from=later), need(by_when=TODAY + timedelta(days=3)), TODAY) is None
    assert pd.time_points(offer(available_until=TODAY - timedelta(days=1)), need(), TODAY) is None
    assert pd.time_points(offer(), need(by_when=TODAY - timedelta(days=1)), TODAY) is None
    assert pd.time_points(offer(available_from=TODAY), need(by_when=later), TODAY) == 0


def test_a_partners_offer_never_meets_its_own_need():
    assert pd.score(offer(partner_id=10), need(partner_id=10), TODAY) is None
    assert pd.score(offer(partner_id=10), need(partner_id=11), TODAY) is not None


def test_score_adds_the_rules_and_names_them():
    points, reasons = pd.score(offer(grid_id=6), need(grid_id=6), TODAY)
    assert points == 3 + 2 + 2
    assert reasons == ("kind+3", "words+2", "place+2")


# --- propose ---------------------------------------------------------------------------------------


def test_an_offer_is_never_promised_beyond_its_quantity():
    proposals = pd.propose([offer(quantity=5.0)], [need(1, quantity=4.0), need(2, quantity=4.0)], [], TODAY)
    assert [(p.need_id, p.quantity) for p in proposals] == [(1, 4.0), (2, 1.0)]
    assert sum(p.quantity for p in proposals) == 5.0


def test_a_need_is_never_given_more_than_it_asks():
    proposals = pd.propose(
        [offer(1, quantity=3.0), offer(2, partner_id=11, quantity=3.0)], [need(quantity=4.0)], [], TODAY
    )
    assert [(p.offer_id, p.quantity) for p in proposals] == [(1, 3.0), (2, 1.0)]


def test_live_matches_hold_capacity_declined_ones_do_not_and_no_pair_is_proposed_twice():
    held = [pd.Held(1, 1, 4.0, "agreed"), pd.Held(1, 2, 4.0, "declined")]
    proposals = pd.propose([offer(quantity=6.0)], [need(1), need(2), need(3)], held, TODAY)
    assert [(p.need_id, p.quantity) for p in proposals] == [(3, 2.0)]


def test_best_score_first_then_soonest_deadline_and_the_same_answer_every_time():
    offers = [offer(1, quantity=4.0), offer(2, partner_id=11, quantity=4.0, grid_id=6)]
    needs = [need(1, by_when=TODAY + timedelta(days=9)), need(2, by_when=TODAY + timedelta(days=2), grid_id=6)]
    first = pd.propose(offers, needs, [], TODAY)
    assert (first[0].offer_id, first[0].need_id) == (2, 2)  # same grid
    assert first == pd.propose(list(reversed(offers)), list(reversed(needs)), [], TODAY)


def test_an_ample_offer_scores_a_point_more():
    (p,) = pd.propose([offer(quantity=10.0)], [need(quantity=4.0)], [], TODAY)
    assert p.score == 3 + 2 + pd.WEIGHTS["ample"] and "ample+1" in p.reasons


# --- derived needs ---------------------------------------------------------------------------------


def test_unrouted_repair_appeals_ask_for_electricians_and_plumbers_without_their_words():
    found = pd.appeal_needs({"repair": 3, "errand": 0})
    assert len(found) == 1
    (d,) = found
    assert (d.source, d.source_ref, d.kind) == ("appeals", "repair", "skill")
    assert set(d.words) == {"electrician", "plumbing"}
    assert d.quantity == 3 * pd.HOURS_PER_APPEAL


def test_roles_short_of_people_become_volunteer_hours_and_visits_keep_their_person_private():
    start = datetime(2026, 12, 12, 9, 0)
    role = {"name": "visitor", "needed": 2, "confirmed": 1, "skills": [], "duty_start": start,
            "duty_end": start + timedelta(hours=2)}  # fmt: skip
    occs = [
        {
            "id": 5,
            "status": "scheduled",
            "kind": "elderly_visit",
            "title": "探访 张奶奶",
            "grid_id": 6,
            "roles": [role],
        },
        {"id": 6, "status": "cancelled", "kind": "patrol", "title": "巡逻", "roles": [role]},
        {"id": None, "status": "scheduled", "kind": "patrol", "title": "巡逻", "roles": [role]},
        {"id": 7, "status": "scheduled", "kind": "patrol", "title": "巡逻", "roles": [role | {"confirmed": 2}]},
    ]
    (d,) = pd.shortfall_needs(occs)
    assert (d.source_ref, d.kind, d.quantity, d.by_when, d.grid_id) == (
        "occurrence:5:visitor", "volunteer_hours", 2.0, start.date(), 6,
    )  # fmt: skip
    assert "张奶奶" not in d.what


def test_contacts_only_to_organisers():
    from guanyinli.identity import Identity

    partner = {"id": 1, "name": "鼓楼医院", "contact_person": "王", "contact_phone": "13900000000"}
    assert pd.shown_partner(Identity("o", frozenset({"organiser"})), partner) == partner
    seen = pd.shown_partner(Identity("v", frozenset({"volunteer"}), 3), partner)
    assert seen["contact_person"] is None and seen["contact_phone"] is None and seen["name"] == "鼓楼医院"
