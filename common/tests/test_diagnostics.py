"""`kill -USR1` makes a service log where each of its green threads waits."""

import logging
import os
import signal
import weakref

import eventlet

from guanyinli import diagnostics


def waiting_for_a_reply_that_never_comes(event):
    event.wait()


def test_the_stacks_name_what_each_green_thread_waits_on():
    event = eventlet.Event()
    stuck = eventlet.spawn(waiting_for_a_reply_that_never_comes, event)
    eventlet.sleep(0)  # let it start and block
    try:
        stacks = diagnostics.green_stacks()
    finally:
        event.send(None)
        stuck.wait()
    assert "waiting_for_a_reply_that_never_comes" in stacks
    assert "event.wait()" in stacks


def test_sigusr1_logs_the_stacks(caplog):
    diagnostics.install()
    event = eventlet.Event()
    stuck = eventlet.spawn(waiting_for_a_reply_that_never_comes, event)
    eventlet.sleep(0)
    try:
        with caplog.at_level(logging.WARNING, logger="guanyinli.diagnostics"):
            os.kill(os.getpid(), signal.SIGUSR1)
            eventlet.sleep(0.01)
    finally:
        event.send(None)
        stuck.wait()
    assert any("waiting_for_a_reply_that_never_comes" in r.getMessage() for r in caplog.records)


def test_a_dead_weak_proxy_among_the_objects_does_not_stop_the_dump():
    class Thing:
        pass

    thing = Thing()
    proxies = [weakref.proxy(thing)]  # noqa: F841 - kept alive while what it points to is gone
    del thing
    assert "current:" in diagnostics.green_stacks()
