"""HTTP plumbing of the organiser page: templates, cookies, security headers, redirects, and the
``http`` entrypoint of its pages, which keeps a community's answers under its ``/c/<slug>`` prefix."""

from __future__ import annotations

import math
import mimetypes
import re
import unicodedata
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote, unquote, urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from nameko.web.handlers import HttpRequestHandler
from werkzeug.wrappers import Request, Response

from organiser import board, i18n
from organiser.security import cookie_header

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
SESSION_COOKIE = "gyl_session"
LOGIN_CSRF_COOKIE = "gyl_login_csrf"
LANG_COOKIE = "gyl_lang"
_PRINTABLE_ASCII = "".join(chr(c) for c in range(0x21, 0x7F))

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}

env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))
env.filters["ranges"] = board.number_ranges
env.filters["number"] = board.plain_number
env.filters["at"] = board.when  # an ISO 8601 string of an RPC answer as a local datetime


# A path of this site in an attribute of a page: autoescaping turns any `"` of data into `&#34;`, so
# only the templates' own attributes match.
_SITE_PATH = re.compile(rb'(\s(?:href|action|src|formaction)=")/(?![/\\])')


def under_root(request: Request, response: Response) -> Response:
    """The answer of a request under ``/c/<slug>`` (``guanyinli.tenancy.PathPrefix``) as that
    community's: its redirect, the site paths of its page and its cookies' path get the prefix.

    Pages, templates and redirects name paths as the default community's (``/roster``); this is the
    one place that puts them under the community the request came in by, so no link, form or
    redirect of a page leads out of its community, and a cookie of one community is not sent to
    another's pages (the default community's, with ``Path=/``, reaches them too, but its session is
    not in their storage: the visitor is asked to sign in)."""
    root = request.script_root
    if not root:
        return response
    location = response.headers.get("Location")
    if location and location.startswith("/") and not location.startswith(("//", f"{root}/")):
        response.headers["Location"] = root + location
    cookies = response.headers.getlist("Set-Cookie")
    if cookies:
        del response.headers["Set-Cookie"]
        for cookie in cookies:
            response.headers.add("Set-Cookie", cookie.replace("; Path=/;", f"; Path={root}/;", 1))
    if response.mimetype == "text/html" and not response.direct_passthrough and not response.is_streamed:
        prefix = root.encode()
        response.set_data(_SITE_PATH.sub(lambda m: m.group(1) + prefix + b"/", response.get_data()))
    return response


class PageEntrypoint(HttpRequestHandler):
    """nameko's ``http`` entrypoint, answering under the community's prefix (``under_root``)."""

    def handle_request(self, request):
        return under_root(request, super().handle_request(request))


http = PageEntrypoint.decorator


def render(template: str, lang: str, status: int = 200, **context) -> Response:
    def t(key: str) -> str:
        return i18n.translate(lang, key)

    def state(kind: str, value: str | None) -> str:
        return i18n.state(lang, kind, value)

    def words(codes, names: dict | None = None) -> str:
        """Codes in words, joined as the language joins a list: each through `names`, or as a skill."""
        said = [names.get(c, c) if names is not None else i18n.skill(lang, c) for c in codes or ()]
        return ("、" if lang == "zh" else ", ").join(map(str, said))

    html = env.get_template(template).render(t=t, state=state, words=words, lang=lang, **context)
    response = Response(html, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return secure(response)


def secure(response: Response) -> Response:
    for key, value in SECURITY_HEADERS.items():
        response.headers.setdefault(key, value)
    return response


def redirect(location: str, **query) -> Response:
    if query:
        location += ("&" if "?" in location else "?") + urlencode({k: v for k, v in query.items() if v is not None})
    response = Response("", status=303)
    response.headers["Location"] = location
    return secure(response)


def safe_next(value: str | None, default: str = "/roster") -> str:
    """``value`` when it is an absolute path of this site, else ``default`` (an open redirect otherwise).

    A single leading '/', no '//' or '/\\' after it (a host to browsers), no backslash, and no control
    or whitespace characters, as given or percent-decoded: browsers drop a tab or a newline, so
    ``/\t/evil.example`` is ``//evil.example`` to them. Characters beyond ASCII are percent-encoded.
    """
    if not value:
        return default
    for form in (value, unquote(value)):
        if not form.startswith("/") or form[1:2] in ("/", "\\") or "\\" in form:
            return default
        if any(ch.isspace() or unicodedata.category(ch)[0] == "C" for ch in form):
            return default
    return quote(value, safe=_PRINTABLE_ASCII)


def back_to(request: Request) -> str:
    """The page a link was followed from, if it is one of ours."""
    referrer = request.referrer or ""
    host = request.host_url.rstrip("/") + request.script_root + "/"  # this community's pages only
    if referrer.startswith(host):
        return safe_next("/" + referrer[len(host) :])
    return "/roster"


def too_many_logins(lang: str, wait: timedelta) -> Response:
    """429 with Retry-After, saying in the page's language when to try again (whole minutes, rounded up)."""
    seconds = max(1, math.ceil(wait.total_seconds()))
    minutes = math.ceil(seconds / 60)
    message = i18n.translate(lang, "locked_minutes").format(minutes=minutes)
    response = render("error.html", lang, 429, login=None, title=i18n.translate(lang, "locked"), message=message)
    response.headers["Retry-After"] = str(seconds)
    return response


def logins_busy(lang: str) -> Response:
    """503 with Retry-After: too many logins are being checked at this moment."""
    title, message = i18n.translate(lang, "busy"), i18n.translate(lang, "logins_busy")
    response = render("error.html", lang, 503, login=None, title=title, message=message)
    response.headers["Retry-After"] = "2"
    return response


def set_cookie(response: Response, name: str, value: str, max_age: int | None, secure_flag: bool) -> None:
    response.headers.add("Set-Cookie", cookie_header(name, value, max_age, secure_flag))


def clear_cookie(response: Response, name: str, secure_flag: bool) -> None:
    response.headers.add("Set-Cookie", cookie_header(name, "", 0, secure_flag))


def static_file(name: str) -> Response:
    path = (STATIC / name).resolve()
    if STATIC not in path.parents or not path.is_file():
        return secure(Response("not found", status=404, mimetype="text/plain"))
    mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    response = Response(path.read_bytes(), mimetype=mimetype)
    response.headers["Cache-Control"] = "public, max-age=3600"
    return secure(response)


def client_address(request: Request, proxies: int = 0) -> str:
    """The client's address: the TCP peer's, or with ``proxies`` reverse proxies in front the address
    the outermost of them saw (X-Forwarded-For read from the right: entries further left are the
    client's own say and may be forged)."""
    if proxies > 0:
        forwarded = [a.strip() for a in request.headers.get("X-Forwarded-For", "").split(",") if a.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies][:64]
    return request.remote_addr or "unknown"


def language(request: Request, login_lang: str | None = None) -> str:
    if request.args.get("lang") in i18n.LANGUAGES:
        return request.args["lang"]
    return i18n.pick(login_lang or request.cookies.get(LANG_COOKIE))
