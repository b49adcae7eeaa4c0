"""Delivered once: several replicas, a replica killed with SIGKILL in the middle of a send, rosters."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from notifications_testkit import local, signup, wait_for

from conftest import ORGANISER
from guanyinli.config import ROOT
from guanyinli.rpc import ServiceRpcProxy
from guanyinli.timeutil import now

pytestmark = pytest.mark.integration

HERE = Path(__file__).resolve().parent


def test_two_replicas_send_each_message_once(start_service, publish, smtp, outbox):
    start_service()
    start_service()
    for volunteer_id in range(1, 31):
        publish.volunteer(volunteer_id, f"志愿者{volunteer_id}", f"v{volunteer_id}@example.cn")
    wait_for(lambda: outbox.count("contacts") == 30, message="contacts")
    for volunteer_id in range(1, 31):
        wire = publish.wire("signup_confirmed", **signup(volunteer_id, local(27, 19), signup_id=volunteer_id))
        publish.send("activities", "signup_confirmed", wire)
        publish.send("activities", "signup_confirmed", wire)  # and each event delivered twice
    wait_for(lambda: len(smtp.messages) >= 30, message="30 emails")
    time.sleep(0.5)
    recipients = sorted(m["to"][0] for m in smtp.messages)
    assert recipients == sorted(f"v{i}@example.cn" for i in range(1, 31))
    wait_for(lambda: {d["status"] for d in outbox.deliveries()} == {"sent"}, message="all marked sent")
    assert {d["attempts"] for d in outbox.deliveries()} == {1}


def test_roster_messages_carry_only_each_volunteers_changes(service, publish, smtp, outbox):
    publish.volunteer(5, "王芳", "wangfang@example.cn")
    publish.volunteer(6, "李明", "liming@example.cn")
    publish.volunteer(7, "赵磊", "zhaolei@example.cn")
    wait_for(lambda: outbox.count("contacts") == 3)

    def shift(shift_id, day, grid_id=3):
        return {"shift_id": shift_id, "grid_id": grid_id, "start": local(day, 19), "end": local(day, 21)}

    week = {"roster_id": 2, "start": local(23, 0), "end": local(29, 23)}
    publish.activities(
        "roster_published",
        **week,
        changes=[
            {"volunteer_id": 5, "added": [shift("a", 26), shift("b", 28, 4)]},
            {"volunteer_id": 6, "added": [shift("c", 27)]},
        ],
    )
    wait_for(lambda: len(smtp.messages) == 2, message="one message per rostered volunteer")
    [wang] = smtp.to("wangfang@example.cn")
    assert "11月26日（周四） 19:00–21:00，第 3 网格" in wang.get_content()
    assert "11月28日（周六） 19:00–21:00，第 4 网格" in wang.get_content()
    assert "11月27日" not in wang.get_content()

    publish.activities(
        "roster_repaired",
        **week,
        changes=[
            {"volunteer_id": 5, "removed": [shift("b", 28, 4)]},
            {"volunteer_id": 7, "added": [shift("b", 28, 4)]},
            {"volunteer_id": 6},
        ],
    )
    wait_for(lambda: len(smtp.messages) == 4, message="the repair, to the two volunteers it concerns")
    assert len(smtp.to("liming@example.cn")) == 1
    repaired = smtp.to("wangfang@example.cn")[1].get_content()
    assert "取消班次" in repaired and "11月28日" in repaired and "11月26日" not in repaired
    assert "新增班次" in smtp.to("zhaolei@example.cn")[0].get_content()
    duties = {(r["volunteer_id"], r["duty_key"], bool(r["active"])) for r in outbox.rows("SELECT * FROM duties")}
    assert duties == {(5, "shift:a", True), (5, "shift:b", False), (6, "shift:c", True), (7, "shift:b", True)}

    publish.activities("swap_accepted", swap_id=1, roster_id=2, volunteer_ids=[6, 5], shifts=[shift("c", 27)])
    wait_for(lambda: len(smtp.messages) == 6, message="the swap, to both")
    active = {(r["volunteer_id"], r["duty_key"]) for r in outbox.rows("SELECT * FROM duties") if r["active"]}
    assert (5, "shift:c") in active and (6, "shift:c") not in active


class ServiceProcess:
    """The notifications service in a subprocess on the real clock, killed with SIGKILL on demand."""

    def __init__(self, config: dict, tmp_path: Path, name: str):
        self.path = tmp_path / f"{name}.json"
        self.path.write_text(json.dumps(config, default=str))
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "common"), str(ROOT / "services/notifications")]))
        self.log = open(tmp_path / f"{name}.log", "wb")
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "run_notifications.py"), str(self.path)],
            env=env,
            stdout=self.log,
            stderr=self.log,
        )

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


def answers(rpc, process: ServiceProcess) -> bool:
    assert process.proc.poll() is None, "the service process exited"
    try:
        return rpc.health()["status"] == "ok"
    except Exception:  # not consuming yet (UnknownService)
        return False


@pytest.fixture
def replicas(config, tmp_path):
    """``replicas.start(name)`` runs the service in a subprocess on the real clock (lease 2 s)."""
    config = {**config, "NOTIFICATIONS": {**config["NOTIFICATIONS"], "POLL_INTERVAL": 0.1, "CLAIM_LEASE": 2}}
    started: list[ServiceProcess] = []

    class Replicas:
        def start(self, name: str) -> ServiceProcess:
            process = ServiceProcess(config, tmp_path, name)
            started.append(process)
            with ServiceRpcProxy("notifications", config, timeout=30) as rpc:
                wait_for(lambda: answers(rpc, process), timeout=30, message=f"the service process {name}")
            return process

        def set_preferences(self, volunteer_id: int, **prefs) -> None:
            with ServiceRpcProxy("notifications", config, timeout=30, context_data=ORGANISER) as rpc:
                rpc.set_preferences(volunteer_id, **prefs)

    yield Replicas()
    for process in started:
        process.stop()


def test_replica_killed_mid_send_loses_nothing_and_sends_once(replicas, publish, smtp, outbox):
    first = replicas.start("first")
    replicas.set_preferences(5, quiet_hours=False)  # the real clock may be at night
    publish.volunteer(5, "王芳", "wangfang@example.cn")
    wait_for(lambda: outbox.count("contacts") == 1, message="the contact")
    smtp.hold_rcpt = True
    publish.activities("signup_confirmed", **signup(5, now() + timedelta(days=3)))

    wait_for(lambda: smtp.holding, message="the SMTP dialogue in progress")
    first.kill()  # SIGKILL between RCPT TO and DATA: nothing was handed over
    [delivery] = outbox.deliveries()
    assert (delivery["status"], delivery["attempts"]) == ("sending", 1)
    smtp.release()
    time.sleep(0.3)
    assert smtp.messages == []

    replicas.start("second")
    [message] = wait_for(lambda: smtp.to("wangfang@example.cn"), timeout=30, message="the email after the restart")
    [delivery] = wait_for(lambda: [d for d in outbox.deliveries() if d["status"] == "sent"], message="sent")
    assert delivery["attempts"] == 2
    time.sleep(1.5)  # more polls and more than half a lease: still one copy
    assert len(smtp.messages) == 1
    assert message["Message-ID"] == delivery["message_id"]


def test_killed_after_the_server_accepted_gives_a_second_copy_with_the_same_message_id(replicas, publish, smtp, outbox):
    """The documented at-least-once window: accepted by SMTP, killed before 'sent' was committed."""
    first = replicas.start("first")
    replicas.set_preferences(5, quiet_hours=False)
    publish.volunteer(5, "王芳", "wangfang@example.cn")
    wait_for(lambda: outbox.count("contacts") == 1, message="the contact")
    smtp.hold_accepted = True
    publish.activities("signup_confirmed", **signup(5, now() + timedelta(days=3)))

    wait_for(lambda: smtp.holding, message="the message accepted, the answer held")
    first.kill()
    smtp.release()
    replicas.start("second")
    wait_for(lambda: len(smtp.messages) == 2, timeout=30, message="the second copy")
    first_copy, second_copy = smtp.to("wangfang@example.cn")
    assert first_copy["Message-ID"] == second_copy["Message-ID"]  # a receiver can drop the second
    [delivery] = wait_for(lambda: [d for d in outbox.deliveries() if d["status"] == "sent"], message="sent")
    assert delivery["attempts"] == 2 and delivery["message_id"] == first_copy["Message-ID"]
