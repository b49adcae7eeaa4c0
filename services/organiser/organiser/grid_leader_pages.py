"""Organiser pages a grid leader reads too: ``/visits`` and ``/cleanups`` of the grids they lead.

Grid leaders sign in on the phone page (``/v``); their phone session names the grids they lead, and the
calls these pages make carry them (role ``grid_leader``), so the activities service answers with those
grids only and without private fields unless the visits' rule gives them. The page is read-only for
them: forms that change anything are organisers' (``can_change`` is False).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps

from werkzeug.wrappers import Request

from organiser import web
from organiser.pages import page, serve


@dataclass(frozen=True)
class LeaderLogin:
    """A grid leader's phone session, as an organiser page's ``login`` sees it."""

    display_name: str
    csrf_token: str
    lang: str
    grids: tuple[int, ...]
    user: dict = field(default_factory=dict)
    can_change: bool = False
    sees_private: bool = False

    def rpc_user(self) -> dict:
        return self.user


def leader_or_organiser_page(fn: Callable) -> Callable:
    """A GET page for an organiser's session (``organiser.pages.page``), or else a grid leader's phone
    session; anyone else goes to the organisers' sign-in as before."""

    @wraps(fn)
    def wrapper(self, request: Request, *args, **kwargs):
        me = self._me(request) if self._login(request) is None else None
        if me is None or not me.grids_led:
            return page()(fn)(self, request, *args, **kwargs)
        login = LeaderLogin(me.name, me.csrf_token, me.lang, me.grids_led, me.rpc_user())
        return serve(fn, self, request, login, web.language(request, me.lang), *args, **kwargs)

    return wrapper
