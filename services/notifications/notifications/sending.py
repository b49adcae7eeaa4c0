"""The sender: claims due deliveries, sends each through its channel and records the outcome.

Delivered once, and where the guarantee stops:

1. A delivery is claimed (status ``sending``, ``claimed_by``, ``claimed_until = now + lease``)
   and that claim is committed *before* the channel is called.
2. After a successful send its row is marked ``sent`` at once. A poll sends through
   ``SENDERS`` lanes at once (greenlets, each over its own SMTP connection); the marks of lanes
   whose servers answered while a commit was under way, or in the same turn of the hub, go in
   one transaction together (a group commit). No mark waits for another message's send, only
   for the commit in progress, so the window below stays one commit long.
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

SMTP connections are kept from message to message and from poll to poll. When a kept connection
is found closed at the first command of a message (``MAIL FROM``), nothing of that message has
reached the server, and it is sent at once on a new connection: no copy, no wait. A connection
lost later in the dialogue fails that try as any failure does (retried with backoff).
"""

from __future__ import annotations

import collections
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import eventlet
import eventlet.event

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
    """One poll's worth of sending in one community: ``db`` reaches its storage and nothing else,
    and what the sender keeps (contacts, preferences, claimed jobs, marks to record) is of that
    community only, since ids are each community's own. ``community`` is None for the default
    community, else its slug (``domain.message_id_in``). ``directory`` answers ``get_volunteer``
    for unknown volunteers."""

    def __init__(self, db, channels, clock, settings: Settings, directory, replica: str, community: str | None = None):
        self.db, self.channels, self.clock, self.settings = db, channels, clock, settings
        self.directory, self.replica, self.community = directory, replica, community
        self._contacts: dict[int, tuple[Recipient, bool]] = {}  # of the batch being sent
        self._preferences: dict[int, domain.Preferences] = {}
        self._asked: set[int] = set()  # volunteers asked of the volunteers service in this batch
        # channels whose server could not be reached in this poll: the rest of the batch does not
        # wait for a timeout each; those deliveries fail fast and retry with backoff
        self._down: dict[str, str] = {}
        self._lease_end = clock.now()  # of the batch being sent
        self._marks: list = []  # deliveries sent, waiting for the commit that records them
        self._recording = False  # a lane is committing marks

    def run(self, budget: float | None = None) -> Tally:
        """Claim and send batches for ``budget`` seconds at most (``TICK_BUDGET`` by default)."""
        tally = Tally()
        deadline = time.monotonic() + (self.settings.tick_budget if budget is None else budget)
        first = True  # one batch at least, even when the budget is spent (``pump`` shares it out)
        while first or time.monotonic() < deadline:
            first = False
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
            self._lease_end = now + timedelta(seconds=self.settings.claim_lease)
            self._send_all(jobs, token, tally)
        if tally.no_address:
            log.info("%d deliveries dead-lettered: the volunteer has no address for the channel", tally.no_address)
        return tally

    def _send_all(self, jobs: list[store.Job], token: str, tally: Tally) -> None:
        """The claimed jobs through ``settings.senders`` lanes at once (greenlets, each with its own
        channel set, so its own SMTP connection): while one lane waits for the server's answer,
        another renders, sends or records. Each delivery is still recorded as soon as its channel
        has answered (``_record_sent``: the guarantee above does not change)."""
        waiting = collections.deque(jobs)

        def lane(channels) -> None:
            while waiting:
                job = waiting.popleft()
                self._keep_lease(token)
                self._one(job, token, tally, channels)

        # The first delivery goes alone: a server found down then fails the rest of the poll fast
        # (``_down``) instead of every lane waiting on it at once.
        first = waiting.popleft()
        self._keep_lease(token)
        self._one(first, token, tally, self.channels)
        lanes = min(self.settings.senders, len(waiting))
        if lanes <= 1:
            lane(self.channels)
            return
        threads = [eventlet.spawn(lane, self.channels.lane(i)) for i in range(lanes)]
        errors = []
        for thread in threads:
            try:
                thread.wait()
            except Exception as exc:  # noqa: PERF203 - every lane is waited for before one error is raised
                errors.append(exc)
        if errors:
            raise errors[0]

    def _keep_lease(self, token: str) -> None:
        now = self.clock.now()
        lease = timedelta(seconds=self.settings.claim_lease)
        if self._lease_end - now > lease / 2:
            return
        self._lease_end = now + lease  # before the commit: another lane does not renew it again
        with self.db.get_session() as session:
            store.renew(session, token, now + lease)

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

    def _one(self, job: store.Job, token: str, tally: Tally, channels) -> None:
        now = self.clock.now()
        try:
            channel = channels.get(job.channel)
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
                message_id=domain.message_id_in(job.message_id, self.community),
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
        self._note(self._record_sent(job, token), tally, "sent")

    def _record_sent(self, job: store.Job, token: str) -> bool:
        """Mark ``job`` sent, at once; False when its claim was lost. Lanes whose servers answered
        while a transaction was being committed, or in the same turn of the hub, share the next
        one (a group commit): no delivery waits for another's send, only for that commit."""
        done = eventlet.event.Event()
        self._marks.append((job, to_db(self.clock.now()), done))
        if not self._recording:
            self._recording = True
            try:
                eventlet.sleep(0)  # lanes answered in this turn add their marks
                while self._marks:
                    marks, self._marks = self._marks, []
                    try:
                        with self.db.get_session() as session:
                            results = [
                                store.finish(session, j, token, "sent", sent_at=at, last_error=None)
                                for j, at, _ in marks
                            ]
                    except Exception as exc:  # every lane waiting on this commit sees its failure
                        for _, _, event in marks:
                            event.send_exception(exc)
                        continue
                    for (_, _, event), ok in zip(marks, results, strict=True):
                        event.send(ok)
            finally:
                self._recording = False
        return done.wait()

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
