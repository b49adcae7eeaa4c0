"""A volunteer's roster settings as a form (the organiser page and the volunteer's phone page): what
the form sends, read into the arguments of ``volunteers.update_volunteer``, which checks the values.

A box left unticked is not in a form at all, so the days and times ticked are the whole list; an empty
number field empties the setting (``clear``).
"""

from __future__ import annotations

from collections.abc import Mapping

from guanyinli.errors import InvalidInput

TIMES_OF_DAY = ("morning", "afternoon", "evening")


def _whole(text: str | None, field: str) -> int | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise InvalidInput(f"{field}: a whole number, or empty", "请填写整数，或留空") from None


def _numbers(form, field: str) -> list[int]:
    """The values of a field sent several times (ticked boxes, chosen partners), empty ones left out."""
    return sorted({n for n in (_whole(v, field) for v in form.getlist(field)) if n is not None})


def read(form, organiser: bool) -> dict:
    """``update_volunteer``'s roster arguments from a form: the weekly cap (``max_duties_per_week``), the
    days (``day``) and times of day (``time``) ticked; an organiser's form also the target a month
    (``target_per_month``) and the partners chosen (``partner``, several)."""
    times = [t for t in TIMES_OF_DAY if t in form.getlist("time")]
    numbers = {"max_duties_per_week": _whole(form.get("max_duties_per_week"), "max_duties_per_week")}
    if organiser:
        numbers["target_per_month"] = _whole(form.get("target_per_month"), "target_per_month")
    found = {k: v for k, v in numbers.items() if v is not None}
    found.update(preferred_days=_numbers(form, "day"), preferred_times=times)
    found["clear"] = [k for k, v in numbers.items() if v is None]
    if organiser:
        found["partners"] = _numbers(form, "partner")
    return found


def partner_choices(candidates: list[dict], chosen: Mapping[int, str], volunteer_id: int) -> list[tuple[int, str]]:
    """(id, name) of the volunteers an organiser may choose from, by name: the candidates (active patrol
    team members of the volunteer's grid) and the partners already chosen, never the volunteer."""
    names = {int(c["id"]): c["name"] for c in candidates if c.get("active", True)}
    names.update(chosen)
    names.pop(volunteer_id, None)
    return sorted(((vid, name) for vid, name in names.items()), key=lambda p: (p[1], p[0]))
