"""The lecture hall as the organiser tools use it (the page and the command line): coming lectures
with their seats and duties, the door list, registering, checking in and cancelling, and filling
the setup and reception duties. Only calls and plain rows: the rules are the activities service's."""

from __future__ import annotations

from datetime import datetime, timedelta

from guanyinli.errors import NotFound
from guanyinli.timeutil import iso
from organiser.remote import Platform

UPCOMING_DAYS = 60
DUTY_ROLES = ("setup", "reception")  # activities.domain.LECTURE_DUTIES


def duty_fill(occurrence: dict) -> list[dict]:
    """The lecture's setup and reception duties: name, seats, confirmed, the confirmed volunteers."""
    return [
        {k: role[k] for k in ("name", "capacity", "confirmed", "volunteer_ids", "waitlisted")}
        for role in occurrence.get("roles", ())
        if role["name"] in DUTY_ROLES
    ]


def row(occurrence: dict) -> dict:
    """One coming lecture as the list shows it."""
    capacity, registered = occurrence.get("attendee_capacity"), occurrence.get("attendees", 0)
    return {
        "id": occurrence["id"],
        "title": occurrence["title"],
        "start": occurrence["start"],
        "end": occurrence["end"],
        "place": occurrence.get("place"),
        "status": occurrence["status"],
        "registered": registered,
        "capacity": capacity,
        "full": capacity is not None and registered >= capacity,
        "waitlisted": occurrence.get("attendees_waitlisted", 0),
        "duties": duty_fill(occurrence),
    }


class LectureHall:
    """The calls of the lecture pages and commands, over a ``Platform``."""

    def __init__(self, platform: Platform):
        self.platform = platform
        self.activities = platform.activities

    def upcoming(self, moment: datetime, days: int = UPCOMING_DAYS) -> list[dict]:
        """Lectures from ``moment`` (those under way too) over ``days`` days, in time order."""
        found = self.activities.list_occurrences(
            start=iso(moment - timedelta(hours=4)), end=iso(moment + timedelta(days=days)), kind="lecture"
        )
        return [row(o) for o in found if datetime.fromisoformat(o["end"]) > moment]

    def lecture(self, occurrence_id: int) -> dict:
        """The occurrence with its duties and their volunteers' names."""
        occurrence = self.activities.get_occurrence(occurrence_id=occurrence_id)
        if occurrence["kind"] != "lecture":
            raise NotFound(f"occurrence {occurrence_id} is not a lecture", f"活动{occurrence_id}不是讲座")
        duties = duty_fill(occurrence)
        ids = {v for d in duties for v in d["volunteer_ids"]}
        names = self.platform.names(ids) if ids else {}
        for duty in duties:
            duty["volunteers"] = [names.get(v, f"#{v}") for v in duty["volunteer_ids"]]
        return {**row(occurrence), "duties": duties, "kind": occurrence["kind"]}

    def door(self, occurrence_id: int, query: str | None = None) -> dict:
        return self.activities.door_list(occurrence_id=occurrence_id, query=query or None)

    def register(self, occurrence_id: int, name: str, phone: str | None) -> dict:
        return self.activities.register_attendee(occurrence_id=occurrence_id, name=name, phone=phone or None)

    def check_in(self, registration_id: int, undo: bool = False) -> dict:
        return self.activities.check_in(registration_id=registration_id, undo=undo)

    def cancel(self, registration_id: int) -> dict:
        return self.activities.cancel_registration(registration_id=registration_id)

    def add_to_duty(self, occurrence_id: int, role: str, volunteer_id: int) -> dict:
        """Sign a volunteer up for setup or reception on their behalf (the service's rules apply)."""
        if role not in DUTY_ROLES:
            raise ValueError(f"role: {' or '.join(DUTY_ROLES)}")
        return self.activities.sign_up(occurrence_id=occurrence_id, volunteer_id=volunteer_id, role=role)
