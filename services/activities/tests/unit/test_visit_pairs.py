"""The pair choice of elderly visits: the same pair where possible, else a fair one."""

from activities.visit_pairs import VISITING_TEAM, Candidate, choose_pair

TEAM = (VISITING_TEAM,)


def test_the_previous_pair_stays_when_both_are_free():
    free = [Candidate(1, TEAM, load=0), Candidate(7, (), load=9), Candidate(8, (), load=9)]
    assert choose_pair([7, 8], free) == (7, 8)


def test_one_of_the_previous_pair_stays_with_the_fairest_partner():
    free = [Candidate(3, TEAM, load=2), Candidate(4, TEAM, load=1), Candidate(7, (), load=5)]
    assert choose_pair([7, 8], free) == (7, 4)


def test_without_a_previous_pair_the_visiting_team_comes_first():
    free = [Candidate(1, (), load=0), Candidate(2, TEAM, load=3), Candidate(3, TEAM, load=4)]
    assert choose_pair([], free) == (2, 3)


def test_the_fewest_visits_come_first_within_the_team():
    free = [Candidate(1, TEAM, load=4), Candidate(2, TEAM, load=1), Candidate(3, TEAM, load=2)]
    assert choose_pair([], free) == (2, 3)


def test_a_neighbour_of_the_persons_grid_breaks_a_tie_in_load():
    free = [Candidate(1, TEAM, grid_id=3, load=1), Candidate(2, TEAM, grid_id=9, load=1), Candidate(3, TEAM, load=0)]
    assert choose_pair([], free, grid_id=9) == (3, 2)


def test_the_same_input_gives_the_same_pair():
    free = [Candidate(i, TEAM) for i in (5, 2, 9, 4)]
    assert choose_pair([], free) == choose_pair([], list(reversed(free))) == (2, 4)


def test_fewer_than_two_free_is_no_pair():
    assert choose_pair([1, 2], [Candidate(1, TEAM)]) is None
    assert choose_pair([], []) is None


def test_a_volunteer_named_twice_in_the_previous_pair_counts_once():
    free = [Candidate(1, TEAM), Candidate(2, TEAM, load=3), Candidate(3, TEAM, load=1)]
    assert choose_pair([1, 1], free) == (1, 3)
