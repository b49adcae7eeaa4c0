"""Hours and points over RPC: ledger entries, totals, leaderboard, and the attendance_recorded handler."""

import pytest
from nameko.testing.services import entrypoint_waiter
from volunteers_testkit import local, patrol_volunteer

from guanyinli.errors import InvalidInput, KeyReused, NotFound
from guanyinli.events import make_payload
from guanyinli.rpc import ServiceRpcProxy
from guanyinli.testing import deliver_twice, event_dispatcher, signed
from guanyinli.timeutil import parse_iso
from volunteers.exceptions import SourceKeyTaken

pytestmark = pytest.mark.integration
ORGANISER = signed({"roles": ["organiser"]})
OTHER_ORGANISER = signed({"roles": ["organiser"], "name": "li"})


def test_ledger_entries_totals_and_idempotent_source_key(rpc, events, unchanged):
    v = rpc.create_volunteer(**patrol_volunteer(1))
    first = rpc.add_ledger_entry(v["id"], 2.5, "楼道清理", occurred_at=local("2026-03-01", "09:00"))
    assert (first["hours"], first["points"], first["source"], first["source_key"]) == (2.5, 25, "manual", None)
    assert first["occurred_at"] == "2026-03-01T09:00:00+08:00"
    keyed = rpc.add_ledger_entry(
        volunteer_id=v["id"],
        hours=1,
        points=15,
        reason="协助老人就医",
        source="appeals",
        source_key="appeal:77",
        team="convenient_service",
    )
    assert (keyed["points"], keyed["source"], keyed["team"]) == (15, "appeals", "convenient_service")
    # the same source_key with the same arguments returns the first entry, with others is refused; neither writes
    with unchanged():
        again = rpc.add_ledger_entry(
            volunteer_id=v["id"],
            hours=1,
            points=15,
            reason="协助老人就医",
            source="appeals",
            source_key="appeal:77",
            team="convenient_service",
        )
        assert again == keyed
        with pytest.raises(KeyReused, match="source_key 'appeal:77' was used for another request"):
            rpc.add_ledger_entry(v["id"], 1, "重复提交", source_key="appeal:77")
    correction = rpc.add_ledger_entry(v["id"], -0.5, "更正：多记半小时")
    assert correction["points"] == -5
    ledger = rpc.get_ledger(v["id"])
    assert (ledger["total_hours"], ledger["total_points"], ledger["total"]) == (3.0, 35, 3)
    assert [e["id"] for e in ledger["entries"]] == [correction["id"], keyed["id"], first["id"]]
    assert [e["id"] for e in rpc.get_ledger(v["id"], limit=1, offset=2)["entries"]] == [first["id"]]
    added = events.wait("ledger_entry_added", 3)
    assert [e["entry_id"] for e in added] == [first["id"], keyed["id"], correction["id"]]
    assert added[1]["source_key"] == "appeal:77" and added[1]["points"] == 15
    assert len(events.settle(0.2)) == 4  # created + 3 entries, none for the repeat


def test_ledger_errors_write_nothing(rpc, unchanged, service_config):
    a = rpc.create_volunteer(**patrol_volunteer(1))
    b = rpc.create_volunteer(**patrol_volunteer(2))
    first = rpc.add_ledger_entry(a["id"], 1, "巡逻", source_key="k1")
    with unchanged(), ServiceRpcProxy("volunteers", service_config, context_data=OTHER_ORGANISER) as other:
        with pytest.raises(KeyReused):  # the same caller, another volunteer
            rpc.add_ledger_entry(b["id"], 1, "巡逻", source_key="k1")
        # Another caller's k1 is a key of theirs, but a source_key is also the entry's identity
        # at its source, unique over the ledger: the same entry, or refused for another volunteer.
        assert other.add_ledger_entry(a["id"], 1, "巡逻", source_key="k1") == first
        with pytest.raises(SourceKeyTaken, match=r"^source_key: 'k1' was used for volunteer"):
            other.add_ledger_entry(b["id"], 1, "巡逻", source_key="k1")
        with pytest.raises(NotFound, match="volunteer_id"):
            rpc.add_ledger_entry(999, 1, "巡逻")
        with pytest.raises(InvalidInput, match="hours: Not a valid number"):
            rpc.add_ledger_entry(a["id"], "two", "巡逻")
        with pytest.raises(InvalidInput, match="reason"):
            rpc.add_ledger_entry(a["id"], 1, "")
        with pytest.raises(InvalidInput, match="hours"):
            rpc.add_ledger_entry(a["id"], 1000, "巡逻")
        with pytest.raises(InvalidInput, match="points: Not a valid integer"):
            rpc.add_ledger_entry(a["id"], 1, "巡逻", points=1.5)
        with pytest.raises(NotFound, match="volunteer_id"):
            rpc.get_ledger(999)


def test_leaderboard(rpc):
    a = rpc.create_volunteer(**patrol_volunteer(1))
    b = rpc.create_volunteer(**patrol_volunteer(2, grid_id=7, teams=["sanitation_green"]))
    c = rpc.create_volunteer(**patrol_volunteer(3))
    d = rpc.create_volunteer(**patrol_volunteer(4))
    rpc.add_ledger_entry(a["id"], 2, "巡逻", occurred_at=local("2026-02-01", "19:00"))
    rpc.add_ledger_entry(a["id"], 2, "巡逻", occurred_at=local("2026-03-02", "19:00"))
    rpc.add_ledger_entry(b["id"], 3, "清扫", occurred_at=local("2026-03-03", "09:00"))
    rpc.add_ledger_entry(c["id"], 3, "巡逻", occurred_at=local("2026-03-04", "19:00"))
    rpc.add_ledger_entry(d["id"], 5, "巡逻", occurred_at=local("2026-03-04", "19:00"))
    rpc.deactivate_volunteer(d["id"])

    board = rpc.leaderboard()
    assert [(r["rank"], r["name"], r["points"]) for r in board] == [
        (1, "志愿者1", 40),
        (2, "志愿者2", 30),
        (2, "志愿者3", 30),
    ]
    assert board[0] == {"rank": 1, "volunteer_id": a["id"], "name": "志愿者1", "grid_id": 6, "hours": 4.0, "points": 40}
    assert [r["name"] for r in rpc.leaderboard(since=local("2026-03-01", "00:00"))] == ["志愿者2", "志愿者3", "志愿者1"]
    assert [r["name"] for r in rpc.leaderboard(team="sanitation_green")] == ["志愿者2"]
    assert [r["name"] for r in rpc.leaderboard(grid=6, limit=1)] == ["志愿者1"]
    with pytest.raises(InvalidInput, match="since"):
        rpc.leaderboard(since="last month")


def attendance(signup_id, volunteer_id, status="attended", hours=2.0, weekend=False, late_notice=False):
    return make_payload(
        "attendance_recorded",
        {
            "occurrence_id": 10,
            "activity_id": 3,
            "title": "观音里夜间巡逻",
            "kind": "patrol",
            "start": parse_iso(local("2026-03-07", "19:00")),
            "end": parse_iso(local("2026-03-07", "21:00")),
            "place": "观音里1号院",
            "signup_id": signup_id,
            "volunteer_id": volunteer_id,
            "team": "voluntary_patrol",
            "role": "patroller",
            "status": status,
            "hours": hours,
            "weekend": weekend,
            "late_notice": late_notice,
        },
    )


def test_attendance_is_credited_exactly_once(container, service_config, rpc, events, tables):
    v = rpc.create_volunteer(**patrol_volunteer(1))
    dispatch = event_dispatcher(service_config)

    def deliver(payload):
        with entrypoint_waiter(container, "on_attendance_recorded", timeout=10):
            dispatch("activities", "attendance_recorded", payload)

    payload = attendance(501, v["id"], weekend=True, late_notice=True)
    deliver(payload)
    deliver(payload)  # redelivery
    deliver(attendance(501, v["id"], weekend=True, late_notice=True))  # same sign-up, new event id
    (entry,) = rpc.get_ledger(v["id"])["entries"]
    assert (entry["hours"], entry["points"]) == (2.0, 50)  # 2 h x 10 x 1.5 + 20
    assert (entry["source"], entry["source_key"], entry["team"]) == ("activities", "attendance:501", "voluntary_patrol")
    assert entry["reason"] == "观音里夜间巡逻 (patroller)" and entry["occurred_at"] == "2026-03-07T19:00:00+08:00"
    (added,) = events.wait("ledger_entry_added")
    assert added["source_key"] == "attendance:501" and added["points"] == 50

    deliver(attendance(502, v["id"], status="no_show"))
    deliver(attendance(503, v["id"], status="excused"))
    deliver(attendance(504, 999))  # unknown volunteer: logged and dropped, not requeued forever
    deliver({"signup_id": "x", "volunteer_id": v["id"]})  # malformed: dropped too
    deliver(attendance(505, v["id"], hours=1.5))
    ledger = rpc.get_ledger(v["id"])
    assert sorted(e["source_key"] for e in ledger["entries"]) == ["attendance:501", "attendance:505"]
    assert ledger["total_points"] == 65 and ledger["total_hours"] == 3.5
    assert tables.count("ledger_entries") == 2
    assert len(events.wait("ledger_entry_added", 2)) == 2


def test_attendance_failing_for_a_passing_reason_is_requeued_and_credited(
    container, service_config, rpc, monkeypatch, events
):
    from sqlalchemy.exc import OperationalError

    from volunteers import service, store

    v = rpc.create_volunteer(**patrol_volunteer(1))
    real = store.add_ledger_entry
    failures = []

    def flaky(*args, **kwargs):
        if not failures:
            failures.append(1)
            raise OperationalError("INSERT", {}, Exception("database is restarting"))
        return real(*args, **kwargs)

    monkeypatch.setattr(store, "add_ledger_entry", flaky)
    monkeypatch.setattr(service, "REQUEUE_PAUSE", 0.05)
    event_dispatcher(service_config)("activities", "attendance_recorded", attendance(601, v["id"]))
    (added,) = events.wait("ledger_entry_added")
    assert failures == [1] and added["source_key"] == "attendance:601"
    assert rpc.get_ledger(v["id"])["total_points"] == 20


def test_the_database_refuses_to_rewrite_ledger_entries(rpc, tables):
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    v = rpc.create_volunteer(**patrol_volunteer(1))
    entry = rpc.add_ledger_entry(v["id"], 2, "巡逻")
    with pytest.raises(DBAPIError, match="append-only"):
        with tables.engine.begin() as conn:
            conn.execute(text("UPDATE ledger_entries SET points = 999 WHERE id = :id"), {"id": entry["id"]})
    assert rpc.get_ledger(v["id"])["total_points"] == 20


def test_a_redelivered_ledger_entry_without_source_key_is_added_once_and_answered_again(rpc, service_config, tables):
    """The broker delivers a request again when its acknowledgement was lost with the connection."""
    v = rpc.create_volunteer(**patrol_volunteer(1))
    first, again = deliver_twice(
        service_config, "volunteers", "add_ledger_entry", ORGANISER, volunteer_id=v["id"], hours=2, reason="巡逻"
    )
    assert first["hours"] == 2.0 and again == first
    assert rpc.get_ledger(v["id"])["total"] == 1 and tables.count("ledger_entries") == 1


def appeal_closed(appeal_id, handler_id, hours=1.5):
    return make_payload(
        "appeal_closed",
        {
            "appeal_id": appeal_id,
            "category": "repair",
            "grid_id": 6,
            "handler_id": handler_id,
            "hours": hours,
            "satisfaction": 5,
            "received_at": parse_iso(local("2026-03-07", "09:00")),
            "closed_at": parse_iso(local("2026-03-07", "11:00")),
        },
    )


def test_a_closed_appeal_credits_its_handler_once(container, service_config, rpc, events):
    v = rpc.create_volunteer(**patrol_volunteer(1))
    dispatch = event_dispatcher(service_config)

    def deliver(payload):
        with entrypoint_waiter(container, "on_appeal_closed", timeout=10):
            dispatch("appeals", "appeal_closed", payload)

    payload = appeal_closed(31, v["id"])
    deliver(payload)
    deliver(payload)  # redelivery
    deliver(appeal_closed(31, v["id"]))  # the same appeal, a new event id
    deliver(appeal_closed(32, v["id"], hours=0))  # closed with no hours of work: nothing to credit
    deliver(appeal_closed(33, None))  # nobody handled it
    deliver(appeal_closed(34, 999))  # unknown volunteer: logged and dropped
    (entry,) = rpc.get_ledger(v["id"])["entries"]
    assert (entry["hours"], entry["points"], entry["source"], entry["source_key"]) == (1.5, 15, "appeals", "appeal:31")
    assert entry["reason"] == "appeal 31 (repair)" and entry["occurred_at"] == "2026-03-07T11:00:00+08:00"
    (added,) = events.wait("ledger_entry_added")
    assert added["source_key"] == "appeal:31"
