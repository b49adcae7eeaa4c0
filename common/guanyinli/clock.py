"""The service clock as a nameko dependency: ``self.clock.now()``, which tests swap for their own."""

from __future__ import annotations

from datetime import datetime

from nameko.extensions import DependencyProvider

from guanyinli.timeutil import now


class SystemClock:
    def now(self) -> datetime:
        return now()


class Clock(DependencyProvider):
    """``self.clock.now()``: an aware datetime. Tests swap it (``replace_dependencies(container, clock=...)``)."""

    def setup(self):
        self.clock = SystemClock()

    def get_dependency(self, worker_ctx):
        return self.clock
