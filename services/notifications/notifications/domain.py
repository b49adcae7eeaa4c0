"""Rules of the notifications service as plain Python: which messages an event produces, quiet
hours, urgency, the weekly digest, reminder times and retry backoff. No nameko, no database."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from guanyinli.timeutil import iso, local

LANGUAGES = ("zh", "en")
CHANNELS = ("email", "webhook", "sms")
MODES = ("immediate", "digest")

# Reminders go out this long before a duty starts.
REMINDER_LEADS: dict[str, timedelta] = {"24h": timedelta(hours=24), "2h": timedelta(hours=2)}

# Kinds that tell a volunteer a duty of theirs is off: urgent when the duty is close (see is_urgent).
CANCELLATIONS = frozenset({"occurrence_cancelled", "signup_cancelled", "roster_repaired"})
# A cancellation is urgent (sent even in quiet hours) when the duty starts on the same local day,
# or within this long: a 06:00 patrol cancelled at 23:00 must not wait for a 07:00 message.
URGENT_WITHIN = timedelta(hours=12)

REMINDER_KINDS = frozenset({f"reminder_{lead}" for lead in REMINDER_LEADS})
# Kinds that ask for someone to step in: urgent on the same terms as a cancellation.
STANDIN_CALLS = frozenset({"standin_offered", "standin_unfilled"})
# The recipient of messages to organisers: notifications knows no organiser with an address, so
# they go to one configured address (NOTIFICATIONS.ORGANISERS_EMAIL), kept as the contact of this id.
ORGANISERS_DESK = 0

# The sign-in codes of the volunteers' phone page (the organiser service makes and checks them)
# are good this long; the text message says so.
SIGN_IN_CODE_MINUTES = 5
# What a code texted for the organiser site is for, and the kind of its text: volunteers signing in
# to their phone page, residents sending an appeal through the public form.
CODE_PURPOSES = ("sign_in", "appeal")
CODE_TEXTS = {"sign_in": "sign_in_code", "appeal": "appeal_code"}
# Texts to residents the appeals service asks for (a resident has no preferences here: one text, now).
RESIDENT_TEXTS = ("appeal_closed",)


def sign_in_step(status: str | None) -> str:
    """What a request to text a sign-in code does, given the message its request_id has already:
    none, or one that failed: ``send`` (again); one sent: ``answer`` as then and send nothing; one
    still being sent (or whose process stopped while sending): ``refuse``, since whether it went
    is not known and a code goes at most once per request_id."""
    if status in (None, "failed"):
        return "send"
    return "answer" if status == "sent" else "refuse"


def parse_hhmm(value: str | None) -> time | None:
    if value is None:
        return None
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


@dataclass(frozen=True)
class Preferences:
    channels: tuple[str, ...] = ("email",)
    language: str = "zh"
    quiet_start: time | None = time(22, 0)
    quiet_end: time | None = time(7, 0)
    mode: str = "immediate"
    reminders: tuple[str, ...] = tuple(REMINDER_LEADS)  # the leads wanted, in REMINDER_LEADS order; () none

    @property
    def quiet_hours(self) -> bool:
        return self.quiet_start is not None and self.quiet_end is not None and self.quiet_start != self.quiet_end


DEFAULT_PREFERENCES = Preferences()


# --- quiet hours -------------------------------------------------------------------------------


def in_quiet_hours(moment: datetime, prefs: Preferences) -> bool:
    """Whether ``moment`` (any timezone) falls in the volunteer's quiet hours, read in local time."""
    if not prefs.quiet_hours:
        return False
    clock = local(moment).time()
    start, end = prefs.quiet_start, prefs.quiet_end
    if start < end:  # e.g. 13:00-14:00
        return start <= clock < end
    return clock >= start or clock < end  # across midnight, e.g. 22:00-07:00


def quiet_hours_end(moment: datetime, prefs: Preferences) -> datetime:
    """The first moment at or after ``moment`` outside the quiet hours."""
    if not in_quiet_hours(moment, prefs):
        return moment
    here = local(moment)
    end = here.replace(hour=prefs.quiet_end.hour, minute=prefs.quiet_end.minute, second=0, microsecond=0)
    if end <= here:
        end += timedelta(days=1)
    return end


def is_urgent(kind: str, duty_start: datetime | None, now: datetime) -> bool:
    """A cancellation of a duty today (or within URGENT_WITHIN) ignores quiet hours and the digest."""
    if kind not in CANCELLATIONS | STANDIN_CALLS or duty_start is None:
        return False
    if duty_start < now:
        return False
    return local(duty_start).date() == local(now).date() or duty_start - now <= URGENT_WITHIN


# --- retries -----------------------------------------------------------------------------------


def backoff(attempts: int, base: float, cap: float) -> timedelta:
    """Wait before the next try after ``attempts`` failed tries: base, 2 base, 4 base ... capped."""
    return timedelta(seconds=min(cap, base * 2 ** max(attempts - 1, 0)))


@dataclass(frozen=True)
class AfterFailure:
    dead: bool
    retry_at: datetime | None


def after_failure(
    attempts: int, max_attempts: int, permanent: bool, now: datetime, base: float, cap: float
) -> AfterFailure:
    """A failed try is retried with backoff until ``max_attempts``; a permanent failure is dead at once."""
    if permanent or attempts >= max_attempts:
        return AfterFailure(dead=True, retry_at=None)
    return AfterFailure(dead=False, retry_at=now + backoff(attempts, base, cap))


def message_id(source_id: str, volunteer_id: int, kind: str) -> str:
    """Stable across retries and replicas, so a receiver can drop a second copy."""
    digest = hashlib.sha256(f"{source_id}|{volunteer_id}|{kind}".encode()).hexdigest()[:32]
    return f"<{digest}@notifications.guanyinli>"


def message_id_in(message_id: str, community: str | None) -> str:
    """The id a message goes out with in ``community`` (None: the default community, as stored).

    The stored id digests a source id and a volunteer id, both a community's own, so another
    community's message may have the same one and a receiver would drop it as a copy: outside the
    default community the id names the community too, the same for every try."""
    if community is None:
        return message_id
    local, _, host = message_id.strip("<>").partition("@")
    return f"<{local}@{community}.{host}>"


# --- weekly digest -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DigestSchedule:
    weekday: int = 0  # Monday
    at: time = time(8, 0)

    def period_start(self, now: datetime) -> datetime:
        """The latest digest moment at or before ``now`` (local time)."""
        here = local(now)
        day = here.date() - timedelta(days=(here.weekday() - self.weekday) % 7)
        slot = datetime.combine(day, self.at, tzinfo=here.tzinfo)
        if slot > here:
            slot -= timedelta(days=7)
        return slot

    def period_key(self, now: datetime) -> str:
        return self.period_start(now).date().isoformat()

    def next_digest(self, now: datetime) -> datetime:
        return self.period_start(now) + timedelta(days=7)


def hold_for_digest(
    prefs: Preferences, kind: str, urgent: bool, concerns: datetime | None, now: datetime, schedule: DigestSchedule
) -> bool:
    """In digest mode a notice waits for the weekly digest unless it matters before that digest.

    Reminders and the digest itself are never held."""
    if prefs.mode != "digest" or urgent or kind in REMINDER_KINDS or kind == "digest":
        return False
    return concerns is None or concerns >= schedule.next_digest(now)


# --- what an event produces --------------------------------------------------------------------


@dataclass(frozen=True)
class Duty:
    volunteer_id: int
    key: str  # signup:<id> | shift:<id>
    title: str
    start: datetime
    end: datetime
    place: str | None = None
    occurrence_id: int | None = None


@dataclass(frozen=True)
class Notice:
    volunteer_id: int
    kind: str
    context: dict[str, Any]
    urgent: bool = False
    concerns: datetime | None = None  # start of the earliest duty it is about (digest rule)


@dataclass
class Plan:
    """Everything one event changes: messages to queue and the local table of duties."""

    notices: list[Notice] = field(default_factory=list)
    upsert: list[Duty] = field(default_factory=list)
    cancel: list[tuple[int, str]] = field(default_factory=list)  # (volunteer_id, duty key)
    cancel_occurrence: int | None = None
    move_occurrence: tuple[int, datetime, datetime, str | None] | None = None  # id, start, end, place


@dataclass(frozen=True)
class LocalState:
    """What the database knows that an event's plan needs."""

    occurrence_volunteers: frozenset[int] = frozenset()  # with an active duty of the occurrence
    shift_holders: dict[str, int] = field(default_factory=dict)  # shift id -> volunteer, active duties
    names: dict[int, str] = field(default_factory=dict)  # volunteer -> name, of the people an event names
    organisers: bool = False  # an organisers' address is configured (ORGANISERS_DESK)


def _occurrence_context(event: dict) -> dict:
    return {
        "title": event["title"],
        "activity_kind": event["kind"],
        "start": iso(event["start"]),
        "end": iso(event["end"]),
        "place": event.get("place"),
    }


def _shift_context(shift: dict) -> dict:
    return {
        "shift_id": shift["shift_id"],
        "grid_id": shift["grid_id"],
        "start": iso(shift["start"]),
        "end": iso(shift["end"]),
        "occurrence_id": shift.get("occurrence_id"),
    }


def shift_duty(volunteer_id: int, shift: dict) -> Duty:
    return Duty(
        volunteer_id=volunteer_id,
        key=f"shift:{shift['shift_id']}",
        title=f"grid {shift['grid_id']} patrol",
        start=shift["start"],
        end=shift["end"],
        place=None,
        occurrence_id=shift.get("occurrence_id"),
    )


def signup_duty(event: dict) -> Duty:
    return Duty(
        volunteer_id=event["volunteer_id"],
        key=f"signup:{event['signup_id']}",
        title=event["title"],
        start=event["start"],
        end=event["end"],
        place=event.get("place"),
        occurrence_id=event.get("occurrence_id"),
    )


def _plan_signup(event_type: str, event: dict, now: datetime) -> Plan:
    kind = event_type
    context = {**_occurrence_context(event), "role": event["role"], "waitlist_position": event.get("waitlist_position")}
    plan = Plan()
    duty = signup_duty(event)
    if event_type in ("signup_confirmed", "signup_promoted"):
        plan.upsert.append(duty)
    elif event_type == "signup_cancelled":
        plan.cancel.append((duty.volunteer_id, duty.key))
    urgent = is_urgent(kind, event["start"], now)
    plan.notices.append(Notice(event["volunteer_id"], kind, context, urgent, event["start"]))
    return plan


def _plan_occurrence(event_type: str, event: dict, now: datetime, state: LocalState) -> Plan:
    recipients = sorted(set(event.get("volunteer_ids") or []) | state.occurrence_volunteers)
    context = _occurrence_context(event)
    plan = Plan()
    context["reason"] = event.get("reason")
    if event_type == "occurrence_cancelled":
        plan.cancel_occurrence = event.get("occurrence_id")
        urgent = is_urgent(event_type, event["start"], now)
        concerns = event["start"]
    else:
        context["previous_start"] = iso(event["previous_start"])
        context["previous_end"] = iso(event["previous_end"])
        if event.get("occurrence_id") is not None:
            plan.move_occurrence = (event["occurrence_id"], event["start"], event["end"], event.get("place"))
        urgent = False
        concerns = min(event["start"], event["previous_start"])
    for volunteer_id in recipients:
        plan.notices.append(Notice(volunteer_id, event_type, dict(context), urgent, concerns))
    return plan


def _plan_roster(event_type: str, event: dict, now: datetime) -> Plan:
    """One message per volunteer with only their own changes; nothing for a volunteer without any."""
    plan = Plan()
    for change in event.get("changes") or []:
        added, removed = change.get("added") or [], change.get("removed") or []
        if not added and not removed:
            continue
        volunteer_id = change["volunteer_id"]
        for shift in added:
            plan.upsert.append(shift_duty(volunteer_id, shift))
        for shift in removed:
            plan.cancel.append((volunteer_id, f"shift:{shift['shift_id']}"))
        starts = [s["start"] for s in added + removed]
        urgent = any(is_urgent(event_type, s["start"], now) for s in removed)
        context = {
            "roster_id": event["roster_id"],
            "roster_start": iso(event["start"]),
            "roster_end": iso(event["end"]),
            "added": [_shift_context(s) for s in sorted(added, key=lambda s: s["start"])],
            "removed": [_shift_context(s) for s in sorted(removed, key=lambda s: s["start"])],
        }
        plan.notices.append(Notice(volunteer_id, event_type, context, urgent, min(starts)))
    return plan


def _plan_swap(event_type: str, event: dict, state: LocalState) -> Plan:
    """Each volunteer of a swap is told in their own words: what they give, what they take, with whom.

    A proposal goes to both (to the one asked, with how to answer); an acceptance and a refusal
    to both; a withdrawal to the one who was asked. Once accepted, each shift one of the two held
    passes to the other in the local table of duties."""
    plan = Plan()
    volunteers = list(dict.fromkeys(event["volunteer_ids"]))
    shifts = list(event["shifts"])
    if event_type == "swap_accepted" and len(volunteers) == 2:
        for shift in shifts:
            holder = state.shift_holders.get(str(shift["shift_id"]))
            if holder in volunteers:
                taker = volunteers[1 - volunteers.index(holder)]
                plan.cancel.append((holder, f"shift:{shift['shift_id']}"))
                plan.upsert.append(shift_duty(taker, shift))
    starts = [s["start"] for s in shifts]
    concerns = min(starts) if starts else None
    proposer = event.get("proposed_by")
    context = {
        "swap_id": event["swap_id"],
        "roster_id": event["roster_id"],
        "shifts": [_shift_context(s) for s in sorted(shifts, key=lambda s: s["start"])],
        "proposed_by": proposer,
        "by_organiser": bool(event.get("by_organiser")),
        "reason": event.get("reason"),
        "expires": iso(concerns) if concerns is not None else None,
    }
    recipients = volunteers
    if event_type == "swap_withdrawn":
        recipients = [v for v in volunteers if v != proposer]
    for volunteer_id in recipients:
        others = [v for v in volunteers if v != volunteer_id]
        personal = {**context, "with": others, "proposer": volunteer_id == proposer}
        if len(volunteers) == 2 and len(shifts) == 2:
            mine = volunteers.index(volunteer_id)
            other = others[0]
            personal.update(
                gives=_shift_context(shifts[mine]),
                takes=_shift_context(shifts[1 - mine]),
                other_id=other,
                other_name=state.names.get(other),
            )
        plan.notices.append(Notice(volunteer_id, event_type, personal, False, concerns))
    return plan


def _plan_standin(event_type: str, event: dict, now: datetime, state: LocalState) -> Plan:
    """A stand-in offer: to each volunteer who fits it (offered); to both volunteers and the grid
    leader (taken: the duty moves in the local table too); to the organisers, the grid leader and
    the volunteer who cannot come (unfilled). Each reads it in their own words (``audience``)."""
    plan = Plan()
    start, volunteer, leader = event["duty_start"], event["volunteer_id"], event.get("grid_leader_id")
    context = {
        **_occurrence_context(event),
        "role": event["role"],
        "duty_start": iso(start),
        "duty_end": iso(event["duty_end"]),
        "offer_id": event["offer_id"],
        "grid_id": event.get("grid_id"),
    }
    urgent = is_urgent(event_type, start, now)
    audiences: dict[int, str] = {}
    if event_type == "standin_offered":
        audiences = dict.fromkeys(event.get("candidate_ids") or [], "candidate")
    elif event_type == "standin_taken":
        taker = event["taken_by"]
        context.update(taken_by=taker, taker_name=state.names.get(taker), volunteer_name=state.names.get(volunteer))
        audiences = {volunteer: "volunteer", taker: "taker"}
        kept = f"shift:{event['occurrence_id']}" if event.get("rostered") else f"signup:{event['new_signup_id']}"
        plan.cancel += [(volunteer, f"signup:{event['signup_id']}"), (volunteer, f"shift:{event['occurrence_id']}")]
        plan.upsert.append(
            Duty(taker, kept, event["title"], start, event["duty_end"], event.get("place"), event.get("occurrence_id"))
        )
    else:
        audiences = {volunteer: "volunteer"}
        if state.organisers:
            audiences[ORGANISERS_DESK] = "organisers"
    if leader is not None:
        audiences.setdefault(leader, "leader")
    for volunteer_id, audience in audiences.items():
        personal = {**context, "audience": audience}
        plan.notices.append(Notice(volunteer_id, event_type, personal, urgent, start))
    return plan


def _plan_appeal(event_type: str, event: dict, now: datetime, state: LocalState) -> Plan:
    """A resident's appeal: a new one to its handler (to accept), or to the organisers' desk when
    nobody may take it now; a step of its time limits' ladder to whom the step names (the handler,
    the grid leader, or the community office at the organisers' desk, which also hears of a step of
    an appeal nobody handles). No resident's data: category, place, number and times only. Urgent
    appeals are urgent messages (no quiet hours, no digest)."""
    context = {
        "appeal_id": event["appeal_id"],
        "category": event["category"],
        "urgency": event.get("urgency") or "normal",
        "grid_id": event["grid_id"],
        "courtyard": event.get("courtyard"),
    }
    urgent = context["urgency"] == "urgent"
    if event_type == "appeal_assigned":
        recipient, audience, concerns = event.get("handler_id"), "handler", now
        context["why"] = event["why"]
    else:
        level = event["level"]
        recipient = event.get("recipient_id") if level in ("handler", "grid_leader") else None
        audience = "leader" if level == "grid_leader" else "handler"
        concerns = event["deadline"]
        context.update(
            stage=event["stage"],
            level=level,
            handler_id=event.get("handler_id"),
            deadline=iso(event["deadline"]),
        )
    plan = Plan()
    if recipient is None:
        if not state.organisers:
            return plan
        recipient, audience = ORGANISERS_DESK, "organisers"
    plan.notices.append(Notice(recipient, event_type, {**context, "audience": audience}, urgent, concerns))
    return plan


SIGNUP_EVENTS = ("signup_confirmed", "signup_waitlisted", "signup_promoted", "signup_cancelled")
OCCURRENCE_EVENTS = ("occurrence_cancelled", "occurrence_changed")
ROSTER_EVENTS = ("roster_published", "roster_repaired")
SWAP_EVENTS = ("swap_proposed", "swap_accepted", "swap_declined", "swap_withdrawn")
STANDIN_EVENTS = ("standin_offered", "standin_taken", "standin_unfilled")
ACTIVITY_EVENTS = SIGNUP_EVENTS + OCCURRENCE_EVENTS + ROSTER_EVENTS + SWAP_EVENTS + STANDIN_EVENTS
APPEAL_EVENTS = ("appeal_assigned", "appeal_escalated")


def plan_event(event_type: str, event: dict, now: datetime, state: LocalState = LocalState()) -> Plan:
    """The messages and duty changes one activities or appeals event produces (``event`` as ``events.read``
    gives it)."""
    if event_type in SIGNUP_EVENTS:
        return _plan_signup(event_type, event, now)
    if event_type in OCCURRENCE_EVENTS:
        return _plan_occurrence(event_type, event, now, state)
    if event_type in ROSTER_EVENTS:
        return _plan_roster(event_type, event, now)
    if event_type in SWAP_EVENTS:
        return _plan_swap(event_type, event, state)
    if event_type in STANDIN_EVENTS:
        return _plan_standin(event_type, event, now, state)
    if event_type in APPEAL_EVENTS:
        return _plan_appeal(event_type, event, now, state)
    raise ValueError(f"no plan for event {event_type!r}")


# --- reminders ---------------------------------------------------------------------------------


def reminder_leads(chosen: Iterable[str]) -> tuple[str, ...]:
    """The known leads among ``chosen``, in the order of REMINDER_LEADS (unknown ones dropped)."""
    chosen = set(chosen)
    return tuple(lead for lead in REMINDER_LEADS if lead in chosen)


def reminder_times(
    start: datetime, now: datetime, wanted: Iterable[str] = tuple(REMINDER_LEADS)
) -> list[tuple[str, datetime]]:
    """(lead, due) of the reminders still ahead for a duty starting at ``start``, of the ``wanted``
    leads only (``Preferences.reminders``): a lead the volunteer turned off is never planned."""
    wanted = set(wanted)
    return [(lead, start - delta) for lead, delta in REMINDER_LEADS.items() if lead in wanted and start - delta > now]


def reminder_context(title: str, start: datetime, end: datetime, place: str | None, lead: str) -> dict:
    return {"title": title, "start": iso(start), "end": iso(end), "place": place, "lead": lead}


# --- at send time ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    action: str  # send | defer | skip | expire
    until: datetime | None = None
    reason: str | None = None


def decide(kind: str, urgent: bool, context: dict, prefs: Preferences, active: bool, now: datetime) -> Decision:
    """What to do with a due delivery right now."""
    if not active:
        return Decision("skip", reason="volunteer is not active")
    if kind in REMINDER_KINDS and kind.removeprefix("reminder_") not in prefs.reminders:
        # queued before the volunteer turned this lead off (e.g. waiting for the quiet hours to end)
        return Decision("skip", reason="the volunteer turned this reminder off")
    if kind in REMINDER_KINDS and datetime.fromisoformat(context["start"]) <= now:
        return Decision("expire", reason="the duty has started")
    if not urgent and in_quiet_hours(now, prefs):
        return Decision("defer", until=quiet_hours_end(now, prefs))
    return Decision("send")
