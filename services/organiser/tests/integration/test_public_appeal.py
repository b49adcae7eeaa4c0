"""The residents' public appeal pages over real HTTP, with the appeals and notifications services and
the SMS sink: a code by SMS, the form, the appeal in the appeals service routed to the courtyard's
grid; wrong codes, limits and replays refused; at closing one text with the personal reply link,
which takes one answer within its days and says clearly when it does not."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
from nameko.testing.services import replace_dependencies
from organiser_testkit import csrf_of
from test_phone import code_in, codes_sent

from appeals.service import AppealsService
from guanyinli.timeutil import now
from notifications.service import NotificationsService

pytestmark = pytest.mark.integration

RESIDENT = "13955556666"
VOLUNTEER = "13912347700"
FORM = {
    "category": "repair",
    "place": "C01",  # 观音里1号院, of grid 6
    "building": "3号楼",
    "urgency": "urgent",
    "description": "楼道灯坏了，晚上看不见路",
    "resident_name": "赵桂英",
    "resident_address": "观音里1号院3号楼201",
}


class AppealsClock:
    """The appeals service's clock: now, plus ``offset``."""

    def __init__(self):
        self.offset = timedelta(0)

    def __call__(self):
        return now() + self.offset


@pytest.fixture
def sms_log(tmp_path):
    return tmp_path / "sms.log"


@pytest.fixture
def appeals_clock():
    return AppealsClock()


@pytest.fixture
def site(platform, container_factory, sms_log, appeals_clock, rpc):
    config = dict(platform, SMS={"PROVIDER": "sink", "SINK_PATH": str(sms_log)})
    container_factory(NotificationsService, config).start()
    appeals = container_factory(AppealsService, config)
    replace_dependencies(appeals, clock=appeals_clock)
    appeals.start()
    rpc("volunteers").create_volunteer(name="王芳", phone=VOLUNTEER, teams=["convenient_service"])
    return config


texts = codes_sent  # every text the sink wrote, codes or not


def ask_code(web, phone: str = RESIDENT):
    start = web.get("/appeal")
    assert start.status_code == 200
    return web.post("/appeal/code", data={"phone": phone, "csrf": csrf_of(start.text)}, allow_redirects=False)


def enter_code(web, page, code: str, phone: str = RESIDENT):
    return web.post("/appeal/verify", data={"phone": phone, "code": code, "csrf": csrf_of(page.text)})


def appeal_pass(form_page) -> str:
    return re.search(r'name="pass" value="([^"]+)"', form_page.text).group(1)


def proved(web, sms_log, phone: str = RESIDENT):
    """The appeal form, once the number is proved with the code texted to it."""
    page = ask_code(web, phone)
    assert page.status_code == 200, page.text
    form = enter_code(web, page, code_in(texts(sms_log)[-1]), phone)
    assert form.status_code == 200 and 'name="pass"' in form.text, form.text
    return form


def submit(web, form_page, **fields):
    data = {**FORM, **fields, "csrf": csrf_of(form_page.text), "pass": appeal_pass(form_page)}
    return web.post("/appeal", data=data, allow_redirects=False)


def reference_in(page) -> str:
    return re.search(r'id="reference">(GY\d+)<', page.text).group(1)


def test_a_resident_proves_their_number_and_sends_an_appeal(site, web_session, sms_log, rpc, caplog):
    with caplog.at_level(logging.DEBUG):
        page = ask_code(web_session, "139 5555 6666")
        assert page.status_code == 200 and "139****6666" in page.text and "5 分钟内有效" in page.text
        [sms] = texts(sms_log)
        assert sms["phone"].endswith(RESIDENT) and sms["kind"] == "appeal_code" and "诉求验证码" in sms["text"]
        code = code_in(sms)
        wrong = enter_code(web_session, page, "000000" if code != "000000" else "111111")
        assert wrong.status_code == 401 and "验证码不对" in wrong.text
        form = enter_code(web_session, wrong, code)
        assert form.status_code == 200 and "已验证手机号码 139****6666" in form.text
        # the courtyards and buildings come from the volunteers service; grids without any by name
        assert ">观音里1号院<" in form.text and ">观音里商住楼甲栋<" in form.text and ">沿街商铺专属网格<" in form.text
        done = submit(web_session, form)
        assert done.status_code == 200, done.text
        assert "诉求已收到" in done.text and "办结后我们会发短信给您" in done.text
    reference = reference_in(done)
    appeal = rpc("appeals").get_appeal(int(reference[2:]))
    assert (appeal["source"], appeal["grid_id"], appeal["courtyard"], appeal["urgency"]) == (
        "resident",
        6,
        "C01",
        "urgent",
    )
    assert (appeal["resident_phone"], appeal["resident_name"]) == (RESIDENT, FORM["resident_name"])
    for secret in (RESIDENT, code, "5555 6666", FORM["resident_name"], FORM["description"]):
        assert secret not in caplog.text, f"{secret} logged"
    # the same form sent again is the same appeal; other words with the same code are refused
    assert reference_in(submit(web_session, form)) == reference
    again = submit(web_session, form, description="另一件事")
    assert again.status_code == 409 and "已经提交过一条诉求" in again.text
    assert len(rpc("appeals").list_appeals()) == 1
    # the code is spent: it does not open the form again
    assert enter_code(web_session, page, code).status_code == 401


def test_missing_fields_are_asked_for_and_nothing_is_sent(site, web_session, sms_log, rpc):
    form = proved(web_session, sms_log)
    refused = submit(web_session, form, description="  ", place="C99")
    assert refused.status_code == 400
    assert "请填写" in refused.text and "请说说情况" in refused.text and "您住在哪个院落或楼栋" in refused.text
    assert FORM["resident_name"] in refused.text  # what was typed stays
    assert rpc("appeals").list_appeals() == []
    # a pass for another number, or with its time moved on, is no pass
    phone, code_id, until, mac = appeal_pass(form).split(".")
    for forged in (f"13900000000.{code_id}.{until}.{mac}", f"{phone}.{code_id}.{int(until) + 3600}.{mac}"):
        refused = web_session.post("/appeal", data={**FORM, "csrf": csrf_of(form.text), "pass": forged})
        assert refused.status_code == 403 and "重新获取验证码" in refused.text
    assert rpc("appeals").list_appeals() == []


def test_asking_for_codes_too_often_waits_and_a_code_for_an_appeal_signs_nobody_in(site, web_session, sms_log):
    assert ask_code(web_session, VOLUNTEER).status_code == 200
    again = ask_code(web_session, VOLUNTEER)
    assert again.status_code == 429 and "分钟后再试" in again.text
    assert 0 < int(again.headers["Retry-After"]) <= 61
    [sms] = texts(sms_log)
    # a volunteer's number with a code texted for an appeal: the phone page's sign-in refuses it
    login = web_session.get("/v/login")
    answer = web_session.post(
        "/v/verify", data={"phone": VOLUNTEER, "code": code_in(sms), "csrf": csrf_of(login.text)}, allow_redirects=False
    )
    assert answer.status_code == 401


def test_closing_texts_a_reply_link_that_takes_one_answer(site, web_session, sms_log, rpc, appeals_clock):
    reference = reference_in(submit(web_session, proved(web_session, sms_log)))
    appeal_id = int(reference[2:])
    rpc("appeals").close_appeal(appeal_id, outcome="换了灯泡", satisfaction=3, resident_reply="电话里说还行")
    link = texts(sms_log)[-1]
    assert link["kind"] == "appeal_closed" and reference in link["text"]
    path = re.search(r"(/appeal/reply/[A-Za-z0-9_-]+)", link["text"]).group(1)

    page = web_session.get(path)
    assert page.status_code == 200 and "您对处理结果满意吗" in page.text
    unanswered = web_session.post(path, data={"csrf": csrf_of(page.text), "reply": "还行"})
    assert unanswered.status_code == 400 and "请选择满意程度" in unanswered.text
    thanks = web_session.post(path, data={"csrf": csrf_of(page.text), "satisfaction": "5", "reply": "师傅很耐心"})
    assert thanks.status_code == 200 and reference in thanks.text and "谢谢您的评价" in thanks.text
    seen = rpc("appeals").get_appeal(appeal_id)
    assert (seen["satisfaction"], seen["resident_reply"]) == (5, "师傅很耐心")
    assert seen["notes"][-1]["kind"] == "resident_replied"

    used = web_session.post(path, data={"csrf": csrf_of(page.text), "satisfaction": "1"})
    assert used.status_code == 409 and "您已经评价过了" in used.text
    unknown = web_session.post(path[:-3] + "abc", data={"csrf": csrf_of(page.text), "satisfaction": "1"})
    assert unknown.status_code == 404 and "这个链接无效" in unknown.text
    assert rpc("appeals").get_appeal(appeal_id)["satisfaction"] == 5
    assert len([t for t in texts(sms_log) if t["kind"] == "appeal_closed"]) == 1


def test_an_expired_reply_link_is_refused_with_a_clear_page(site, web_session, sms_log, rpc, appeals_clock):
    reference = reference_in(submit(web_session, proved(web_session, sms_log)))
    rpc("appeals").close_appeal(int(reference[2:]), outcome="已处理")
    path = re.search(r"(/appeal/reply/[A-Za-z0-9_-]+)", texts(sms_log)[-1]["text"]).group(1)
    appeals_clock.offset = timedelta(days=15)
    page = web_session.get(path + "?lang=en")
    gone = web_session.post(path + "?lang=en", data={"csrf": csrf_of(page.text), "satisfaction": "2"})
    assert gone.status_code == 410 and "This link has expired" in gone.text and "14 days" in gone.text
