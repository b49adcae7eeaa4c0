"""Every process's list of revoked identities (``guanyinli.identity.REVOCATIONS``), kept current.

The organiser service records a revocation (an account deactivated, a token given away by
mistake: ``organiser.revoke_identity``) and announces it with ``organiser.identity_revoked``.
Every service class takes ``RevocationListener`` among its bases: each of its processes hears
the event (a broadcast handler, one queue per process) and, when it starts, asks the organiser
service for the revocations it may have missed while it was down (``list_revocations``), trying
again with a growing pause until it gets an answer.
"""

from __future__ import annotations

import logging

import eventlet
from nameko.events import BROADCAST
from nameko.extensions import DependencyProvider

from guanyinli import identity
from guanyinli.events import read
from guanyinli.rpc import event_handler

log = logging.getLogger(__name__)

CATCH_UP_PAUSES = (1, 2, 5, 10, 30, 60)  # seconds between tries; the last repeats


def apply(revocation: dict, revocations: identity.Revocations = identity.REVOCATIONS) -> None:
    """Record one revocation (``subject``, ``before``: an aware datetime or a UNIX time)."""
    before = revocation["before"]
    at = before.timestamp() if hasattr(before, "timestamp") else float(before)
    revocations.revoke(subject=revocation["subject"], before=at)


class CatchUp(DependencyProvider):
    """At start, asks ``organiser.list_revocations`` (as the service itself) until it answers."""

    def start(self):
        self.container.spawn_managed_thread(self._catch_up, identifier="revocation catch-up")

    def _catch_up(self) -> None:
        from guanyinli.client import Client  # a plain client: no worker to borrow a proxy from

        config = self.container.config
        attempt = 0
        while True:
            try:
                context = identity.service_context(self.container.service_name, config)
                with Client(config, context_data=context, timeout=10) as client:
                    found = client.organiser.list_revocations()
                for revocation in found:
                    apply({"subject": revocation["subject"], "before": revocation["before_ts"]})
                log.info("revocations: %d known", len(found))
                return
            except Exception as exc:  # noqa: BLE001 - the organiser service may not run yet
                pause = CATCH_UP_PAUSES[min(attempt, len(CATCH_UP_PAUSES) - 1)]
                log.debug("revocations not fetched yet (%s); again in %s s", type(exc).__name__, pause)
                attempt += 1
                eventlet.sleep(pause)

    def get_dependency(self, worker_ctx):
        return None


class RevocationListener:
    """A base of every service class: hears ``organiser.identity_revoked`` in every process."""

    revocation_catch_up = CatchUp()

    @event_handler("organiser", "identity_revoked", handler_type=BROADCAST, reliable_delivery=False)
    def on_identity_revoked(self, payload):
        """Tokens of the subject issued before the revocation are refused from now on."""
        event = read("identity_revoked", payload)
        apply(event)
        log.info("identity revoked: %s", event["subject"])
