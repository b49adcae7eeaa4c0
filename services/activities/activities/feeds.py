"""iCal feeds of the activities service: HTTP entrypoints and the RPC that hands out personal feed links.

``FeedsMixin`` joins ``ActivitiesService`` through its bases and uses its ``db``, ``caller`` and ``clock``.

HTTP (``WEB_SERVER_ADDRESS``)::

    GET /feeds/volunteers/<token>.ics   a volunteer's duties (secret token; unknown or revoked: 404)
    GET /feeds/teams/<team>.ics         activities of a team (public feeds never show elderly visits)
    GET /feeds/grids/<grid>.ics         activities of a grid (1-15)
    GET /feeds/kinds/<kind>.ics         activities of a kind (none for elderly_visit: 404)
    GET /feeds/lectures.ics             the Lide Shuren lecture hall programme

A community other than the default (``guanyinli.tenancy``) has the same feeds under
``/c/<slug>/``: its links carry the prefix, its personal tokens name it in their MAC (so under
another prefix they are 404), and the bodies kept (``FeedCache``) are keyed by community.

Answers are ``text/calendar; charset=utf-8`` with a strong ETag (SHA-256 of the body) and
``Cache-Control: no-cache`` (clients revalidate, so a change is in the next request), and 304
when ``If-None-Match`` names the current ETag. A request first reads the feed's version (the
token lookup and one aggregate query, in one read-only transaction that takes no write lock);
while it is unchanged the body rendered before is reused (``FeedCache``), so the 304 path and
repeated 200s cost that transaction alone, and not even that while nothing has been committed
since it was last read (``guanyinli.db.ReadCache``: SQLite's change counters; on PostgreSQL the
notifications of ``feed_data.CHANGES_CHANNEL``, see ``guanyinli.changes``).

Personal tokens: the token row's id and a 256-bit HMAC-SHA256(``FEED_SECRET``, row id and
volunteer), base64url. A request finds the row by the id and checks the MAC under the secret in
force, so ``feed_urls`` can show a volunteer their link again while the database keeps nothing a
link can be rebuilt from (a copy of it alone opens no feed), and a new ``FEED_SECRET`` turns every
link made under the old one into a 404 (the rows stay; the links shown from then on work). Rotating
issues a new row and revokes the old one; revoking makes every link of the volunteer 404. Links
issued before tokens named their row (the MAC alone) are found by the SHA-256 the row keeps and
checked the same way. Outside the local run (``GUANYINLI_ENV=local``) the service does not start
with a missing, short or placeholder ``FEED_SECRET`` (``guanyinli.config.require_secret``); tokens
never reach a log line (``guanyinli.logs.RedactSecrets`` on the access log and on every console
handler). Links are built on ``FEED_BASE_URL`` (e.g. ``https://guanyinli.example.org``), with
``webcal://`` twins.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable
from urllib.parse import quote, urlsplit, urlunsplit

from marshmallow import fields
from nameko.extensions import DependencyProvider
from nameko.web.handlers import http
from sqlalchemy import select, update
from werkzeug.wrappers import Response

from activities import feed_data, ical
from activities.domain import VISIT_DETAILS_DAYS_AFTER
from activities.models import FeedToken
from guanyinli import tenancy
from guanyinli.config import require_secret
from guanyinli.errors import Forbidden, Unavailable
from guanyinli.identity import own
from guanyinli.logs import redact_url_logs
from guanyinli.rpc import rpc
from guanyinli.schemas import Id, LocalDateTime, StrictSchema, contract
from guanyinli.timeutil import from_db, now, to_db

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/calendar; charset=utf-8"
DEFAULT_CACHE_SECONDS = 300
TOKEN_BYTES = 32
TOKEN_CONTEXT = b"guanyinli-activities-feed-token/v1"
TOKEN_ID_BYTES = 8
SECRET_MIN_LENGTH = 32  # checked at start outside the local run
RUNTIME_SECRET_MIN_LENGTH = 16  # the local run's floor, checked when a link is made
PERSONAL_PATH = "/feeds/volunteers/{token}.ics"
PUBLIC_PATHS = {
    "team": "/feeds/teams/{value}.ics",
    "grid": "/feeds/grids/{value}.ics",
    "kind": "/feeds/kinds/{value}.ics",
    "lectures": "/feeds/lectures.ics",
}


def token_hash(token: str) -> str:
    """What the database keeps of a token (tokens carry 256 bits, so a plain SHA-256 suffices)."""
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def _mac(secret: str, token_id: int, volunteer_id: int, community: str | None = None) -> bytes:
    # A community other than the default is in the MAC: row 1 of volunteer 1 is in every community's
    # storage, and one community's link must not open another's feed (its prefix swapped).
    scope = f":{community}" if community else ""
    mac = hmac.new(secret.encode(), TOKEN_CONTEXT + f"{scope}:{token_id}:{volunteer_id}".encode(), hashlib.sha256)
    return mac.digest()[:TOKEN_BYTES]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def derive_token(secret: str, token_id: int, volunteer_id: int, community: str | None = None) -> str:
    """The token of row ``token_id`` under ``secret``: the row id, then the MAC (base64url, 54 chars).
    ``community``: None for the default community (its tokens are what they always were), else its slug."""
    return _b64(token_id.to_bytes(TOKEN_ID_BYTES, "big") + _mac(secret, token_id, volunteer_id, community))


def legacy_token(secret: str, token_id: int, volunteer_id: int, community: str | None = None) -> str:
    """Tokens issued before the row id went into them: the MAC alone (43 chars), found by its hash."""
    return _b64(_mac(secret, token_id, volunteer_id, community))


def token_row_id(token: str) -> int | None:
    """The row id a token names, or None when it is not of the current form."""
    if len(token) != 54:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "==")
    except (ValueError, TypeError):
        return None
    if len(raw) != TOKEN_ID_BYTES + TOKEN_BYTES or _b64(raw) != token:
        return None
    row_id = int.from_bytes(raw[:TOKEN_ID_BYTES], "big")
    return row_id if 0 < row_id < 2**31 else None  # ids are PostgreSQL integers


def _token_matches(
    secret: str, expected, row_id: int, volunteer_id: int, token: str, community: str | None = None
) -> bool:
    return hmac.compare_digest(
        expected(secret, row_id, volunteer_id, community).encode(), token.encode("ascii", "replace")
    )


def token_owner(session, token: str, secret: str | None, community: str | None = None) -> int | None:
    """The volunteer whose active token this is under ``secret`` in ``community`` (None: the default
    one); None when it is unknown, revoked, or made under another secret or in another community."""
    if not secret:
        return None
    row_id = token_row_id(token)
    if row_id is not None:
        row = session.get(FeedToken, row_id)
        expected = derive_token
    else:
        row = session.scalars(select(FeedToken).where(FeedToken.token_hash == token_hash(token))).first()
        expected = legacy_token
    if row is None or row.revoked_at is not None:
        return None
    if not _token_matches(secret, expected, row.id, row.volunteer_id, token, community):
        return None
    return row.volunteer_id


def personal_lookup(
    session, token: str, secret: str | None, at, community: str | None = None
) -> tuple[int, tuple] | None:
    """``(volunteer, feed_data.personal_version)`` for an active token of ``community`` (None: the
    default), else None: one statement for tokens that name their row, the token row and then the
    version for earlier ones."""
    row_id = token_row_id(token) if secret else None
    if row_id is None:
        volunteer_id = token_owner(session, token, secret, community)
        return None if volunteer_id is None else (volunteer_id, feed_data.personal_version(session, volunteer_id, at))
    found = feed_data.token_and_version(session, row_id, at)
    if found is None:
        return None
    volunteer_id, revoked_at, version = found
    if revoked_at is not None or not _token_matches(secret, derive_token, row_id, volunteer_id, token, community):
        return None
    return volunteer_id, version


def etag_of(body: bytes) -> str:
    return '"' + base64.urlsafe_b64encode(hashlib.sha256(body).digest()).rstrip(b"=").decode() + '"'


def names_etag(request, etag: str) -> bool:
    """Whether the request's If-None-Match names ``etag`` (weak comparison, as for a GET)."""
    return bool(request.if_none_match) and request.if_none_match.contains_weak(etag.strip('"'))


def calendar_response(request, body: bytes | None, etag: str, *, private: bool, filename: str) -> Response:
    """200 with the body, or 304 when the client already has it (``etag`` is ``etag_of(body)``; no
    body is needed when the request names it)."""
    headers = {
        "ETag": etag,
        "Cache-Control": ("private" if private else "public") + ", no-cache",
        "Content-Type": CONTENT_TYPE,
    }
    if private:
        headers["Referrer-Policy"] = "no-referrer"
        headers["X-Robots-Tag"] = "noindex"
    if names_etag(request, etag):
        return Response(status=304, headers=headers)
    headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return Response(body, status=200, headers=headers)


class FeedCache:
    """Rendered feeds of this process by key, reused while their version is unchanged.

    A version (``feed_data.personal_version`` / ``public_version``) changes with every change a
    feed shows, so a hit is the same bytes a render would give; entries also expire after
    ``FEED_CACHE_SECONDS`` (default 300, 0 turns the cache off) as a safety net for changes made
    outside the service. Bounded LRUs; green threads share them without locks (no yield inside).

    Bodies are kept for ``size`` feeds, their ETags for many more (``etag_size``): a phone that
    asks with the current ETag gets its 304 from the ETag alone, so a district's links polled in
    turn, more than the bodies kept, are not rendered again to answer 304.
    """

    def __init__(self, size: int = 512, etag_size: int = 50_000):
        self.size, self.etag_size = size, etag_size
        self._entries: OrderedDict[tuple, tuple] = OrderedDict()
        self._etags: OrderedDict[tuple, tuple] = OrderedDict()

    @staticmethod
    def _fresh(entries: OrderedDict, key: tuple, version) -> tuple | None:
        entry = entries.get(key)
        if entry is None or entry[0] != version or entry[-1] < time.monotonic():
            return None
        entries.move_to_end(key)
        return entry

    def get(self, key: tuple, version) -> tuple[bytes, str] | None:
        entry = self._fresh(self._entries, key, version)
        return None if entry is None else (entry[1], entry[2])

    def etag(self, key: tuple, version) -> str | None:
        """The ETag of the feed at this version, if this process rendered it (body kept or not)."""
        entry = self._fresh(self._etags, key, version)
        return None if entry is None else entry[1]

    def put(self, key: tuple, version, body: bytes, etag: str, seconds: float) -> None:
        if seconds <= 0:
            return
        expires = time.monotonic() + seconds
        for entries, value, size in (
            (self._entries, (version, body, etag, expires), self.size),
            (self._etags, (version, etag, expires), self.etag_size),
        ):
            entries[key] = value
            entries.move_to_end(key)
            while len(entries) > size:
                entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()
        self._etags.clear()


FEED_CACHE = FeedCache()


def not_found(what: str) -> Response:
    return Response(f"{what}\n", status=404, content_type="text/plain; charset=utf-8")


def webcal(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(("webcal", parts.netloc, parts.path, parts.query, ""))


# --- schemas of the RPC contract ---------------------------------------------------------------


class FeedVolunteerIn(StrictSchema):
    volunteer_id = Id(required=True, metadata={"description": "the volunteer whose personal feed it is"})


class FeedLink(StrictSchema):
    https = fields.String(required=True, metadata={"description": "the feed over HTTPS (or HTTP in development)"})
    webcal = fields.String(
        required=True, metadata={"description": "the same feed as webcal:// (opens the calendar app)"}
    )


class PublicFeedLink(FeedLink):
    scope = fields.String(required=True, metadata={"description": "team | grid | kind | lectures"})
    value = fields.Raw(allow_none=True, metadata={"description": "the team, grid number or kind"})
    name = fields.String(required=True, metadata={"description": "the calendar's name"})


class FeedUrls(StrictSchema):
    volunteer_id = fields.Integer(required=True)
    personal = fields.Nested(
        FeedLink, allow_none=True, metadata={"description": "null while the volunteer has no active token"}
    )
    issued_at = LocalDateTime(allow_none=True, metadata={"description": "when the active token was issued"})
    public = fields.List(fields.Nested(PublicFeedLink), required=True)


class FeedRevoked(StrictSchema):
    volunteer_id = fields.Integer(required=True)
    revoked = fields.Integer(required=True, metadata={"description": "tokens revoked by this call"})


def public_feeds(grids: Iterable[int], teams: Iterable[str]) -> list[tuple[str, str | int | None]]:
    """Every public feed: the lecture programme, each team's of ``teams`` and kind's, and each grid's of ``grids``."""
    scopes: list[tuple[str, str | int | None]] = [("lectures", None)]
    scopes += [("team", t) for t in teams]
    scopes += [("kind", k) for k in feed_data.KIND_LABELS if k not in feed_data.PUBLIC_HIDDEN_KINDS]
    scopes += [("grid", g) for g in sorted(grids)]
    return scopes


class FeedSettings(DependencyProvider):
    """The service config, checked when the service starts.

    Outside the local run a missing, short or placeholder ``FEED_SECRET`` stops the start with
    ``guanyinli.config.InsecureSecret``. Feed tokens are kept out of the WSGI access log.
    """

    def setup(self) -> None:
        require_secret("FEED_SECRET", self.container.config.get("FEED_SECRET"), SECRET_MIN_LENGTH)
        redact_url_logs()

    def get_dependency(self, worker_ctx) -> dict:
        return self.container.config


class FeedsMixin:
    """iCal feeds (HTTP) and personal feed tokens (RPC); needs ``db``, ``caller``, ``clock`` and ``volunteers``
    (the grids) on the service."""

    feed_settings = FeedSettings()

    # --- configuration -------------------------------------------------------------------------

    def _feed_config(self) -> dict:
        return self.feed_settings or {}

    def _feed_secret(self) -> str:
        secret = self._feed_config().get("FEED_SECRET")
        if not secret or len(str(secret)) < RUNTIME_SECRET_MIN_LENGTH:
            raise Unavailable(
                f"personal feeds need FEED_SECRET (at least {RUNTIME_SECRET_MIN_LENGTH} characters) in the service config"
            )
        return str(secret)

    def _visit_days_after(self) -> int:
        return int(self._feed_config().get("VISIT_DETAILS_DAYS_AFTER", VISIT_DETAILS_DAYS_AFTER))

    def _feed_base_url(self) -> str:
        base = self._feed_config().get("FEED_BASE_URL")
        if not base:
            address = self._feed_config().get("WEB_SERVER_ADDRESS", "127.0.0.1:8000")
            base = f"http://{address}"
        return str(base).rstrip("/")

    def _community(self) -> str:
        """The community the worker acts for: its storage is the one ``self.db`` reaches."""
        return self.db.community or tenancy.default(self._feed_config())

    def _token_community(self) -> str | None:
        """What personal tokens are bound to: None in the default community, else its slug."""
        return tenancy.named(self._community(), self._feed_config())

    def _community_name(self) -> str:
        """The community's short name in Chinese, which titles its calendars (``tenancy.names``)."""
        return tenancy.names(self._community(), self._feed_config())[1]

    def _link(self, path: str) -> dict:
        """A feed's links in the worker's community: under ``/c/<slug>`` unless it is the default one."""
        url = self._feed_base_url() + tenancy.path_for(self._community(), path, self._feed_config())
        return {"https": url, "webcal": webcal(url)}

    # --- tokens --------------------------------------------------------------------------------

    def _active_token(self, session, volunteer_id: int) -> FeedToken | None:
        return session.scalars(
            select(FeedToken)
            .where(FeedToken.volunteer_id == volunteer_id, FeedToken.revoked_at.is_(None))
            .order_by(FeedToken.id.desc())
        ).first()

    def _new_token(self, session, volunteer_id: int, secret: str) -> FeedToken:
        row = FeedToken(volunteer_id=volunteer_id, token_hash=f"pending:{uuid.uuid4()}", created_at=to_db(now()))
        session.add(row)
        session.flush()  # the id goes into the token
        row.token_hash = token_hash(derive_token(secret, row.id, volunteer_id, self._token_community()))
        session.flush()
        return row

    def _revoke_all(self, session, volunteer_id: int) -> int:
        result = session.execute(
            update(FeedToken)
            .where(FeedToken.volunteer_id == volunteer_id, FeedToken.revoked_at.is_(None))
            .values(revoked_at=to_db(now()))
            .execution_options(synchronize_session=False)
        )
        return result.rowcount or 0

    def _grids_if_known(self) -> frozenset[int]:
        """The community's grids for the list of links; none while the volunteers service does not answer,
        so a volunteer still gets their own link and the other public ones."""
        try:
            return self.volunteers.grid_ids()
        except Unavailable:
            log.warning("feed links without the grids' feeds: the volunteers service did not answer")
            return frozenset()

    def _team_labels(self) -> dict[str, str]:
        """The community's teams by code with their Chinese names (the volunteers service's, kept a minute);
        none while the volunteers service does not answer, so feeds still come (teams by their codes)."""
        try:
            return {code: team.get("name_zh") or code for code, team in self.volunteers.teams().items()}
        except Unavailable:
            log.warning("feeds without the teams' names: the volunteers service did not answer")
            return {}

    def _urls(self, volunteer_id: int, row: FeedToken | None, secret: str | None) -> dict:
        personal = None
        if row is not None and secret is not None:
            token = derive_token(secret, row.id, volunteer_id, self._token_community())
            personal = self._link(PERSONAL_PATH.format(token=token))
        public, teams, place = [], self._team_labels(), self._community_name()
        for scope, value in public_feeds(self._grids_if_known(), teams):
            path = PUBLIC_PATHS[scope].format(value=quote(str(value)) if value is not None else "")
            name = feed_data.public_scope_name(scope, value, teams, place)
            public.append({"scope": scope, "value": value, "name": name, **self._link(path)})
        return {
            "volunteer_id": volunteer_id,
            "personal": personal,
            "issued_at": from_db(row.created_at) if row is not None else None,
            "public": public,
        }

    def _may_manage(self, volunteer_id: int) -> None:
        if not self.caller.acts_for(volunteer_id):
            raise Forbidden(f"a volunteer manages only their own feed, not volunteer {volunteer_id}'s")

    @rpc
    @contract(
        access=own("a volunteer for their own feed link"),
        request=FeedVolunteerIn,
        response=FeedUrls(),
        keep_answer=False,  # the answer holds the feed's secret token
        errors=(Forbidden, Unavailable),
    )
    def issue_feed_token(self, volunteer_id):
        """The volunteer's personal feed link: the active token's, or a new one (idempotent)."""
        self._may_manage(volunteer_id)
        secret = self._feed_secret()

        def work(session):
            row = self._active_token(session, volunteer_id) or self._new_token(session, volunteer_id, secret)
            return self._urls(volunteer_id, row, secret)

        return self._work(work)

    @rpc
    @contract(
        access=own("a volunteer for their own feed link"),
        request=FeedVolunteerIn,
        response=FeedUrls(),
        keep_answer=False,  # the answer holds the feed's secret token
        errors=(Forbidden, Unavailable),
    )
    def rotate_feed_token(self, volunteer_id):
        """A new personal feed link; the old ones stop working (404) at once."""
        self._may_manage(volunteer_id)
        secret = self._feed_secret()

        def work(session):
            self._revoke_all(session, volunteer_id)
            return self._urls(volunteer_id, self._new_token(session, volunteer_id, secret), secret)

        return self._work(work)

    @rpc
    @contract(
        access=own("a volunteer for their own feed link"),
        request=FeedVolunteerIn,
        response=FeedRevoked(),
        errors=(Forbidden,),
    )
    def revoke_feed_token(self, volunteer_id):
        """Revoke every personal feed link of the volunteer (they answer 404 from now on)."""
        self._may_manage(volunteer_id)
        revoked = self._work(lambda session: self._revoke_all(session, volunteer_id))
        return {"volunteer_id": volunteer_id, "revoked": revoked}

    @rpc
    @contract(
        access=own("a volunteer for their own feed links"),
        request=FeedVolunteerIn,
        response=FeedUrls(),
        keep_answer=False,  # the answer holds the feed's secret token
        errors=(Forbidden, Unavailable),
    )
    def feed_urls(self, volunteer_id):
        """https and webcal:// links: the personal feed (null until a token is issued) and every public feed."""
        self._may_manage(volunteer_id)
        secret = self._feed_config().get("FEED_SECRET")
        if secret:
            secret = self._feed_secret()
        return self._work(lambda session: self._urls(volunteer_id, self._active_token(session, volunteer_id), secret))

    # --- HTTP ----------------------------------------------------------------------------------

    def _cache_seconds(self) -> float:
        return float(self._feed_config().get("FEED_CACHE_SECONDS", DEFAULT_CACHE_SECONDS))

    def _render(self, request, key, version, build, *, lookup: tuple) -> tuple[bytes | None, str] | None:
        """The feed's body and ETag: reused while its version is unchanged, else rendered.

        ``version(session, at)`` is read first, in a read-only transaction through the database's
        read cache under ``lookup`` (SQLite: free while nothing was committed since; no write lock
        is taken either way); it returns None for a feed that is not there. ``key(version)`` names
        the body in ``FEED_CACHE`` (with the worker's community: ids and grids are each community's
        own, so one community's feed never answers for another's); a request that names the ETag of this version gets no body (None:
        its answer is 304); otherwise only on a miss there is the feed built, by
        ``build(session, at, version)`` in a second read-only transaction.
        """
        at = self.clock()
        day = feed_data.Clock(at).day.date()
        current = self.db.read(lambda session: version(session, at), cache_key=(*lookup, day))
        if current is None:
            return None
        key = (self._community(), *key(current))
        known = FEED_CACHE.etag(key, current)
        if known is not None and names_etag(request, known):
            return None, known
        found = FEED_CACHE.get(key, current)
        if found is not None:
            return found
        body = self.db.read(lambda session: ical.render(build(session, at, current)))
        etag = etag_of(body)
        FEED_CACHE.put(key, current, body, etag, self._cache_seconds())
        return body, etag

    @http("GET", "/feeds/volunteers/<string:token>.ics")
    def personal_feed(self, request, token):
        secret = self._feed_config().get("FEED_SECRET")
        secret = str(secret) if secret else None
        found = self._render(
            request,
            lambda current: ("volunteer", current[0]),
            lambda session, at: personal_lookup(session, token, secret, at, self._token_community()),
            lambda session, at, current: feed_data.personal_feed(
                session, current[0], at, self._visit_days_after(), self._team_labels(), self._community_name()
            ),
            lookup=("feed-token", token, secret),
        )
        if found is None:
            return not_found("no such feed")
        return calendar_response(request, *found, private=True, filename=f"{self._community()}-duties.ics")

    def _public(self, request, scope: str, value) -> Response:
        try:
            grids = self.volunteers.grid_ids() if scope == "grid" else None
            teams = self.volunteers.teams() if scope == "team" else None
        except Unavailable as exc:
            return Response(str(exc), status=503, mimetype="text/plain", headers={"Retry-After": "30"})
        if not feed_data.valid_scope(scope, value, grids, teams):
            return not_found("no such feed")
        labels = self._team_labels()
        body, etag = self._render(
            request,
            lambda current: (scope, value),
            lambda session, at: feed_data.public_version(session, scope, value, at),
            lambda session, at, current: feed_data.public_feed(
                session, scope, value, at, labels, self._community_name()
            ),
            lookup=("public-feed", scope, value),
        )
        name = f"guanyinli-{scope}" + (f"-{value}" if value is not None else "")
        return calendar_response(request, body, etag, private=False, filename=f"{name}.ics")

    @http("GET", "/feeds/teams/<string:team>.ics")
    def team_feed(self, request, team):
        return self._public(request, "team", team)

    @http("GET", "/feeds/grids/<int:grid_id>.ics")
    def grid_feed(self, request, grid_id):
        return self._public(request, "grid", grid_id)

    @http("GET", "/feeds/kinds/<string:kind>.ics")
    def kind_feed(self, request, kind):
        return self._public(request, "kind", kind)

    @http("GET", "/feeds/lectures.ics")
    def lecture_programme_feed(self, request):
        return self._public(request, "lectures", None)


__all__ = ["FeedSettings", "FeedsMixin", "derive_token", "etag_of", "personal_lookup", "token_hash", "token_owner"]
