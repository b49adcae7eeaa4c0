"""RPC clients that behave like real ones under faults: a call that gets no answer (timeout, lost
connection, broker restarting) or answers Unavailable is retried with the same arguments, hence the
same request_id, on a fresh connection, until it gets an answer or the deadline passes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import eventlet
from eventlet.greenpool import GreenPool
from rel_fuzz import classify

from guanyinli.errors import Unavailable
from guanyinli.rpc import ClusterRpcProxy


@dataclass
class Outcome:
    key: str
    result: object = None
    error: BaseException | None = None
    kind: str = "lost"  # ok | typed | internal | untyped | lost
    attempts: int = 0
    faults_seen: list[str] = field(default_factory=list)

    @property
    def error_name(self) -> str | None:
        return type(self.error).__name__ if self.error is not None else None


class RetryingClient:
    def __init__(self, config: dict, context_data: dict | None = None, attempt_timeout: float = 15):
        self.config = config
        self.context_data = context_data
        self.attempt_timeout = attempt_timeout
        self._cluster: ClusterRpcProxy | None = None
        self._proxy = None

    def _connect(self):
        if self._proxy is None:
            self._cluster = ClusterRpcProxy(self.config, context_data=self.context_data, timeout=self.attempt_timeout)
            self._proxy = self._cluster.start()
        return self._proxy

    def _drop(self) -> None:
        cluster, self._cluster, self._proxy = self._cluster, None, None
        if cluster is not None:
            try:
                with eventlet.Timeout(5):
                    cluster.stop()
            except BaseException:  # a dead connection may fail to close; it is discarded either way
                pass

    def close(self) -> None:
        self._drop()

    def call(self, service: str, method: str, kwargs: dict, key: str, deadline: float) -> Outcome:
        outcome = Outcome(key)
        while time.monotonic() < deadline:
            outcome.attempts += 1
            try:
                proxy = self._connect()
                with eventlet.Timeout(self.attempt_timeout + 5):
                    outcome.result = getattr(getattr(proxy, service), method)(**kwargs)
                outcome.kind = "ok"
                return outcome
            except (Exception, eventlet.Timeout) as exc:
                kind = classify(exc) if isinstance(exc, Exception) else "client"
                # Unavailable says "try again" (a service behind the one called did not answer in
                # time): a client asks again with the same request_id, as it does after no answer
                if kind != "client" and not isinstance(exc, Unavailable):
                    outcome.error, outcome.kind = exc, kind
                    return outcome
                outcome.faults_seen.append(type(exc).__name__)
                self._drop()
                time.sleep(min(0.2 * outcome.attempts, 2.0))
        return outcome


def storm(config: dict, calls: list[tuple[str, str, dict, str]], concurrency: int, context_data: dict | None = None,
          deadline: float = 240, attempt_timeout: float = 15, progress: list | None = None) -> list[Outcome]:  # fmt: skip
    """Make every call (service, method, kwargs, key) with `concurrency` clients at once.

    `progress`, when given, gets each finished outcome appended as it arrives, so a fault
    injector running beside the storm can act when a given share is done.
    """
    pending = list(calls)
    outcomes: list[Outcome] = []
    end = time.monotonic() + deadline

    def worker():
        client = RetryingClient(config, context_data, attempt_timeout)
        try:
            while pending:
                service, method, kwargs, key = pending.pop()
                outcome = client.call(service, method, kwargs, key, end)
                outcomes.append(outcome)
                if progress is not None:
                    progress.append(outcome)
        finally:
            client.close()

    pool = GreenPool(concurrency)
    for _ in range(concurrency):
        pool.spawn_n(worker)
    pool.waitall()
    return outcomes
