"""The sign-ups of given occurrences, for organisers' sheets: who is on each role, the waitlist,
attendance and hours (the occurrence page, printed attendance sheets, the month's export)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from activities import views
from activities.models import Signup

LIVE = ("confirmed", "waitlisted")


def signups_of(session: Session, occurrence_ids: list[int], include_cancelled: bool = False) -> list[dict]:
    """Sign-ups of the occurrences, by occurrence, role, then confirmed before waitlisted in their order."""
    query = select(Signup).where(Signup.occurrence_id.in_(sorted(set(occurrence_ids))))
    if not include_cancelled:
        query = query.where(Signup.status.in_(LIVE))
    found = [views.signup_view(session, s) for s in session.scalars(query.order_by(Signup.id))]
    order = {"confirmed": 0, "waitlisted": 1, "cancelled": 2}
    return sorted(
        found,
        key=lambda s: (s["occurrence_id"], s["role"], order[s["status"]], s["waitlist_position"] or 0, s["id"]),
    )
