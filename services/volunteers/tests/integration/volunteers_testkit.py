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
