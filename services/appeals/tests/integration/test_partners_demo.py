"""The two-way list of the demo: partners of all six alliances, offers, needs and a few matches,
loaded twice without adding anything; on both databases."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy.orm import Session

from appeals import demo
from appeals import partners_store as ps
from appeals.partners_domain import ALLIANCES
from guanyinli.db import make_engine

pytestmark = pytest.mark.integration


def test_the_demo_holds_a_two_way_list_with_a_few_matches_and_loads_once(db_urls, capsys):
    assert demo.main(["--database-url", db_urls["appeals"]]) == 0
    assert demo.main(["--database-url", db_urls["appeals"]]) == 0
    assert "0 partners" in capsys.readouterr().out.splitlines()[-1]
    engine = make_engine(db_urls["appeals"])
    with Session(engine) as session:
        partners = ps.list_partners(session, None, False)
        assert len(partners) == 8
        assert set(Counter(p["alliance"] for p in partners)) == set(ALLIANCES)
        assert sum(len(p["offers"]) for p in partners) >= 8
        assert len(ps.list_needs(session, None, True, None, "open")) == 3
        matches = ps.list_matches(session, None, None, None)
        assert 3 <= len(matches)
        assert [m["status"] for m in matches].count("agreed") == 1
        pairs = {(m["offer"]["partner_name"], m["need"]["what"]) for m in matches}
        assert ("老王面包店", "重阳节 独居老人慰问品") in pairs
        # no offer promised beyond what it has
        for p in partners:
            assert all(o["promised"] <= o["quantity"] for o in p["offers"])
    engine.dispose()
