"""The current time as a nameko dependency, so tests set it instead of depending on today."""

from __future__ import annotations

from datetime import datetime

from nameko.extensions import DependencyProvider

from guanyinli.timeutil import now


class SystemClock:
    """The moment now, aware: ``clock()`` or ``clock.now()``."""

    def now(self) -> datetime:
        return now()

    def __call__(self) -> datetime:
        return now()


class Clock(DependencyProvider):
    """``self.clock()``: an aware datetime. Tests swap it (``replace_dependencies(container, clock=...)``)
    with any callable that returns one."""

    def setup(self):
        self.clock = SystemClock()

    def get_dependency(self, worker_ctx):
        return self.clock
