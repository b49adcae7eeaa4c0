"""The clean-up rotation as a grid leader reads it: the places of their grids only."""

from datetime import timedelta

import pytest
from test_cleanup_rotation import both, sanitation_team  # noqa: F401 - the fixture

from guanyinli.errors import Forbidden
from guanyinli.rpc import ServiceRpcProxy
from guanyinli.testing import signed
from guanyinli.timeutil import TZ, now

pytestmark = pytest.mark.integration


def test_a_grid_leader_sees_the_clean_ups_of_their_grid(both, service_config):  # noqa: F811
    activities, volunteers = both
    team = sanitation_team(volunteers)
    monday = now().astimezone(TZ).date() + timedelta(days=7 - now().astimezone(TZ).weekday())
    plan = activities.plan_cleanups(start=monday.isoformat(), weeks=2)
    grid = plan["rows"][0]["grid_id"]
    theirs = [r for r in plan["rows"] if r["grid_id"] == grid]
    assert len(theirs) < len(plan["rows"])

    leader = {"volunteer_id": team[0]["id"], "roles": ["volunteer", "grid_leader"], "grid_ids": [grid]}
    with ServiceRpcProxy("activities", service_config, context_data=signed(leader), timeout=30) as proxy:
        shown = proxy.cleanup_rotation(start=plan["start"], end=plan["end"])
        assert shown["rows"] == theirs
        assert all(o["grid_id"] == grid for o in shown["own_rota"])
        on_theirs = {v["id"] for r in theirs for v in r["volunteers"]}
        home = {p["id"] for p in team if p.get("grid_id") == grid}
        assert {c["volunteer_id"] for c in shown["counts"]} == on_theirs | home
        assert not any(p["phone"] in repr(shown) for p in team)
        with pytest.raises(Forbidden):
            proxy.plan_cleanups(start=monday.isoformat(), weeks=1)
    volunteer = {"volunteer_id": team[1]["id"], "roles": ["volunteer"]}
    with ServiceRpcProxy("activities", service_config, context_data=signed(volunteer), timeout=30) as proxy:
        with pytest.raises(Forbidden):
            proxy.cleanup_rotation(start=plan["start"], end=plan["end"])
