"""Patrol rosters over RPC: build with progress, publish as duties, repair a drop-out, swaps, gaps explained.

Runs the real activities and volunteers services on both databases; instances are small (one or
two grids, a week) so each solve takes a fraction of a second.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import datetime, timedelta

import pytest
from activities_testkit import ORGANISER, at, iso, next_monday

from activities.exceptions import GridNotFound, SwapRejected
from activities.roster import Options, fileformat, solve, validate
from conftest import REAL_VOLUNTEERS
from guanyinli.errors import Conflict, Forbidden, InvalidInput, KeyReused, NotFound

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(REAL_VOLUNTEERS is None, reason="rosters read the patrol team from the real volunteers service"),
]

EVENINGS = [{"weekday": d, "start": "18:00", "end": "22:00"} for d in range(7)]


def patrol_team(call, grid: int, leaders: int, others: int) -> list[int]:
    directory = call({"roles": ["organiser"]}, service="volunteers")
    ids = []
    for n in range(leaders + others):
        record = directory.create_volunteer(
            name=f"巡逻队员{grid}-{n}",
            phone=f"137{grid:02d}{n:06d}",
            teams=["voluntary_patrol"],
            grid_id=grid,
            skills=["patrol_leader"] if n < leaders else [],
        )
        directory.set_availability(volunteer_id=record["id"], weekly=EVENINGS)
        ids.append(record["id"])
    return ids


def evening_patrols(organiser, grid: int, days: int) -> int:
    activity = organiser.create_activity(
        title=f"第{grid}网格晚间巡逻",
        kind="patrol",
        team="voluntary_patrol",
        grid_id=grid,
        start=iso(next_monday() + timedelta(hours=19)),
        duration_minutes=120,
        rrule=f"FREQ=DAILY;COUNT={days}",
        roles=[{"name": "patroller", "needed": 2}],
    )
    return activity["id"]


def window(days: int = 7) -> dict:
    """From next Monday: the weeks, and with them the weekly caps, fall alike whatever day the tests run."""
    monday = next_monday()
    return {"start": iso(monday), "end": iso(monday + timedelta(days=days))}


def check_hard_rules(roster: dict, leaders: set[int]) -> None:
    """The roster as a volunteer would check it: two per patrol, a leader on each, one patrol a day."""
    crews = defaultdict(list)
    for a in roster["assignments"]:
        crews[a["shift_id"]].append(a["volunteer_id"])
    for shift in roster["shifts"]:
        crew = crews[shift["shift_id"]]
        assert shift["min_patrollers"] <= len(crew) <= shift["max_patrollers"], shift
        assert leaders & set(crew), f"no leader on {shift}"
    starts = {s["shift_id"]: datetime.fromisoformat(s["start"]) for s in roster["shifts"]}
    per_week = Counter((a["volunteer_id"], starts[a["shift_id"]].isocalendar()[:2]) for a in roster["assignments"])
    assert max(per_week.values()) <= 3


def test_build_publish_and_the_duties_appear(call, organiser, events):
    team = patrol_team(call, grid=1, leaders=3, others=5)
    evening_patrols(organiser, grid=1, days=7)
    draft = organiser.build_roster(**window(), grids=[1], options={"time_limit": 5})
    assert draft["status"] == "draft" and draft["solver_status"] in ("optimal", "feasible")
    assert len(draft["shifts"]) == 7 and len(draft["assignments"]) == 14 and draft["gaps"] == []
    check_hard_rules(draft, set(team[:3]))
    assert {v["volunteer_id"] for v in draft["report"]["volunteers"]} == set(team)
    progress = events.wait_for("roster_progress", lambda e: e["job_id"] == draft["job_id"] and e["done"])
    assert progress["roster_id"] == draft["id"]

    published = organiser.publish_roster(roster_id=draft["id"])
    assert published["status"] == "published"
    event = events.wait_for("roster_published", lambda e: e["roster_id"] == draft["id"])
    added = {(s["shift_id"], c["volunteer_id"]) for c in event["changes"] for s in c["added"]}
    assert added == {(a["shift_id"], a["volunteer_id"]) for a in draft["assignments"]}
    someone = draft["assignments"][0]["volunteer_id"]
    duties = organiser.list_duties(volunteer_id=someone, **window())
    mine = {a["shift_id"] for a in draft["assignments"] if a["volunteer_id"] == someone}
    assert {str(d["occurrence_id"]) for d in duties if d["status"] == "confirmed"} == mine

    again = organiser.publish_roster(roster_id=draft["id"])
    assert again["status"] == "published"
    assert len(events.of("roster_published")) == 1
    (listed,) = organiser.list_rosters()
    assert "assignments" not in listed and "shifts" not in listed
    assert {
        k: listed[k] for k in ("id", "status", "grids", "objective", "gap", "assignment_count", "shifts_short")
    } == {
        "id": draft["id"],
        "status": "published",
        "grids": [1],
        "objective": draft["objective"],
        "gap": draft["gap"],
        "assignment_count": 14,
        "shifts_short": 0,
    }


def test_a_volunteers_own_settings_shape_the_roster(call, organiser):
    """Seven patrollers for fourteen places a week: each would carry two. The one who set a cap of one gets
    one, on a day they prefer; the one whose target is none a month gets none (the other five can cover)."""
    team = patrol_team(call, grid=1, leaders=3, others=4)
    capped, resting = team[3], team[4]
    directory = call({"roles": ["organiser"]}, service="volunteers")
    directory.update_volunteer(volunteer_id=capped, max_duties_per_week=1, preferred_days=[0, 1])
    directory.update_volunteer(volunteer_id=resting, target_per_month=0)
    evening_patrols(organiser, grid=1, days=7)
    draft = organiser.build_roster(**window(), grids=[1], options={"time_limit": 5})
    assert draft["gaps"] == [] and draft["solver_status"] in ("optimal", "feasible")
    check_hard_rules(draft, set(team[:3]))
    held = Counter(a["volunteer_id"] for a in draft["assignments"])
    assert held[capped] == 1 and held[resting] == 0
    assert max(held[v] for v in team) >= 3  # the others carry what the two leave
    day_of = {s["shift_id"]: datetime.fromisoformat(s["start"]).weekday() for s in draft["shifts"]}
    (mine,) = [a["shift_id"] for a in draft["assignments"] if a["volunteer_id"] == capped]
    assert day_of[mine] in (0, 1)  # one of the days they prefer
    targets = {v["volunteer_id"]: v["target"] for v in draft["report"]["volunteers"]}
    assert targets[resting] == 0


def test_repair_after_a_drop_out_changes_few_assignments(call, organiser, events):
    team = patrol_team(call, grid=1, leaders=3, others=5)
    evening_patrols(organiser, grid=1, days=7)
    draft = organiser.build_roster(**window(), grids=[1], options={"time_limit": 5})
    organiser.publish_roster(roster_id=draft["id"])
    # The busiest patroller who does not lead: any other patroller can take each of their places, so the
    # fewest changes are their own shifts, whichever roster the build found. (A leader leaving may move a
    # second leader too, when the others have reached the weekly cap: the solver's unit tests cover that.)
    held = Counter(a["volunteer_id"] for a in draft["assignments"] if a["volunteer_id"] not in team[:3])
    leaving = min(held, key=lambda v: (-held[v], v))
    held = held[leaving]

    repaired = organiser.repair_roster(roster_id=draft["id"], volunteer_ids=[leaving])
    assert repaired["status"] == "published" and repaired["parent_id"] == draft["id"]
    assert repaired["solver_status"] == "optimal", repaired["solver_status"]  # proven, not stopped by the clock
    assert repaired["changed"] == held
    assert repaired["bound"] is None and repaired["gap"] is None  # fewest changes: no claim on the cost
    assert draft["bound"] is not None
    assert leaving not in {a["volunteer_id"] for a in repaired["assignments"]}
    check_hard_rules(repaired, set(team[:3]))
    before = {(a["shift_id"], a["volunteer_id"]) for a in draft["assignments"]}
    after = {(a["shift_id"], a["volunteer_id"]) for a in repaired["assignments"]}
    assert len(before - after) == held and len(after - before) == held  # only the leaver's shifts move
    assert organiser.get_roster(roster_id=draft["id"])["status"] == "superseded"
    newest, first = organiser.list_rosters()
    assert (newest["id"], newest["parent_id"], newest["changed"]) == (repaired["id"], draft["id"], repaired["changed"])
    assert first["status"] == "superseded" and first["parent_id"] is None
    event = events.wait_for("roster_repaired", lambda e: e["roster_id"] == repaired["id"])
    assert any(c["volunteer_id"] == leaving and len(c["removed"]) == held for c in event["changes"])
    assert organiser.list_duties(volunteer_id=leaving, **window()) == [] or all(
        d["status"] != "confirmed" for d in organiser.list_duties(volunteer_id=leaving, **window())
    )


def test_a_repair_for_someone_without_shifts_is_refused_and_changes_nothing(call, organiser):
    patrol_team(call, grid=1, leaders=3, others=5)
    (elsewhere,) = patrol_team(call, grid=2, leaders=0, others=1)
    evening_patrols(organiser, grid=1, days=7)
    draft = organiser.build_roster(**window(), grids=[1], options={"time_limit": 5})
    organiser.publish_roster(roster_id=draft["id"])
    for wrong in ([elsewhere], [999999], [draft["assignments"][0]["volunteer_id"], 999999]):
        with pytest.raises(InvalidInput, match=r"volunteer_ids: .*no shift in roster"):
            organiser.repair_roster(roster_id=draft["id"], volunteer_ids=wrong)
    assert [(r["id"], r["status"]) for r in organiser.list_rosters()] == [(draft["id"], "published")]


def test_swaps_are_checked_against_the_hard_rules(call, organiser, events):
    team = patrol_team(call, grid=1, leaders=3, others=5)
    evening_patrols(organiser, grid=1, days=7)
    draft = organiser.build_roster(**window(), grids=[1], options={"time_limit": 5})
    organiser.publish_roster(roster_id=draft["id"])
    crews = defaultdict(set)
    for a in draft["assignments"]:
        crews[a["shift_id"]].add(a["volunteer_id"])
    leaders = set(team[:3])
    shifts = [s["shift_id"] for s in draft["shifts"]]

    # A leader who is the only leader of a shift swapping with a non-leader elsewhere leaves it leaderless.
    bad = next(
        (s, v, t, w)
        for s in shifts
        for v in crews[s]
        if crews[s] & leaders == {v}
        for t in shifts
        if t != s
        for w in crews[t] - leaders
        if v not in crews[t] and w not in crews[s]
    )
    with pytest.raises(SwapRejected, match="leader") as refused:
        organiser.request_swap(
            roster_id=draft["id"], volunteer_a=bad[1], shift_a=bad[0], volunteer_b=bad[3], shift_b=bad[2]
        )
    # the same refusal in Chinese travels with it: the shift left without a leader, by the grid's own name
    assert str(refused.value).startswith("swap ") and "没有带队" in refused.value.message_zh
    assert refused.value.message_zh.startswith("换班申请") and "商住楼甲栋专属网格，" in refused.value.message_zh

    # Two non-leaders of different shifts may swap; an organiser's swap applies at once and the duties follow.
    good = next(
        (s, v, t, w)
        for s in shifts
        for v in crews[s] - leaders
        for t in shifts
        if t != s
        for w in crews[t] - leaders
        if v not in crews[t] and w not in crews[s]
    )
    accepted = organiser.request_swap(
        roster_id=draft["id"], volunteer_a=good[1], shift_a=good[0], volunteer_b=good[3], shift_b=good[2]
    )
    assert accepted["status"] == "accepted"
    events.wait_for("swap_accepted", lambda e: e["swap_id"] == accepted["swap_id"])
    duties = {
        str(d["occurrence_id"])
        for d in organiser.list_duties(volunteer_id=good[1], **window())
        if d["status"] == "confirmed"
    }
    assert good[2] in duties and good[0] not in duties
    stranger = call({"volunteer_id": 999, "roles": ["volunteer"]})
    with pytest.raises(Forbidden):
        stranger.request_swap(
            roster_id=draft["id"], volunteer_a=good[1], shift_a=good[2], volunteer_b=good[3], shift_b=good[0]
        )


def test_uncoverable_shifts_are_explained_and_gaps_marked(call, organiser):
    patrol_team(call, grid=2, leaders=1, others=1)  # 2 people, at most 3 patrols a week each: 14 places is too many
    evening_patrols(organiser, grid=2, days=7)
    draft = organiser.build_roster(**window(), grids=[2], options={"time_limit": 5})
    assert draft["solver_status"] == "feasible_with_gaps"
    assert draft["gaps"] and all(g["reason"] for g in draft["gaps"])
    # English names the grid by number, Chinese by the grid's own name from the volunteers service
    assert all(g["reason_zh"].startswith("商住楼乙栋专属网格") for g in draft["gaps"]), draft["gaps"][0]["reason_zh"]
    assert draft["problems"] and len(draft["problems_zh"]) == len(draft["problems"])
    assert all(
        "grid 2" in p and "商住楼乙栋专属网格" in z
        for p, z in zip(draft["problems"], draft["problems_zh"], strict=True)
    )
    assert any(g["missing"] > 0 for g in draft["gaps"]) and any(g["leader_missing"] for g in draft["gaps"])
    assert draft["problems"] or draft["suggestions"]
    report = organiser.roster_report(roster_id=draft["id"])
    assert report["gaps"] == draft["gaps"] and report["report"]["coverage"]["2"]["missing"] > 0
    (listed,) = organiser.list_rosters()
    assert listed["shifts_short"] == len({g["shift_id"] for g in draft["gaps"]}) > 0
    assert listed["assignment_count"] == len(draft["assignments"])


def test_a_sign_up_in_another_grid_is_named_not_a_failure(call, organiser):
    """A patroller of grid 2 signed up for a grid 1 patrol: the roster of grid 1 leaves that sign-up out
    and says why, where it used to fail with an internal error from its own final check."""
    team = patrol_team(call, grid=1, leaders=3, others=5)
    (visitor,) = patrol_team(call, grid=2, leaders=0, others=1)
    activity = evening_patrols(organiser, grid=1, days=7)
    first = organiser.list_occurrences(**window(), activity_id=activity)[0]
    organiser.sign_up(occurrence_id=first["id"], volunteer_id=visitor)
    draft = organiser.build_roster(**window(), grids=[1], options={"time_limit": 5})
    assert draft["status"] == "draft" and draft["solver_status"] in ("optimal", "feasible")
    assert any("巡逻队员2-0" in p and "not allowed" in p for p in draft["problems"]), draft["problems"]
    assert all(a["volunteer_id"] != visitor for a in draft["assignments"])
    check_hard_rules(draft, set(team[:3]))


def test_health_answers_while_a_roster_is_being_solved(call, organiser):
    import time

    import eventlet

    for grid in (3, 4):
        patrol_team(call, grid=grid, leaders=4, others=6)
        evening_patrols(organiser, grid=grid, days=14)
    builder_proxy, other = call(ORGANISER), call(ORGANISER)
    builder = eventlet.spawn(
        builder_proxy.build_roster, **window(14), grids=[3, 4], options={"time_limit": 4, "coverage": "soft"}
    )
    latencies = []
    while not builder.dead:
        started = time.monotonic()
        other.health()
        latencies.append(time.monotonic() - started)
        eventlet.sleep(0.02)
    assert builder.wait()["status"] == "draft"
    # The solve runs off the hub: the service kept answering all along. Counted in answers during the solve,
    # not in seconds each, which a busy machine stretches (a blocked hub would answer once, after it).
    assert len(latencies) >= 3, latencies


def test_roster_calls_need_an_organiser_and_valid_windows(call, organiser):
    with pytest.raises(Forbidden):
        call({"volunteer_id": 1, "roles": ["volunteer"]}).build_roster(**window(), grids=[1])
    with pytest.raises(Exception, match="end"):
        organiser.build_roster(start=iso(at(3, 0)), end=iso(at(1, 0)))
    with pytest.raises(NotFound):
        organiser.repair_roster(roster_id=999999, volunteer_ids=[1])


def test_a_window_without_patrols_is_refused_in_plain_words(call, organiser):
    """No patrol in the window and grids: said so, where an empty 'optimal' roster said nothing."""
    patrol_team(call, grid=5, leaders=1, others=1)
    evening_patrols(organiser, grid=1, days=7)
    monday = next_monday()
    for grids, days, named in (([5], 0, "grid 5"), ([1, 5], 14, "grids 1, 5")):
        start, end = monday + timedelta(days=days), monday + timedelta(days=days + 7)
        with pytest.raises(InvalidInput) as refused:
            organiser.build_roster(start=iso(start), end=iso(end), grids=grids, options={"time_limit": 1})
        said = str(refused.value)
        assert said.startswith(f"start, end: no patrol of {named} from {start:%Y-%m-%d} 00:00 to {end:%Y-%m-%d}"), said
        assert "nothing to roster" in said
        assert "没有巡逻班次" in refused.value.message_zh and "5号网格" in refused.value.message_zh
    assert organiser.list_rosters() == []  # nothing half-made
    draft = organiser.build_roster(**window(), grids=[1, 5], options={"time_limit": 2})
    assert draft["shifts"] and draft["status"] == "draft"
    with pytest.raises(Conflict, match="only a published roster is repaired"):
        organiser.repair_roster(roster_id=draft["id"], volunteer_ids=[1])


def test_the_same_request_gives_the_same_roster(call, organiser):
    patrol_team(call, grid=1, leaders=3, others=5)
    evening_patrols(organiser, grid=1, days=7)
    first = organiser.build_roster(**window(), grids=[1], options={"time_limit": 2}, request_id="weekly-g1")
    again = organiser.build_roster(**window(), grids=[1], options={"time_limit": 2}, request_id="weekly-g1")
    assert again["id"] == first["id"] and again["assignments"] == first["assignments"]
    other = organiser.build_roster(**window(), grids=[1], options={"time_limit": 2})
    assert other["id"] != first["id"] and len(organiser.list_rosters()) == 2
    # The key is the caller's: reused with other options it is refused; another organiser's is theirs.
    with pytest.raises(KeyReused):
        organiser.build_roster(**window(), grids=[1], options={"time_limit": 3}, request_id="weekly-g1")
    colleague = call({"roles": ["organiser"], "name": "社区干部 李明"})
    theirs = colleague.build_roster(**window(), grids=[1], options={"time_limit": 2}, request_id="weekly-g1")
    assert theirs["id"] not in (first["id"], other["id"]) and len(organiser.list_rosters()) == 3


def grid_of(roster: dict) -> dict[str, int]:
    return {s["shift_id"]: s["grid_id"] for s in roster["shifts"]}


@pytest.mark.service_config(GRID_NEIGHBOURS="3:4")
def test_leaders_of_a_neighbouring_grid_help_where_the_grid_map_allows(call, organiser):
    no_leaders = set(patrol_team(call, grid=3, leaders=0, others=4))
    helpers = set(patrol_team(call, grid=4, leaders=6, others=2))
    for grid in (3, 4):
        evening_patrols(organiser, grid=grid, days=7)
    alone = organiser.build_roster(**window(), grids=[3, 4], options={"time_limit": 3})
    assert alone["gaps"]  # grid 3 has nobody to lead its patrols
    draft = organiser.build_roster(**window(), grids=[3, 4], options={"time_limit": 5, "neighbour_grids": True})
    assert draft["gaps"] == []
    grids = grid_of(draft)
    in_three = {a["volunteer_id"] for a in draft["assignments"] if grids[a["shift_id"]] == 3}
    assert in_three & helpers and in_three & no_leaders


def test_neighbouring_grids_without_a_grid_map_is_refused_in_plain_words(call, organiser):
    with pytest.raises(InvalidInput, match="GRID_NEIGHBOURS"):
        organiser.build_roster(**window(), grids=[1], options={"neighbour_grids": True})
    assert organiser.list_rosters() == []  # nothing half-made


@pytest.mark.service_config(GRID_NEIGHBOURS="3:four")
def test_an_unreadable_grid_map_says_what_is_wrong(call, organiser):
    from guanyinli.errors import Unavailable

    with pytest.raises(Unavailable, match="GRID_NEIGHBOURS: '3:four'"):
        organiser.build_roster(**window(), grids=[1], options={"time_limit": 1})


def test_a_sixteenth_grid_in_the_data_is_a_grid_of_rosters(sixteenth_grid, call, organiser):
    """A grid added to the volunteers service's data is one of every grid a roster covers by default, and a
    grid a roster may name: it has no patrols yet, so a roster of it alone has nothing to roster."""
    patrol_team(call, grid=15, leaders=3, others=3)
    evening_patrols(organiser, grid=15, days=7)
    draft = organiser.build_roster(**window(), options={"time_limit": 5})
    assert draft["grids"] == list(range(1, 17)) and draft["gaps"] == []
    with pytest.raises(InvalidInput, match="^start, end: no patrol of grid 16 from"):
        organiser.build_roster(**window(), grids=[16], options={"time_limit": 1})
    with pytest.raises(GridNotFound, match=r"^grids: no grid 17; the grids are 1-16$") as refused:
        organiser.build_roster(**window(), grids=[16, 17])
    assert "17号网格" in refused.value.message_zh


def test_a_patrol_of_a_sixteenth_grid_is_kept(sixteenth_grid, organiser):
    evening_patrols(organiser, grid=16, days=1)
    (occurrence,) = organiser.list_occurrences(**window(), grid=16)
    assert occurrence["grid_id"] == 16


def test_a_grid_the_community_lacks_is_named(call, organiser):
    evening_patrols(organiser, grid=1, days=7)
    with pytest.raises(GridNotFound, match=r"^grids: no grids 16, 99; the grids are 1-15$"):
        organiser.build_roster(**window(), grids=[1, 16, 99], options={"time_limit": 1})
    with pytest.raises(NotFound, match="no grid 16"):
        organiser.export_roster_month(**window(), grids=[16])
    with pytest.raises(InvalidInput, match="grids.0"):
        organiser.build_roster(**window(), grids=[0])
    assert organiser.list_rosters() == []
    with pytest.raises(GridNotFound, match=r"^grid_id: no grid 16; the grids are 1-15$"):
        evening_patrols(organiser, grid=16, days=1)


def test_a_month_exported_reads_back_as_the_problem_a_build_solves(call, organiser):
    team = patrol_team(call, grid=1, leaders=3, others=5)
    elsewhere = patrol_team(call, grid=2, leaders=1, others=1)  # no patrol of theirs in the month
    evening_patrols(organiser, grid=1, days=7)
    month = call({"roles": ["viewer"], "name": "街道办 观察员"}).export_roster_month(**window(), grids=[1])

    instance = fileformat.read(month)
    assert month["format"] == "patrol-roster/1" and month["timezone"] == "Asia/Shanghai"
    draft = organiser.build_roster(**window(), grids=[1], options={"time_limit": 2})
    built = {
        (s["shift_id"], s["grid_id"], datetime.fromisoformat(s["start"]), s["min_patrollers"], s["max_patrollers"])
        for s in draft["shifts"]
    }
    exported = {(s.id, s.grid, s.start, s.min_patrollers, s.max_patrollers) for s in instance.problem.shifts}
    assert {(i, g, start.replace(tzinfo=None), lo, hi) for i, g, start, lo, hi in built} == exported
    assert all(s.leaders_needed == 1 for s in instance.problem.shifts)
    # the team of the grid, every one of them free every evening; the other grid's people take no shift
    assert {v.id for v in instance.problem.volunteers} == {str(v) for v in team}
    assert {v.id for v in instance.problem.volunteers if v.leader} == {str(v) for v in team[:3]}
    assert all(v.shifts == {s.id for s in instance.problem.shifts} for v in instance.problem.volunteers)
    assert not {str(v) for v in elsewhere} & {v["id"] for v in month["volunteers"]}
    # the service's rules: 3 a week, 12 h from the end of a 2 h patrol to the next start is 14 h between starts
    assert month["rules"] == {"max_per_week": 3, "min_rest_hours": 14.0}
    text = json.dumps(month, ensure_ascii=False)
    assert "phone" not in text and "1370100" not in text  # names only: no phone numbers
    # and the file is a month any solver can roster: ours, from the file alone, fills every patrol
    result = solve(instance.problem, Options(time_limit=2, num_workers=1))
    assert result.gaps == () and validate(instance.problem, result.assignments) == []


def test_a_month_is_exported_only_to_readers_of_rosters(call, organiser):
    team = patrol_team(call, grid=1, leaders=1, others=1)
    evening_patrols(organiser, grid=1, days=7)
    with pytest.raises(Forbidden):
        call({"volunteer_id": team[0], "roles": ["volunteer"]}).export_roster_month(**window(), grids=[1])
    with pytest.raises(InvalidInput, match="no patrol of grid 5"):
        organiser.export_roster_month(**window(), grids=[5])
