"""The sender: claims due deliveries, sends each through its channel and records the outcome.

Delivered once, and where the guarantee stops:

1. A delivery is claimed (status ``sending``, ``claimed_by``, ``claimed_until = now + lease``)
   and that claim is committed *before* the channel is called.
2. After a successful send its row is marked ``sent`` in a transaction of its own, at once.
3. A replica killed between 1 and 2 leaves the row ``sending``; when the lease runs out another
   replica (or the same one restarted) claims it again and sends it again.

So a second copy is possible only if the process dies after the receiver accepted the message
(SMTP answered 250 to the end of DATA, the webhook answered 2xx) and before the commit of step 2:
a window of one database round trip. A death anywhere earlier (connecting, during the SMTP
dialogue, while the webhook is waiting) sends nothing and the retry is the first copy. For that
remaining window every copy carries the same id (``Message-ID`` header, ``X-Guanyinli-Delivery``)
derived from the outbox key, so a receiver can drop the duplicate. A send that outlives its lease
is avoided by renewing the lease during a batch; the lease must stay longer than one send's
timeout.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from guanyinli.errors import NotFound, PlatformError
from guanyinli.timeutil import to_db
from notifications import domain, rendering, store
from notifications.channels import DeliveryFailed, OutgoingMessage, Recipient
from notifications.dependencies import Settings

log = logging.getLogger(__name__)


@dataclass
class Tally:
    sent: int = 0
    retried: int = 0
    dead: int = 0
    deferred: int = 0
    skipped: int = 0
    lost_claims: int = 0
    no_address: int = 0  # dead letters because the volunteer has no address for the channel
    errors: list[str] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return self.sent + self.retried + self.dead + self.deferred + self.skipped


class Sender:
    """One poll's worth of sending. ``directory`` answers ``get_volunteer`` for unknown volunteers."""

    def __init__(self, db, channels, clock, settings: Settings, directory, replica: str):
        self.db, self.channels, self.clock, self.settings = db, channels, clock, settings
        self.directory, self.replica = directory, replica
        self._contacts: dict[int, tuple[Recipient, bool]] = {}  # of the batch being sent
        self._preferences: dict[int, domain.Preferences] = {}
        self._asked: set[int] = set()  # volunteers asked of the volunteers service in this batch
        # channels whose server could not be reached in this poll: the rest of the batch does not
        # wait for a timeout each; those deliveries fail fast and retry with backoff
        self._down: dict[str, str] = {}

    def run(self) -> Tally:
        tally = Tally()
        deadline = time.monotonic() + self.settings.tick_budget
        while time.monotonic() < deadline:
            token = f"{self.replica}:{uuid.uuid4().hex[:8]}"
            now = self.clock.now()
            with self.db.get_session() as session:
                jobs = store.claim(session, now, token, self.settings.claim_lease, self.settings.batch)
                volunteer_ids = [job.volunteer_id for job in jobs]
                self._contacts = {
                    i: (Recipient(i, c.name, c.email, c.phone), c.active)
                    for i, c in store.contacts(session, volunteer_ids).items()
                }
                self._preferences = store.preferences_of(session, volunteer_ids)
                self._asked = set()
            if not jobs:
                break
            lease_end = now + timedelta(seconds=self.settings.claim_lease)
            for job in jobs:
                lease_end = self._keep_lease(token, lease_end)
                self._one(job, token, tally)
        if tally.no_address:
            log.info("%d deliveries dead-lettered: the volunteer has no address for the channel", tally.no_address)
        return tally

    def _keep_lease(self, token: str, lease_end: datetime) -> datetime:
        now = self.clock.now()
        lease = timedelta(seconds=self.settings.claim_lease)
        if lease_end - now > lease / 2:
            return lease_end
        with self.db.get_session() as session:
            store.renew(session, token, now + lease)
        return now + lease

    def _recipient(self, volunteer_id: int, address: str | None = None) -> tuple[Recipient, bool]:
        """Contact details (asking the volunteers service when unknown) and whether the volunteer is
        active. Volunteer events carry no phone number: a channel whose ``address`` is the phone
        asks the volunteers service when the number is not known yet (or was changed since)."""
        known = self._contacts.get(volunteer_id)
        if known is not None and (address != "phone" or known[0].phone or volunteer_id in self._asked):
            return known
        found = self.directory.get_volunteer(volunteer_id)  # NotFound / Unavailable propagate
        self._asked.add(volunteer_id)
        with self.db.get_session() as session:
            store.save_contact(
                session,
                volunteer_id,
                self.clock.now(),
                name=found.get("name"),
                email=found.get("email"),
                phone=found.get("phone"),
                active=bool(found.get("active", True)),
            )
        self._contacts[volunteer_id] = (
            Recipient(volunteer_id, found.get("name"), found.get("email"), found.get("phone")),
            bool(found.get("active", True)),
        )
        return self._contacts[volunteer_id]

    def _one(self, job: store.Job, token: str, tally: Tally) -> None:
        now = self.clock.now()
        try:
            channel = self.channels.get(job.channel)
            recipient, active = self._recipient(job.volunteer_id, getattr(channel, "address", None))
            prefs = self._preferences[job.volunteer_id]
            decision = domain.decide(job.kind, job.urgent, job.context, prefs, active, now)
            if decision.action == "defer":
                with self.db.get_session() as session:
                    self._note(store.defer(session, job, token, decision.until), tally, "deferred")
                return
            if decision.action in ("skip", "expire"):
                status = "skipped" if decision.action == "skip" else "expired"
                with self.db.get_session() as session:
                    self._note(store.finish(session, job, token, status, last_error=decision.reason), tally, "skipped")
                return
            if job.channel in self._down:
                raise DeliveryFailed(f"{self._down[job.channel]} (not tried: unreachable earlier in this poll)")
            if channel is None:
                raise DeliveryFailed(f"channel {job.channel} is not configured on this service", permanent=True)
            unreachable = channel.unreachable(recipient)
            if unreachable:  # a gap in the volunteer's contact data, not a fault: a dead letter, one line a poll
                tally.no_address += 1
                self._failed(job, token, unreachable, True, tally, level=logging.DEBUG)
                return
            text = rendering.render(job.kind, prefs.language, job.context, recipient.name)
            message = OutgoingMessage(
                message_id=job.message_id,
                kind=job.kind,
                language=prefs.language,
                subject=text.subject,
                text=text.text,
                recipient=recipient,
                sent_at=now,
                data=job.context,
            )
            channel.send(message)
        except DeliveryFailed as exc:
            if exc.unreachable:
                self._down[job.channel] = str(exc)
            self._failed(job, token, str(exc), exc.permanent, tally)
            return
        except NotFound as exc:
            self._failed(job, token, f"volunteer unknown: {exc}", True, tally)
            return
        except PlatformError as exc:  # Unavailable: the volunteers service did not answer
            self._failed(job, token, f"{type(exc).__name__}: {exc}", False, tally)
            return
        except Exception as exc:  # a fault of ours (a template, the database): retried, then visible
            log.exception("delivery %s failed", job.delivery_id)
            self._failed(job, token, f"{type(exc).__name__}: {exc}", False, tally)
            return
        with self.db.get_session() as session:
            ok = store.finish(session, job, token, "sent", sent_at=to_db(self.clock.now()), last_error=None)
        self._note(ok, tally, "sent")

    def _failed(
        self, job: store.Job, token: str, error: str, permanent: bool, tally: Tally, level: int = logging.WARNING
    ) -> None:
        s = self.settings
        outcome = domain.after_failure(
            job.attempts, s.max_attempts, permanent, self.clock.now(), s.backoff_base, s.backoff_max
        )
        with self.db.get_session() as session:
            if outcome.dead:
                ok = store.finish(session, job, token, "dead", last_error=error)
            else:
                ok = store.finish(
                    session, job, token, "pending", next_attempt_at=to_db(outcome.retry_at), last_error=error
                )
        log.log(level, "delivery %s (%s) try %d failed: %s", job.delivery_id, job.channel, job.attempts, error)
        self._note(ok, tally, "dead" if outcome.dead else "retried")
        tally.errors.append(error)

    def _note(self, ok: bool, tally: Tally, what: str) -> None:
        if ok:
            setattr(tally, what, getattr(tally, what) + 1)
        else:
            tally.lost_claims += 1
            log.warning("a claim ran out before its delivery finished; another replica owns it now")
