"""Which grids a caller reads of the visits register and the clean-up rotation."""

from activities import grid_scope
from guanyinli.identity import Identity


def test_organisers_and_viewers_read_every_grid_a_leader_their_own_others_none():
    assert grid_scope.grids_read(Identity("account:a", frozenset({"organiser"}))) is None
    assert grid_scope.grids_read(Identity("account:v", frozenset({"viewer"}))) is None
    leader = Identity("volunteer:5", frozenset({"volunteer", "grid_leader"}), 5, frozenset({8}))
    assert grid_scope.grids_read(leader) == {8}
    assert grid_scope.reads_grid(leader, 8) and not grid_scope.reads_grid(leader, 9)
    assert not grid_scope.reads_grid(leader, None)
    volunteer = Identity("volunteer:6", frozenset({"volunteer"}), 6, frozenset({8}))  # grids without the role
    assert grid_scope.grids_read(volunteer) == frozenset() and not grid_scope.reads_grid(volunteer, 8)
    assert grid_scope.READERS_AND_LEADERS.allows(leader) and not grid_scope.READERS_AND_LEADERS.allows(volunteer)
