"""Every RPC method of every service, fed hypothesis-generated bad input over real RPC.

Each answer must be a typed remote error (a ``PlatformError`` subclass or nameko's
``BadRequest`` family) or a valid result: never a bare ``RemoteError``, never an
``InternalError`` (a traceback on the service side), never silence. A rejected call must leave
the service's database exactly as it was.
"""

from __future__ import annotations

import os
import time

import eventlet
import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from rel_data import seed_platform
from rel_fuzz import IMPORT_ERRORS, bad_request, classify, discover, register_typed_errors

from guanyinli.rpc import ClusterRpcProxy
from guanyinli.testing import signed

pytestmark = pytest.mark.reliability

METHODS = discover()
EXAMPLES = int(os.environ.get("RELIABILITY_FUZZ_EXAMPLES", "30"))
SEED = int(os.environ.get("RELIABILITY_SEED", "20261125"))
ROW = "fuzz: bad input to every RPC method"
IDENTITIES = {
    "anonymous": None,
    "organiser": signed({"volunteer_id": 1, "roles": ["organiser"], "name": "王芳"}),
    "system": signed({"roles": ["system"]}),
    "volunteer": signed({"volunteer_id": 2, "roles": []}),
    "junk-user": {"user": "root"},
    "junk-fields": {"user": {"volunteer_id": "abc", "roles": 5}},
    # AMQP headers carry at most 64-bit integers: a bigger one never leaves the client
    "junk-values": {
        "user": {"volunteer_id": 2**62, "roles": ["organiser"]},
        "identity": "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
    },
}

register_typed_errors()


@pytest.fixture(scope="module")
def fuzz_env(platform, tally):
    """Seed data (so plausible ids exist), one proxy per identity, and the tables that change on
    their own (timers) so that they are not blamed on a rejected call."""
    healthy = platform
    seed_platform(healthy)
    proxies = Proxies(healthy.rpc_config)
    services = {m.service for m in METHODS}
    # let the seed's events play out first (contacts, outbox, emails), so that only true timers
    # are left to write while idle
    settled, last, deadline = 0, None, time.monotonic() + 60
    while settled < 3 and time.monotonic() < deadline:
        now_print = {s: healthy.dbs.fingerprint(s) for s in services}
        settled = settled + 1 if now_print == last else 0
        last = now_print
        time.sleep(1)
    before = {s: healthy.dbs.fingerprint(s) for s in services}
    time.sleep(2.5)
    after = {s: healthy.dbs.fingerprint(s) for s in services}
    background = {s: {t for t in after[s] if after[s][t] != before[s].get(t)} for s in services}
    busy = sorted(f"{s}.{t}" for s in services for t in background[s])
    if busy:
        tally.row(ROW).notes.append(f"written by timers while idle, so not judged: {', '.join(busy)}")
    yield healthy, proxies, background
    proxies.close()


def test_methods_were_discovered():
    assert not IMPORT_ERRORS, IMPORT_ERRORS
    found = {m.service for m in METHODS}
    assert {"volunteers", "activities", "notifications"} <= found, f"services with RPC methods: {sorted(found)}"
    without_health = sorted(found - {m.service for m in METHODS if m.name == "health"})
    assert not without_health, f"services without a health RPC method: {without_health}"
    without_contract = [m.id for m in METHODS if not m.has_contract or (m.request is None and m.params)]
    assert not without_contract, f"RPC methods with parameters but no @contract request schema: {without_contract}"


@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.id)
def test_bad_input_gets_a_typed_answer_and_writes_nothing(method, fuzz_env, tally):
    platform, proxies, background = fuzz_env
    row = tally.row(ROW)
    problems: list[str] = []
    died: list[str] = []

    @seed(SEED)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(request=bad_request(method), identity=st.sampled_from(sorted(IDENTITIES)))
    def one(request, identity):
        if died:  # one death is the finding; more calls would only kill it again
            return
        args, kwargs = request
        proxy = getattr(proxies.get(identity), method.service)
        before = platform.dbs.fingerprint(method.service)
        row.calls += 1
        try:
            with eventlet.Timeout(15):
                getattr(proxy, method.name)(*args, **kwargs)
            return  # a valid result: whatever it wrote was allowed
        except (Exception, eventlet.Timeout) as exc:
            kind = classify(exc) if isinstance(exc, Exception) else "client"
            error = exc
        shown = f"{method.id}(*{_short(args)}, **{_short(kwargs)}) as {identity}"
        if kind == "untyped":
            row.untyped += 1
            problems.append(f"untyped {type(error).__name__}: {_short(str(error))} <- {shown}")
        elif kind == "internal":
            row.internal += 1
            problems.append(f"InternalError: {_short(str(error))} <- {shown}")
        elif kind == "client":
            proxies.drop(identity)  # the connection may be unusable now
            row.lost += 1
            problems.append(f"no answer ({type(error).__name__}) <- {shown}")
            if not platform.alive(method.service):
                problems.append(f"{method.service} DIED on this call:\n{platform.tail(method.service, 25)}")
                died.append(shown)
                platform.start(method.service)
        after = platform.dbs.fingerprint(method.service)
        changed = sorted(t for t in after if after[t] != before.get(t) and t not in background[method.service])
        if changed:
            problems.append(f"rejected with {type(error).__name__} but wrote {changed} <- {shown}")

    one()
    for problem in problems[:5]:
        row.notes.append(problem)
    assert not problems, "\n".join(problems[:20])


class Proxies:
    """One cluster proxy per identity, replaced after a call that got no answer."""

    def __init__(self, config: dict):
        self.config = config
        self.open: dict[str, tuple] = {}

    def get(self, identity: str):
        if identity not in self.open:
            cluster = ClusterRpcProxy(self.config, context_data=IDENTITIES[identity], timeout=10)
            self.open[identity] = (cluster, cluster.start())
        return self.open[identity][1]

    def drop(self, identity: str) -> None:
        cluster, _ = self.open.pop(identity, (None, None))
        if cluster is not None:
            try:
                with eventlet.Timeout(5):
                    cluster.stop()
            except BaseException:  # a broken connection may not close cleanly; it is dropped anyway
                pass

    def close(self) -> None:
        for identity in list(self.open):
            self.drop(identity)


def _short(value, limit: int = 160) -> str:
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[:limit] + "..."
