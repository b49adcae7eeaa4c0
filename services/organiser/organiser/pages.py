"""What every organiser page shares: the ``page`` decorator (the session, CSRF on POST, remote failures
as pages), the failure page, and the directory's team and grid names in the page's language.

Its own module so that the pages' mixins can import it when they load (``organiser.service`` imports
the mixins to build its class).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from werkzeug.wrappers import Request, Response

from guanyinli.errors import Conflict, Forbidden, InvalidInput, NotFound
from organiser import web
from organiser.i18n import translate
from organiser.remote import UNREACHABLE, Failure, classify
from organiser.security import csrf_ok


class HttpFailure(Exception):
    """Raised by a page to answer with ``response`` instead."""

    def __init__(self, response: Response):
        self.response = response


def page(need_login: bool = True, change: bool = False):
    """Decorate an @http method: resolve the session, check CSRF on POST, map remote failures.

    The method receives ``(request, login, lang, *args)``.
    """

    def decorate(fn: Callable):
        @wraps(fn)
        def wrapper(self, request: Request, *args, **kwargs):
            login = self._login(request)
            lang = web.language(request, login.lang if login else None)
            if need_login and login is None:
                reason = "session_expired" if request.cookies.get(web.SESSION_COOKIE) else "login_needed"
                back = request.full_path.rstrip("?") if request.method == "GET" else "/roster"
                return web.redirect("/login", next=back, why=reason)
            if request.method == "POST" and need_login:
                if not csrf_ok(login.csrf_token, request.form.get("csrf")):
                    return web.render(
                        "error.html", lang, 403, login=login, title=translate(lang, "csrf_failed"), message=""
                    )
                if change and not login.can_change:
                    return web.render(
                        "error.html", lang, 403, login=login, title=translate(lang, "forbidden"), message=""
                    )
            return serve(fn, self, request, login, lang, *args, **kwargs)

        return wrapper

    return decorate


def serve(fn: Callable, service, request: Request, login, lang: str, *args, **kwargs) -> Response:
    """Runs the page ``fn`` as ``login`` (the page's calls carry its token); a failed remote call or an
    ``HttpFailure`` becomes the page answered."""
    try:
        if login is not None:
            service.act_as(login.rpc_user())
        return fn(service, request, login, lang, *args, **kwargs)
    except Exception as exc:
        return failed(exc, lang, login)


def failed(exc: Exception, lang: str, login) -> Response:
    """The page for ``exc``: an ``HttpFailure``'s response, a failed remote call's page; anything else raised."""
    if isinstance(exc, HttpFailure):
        return exc.response
    failure = classify(exc)
    if failure is None:
        raise exc
    return failure_page(lang, login, failure, type(exc))


def failure_page(lang: str, login, failure: Failure, kind: type | None) -> Response:
    """A failed remote call as a page: 503 when a service did not answer, 404, 403, 400 otherwise."""
    status, title = 400, "error"
    if failure.code == UNREACHABLE:
        status, title = 503, "unreachable"
    elif kind is not None and issubclass(kind, NotFound):
        status, title = 404, "not_found"
    elif kind is not None and issubclass(kind, Forbidden):
        status, title = 403, "not_allowed"
    elif kind is not None and issubclass(kind, InvalidInput):
        title = "check_input"
    elif kind is not None and issubclass(kind, Conflict):  # well formed, but the rules or the current state say no
        title = "refused"
    message = failure.message_zh if lang == "zh" and failure.message_zh else failure.message
    return web.render("error.html", lang, status, login=login, title=translate(lang, title), message=message)


def directory_words(teams: list[dict], grids: list[dict], lang: str) -> dict:
    """Team and grid names for the volunteer pages, in the page's language (a code stays a code when the
    directory has no name for it)."""
    return {
        "team_names": {t["code"]: (t.get("name_zh") if lang == "zh" else t.get("name")) or t["code"] for t in teams},
        "grid_labels": {int(g["id"]): " ".join(x for x in (g.get("code"), g.get("name")) if x) for g in grids},
    }
