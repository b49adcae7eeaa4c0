"""Helpers of the volunteers integration tests."""

from __future__ import annotations


def patrol_volunteer(n: int, **fields) -> dict:
    """Arguments of create_volunteer for a plausible patrol volunteer number n."""
    data = {
        "name": f"志愿者{n}",
        "phone": f"139{n:08d}",
        "email": f"v{n}@example.org",
        "teams": ["voluntary_patrol"],
        "grid_id": 6,
        "alliance": "community_party_members",
        "skills": ["first_aid"],
    }
    data.update(fields)
    return data


EVENINGS = [{"weekday": d, "start": "18:30", "end": "21:30"} for d in range(5)]
WEEKEND_MORNINGS = [{"weekday": d, "start": "07:30", "end": "11:00"} for d in (5, 6)]


def local(day: str, hhmm: str) -> str:
    """ISO local time in Asia/Shanghai, e.g. local("2026-03-02", "19:00") (a Monday)."""
    return f"{day}T{hhmm}:00+08:00"
