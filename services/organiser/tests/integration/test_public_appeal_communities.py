"""The residents' appeal pages of a community other than the default one, over real HTTP on both
databases (``guanyinli.tenancy``): at ``/c/wutaishan/appeal`` every link, form and redirect keeps
the prefix, the appeal goes to wutaishan's appeals only (its organiser sees it, guanyinli's does
not), the pass of one community's page opens no other's form, and the reply link texted at closing
is wutaishan's page."""

from __future__ import annotations

import re

import pytest
from organiser_testkit import csrf_of, start_platform
from test_phone import code_in, codes_sent

from appeals.service import AppealsService
from guanyinli import tenancy
from guanyinli.rpc import ServiceRpcProxy
from guanyinli.testing import SECOND_COMMUNITY, signed
from notifications.service import NotificationsService

pytestmark = pytest.mark.integration

RESIDENT = "13955556666"
ROOT = f"/c/{SECOND_COMMUNITY}"
FORM = {
    "category": "repair",
    "place": "C01",
    "building": "3号楼",
    "urgency": "normal",
    "description": "五台山小区楼道灯坏了",
    "resident_name": "孙桂芝",
    "resident_address": "1号院3号楼201",
}


@pytest.fixture
def sms_log(tmp_path):
    return tmp_path / "sms.log"


@pytest.fixture
def site(container_factory, two_communities, web_clock, sms_log):
    config = dict(two_communities, ORGANISER_SECURE_COOKIES=False, SMS={"PROVIDER": "sink", "SINK_PATH": str(sms_log)})
    config["ORGANISER_PUBLIC_URL"] = f"http://{config['WEB_SERVER_ADDRESS']}"
    start_platform(container_factory, config, web_clock)
    container_factory(NotificationsService, config).start()
    container_factory(AppealsService, config).start()
    return config


@pytest.fixture
def appeals_of(site):
    """``appeals_of(slug)``: the appeals service as that community's organiser."""
    opened = []

    def open_for(slug: str):
        context = signed({"roles": ["organiser"], "community": slug})
        proxy = ServiceRpcProxy("appeals", site, context_data=context, timeout=30)
        opened.append(proxy)
        return proxy.start()

    yield open_for
    for proxy in opened:
        proxy.stop()


def test_an_appeal_at_the_communitys_page_is_that_communitys_only(site, web_session, sms_log, appeals_of):
    start = web_session.get(f"{ROOT}/appeal")
    assert start.status_code == 200
    assert f'action="{ROOT}/appeal/code"' in start.text and f'href="{ROOT}/appeal/lang/en"' in start.text
    switched = web_session.get(f"{ROOT}/appeal/lang/en", allow_redirects=False)
    assert switched.status_code == 303 and switched.headers["Location"] == f"{ROOT}/appeal"

    asked = web_session.post(f"{ROOT}/appeal/code", data={"phone": RESIDENT, "csrf": csrf_of(start.text)})
    assert asked.status_code == 200 and f'action="{ROOT}/appeal/verify"' in asked.text
    [sms] = codes_sent(sms_log)
    form = web_session.post(
        f"{ROOT}/appeal/verify", data={"phone": RESIDENT, "code": code_in(sms), "csrf": csrf_of(asked.text)}
    )
    assert form.status_code == 200 and f'action="{ROOT}/appeal"' in form.text, form.text
    data = {
        **FORM,
        "csrf": csrf_of(form.text),
        "pass": re.search(r'name="pass" value="([^"]+)"', form.text).group(1),
    }
    elsewhere = web_session.post("/appeal", data=data, allow_redirects=False)
    assert elsewhere.status_code == 403, "a pass of wutaishan's page opens no form of guanyinli's"

    done = web_session.post(f"{ROOT}/appeal", data=data, allow_redirects=False)
    assert done.status_code == 200, done.text
    assert f'href="{ROOT}/appeal"' in done.text
    reference = re.search(r'id="reference">(GY\d+)<', done.text).group(1)

    theirs, ours = appeals_of(SECOND_COMMUNITY), appeals_of(tenancy.DEFAULT)
    [appeal] = theirs.list_appeals()
    assert (appeal["reference"], appeal["resident_phone"], appeal["source"]) == (reference, RESIDENT, "resident")
    assert ours.list_appeals() == []

    theirs.close_appeal(appeal["id"], outcome="换了灯泡")
    [link] = [t for t in codes_sent(sms_log) if t["kind"] == "appeal_closed"]
    path = re.search(r"http://[^/]+(/\S+/appeal/reply/[A-Za-z0-9_-]+)", link["text"]).group(1)
    assert path.startswith(f"{ROOT}/appeal/reply/"), link["text"]
    page = web_session.get(path)
    assert page.status_code == 200 and f'action="{path}"' in page.text
    # (the form's pass is path-scoped to its community: the default community's page gives its own)
    elsewhere = web_session.get(path[len(ROOT) :])
    not_here = web_session.post(path[len(ROOT) :], data={"csrf": csrf_of(elsewhere.text), "satisfaction": "1"})
    assert not_here.status_code == 404, "the link is unknown in another community"
    thanks = web_session.post(path, data={"csrf": csrf_of(page.text), "satisfaction": "5", "reply": "很快"})
    assert thanks.status_code == 200 and reference in thanks.text
    assert theirs.get_appeal(appeal["id"])["satisfaction"] == 5
