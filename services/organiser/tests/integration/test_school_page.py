"""The weekend school on the organiser page and the command line: register a pupil, assign the tutors, pin
and change one, the subjects short of tutors; the guardian's phone only for organisers."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from organiser_testkit import MONDAY, PASSWORD, csrf_of, log_in, school_tutors, weekend_school

pytestmark = pytest.mark.integration

WINDOW = {"start": str(MONDAY), "weeks": "2"}


@pytest.fixture
def school(rpc):
    """Two maths tutors and a Chinese one free every weekend, and two weekends of the school from next
    Saturday; returns the tutors' ids."""
    organiser = rpc("organiser")
    organiser.create_account(username="wangfang", password=PASSWORD, display_name="王芳")
    organiser.create_account(username="guest", password=PASSWORD, display_name="访客", role="viewer")
    tutors = [("数学老师甲", ["tutoring:math"]), ("数学老师乙", ["tutoring:math"]), ("语文老师", ["tutoring:chinese"])]
    ids = school_tutors(rpc("volunteers"), tutors, "1361111")
    weekend_school(rpc("activities"))
    return ids


def test_register_assign_change_and_the_viewer_sees_no_phone(platform, school, web_session, rpc):
    assert log_in(web_session).status_code == 303
    page = web_session.get("/school", params=WINDOW)
    assert page.status_code == 200 and 'id="register"' in page.text
    token = csrf_of(page.text)
    added = web_session.post(
        "/school/pupils",
        data={
            **WINDOW,
            "csrf": token,
            "name": "小明",
            "grade": "3",
            "subject": ["math", "chinese"],
            "guardian_name": "王建军",
            "guardian_phone": "15800001234",
        },
    )
    assert added.status_code == 200 and "学生已登记" in added.text and "15800001234" in added.text

    assigned = web_session.post("/school/assign", data={**WINDOW, "csrf": token})
    assert assigned.status_code == 200 and "老师已重新安排" in assigned.text
    rows = re.findall(r'<tr data-assignment="(\d+)">', assigned.text)
    assert len(rows) == 8  # two subjects in four sessions
    assert "语文老师" in assigned.text and "数学老师" in assigned.text

    listed = rpc("activities").list_assignments(
        start=f"{MONDAY}T00:00:00+08:00", end=f"{MONDAY + timedelta(days=14)}T00:00:00+08:00"
    )
    maths = [a for a in listed if a["subject"] == "math"]
    last = maths[-1]
    other = next(t for t in school[:2] if t != last["tutor_id"])
    changed = web_session.post(
        f"/school/assignments/{last['id']}/change", data={**WINDOW, "csrf": token, "tutor_id": str(other)}
    )
    assert changed.status_code == 200 and "已换老师" in changed.text
    row = re.search(rf'<tr data-assignment="{last["id"]}">.*?</tr>', changed.text, re.S).group(0)
    assert f"/volunteers/{other}" in row and "已固定" in row

    again = web_session.post("/school/assign", data={**WINDOW, "csrf": token})
    row = re.search(rf'<tr data-assignment="{last["id"]}">.*?</tr>', again.text, re.S).group(0)
    assert f"/volunteers/{other}" in row and "已固定" in row  # the pin holds

    unpinned = web_session.post(f"/school/assignments/{last['id']}/pin", data={**WINDOW, "csrf": token, "pinned": "0"})
    assert "已取消固定" in unpinned.text
    english = web_session.get("/school", params={**WINDOW, "lang": "en"})
    assert "Pupils&#39; register" in english.text and "grade 3" in english.text and "maths" in english.text
    pupil_id = maths[0]["pupil_id"]
    form = web_session.get("/school", params={**WINDOW, "edit": pupil_id})
    assert f'action="/school/pupils/{pupil_id}"' in form.text and 'value="15800001234"' in form.text
    fields = {"name": "小明", "grade": "4", "subject": ["math"], "guardian_name": "王建军"}
    edited = web_session.post(
        f"/school/pupils/{pupil_id}", data={**WINDOW, "csrf": token, **fields, "guardian_phone": "15800004321"}
    )
    assert "学生信息已保存" in edited.text and "15800004321" in edited.text
    withdrawn = web_session.post(f"/school/pupils/{pupil_id}/withdraw", data={**WINDOW, "csrf": token})
    assert "学生已退出学堂" in withdrawn.text and "15800004321" not in withdrawn.text


def test_the_viewer_reads_the_register_without_the_guardians_phone(platform, school, web_session, rpc):
    rpc("activities").register_pupil(
        name="小红", grade=4, subjects=["math"], guardian_name="李红", guardian_phone="15800005678"
    )
    assert log_in(web_session, username="guest").status_code == 303
    page = web_session.get("/school", params=WINDOW)
    assert page.status_code == 200 and "小红" in page.text
    assert "15800005678" not in page.text and "李红" not in page.text
    assert 'action="/school/assign"' not in page.text


def test_the_command_line(platform, school, run_cli, rpc):
    def as_json(result):
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    pupil = as_json(
        run_cli(
            "school", "register", "--name", "小刚", "--grade", "9", "--subject", "math", "--subject", "physics",
            "--guardian-name", "张伟", "--guardian-phone", "15800009999", "--json",
        )
    )  # fmt: skip
    assert pupil["guardian_phone"] == "15800009999"
    listed = run_cli("school", "pupils")
    assert listed.returncode == 0 and "小刚" in listed.stdout and "15800009999" in listed.stdout

    window = ("--start", str(MONDAY), "--weeks", "2")
    answer = as_json(run_cli("school", "assign", *window, "--time-limit", "5", "--json"))
    assert answer["covered"] == 4 and answer["needs"] == 8  # nobody teaches physics
    shown = run_cli("school", "show", *window)
    assert shown.returncode == 0 and "小刚" in shown.stdout and "数学老师" in shown.stdout
    lacking = run_cli("school", "lacking", *window)
    assert lacking.returncode == 0 and "物理" in lacking.stdout

    maths = next(a for a in answer["assignments"] if a["subject"] == "math")
    pinned = as_json(run_cli("school", "pin", str(maths["id"]), "--json"))
    assert pinned["pinned"]
    refused = run_cli("school", "pin", str(maths["id"]), "--tutor", str(school[2]))  # the Chinese tutor
    assert refused.returncode == 1 and "tutoring:math" in refused.stderr
    gone = run_cli("school", "show", "--start", "bad")
    assert gone.returncode == 2
