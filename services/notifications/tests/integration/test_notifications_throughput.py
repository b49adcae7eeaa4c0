"""What sending fast must not break: SMTP connections kept from message to message and from poll
to poll (a dropped one is not a lost or doubled message), several lanes of senders, and batches
of deliveries claimed by two replicas at once."""

from __future__ import annotations

import time

import pytest
from notifications_testkit import local, signup, wait_for
from sqlalchemy.orm import Session

from guanyinli.timeutil import to_db
from notifications import store
from notifications.models import Delivery, Notification

pytestmark = pytest.mark.integration

VOLUNTEERS = range(1, 9)


def one_lane(config, **more) -> dict:
    return {"NOTIFICATIONS": {**config["NOTIFICATIONS"], "SENDERS": 1, **more}}


def confirm_all(publish, outbox, volunteers=VOLUNTEERS) -> None:
    for volunteer_id in volunteers:
        publish.volunteer(volunteer_id, f"志愿者{volunteer_id}", f"v{volunteer_id}@example.cn")
    wait_for(lambda: outbox.count("contacts") == len(volunteers), message="contacts")
    for volunteer_id in volunteers:
        publish.activities("signup_confirmed", **signup(volunteer_id, local(27, 19), signup_id=volunteer_id))


def received(smtp) -> list[str]:
    return sorted(m["to"][0] for m in smtp.messages)


def everyone(volunteers=VOLUNTEERS) -> list[str]:
    return sorted(f"v{i}@example.cn" for i in volunteers)


def test_a_connection_dropped_between_messages_is_opened_again_and_the_message_sent_at_once(
    start_service, config, publish, smtp, outbox
):
    """The server closes a kept connection (an idle timeout) just as a message begins on it:
    nothing of it had reached the server, so it goes at once on a new connection, first try."""
    smtp.drop_reused = 1
    start_service(**one_lane(config))
    confirm_all(publish, outbox)
    wait_for(lambda: len(smtp.messages) >= len(VOLUNTEERS), message="every email")
    wait_for(lambda: {d["status"] for d in outbox.deliveries()} == {"sent"}, message="all marked sent")
    time.sleep(0.3)  # a second copy would come now
    assert received(smtp) == everyone()
    assert {d["attempts"] for d in outbox.deliveries()} == {1}
    assert smtp.drop_reused == 0  # the connection was dropped under a message
    assert smtp.mails == len(VOLUNTEERS) + 1 and smtp.connections >= 2


def test_a_connection_dropped_during_the_text_retries_that_message_once(
    start_service, config, publish, smtp, outbox, clock
):
    """Cut once the server has the text but before it took it: that try failed (the server may have
    kept it, for all the sender knows), so the message waits for its backoff (with those the same
    poll no longer tried on that server), and is then sent once."""
    smtp.drop_at_data = {2}
    start_service(**one_lane(config))
    confirm_all(publish, outbox)

    def settled():
        deliveries = outbox.deliveries()
        statuses = {d["status"] for d in deliveries}
        tried = all(d["attempts"] >= 1 for d in deliveries)  # a new delivery is pending too
        return len(deliveries) == len(VOLUNTEERS) and tried and statuses == {"sent", "pending"}

    wait_for(settled, message="every delivery sent or waiting for its retry")
    assert len(smtp.messages) < len(VOLUNTEERS)
    clock.advance(seconds=61)  # BACKOFF_BASE 60 s
    wait_for(lambda: {d["status"] for d in outbox.deliveries()} == {"sent"}, message="the retries sent")
    time.sleep(0.3)
    assert received(smtp) == everyone()
    assert max(d["attempts"] for d in outbox.deliveries()) == 2


def test_lanes_send_a_batch_over_several_connections_each_message_once(start_service, config, publish, smtp, outbox):
    start_service(**one_lane(config, SENDERS=3, BATCH=7))
    volunteers = range(1, 21)
    confirm_all(publish, outbox, volunteers)
    wait_for(lambda: {d["status"] for d in outbox.deliveries()} == {"sent"} and len(outbox.deliveries()) == 20)
    time.sleep(0.3)
    assert received(smtp) == everyone(volunteers)
    assert {d["attempts"] for d in outbox.deliveries()} == {1}
    assert smtp.connections >= 3  # one connection a lane


def _due_deliveries(engine, count: int, now) -> list[int]:
    with Session(engine) as session:
        ids = []
        for i in range(count):
            n = Notification(
                source_id=f"test:{i}",
                volunteer_id=i + 1,
                kind="signup_confirmed",
                context="{}",
                urgent=False,
                status="queued",
                created_at=to_db(now),
            )
            session.add(n)
            session.flush()
            d = Delivery(
                notification_id=n.id,
                channel="email",
                status="pending",
                attempts=0,
                next_attempt_at=to_db(now),
                message_id=f"<{i}@test>",
                created_at=to_db(now),
            )
            session.add(d)
            session.flush()
            ids.append(d.id)
        session.commit()
    return ids


def test_two_replicas_claim_disjoint_batches(db_urls, db_backend):
    """Each replica claims a batch in one statement. On PostgreSQL the second claims while the
    first's transaction is still open, and takes other rows (SKIP LOCKED) instead of waiting;
    on SQLite writers take turns. Together they claim every due delivery, none twice."""
    from guanyinli.db import make_engine
    from guanyinli.migrate import upgrade

    url = db_urls["notifications"]
    upgrade("notifications", url)
    engine = make_engine(url)
    now = local(24, 10)
    try:
        ids = _due_deliveries(engine, 10, now)
        first, second = Session(engine), Session(engine)
        try:
            a = store.claim(first, now, "replica-a:1", 30, 6)
            if db_backend == "postgresql":
                b = store.claim(second, now, "replica-b:1", 30, 6)
                first.commit()
            else:
                first.commit()
                b = store.claim(second, now, "replica-b:1", 30, 6)
            second.commit()
        finally:
            first.close()
            second.close()
        claimed_a, claimed_b = {j.delivery_id for j in a}, {j.delivery_id for j in b}
        assert len(claimed_a) == 6 and len(claimed_b) == 4
        assert not claimed_a & claimed_b and claimed_a | claimed_b == set(ids)
        assert {j.attempts for j in a + b} == {1}
        with Session(engine) as session:
            assert store.claim(session, now, "replica-c:1", 30, 6) == []  # nothing left due
    finally:
        engine.dispose()


def test_a_batch_claimed_by_a_stopped_replica_goes_to_the_other_when_its_lease_ends(db_urls):
    from guanyinli.db import make_engine
    from guanyinli.migrate import upgrade

    url = db_urls["notifications"]
    upgrade("notifications", url)
    engine = make_engine(url)
    now = local(24, 10)
    try:
        ids = _due_deliveries(engine, 4, now)
        with Session(engine) as session:
            assert len(store.claim(session, now, "replica-a:1", 30, 10)) == 4
            session.commit()
        later = now.replace(second=29)
        with Session(engine) as session:
            assert store.claim(session, later, "replica-b:1", 30, 10) == []  # the lease holds
        with Session(engine) as session:
            taken = store.claim(session, now.replace(second=31), "replica-b:1", 30, 10)
            session.commit()
        assert sorted(j.delivery_id for j in taken) == ids and {j.attempts for j in taken} == {2}
    finally:
        engine.dispose()
