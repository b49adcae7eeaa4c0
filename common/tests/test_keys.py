"""Callers' idempotency keys (guanyinli.keys) and the answers kept for repeats and redeliveries."""

from datetime import datetime
from types import SimpleNamespace

import eventlet
import pytest
from marshmallow import fields
from sqlalchemy import String, event, func, insert, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

from guanyinli import keys, once
from guanyinli.db import SERVICE_INFO, DatabaseHandle, make_engine
from guanyinli.errors import Conflict, InvalidInput, KeyReused, RequestRepeated
from guanyinli.identity import Identity
from guanyinli.schemas import RequestId, StrictSchema, contract
from guanyinli.timeutil import TZ


class Base(DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(50))
    phone: Mapped[str | None] = mapped_column(String(20))


once.table("tests", Base.metadata)
keys.table("tests", Base.metadata)

ALICE = Identity(subject="account:alice", roles=frozenset({"organiser"}))
BOB = Identity(subject="account:bob", roles=frozenset({"organiser"}))
ANONYMOUS = Identity()


# --- the rule, without a database --------------------------------------------------------------


def claim(fingerprint="f1"):
    return keys.Claim("account:alice", "add_note", "k-1", fingerprint)


def test_the_fingerprint_is_of_the_arguments_in_any_order_without_the_key_and_secrets():
    when = datetime(2026, 3, 1, 9, tzinfo=TZ)
    a = keys.fingerprint({"text": "巡逻", "at": when, "grids": [1, 2]})
    assert a == keys.fingerprint({"grids": [1, 2], "at": when, "text": "巡逻"})
    assert a != keys.fingerprint({"text": "巡逻", "at": when, "grids": [2, 1]})
    assert a != keys.fingerprint({"text": "巡逻", "at": when.replace(hour=10), "grids": [1, 2]})
    assert len(a) == 64
    with_key = keys.claim_for("s", "m", "request_id", {"text": "x", "request_id": "k"})
    with_other_key = keys.claim_for("s", "m", "request_id", {"text": "x", "request_id": "k2"})
    assert with_key.fingerprint == with_other_key.fingerprint == keys.fingerprint({"text": "x"})
    secret = keys.claim_for("s", "m", "request_id", {"user": "u", "password": "p1", "request_id": "k"}, ("password",))
    assert secret.fingerprint == keys.fingerprint({"user": "u", "password": "other"}, ("password",))
    assert keys.claim_for("s", "m", "request_id", {"text": "x", "request_id": None}) is None
    assert keys.claim_for("s", "m", "request_id", {"text": "x"}) is None


def test_settle_runs_answers_or_refuses_by_the_row_the_key_has():
    assert keys.settle(claim(), None) == (keys.RUN, None)
    assert keys.settle(claim(), keys.Stored("f1", '{"id": 7}')) == (keys.ANSWER, {"id": 7})
    assert keys.settle(claim(), keys.Stored("f1", None), rerun=True) == (keys.RERUN, None)
    with pytest.raises(KeyReused) as reused:
        keys.settle(claim(), keys.Stored("f2", '{"name": "李阿姨", "phone": "13912345678"}'))
    assert isinstance(reused.value, Conflict)
    assert "k-1" in str(reused.value) and "李阿姨" not in str(reused.value) and "1391" not in str(reused.value)
    assert reused.value.message_zh
    with pytest.raises(RequestRepeated, match="was not kept"):
        keys.settle(claim(), keys.Stored("f1", None))


def test_answers_over_the_limit_or_not_json_are_not_kept():
    assert keys.encode_answer({"name": "李阿姨"}) == '{"name":"李阿姨"}'
    assert keys.encode_answer({"blob": "x" * keys.MAX_ANSWER}) is None
    assert keys.encode_answer({"when": datetime(2026, 1, 1)}) is None


# --- through contract and a real database ------------------------------------------------------


class NoteIn(StrictSchema):
    text = fields.String(required=True)
    phone = fields.String(load_default=None)
    request_id = RequestId(load_default=None)


class NoteOut(StrictSchema):
    id = fields.Integer()
    text = fields.String()
    phone = fields.String(allow_none=True)


class Notes:
    """A service's worker, as ``@rpc`` runs it: ``db`` and ``caller`` injected."""

    def __init__(self, db: DatabaseHandle, caller: Identity, before_write=None, inside=None, after_write=None):
        self.db, self.caller, self.before_write = db, caller, before_write
        self.inside, self.after_write = inside, after_write  # hooks: before the commit, after it
        self.ran = 0

    @contract(request=NoteIn, response=NoteOut(), key="request_id")
    def add_note(self, text, phone=None, request_id=None):
        self.ran += 1
        if text == "refused":
            raise InvalidInput("text: refused")
        if self.before_write is not None:
            self.before_write()
        with self.db.get_session() as session:
            note = Note(text=text, phone=phone)
            session.add(note)
            session.flush()
            if self.inside is not None:
                self.inside()
        if self.after_write is not None:
            self.after_write()
        return {"id": note.id, "text": note.text, "phone": note.phone}

    @contract(request=NoteIn, response=NoteOut())
    def add_unique(self, text, phone=None, request_id=None):
        with self.db.get_session() as session:
            if session.scalars(select(Note).where(Note.text == text)).first() is not None:
                raise Conflict(f"text: {text!r} is taken")
            note = Note(text=text, phone=phone)
            session.add(note)
            session.flush()
            return {"id": note.id, "text": note.text, "phone": note.phone}

    @contract(request=NoteIn, response=NoteOut(), key="request_id", rerun=True)
    def find_or_add(self, text, phone=None, request_id=None):
        self.ran += 1
        with self.db.get_session() as session:
            note = session.scalars(select(Note).where(Note.text == text)).first()
            if note is None:
                if self.before_write is not None:
                    self.before_write()
                note = Note(text=text, phone=phone)
                session.add(note)
                session.flush()
            return {"id": note.id, "text": note.text, "phone": note.phone}

    @contract(request=NoteIn, response=NoteOut(), keep_answer=False)
    def add_secret(self, text, phone=None, request_id=None):
        with self.db.get_session() as session:
            note = Note(text=text, phone=phone)
            session.add(note)
            session.flush()
            return {"id": note.id, "text": note.text, "phone": note.phone}


@pytest.fixture
def database(url):
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    factory = sessionmaker(bind=engine, expire_on_commit=False, info={SERVICE_INFO: "tests"})
    once.Recorder(factory, "tests")
    keys.Recorder(factory, "tests")
    yield SimpleNamespace(engine=engine, factory=factory)
    engine.dispose()


_correlations = iter(range(10**6))


def worker(database, caller=ALICE, correlation=None, sleep=None, answer_wait=once.ANSWER_WAIT, **kwargs) -> Notes:
    """A new worker for one delivery of a request (a new correlation id unless one is given);
    ``sleep`` stands in for its pauses while it waits for a first delivery's answer."""
    request = (correlation or f"corr-{next(_correlations)}", "tests.add_note")
    waits = {"answer_wait": answer_wait} | ({} if sleep is None else {"sleep": sleep})
    return Notes(DatabaseHandle(database.factory, database.engine, request=request, **waits), caller, **kwargs)


def count(database, table) -> int:
    with database.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar()


def key_rows(database) -> list:
    with database.engine.connect() as conn:
        return list(conn.execute(select(keys.table("tests"))))


def test_the_same_key_and_arguments_get_the_first_answer_and_run_once(database):
    first = worker(database).add_note(text="巡逻", request_id="k-1")
    again = worker(database)
    assert again.add_note(text="巡逻", request_id="k-1") == first and again.ran == 0
    assert count(database, Note.__table__) == 1
    (row,) = key_rows(database)
    assert (row.scope, row.method, row.key) == ("account:alice", "add_note", "k-1")


def test_a_key_reused_with_other_arguments_is_refused_without_the_earlier_data(database):
    worker(database).add_note(text="李阿姨", phone="13912345678", request_id="k-1")
    with pytest.raises(KeyReused) as reused:
        worker(database).add_note(text="张大爷", phone="13800000000", request_id="k-1")
    assert "李阿姨" not in str(reused.value.args) and "13912345678" not in str(reused.value.args)
    assert count(database, Note.__table__) == 1


def test_the_same_key_string_from_another_caller_is_another_key(database):
    alice = worker(database, ALICE).add_note(text="巡逻", request_id="k-1")
    bob = worker(database, BOB).add_note(text="清扫", request_id="k-1")
    assert bob["id"] != alice["id"] and bob["text"] == "清扫"
    assert sorted(r.scope for r in key_rows(database)) == ["account:alice", "account:bob"]


def test_anonymous_callers_share_a_scope_guarded_by_the_fingerprint(database):
    first = worker(database, ANONYMOUS).add_note(text="李阿姨", phone="13912345678", request_id="1")
    with pytest.raises(KeyReused):
        worker(database, ANONYMOUS).add_note(text="张大爷", request_id="1")
    # The same arguments get the same answer: it holds only what they sent, and the note's id.
    assert worker(database, ANONYMOUS).add_note(text="李阿姨", phone="13912345678", request_id="1") == first
    assert {r.scope for r in key_rows(database)} == {"anonymous"}


def test_calls_without_a_key_are_not_keyed(database):
    a, b = worker(database).add_note(text="巡逻"), worker(database).add_note(text="巡逻")
    assert a["id"] != b["id"] and key_rows(database) == []


def test_a_refused_request_claims_nothing_and_runs_again(database):
    with pytest.raises(InvalidInput):
        worker(database).add_note(text="refused", request_id="k-1")
    assert key_rows(database) == []
    assert worker(database).add_note(text="巡逻", request_id="k-1")["text"] == "巡逻"


def test_an_answer_not_kept_makes_a_repeat_request_repeated(database, monkeypatch):
    monkeypatch.setattr(keys, "MAX_ANSWER", 10)
    worker(database).add_note(text="a note longer than ten bytes", request_id="k-1")
    again = worker(database)
    with pytest.raises(RequestRepeated):
        again.add_note(text="a note longer than ten bytes", request_id="k-1")
    assert again.ran == 0 and count(database, Note.__table__) == 1


def test_two_requests_racing_for_a_key_make_one_note_and_one_answer(database):
    """The second request looks the key up before the first has it, and loses at its commit."""
    racing = {}

    def first_commits_meanwhile():
        racing["first"] = worker(database).add_note(text="巡逻", request_id="k-1")

    second = worker(database, before_write=first_commits_meanwhile).add_note(text="巡逻", request_id="k-1")
    assert second == racing["first"] and count(database, Note.__table__) == 1


def test_a_redelivered_request_gets_its_first_answer(database):
    first = worker(database, correlation="corr-x").add_note(text="巡逻")
    again = worker(database, correlation="corr-x")
    assert again.add_note(text="巡逻") == first and again.ran == 1  # ran until its first write
    assert count(database, Note.__table__) == 1
    with database.engine.connect() as conn:
        answer = conn.execute(select(once.table("tests").c.answer)).scalar()
    assert '"text":"巡逻"' in answer


def never(seconds):
    raise AssertionError(f"waited {seconds} s for an answer that cannot come")


def test_a_redelivered_request_whose_answer_holds_secrets_is_refused_as_before(database):
    handle = DatabaseHandle(database.factory, database.engine, request=("corr-s", "tests.add_secret"))
    Notes(handle, ALICE).add_secret(text="token")
    handle = DatabaseHandle(database.factory, database.engine, request=("corr-s", "tests.add_secret"), sleep=never)
    with pytest.raises(RequestRepeated, match="corr-s"):
        Notes(handle, ALICE).add_secret(text="token")
    assert count(database, Note.__table__) == 1


def test_a_redelivery_refused_by_what_its_first_delivery_did_gets_the_first_answer(database):
    first = worker(database, correlation="corr-u").add_unique(text="巡逻")
    assert worker(database, correlation="corr-u").add_unique(text="巡逻") == first
    with pytest.raises(Conflict, match="is taken"):  # another request: refused as it should be
        worker(database).add_unique(text="巡逻")


def test_a_rerun_method_runs_again_when_its_answer_was_not_kept_and_keeps_it_then(database, monkeypatch):
    monkeypatch.setattr(keys, "MAX_ANSWER", 10)
    first = worker(database).find_or_add(text="a note longer than ten bytes", request_id="k-1")
    monkeypatch.setattr(keys, "MAX_ANSWER", 64 * 1024)
    again = worker(database)
    assert again.find_or_add(text="a note longer than ten bytes", request_id="k-1") == first and again.ran == 1
    third = worker(database)
    assert third.find_or_add(text="a note longer than ten bytes", request_id="k-1") == first and third.ran == 0
    assert count(database, Note.__table__) == 1 and len(key_rows(database)) == 1


def test_a_rerun_method_that_loses_the_race_for_its_key_finds_what_the_winner_made(database, monkeypatch, url):
    """A retry while the first request still runs: the first commits (its answer not kept yet),
    the retry loses at its commit and, for a rerun method, runs once more and finds the note."""
    if url.startswith("sqlite"):
        pytest.skip("SQLite lets no request commit while another reads in the same file: the race needs PostgreSQL")
    racing = {}

    def first_commits_without_its_answer():
        if racing:
            return
        monkeypatch.setattr(keys, "MAX_ANSWER", 10)
        racing["first"] = worker(database).find_or_add(text="a note longer than ten bytes", request_id="k-1")
        monkeypatch.setattr(keys, "MAX_ANSWER", 64 * 1024)

    second = worker(database, before_write=first_commits_without_its_answer)
    assert second.find_or_add(text="a note longer than ten bytes", request_id="k-1") == racing["first"]
    assert second.ran == 2 and count(database, Note.__table__) == 1


# --- a redelivery while its first delivery still runs (guanyinli.once) --------------------------


def test_the_pauses_between_looks_for_a_first_answer_grow_to_200_ms_and_add_up_to_the_limit():
    assert [round(p, 3) for p in once.pauses(1.0)] == [0.02, 0.04, 0.08, 0.16, 0.2, 0.2, 0.2, 0.1]
    assert round(sum(once.pauses(once.ANSWER_WAIT)), 6) == once.ANSWER_WAIT
    assert max(once.pauses(once.ANSWER_WAIT)) == 0.2
    assert list(once.pauses(0.0)) == [] and list(once.pauses(0.01)) == [0.01]


def test_a_redelivery_while_the_first_delivery_still_runs_gets_its_answer_when_it_comes(database):
    committed, release = eventlet.Event(), eventlet.Event()

    def hold():  # the first delivery committed its note (and the request's row); its answer is not kept yet
        committed.send()
        release.wait()

    first = eventlet.spawn(worker(database, correlation="corr-w", after_write=hold).add_note, text="巡逻")
    committed.wait()
    looked = []

    def pause(seconds):  # the redelivery found no answer yet: the first delivery finishes meanwhile
        looked.append(seconds)
        release.send()
        first.wait()

    again = worker(database, correlation="corr-w", sleep=pause)
    assert again.add_note(text="巡逻") == first.wait()
    assert looked == [0.02] and again.ran == 1 and count(database, Note.__table__) == 1


def test_a_redelivery_whose_first_delivery_rolls_back_carries_the_request_out(database, url):
    """The first delivery fails after writing its request's row, before its commit: the redelivery,
    held at its own first write meanwhile, writes the row itself once the first has rolled back."""
    holding, release = eventlet.Event(), eventlet.Event()

    def hold_then_fail(session):
        if session.info.get(once.REQUEST_KEY, ("",))[0] == "corr-r" and not holding.ready():
            holding.send()
            release.wait()
            raise Conflict("the first delivery is refused at its commit")

    event.listen(database.factory, "before_commit", hold_then_fail)  # after the row's insert
    try:
        first = eventlet.spawn(worker(database, correlation="corr-r").add_note, text="巡逻")
        holding.wait()
        second = eventlet.spawn(worker(database, correlation="corr-r", sleep=never).add_note, text="巡逻")
        wait_until_held(database, url)
        release.send()
        answer = second.wait()
        try:
            first_answer = first.wait()
        except Conflict as refused:
            first_answer = str(refused)
    finally:
        event.remove(database.factory, "before_commit", hold_then_fail)
    assert answer["text"] == "巡逻" and count(database, Note.__table__) == 1
    # The first delivery's refusal, or (when it looks after the second has answered) that answer.
    assert first_answer in ("the first delivery is refused at its commit", answer)
    with database.engine.connect() as conn:
        (row,) = conn.execute(select(once.table("tests")))
    assert row.correlation_id == "corr-r" and f'"id":{answer["id"]}' in row.answer


def wait_until_held(database, url):
    """Until the second delivery waits for the first's transaction: on PostgreSQL for the row's
    key (a lock wait the server shows), on SQLite for the one connection (its first step there)."""
    if url.startswith("sqlite"):
        eventlet.sleep(0)
        return
    with eventlet.Timeout(10), database.engine.connect() as conn:
        query = text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        while not conn.execute(query).scalar():
            conn.rollback()
            eventlet.sleep(0.01)


def test_a_redelivery_whose_wait_runs_out_is_told_to_ask_again(database):
    with database.engine.begin() as conn:  # the first delivery committed, and has not returned
        conn.execute(
            insert(once.table("tests")).values(
                correlation_id="corr-l", method="tests.add_note", handled_at=datetime(2026, 12, 7)
            )
        )
    looked = []
    again = worker(database, correlation="corr-l", sleep=looked.append, answer_wait=1.0)
    with pytest.raises(RequestRepeated, match="ask again with the same request id") as refused:
        again.add_note(text="巡逻")
    assert "corr-l" in str(refused.value) and refused.value.message_zh
    assert round(sum(looked), 6) == 1.0 and count(database, Note.__table__) == 0


def test_a_first_delivery_that_fails_after_its_commit_stops_its_redeliveries_waiting(database):
    def fail():
        raise Conflict("refused after the note was written")

    with pytest.raises(Conflict, match="after the note"):
        worker(database, correlation="corr-f", after_write=fail).add_note(text="巡逻")
    with pytest.raises(RequestRepeated, match="without an answer to keep"):
        worker(database, correlation="corr-f", sleep=never).add_note(text="巡逻")
    assert count(database, Note.__table__) == 1


def test_a_first_answer_too_large_to_keep_stops_its_redeliveries_waiting(database, monkeypatch):
    monkeypatch.setattr(keys, "MAX_ANSWER", 10)
    worker(database, correlation="corr-b").add_note(text="a note longer than ten bytes")
    with pytest.raises(RequestRepeated, match="without an answer to keep"):
        worker(database, correlation="corr-b", sleep=never).add_note(text="a note longer than ten bytes")
    assert count(database, Note.__table__) == 1
