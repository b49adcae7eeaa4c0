"""Helpers shared by the organiser integration and browser tests."""

from __future__ import annotations

import socket

from activities.service import ActivitiesService

PASSWORD = "correct horse battery staple"


def activities_class():
    """The real activities service; its roster calls come from the stand-in until it has them."""
    if hasattr(ActivitiesService, "build_roster"):
        return ActivitiesService
    import standin_roster

    standin_roster.reset()
    return type("ActivitiesService", (ActivitiesService, standin_roster.StandInRoster), {})


def own_web_port(config: dict) -> dict:
    """A copy of ``config`` with a web port of its own.

    The activities service serves feeds over HTTP too; two containers of one test process on the
    same port would share it (SO_REUSEPORT) and answer each other's requests. The organiser
    keeps the fixture's port (the one ``web_session`` talks to); activities gets this one.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return dict(config, WEB_SERVER_ADDRESS=f"127.0.0.1:{port}")


def start_platform(container_factory, config: dict) -> None:
    """volunteers, activities (with personal feeds enabled) and organiser, started."""
    from organiser.service import OrganiserService
    from volunteers.service import VolunteersService

    config["FEED_SECRET"] = "organiser-tests-feed-secret"
    container_factory(VolunteersService, config).start()
    container_factory(activities_class(), own_web_port(config)).start()
    container_factory(OrganiserService, config).start()
