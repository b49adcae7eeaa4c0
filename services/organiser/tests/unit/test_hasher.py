"""Password hashes run in OS threads, a bounded number at once."""

import eventlet
import eventlet.tpool
import pytest

from organiser import security
from organiser.dependencies import Hasher, HasherBusy, Settings, flag


def test_hashes_beyond_the_bound_wait_for_a_free_thread(monkeypatch):
    threading = eventlet.patcher.original("threading")
    entered, release = [], threading.Event()
    started = threading.Semaphore(0)

    def held(stored, password):
        entered.append(password)
        started.release()
        release.wait(30)
        return True

    monkeypatch.setattr(security, "verify_password", held)
    hasher = Hasher(2, queue=1)
    checks = [eventlet.spawn(hasher.verify, "stored", str(i)) for i in range(3)]
    for _ in range(2):
        assert eventlet.tpool.execute(started.acquire, True, 30)
    assert sorted(entered) == ["0", "1"] and hasher._slots.balance == -1  # the third waits for a slot
    with pytest.raises(HasherBusy):  # a fourth would wait beyond the queue: refused at once
        hasher.verify("stored", "3")
    release.set()
    assert [c.wait() for c in checks] == [True] * 3 and sorted(entered) == ["0", "1", "2"]


def test_a_real_hash_and_check_go_through_the_threads():
    hasher = Hasher(1)
    digest = hasher.hash("correct horse battery")
    assert hasher.verify(digest, "correct horse battery") and not hasher.verify(digest, "wrong password!")


def test_settings_read_from_the_config_as_the_environment_gives_them():
    assert Settings.from_config({}) == Settings(secure_cookies=True, hash_concurrency=2, rpc_timeout=10.0, proxies=0)
    given = {"ORGANISER_SECURE_COOKIES": "false", "ORGANISER_HASH_CONCURRENCY": "3", "ORGANISER_RPC_TIMEOUT": "2.5"}
    assert Settings.from_config(given) == Settings(secure_cookies=False, hash_concurrency=3, rpc_timeout=2.5)
    assert flag(False, True) is False and flag("0", True) is False and flag("true", False) is True
    assert flag("", True) is True and flag(None, False) is False
