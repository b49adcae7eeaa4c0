# ruff: noqa: F811 - the tests take the fixture grid6 imported from test_appeals_flow
"""Residents' own appeals end to end (volunteers, notifications with the SMS sink, appeals, the real
broker, SQLite and PostgreSQL): the public form's intake for the organiser service only, routed as
any appeal and answered with a reference; at closing one text with a personal reply link, which
takes the resident's satisfaction once, within its days, in place of the handler's entry."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from nameko.testing.services import entrypoint_hook, replace_dependencies
from test_appeals_flow import as_volunteer, grid6, receive  # noqa: F401 - grid6: the fixture of grid 6

from appeals.exceptions import AppealClosed, ReplyLinkExpired, ReplyLinkUnknown, ReplyLinkUsed
from appeals.service import AppealsService
from guanyinli.errors import Forbidden, InvalidInput
from guanyinli.identity import service_context
from guanyinli.rpc import ServiceRpcProxy
from guanyinli.testing import event_recorder, signed
from guanyinli.timeutil import now
from notifications.service import NotificationsService
from volunteers.service import VolunteersService

pytestmark = pytest.mark.integration

SITE = "https://guanyinli.example.org"
FORM = {
    "category": "repair",
    "grid_id": 6,
    "courtyard": "C01",
    "building": "3号楼",
    "description": "楼道灯坏了，晚上看不见",
    "resident_name": "赵大妈",
    "resident_phone": "13955556666",
    "resident_address": "观音里1号院3号楼201",
}


class MovedClock:
    """The appeals service's clock: now, plus ``offset``."""

    def __init__(self):
        self.offset = timedelta(0)

    def __call__(self):
        return now() + self.offset

    now = __call__


@pytest.fixture
def db_urls(test_databases, db_backend) -> dict[str, str]:
    urls = {}
    for service in ("volunteers", "appeals", "notifications"):
        urls[service] = test_databases.url(db_backend, service)
        test_databases.empty(db_backend, service)
    return urls


@pytest.fixture
def sms_log(tmp_path):
    return tmp_path / "sms.log"


@pytest.fixture
def clock():
    return MovedClock()


@pytest.fixture
def container(container_factory, service_config, events, sms_log, clock):
    config = dict(service_config, SMS={"PROVIDER": "sink", "SINK_PATH": str(sms_log)}, ORGANISER_PUBLIC_URL=SITE + "/")
    container_factory(VolunteersService, config).start()
    container_factory(NotificationsService, config).start()
    service = container_factory(AppealsService, config)
    replace_dependencies(service, clock=clock)
    service.start()
    container_factory(event_recorder("appeals", events), config).start()
    return service


@pytest.fixture
def form(call):
    """The appeals service as the organiser service's public form calls it: on its own account."""
    return call(service_context("organiser"))


@pytest.fixture
def volunteers_up(container_factory, service_config):
    """Only the volunteers service (and grid 6 as it comes, with nobody in it)."""
    container_factory(VolunteersService, service_config).start()


@pytest.fixture
def rpc_as_organiser_service():
    """``open(config)`` -> (appeals as the organiser service, appeals as an organiser)."""
    opened = []

    def open_both(config):
        for context in (service_context("organiser"), signed({"roles": ["organiser"]})):
            proxy = ServiceRpcProxy("appeals", config, context_data=context, timeout=30)
            opened.append(proxy)
        return [p.start() for p in opened]

    yield open_both
    for proxy in opened:
        proxy.stop()


def texts(sms_log) -> list[dict]:
    if not sms_log.exists():
        return []
    return [json.loads(line) for line in sms_log.read_text(encoding="utf-8").splitlines() if line.strip()]


def token_in(message: dict) -> str:
    return re.search(re.escape(SITE) + r"/appeal/reply/([A-Za-z0-9_-]+)", message["text"]).group(1)


def test_a_residents_appeal_is_routed_and_answered_with_its_reference_only(form, rpc, grid6, events, tables):
    answer = form.receive_public_appeal(**FORM, request_id="appeal-code-1")
    assert set(answer) == {"reference", "routed", "acknowledge_by"}
    assert re.fullmatch(r"GY\d{6}", answer["reference"]) and answer["routed"] is True
    appeal_id = int(answer["reference"][2:])
    seen = rpc.get_appeal(appeal_id)
    assert (seen["source"], seen["status"], seen["handler_id"]) == ("resident", "assigned", grid6["member"])
    assert (seen["resident_phone"], seen["reference"]) == (FORM["resident_phone"], answer["reference"])
    # the same verified code submitted twice is one appeal
    assert form.receive_public_appeal(**FORM, request_id="appeal-code-1") == answer
    assert tables.rows("SELECT COUNT(*) FROM appeals") == [(1,)]
    # an appeal the office takes in is the office's
    assert receive(rpc)["source"] == "office"
    events.wait("appeal_assigned", 2)
    wire = json.dumps([p for _, p in events.settle()], ensure_ascii=False)
    assert all(FORM[k] not in wire for k in ("resident_phone", "resident_name", "resident_address", "description"))


@pytest.mark.parametrize(
    "caller",
    [{}, signed({"roles": ["organiser"]}), signed({"volunteer_id": 1}), signed({"roles": ["system"]}), "appeals"],
    ids=["anonymous", "organiser person", "volunteer", "tools system", "appeals service"],
)
def test_only_the_organiser_service_takes_residents_appeals_in(call, grid6, unchanged, caller):
    proxy = call(service_context(caller) if isinstance(caller, str) else caller)
    with unchanged():
        with pytest.raises(Forbidden):
            proxy.receive_public_appeal(**FORM, request_id="x-1")
        with pytest.raises(Forbidden):
            proxy.record_resident_reply(token="A" * 24, satisfaction=5)


def test_a_residents_phone_is_a_mobile_and_a_request_id_is_needed(form, grid6, unchanged):
    with unchanged():
        with pytest.raises(InvalidInput):
            form.receive_public_appeal(**{**FORM, "resident_phone": "025-83123456"}, request_id="x-2")
        with pytest.raises(InvalidInput):
            form.receive_public_appeal(**FORM)


def test_closing_texts_the_reply_link_once_and_it_takes_one_answer(call, form, rpc, grid6, sms_log, tables, events):
    reference = form.receive_public_appeal(**FORM, request_id="appeal-code-2")["reference"]
    appeal_id = int(reference[2:])
    handler = as_volunteer(call, grid6["member"])
    handler.close_appeal(appeal_id, outcome="换了灯泡", resident_reply="说挺好", satisfaction=3, hours=0.5)
    with pytest.raises(AppealClosed):  # closing again sends nothing more
        handler.close_appeal(appeal_id, outcome="again", satisfaction=4)
    [text] = texts(sms_log)
    assert text["phone"].endswith(FORM["resident_phone"]) and text["kind"] == "appeal_closed"
    assert reference in text["text"]
    token = token_in(text)
    # the link is kept as a digest only, and goes into no event
    assert token not in str(tables.snapshot())
    events.wait("appeal_closed")
    assert token not in json.dumps(events.settle()) and FORM["resident_phone"] not in json.dumps(events.received)

    answer = form.record_resident_reply(token=token, satisfaction=5, reply="师傅很耐心，谢谢")
    assert answer == {"reference": reference, "satisfaction": 5, "replaced": True}
    seen = rpc.get_appeal(appeal_id)
    assert (seen["satisfaction"], seen["resident_reply"]) == (5, "师傅很耐心，谢谢")
    assert seen["resident_replied_at"] is not None
    trail = seen["notes"][-1]
    assert trail["kind"] == "resident_replied" and trail["author"] == "resident"
    assert "satisfaction 5" in trail["text"] and "satisfaction 3" in trail["text"] and "说挺好" in trail["text"]
    # once only
    with pytest.raises(ReplyLinkUsed):
        form.record_resident_reply(token=token, satisfaction=1)
    assert rpc.get_appeal(appeal_id)["satisfaction"] == 5
    with pytest.raises(ReplyLinkUnknown):
        form.record_resident_reply(token="x" + token[1:], satisfaction=1)
    assert len(texts(sms_log)) == 1


def test_an_expired_link_is_refused_and_a_landline_gets_no_text(call, form, rpc, grid6, sms_log, clock):
    reference = form.receive_public_appeal(**FORM, request_id="appeal-code-3")["reference"]
    rpc.close_appeal(int(reference[2:]), outcome="已处理")
    token = token_in(texts(sms_log)[-1])
    clock.offset = timedelta(days=14, minutes=1)
    with pytest.raises(ReplyLinkExpired):
        form.record_resident_reply(token=token, satisfaction=2)
    assert rpc.get_appeal(int(reference[2:]))["satisfaction"] is None

    landline = receive(rpc, resident_phone="025-83123456")
    rpc.close_appeal(landline["id"], outcome="已处理")
    assert len(texts(sms_log)) == 1


def test_a_link_not_texted_at_closing_goes_later_and_once(
    container_factory, service_config, sms_log, db_urls, rpc_as_organiser_service, volunteers_up
):
    """notifications is down when the appeal is closed: the closing stands, the timer sends the
    text once notifications is back, and only once."""
    config = dict(service_config, SMS={"PROVIDER": "sink", "SINK_PATH": str(sms_log)}, ORGANISER_PUBLIC_URL=SITE)
    appeals = container_factory(AppealsService, dict(config, NOTIFICATIONS_RPC_TIMEOUT=2))
    appeals.start()
    form, office = rpc_as_organiser_service(config)
    reference = form.receive_public_appeal(**FORM, request_id="appeal-code-9")["reference"]
    assert office.close_appeal(int(reference[2:]), outcome="已处理")["status"] == "closed"
    assert texts(sms_log) == []
    with entrypoint_hook(appeals, "send_reply_texts") as send_reply_texts:
        send_reply_texts()  # still down
    assert texts(sms_log) == []
    container_factory(NotificationsService, config).start()
    for _ in range(2):
        with entrypoint_hook(appeals, "send_reply_texts") as send_reply_texts:
            send_reply_texts()
    [text] = texts(sms_log)
    assert text["kind"] == "appeal_closed" and reference in text["text"]
    token = token_in(text)
    assert form.record_resident_reply(token=token, satisfaction=4)["replaced"] is False
