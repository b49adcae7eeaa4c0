"""The ``organiser`` nameko service: the organisers' web page (@http) and its accounts (@rpc).

Pages call ``volunteers``, ``activities`` and ``appeals`` over RPC with the logged-in account as caller
identity (context data ``user`` with roles ``organiser`` or ``viewer``), so the other services
leave out private fields for viewers as well. The service owns one database: accounts and
sessions (see ``organiser.models``).
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

import jwt
from marshmallow import Schema, fields, validate
from nameko.dependency_providers import Config
from nameko.extensions import DependencyProvider
from nameko.timer import timer
from werkzeug.wrappers import Request

from guanyinli import outbox, revocation, tenancy
from guanyinli.clock import Clock
from guanyinli.db import Database
from guanyinli.errors import Conflict, Forbidden, InvalidInput, NotFound, Unavailable
from guanyinli.identity import ANYONE, ORGANISER, ORGANISERS, SERVICES_ONLY, VIEWER, CallerIdentity, Identity, allow
from guanyinli.rpc import ON_BEHALF_KEY, EventDispatcher, RpcProxy, rpc
from guanyinli.schemas import LocalDateTime, RequestId, StrictSchema, contract
from guanyinli.timeutil import TZ, local, now
from organiser import (
    accounts,
    appeal_pages,
    appeal_report_pages,
    board,
    calendar_pages,
    charts,
    cleanup_pages,
    lecture_pages,
    partner_pages,
    phone,
    resident_pages,
    roster_settings,
    school_pages,
    security,
    tokens,
    visit_pages,
    web,
)
from organiser import volunteer_sessions as phone_sessions
from organiser.dependencies import Builds, HasherBusy, Passwords, SettingsProvider
from organiser.i18n import translate
from organiser.models import OUTBOX, ROLES
from organiser.pages import directory_words, failure_page, page
from organiser.remote import Platform, Timed, classify
from organiser.security import ABSOLUTE, csrf_ok, new_token
from organiser.tokens import ISSUER as TOKEN_ISSUER
from organiser.tokens import LOGIN_TOKEN_SECONDS, AccountTokens
from organiser.web import http

log = logging.getLogger(__name__)
LOGIN_RULES = security.ThrottleRules()


class CreateAccountIn(StrictSchema):
    username = fields.String(required=True, validate=validate.Regexp(r"^[\w.@-]{2,64}$"))
    password = fields.String(required=True, validate=validate.Length(min=10, max=200), load_only=True)
    display_name = fields.String(load_default=None, validate=validate.Length(min=1, max=100))
    role = fields.String(load_default="organiser", validate=validate.OneOf(ROLES))
    request_id = RequestId(load_default=None)


class AccountOut(Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    role = fields.String(metadata={"description": "organiser (may change things, sees private data) or viewer"})
    active = fields.Boolean()
    created_at = LocalDateTime()
    last_login_at = LocalDateTime(allow_none=True)


class IssueTokenIn(StrictSchema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=80))
    password = fields.String(required=True, validate=validate.Length(min=1, max=200))
    community = fields.String(
        load_default=None,
        validate=validate.Regexp(tenancy.SLUG),
        metadata={"description": "the community of the account (default: the caller's, else the default one)"},
    )


class TokenOut(Schema):
    token = fields.String(metadata={"description": "put it in context data as `identity`"})
    expires = LocalDateTime()
    roles = fields.List(fields.String())


class UsernameIn(StrictSchema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=80))


class RevokeIn(StrictSchema):
    subject = fields.String(
        required=True,
        validate=validate.Regexp(r"^(account|volunteer|system|service):\S.{0,99}$"),
        metadata={"description": "whose tokens: account:NAME, volunteer:ID, system:NAME or service:NAME"},
    )
    reason = fields.String(load_default=None, validate=validate.Length(max=200))


class RevocationOut(Schema):
    subject = fields.String()
    before = LocalDateTime(metadata={"description": "tokens issued at or before this no longer count"})
    before_ts = fields.Float(metadata={"description": "the same as a UNIX time"})
    reason = fields.String(allow_none=True)


class SigninLinkIn(StrictSchema):
    volunteer_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))


class SigninLinkOut(Schema):
    volunteer_id = fields.Integer()
    url = fields.String(metadata={"description": "opens the volunteer's phone page after one button"})
    expires_at = LocalDateTime()


class Health(Schema):
    service = fields.String()
    ok = fields.Boolean()


class CallerContext(DependencyProvider):
    """Lets a page make the RPC calls of its worker as the signed-in account: a token the
    organiser service signs as the platform's account authority (``guanyinli.identity``)."""

    def setup(self):
        self.tokens = AccountTokens(self.container.config)

    def get_dependency(self, worker_ctx):
        return Caller(worker_ctx, self.tokens)


class Caller:
    """``self.act_as(user)``: the page's later calls in this worker carry ``user``'s token, for the
    community the worker acts for (the ``/c/<slug>`` of the page, ``guanyinli.tenancy``)."""

    def __init__(self, worker_ctx, tokens: AccountTokens):
        self._data = worker_ctx.data
        self._tokens = tokens
        self.community = tenancy.named(tenancy.community_of(worker_ctx), worker_ctx.container.config)

    def __call__(self, user: dict) -> None:
        self._data[ON_BEHALF_KEY] = self._tokens.token_for(user, self.community)

    def forget(self, username: str) -> None:
        self._tokens.forget(username, self.community)


class OrganiserService(
    phone.PhonePages,
    resident_pages.ResidentPages,
    appeal_pages.AppealPages,
    appeal_pages.AppealPhonePages,
    cleanup_pages.CleanupPages,
    appeal_report_pages.AppealReportPages,
    visit_pages.VisitPages,
    visit_pages.VisitPhonePages,
    school_pages.SchoolPages,
    calendar_pages.CalendarPages,
    lecture_pages.LecturePages,
    partner_pages.PartnerPages,
    revocation.RevocationListener,
):
    name = "organiser"

    db = Database()
    config = Config()
    settings = SettingsProvider()
    clock = Clock()
    passwords = Passwords()
    builds = Builds()
    volunteers = RpcProxy("volunteers")
    activities = RpcProxy("activities")
    notifications = RpcProxy("notifications")
    appeals = RpcProxy("appeals")
    act_as = CallerContext()
    caller: Identity = CallerIdentity()
    dispatch = EventDispatcher()
    relay = outbox.Relay(OUTBOX)

    def _work(self, fn):
        """``fn(session)`` in one transaction; the events it queued go out after the commit."""
        return self.relay.work(self.db, self.dispatch, fn)

    @outbox.relay_timer
    def relay_outbox(self):
        """Send the events that did not go out after their commit (see ``guanyinli.outbox``)."""
        self.relay.run(self.db, self.dispatch)

    # --- RPC: health and accounts ------------------------------------------------------------

    @rpc
    @contract(access=ANYONE, response=Health())
    def health(self):
        """Answers when the service runs and its database is reachable."""
        from sqlalchemy import text

        with self.db.get_session() as session:
            session.execute(text("SELECT 1"))
        return {"service": self.name, "ok": True}

    @rpc
    @contract(
        access=ORGANISERS,
        request=CreateAccountIn,
        response=AccountOut(),
        errors=(InvalidInput, Conflict, Unavailable),
        key="request_id",
        omit=("password",),
    )
    def create_account(self, username, password, display_name=None, role=None, request_id=None):
        """Create a login for the organiser page (password hashed with argon2id, at least 10 characters).

        The same request_id with the same arguments returns the first answer (the password is not
        part of the comparison: no hash of it is kept with the key)."""
        try:
            digest = self.passwords.hash(password)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        except HasherBusy:
            raise Unavailable("organiser: every password thread is busy; try again in a moment") from None
        with self.db.get_session() as session:
            return accounts.create_account(session, username, digest, display_name or username, role)

    @rpc
    @contract(
        access=ORGANISERS,
        request=UsernameIn,
        response=AccountOut(),
        errors=(NotFound,),
        emits=("identity_revoked",),
    )
    def deactivate_account(self, username):
        """The account can no longer log in: its page sessions end and its tokens are revoked at once
        on every service (``identity_revoked``)."""
        moment = self.clock.now()

        def work(session):
            account = accounts.deactivate(session, username)
            self._revoke(
                session, tokens.account_subject(username, self.act_as.community), "account deactivated", moment
            )
            return account

        found = self._work(work)
        self.act_as.forget(username)
        return found

    @rpc
    @contract(access=ORGANISERS, request=RevokeIn, response=RevocationOut(), emits=("identity_revoked",))
    def revoke_identity(self, subject, reason=None):
        """Every token of ``subject`` issued until now stops counting on every service (a token given
        away by mistake, a lost phone): ``identity_revoked``. New tokens issued after it count. In a
        community other than the default one, subjects end in ``@<slug>`` (added when not given)."""
        moment = self.clock.now()
        subject = self._own_subject(subject)
        return self._work(lambda session: self._revoke(session, subject, reason, moment))

    def _own_subject(self, subject: str) -> str:
        """The subject as this community's tokens name it: ``@<slug>`` after it in a community other
        than the default one; a subject of another community is refused (each revokes its own)."""
        here = self.act_as.community
        if here is not None:
            return subject if subject.endswith(f"@{here}") else f"{subject}@{here}"
        for slug in tenancy.served(self.config):
            if subject.endswith(f"@{slug}") and not tenancy.is_default(slug, self.config):
                raise InvalidInput(f"subject: {subject!r} is of community {slug!r}; revoke it there")
        return subject

    def _revoke(self, session, subject, reason, moment) -> dict:
        revocation = accounts.revoke(session, subject, reason, moment)
        OUTBOX.add(session, "identity_revoked", {k: revocation[k] for k in ("subject", "before", "reason")})
        return revocation

    @rpc
    @contract(
        access=ORGANISERS,
        request=SigninLinkIn,
        response=SigninLinkOut(),
        errors=(InvalidInput, NotFound),
        keep_answer=False,  # the answer is a key to the volunteer's page
    )
    def issue_signin_link(self, volunteer_id):
        """A personal sign-in link to the volunteers' phone page (``/v``) for a volunteer who cannot
        receive SMS, valid 180 days; the volunteer's earlier links stop working. The page's own
        button does the same and shows it as a QR code to print."""
        volunteer = self.volunteers.get_volunteer(volunteer_id=volunteer_id)
        if not volunteer.get("active"):
            raise InvalidInput(f"volunteer_id: volunteer {volunteer_id} is not active")
        base = (
            self.config.get("ORGANISER_PUBLIC_URL")
            or f"http://{self.config.get('WEB_SERVER_ADDRESS', '127.0.0.1:8000')}"
        )
        link = self.signin_link_for(volunteer_id, self.caller.name or self.caller.subject or "organiser", base)
        return {k: link[k] for k in ("volunteer_id", "url", "expires_at")}

    @rpc
    @contract(access=SERVICES_ONLY, response=RevocationOut(many=True))
    def list_revocations(self):
        """Revocations of the last 91 days (longer than any token lives): what a service starting
        up reads before it hears new ones as events. Every community's: its subjects say whose
        (``@<slug>`` after those of a community other than the default one)."""
        moment = self.clock.now()
        found = []
        for db in self.db.each_community():
            with db.get_session() as session:
                found.extend(accounts.list_revocations(session, moment))
        return found

    @rpc
    @contract(access=ORGANISERS, response=AccountOut(many=True))
    def list_accounts(self):
        """Every account of the organiser page (never the password hashes)."""
        with self.db.get_session() as session:
            return accounts.list_accounts(session)

    @rpc
    @contract(
        access=ANYONE, request=IssueTokenIn, response=TokenOut(), errors=(InvalidInput, Forbidden), keep_answer=False
    )
    def issue_token(self, username, password, community=None):
        """An identity token for an account, in exchange for its password (the command line's
        ``guanyinli login``): valid 12 hours, renewed with ``renew_token`` while the account is
        active. A wrong password or an inactive account is refused, both alike. The account is
        ``community``'s (a caller signing in has no token to name it), and so is the token."""
        db = self.db if community is None else self.db.for_community(community)
        try:
            return self._trade_password(db, username, password)
        finally:
            if db is not self.db:
                db.close()

    def _trade_password(self, db, username: str, password: str) -> dict:
        # Throttled as the page's login is; the broker hides the caller's address, so one per name:
        # a flood of bad passwords over RPC holds back only that name's sign-in over RPC, never the page.
        address, moment = f"rpc:{username}", self.clock.now()
        with db.get_session() as session:
            failures = accounts.login_failures(session, username, address, moment - LOGIN_RULES.window)
            stored = accounts.password_hash_of(session, username)
        wait = security.login_wait(LOGIN_RULES, failures, username, address, moment)
        if wait is not None:
            seconds = int(wait.total_seconds()) + 1
            raise Forbidden(
                f"too many failed sign-ins for {username!r}: try again in {seconds} s",
                f"{username} 登录失败次数过多，请 {seconds} 秒后再试",
            )
        if not self.passwords.verify(stored, password):
            with db.get_session() as session:
                accounts.record_login_failure(session, username, address, moment)
            raise Forbidden("username or password not accepted", "用户名或密码不正确")
        with db.get_session() as session:
            found = accounts.active_login(session, username)
            accounts.forget_login_failures(session, username, address)
        if found is None:
            raise Forbidden("username or password not accepted", "用户名或密码不正确")
        return self._login_token(found, tenancy.named(db.community, self.config))

    @rpc
    @contract(
        access=allow(VIEWER, ORGANISER, scope="the account the token is for, while it is active"),
        response=TokenOut(),
        errors=(Forbidden,),
        keep_answer=False,
    )
    def renew_token(self):
        """A fresh token for the caller's own account (a token this service issued), if the
        account is still active."""
        username = tokens.account_of(self.caller.subject or "", self.act_as.community)
        if self.caller.issuer != TOKEN_ISSUER or username is None:
            raise Forbidden("only a token of an organiser page account can be renewed")
        with self.db.get_session() as session:
            found = accounts.active_login(session, username)
        if found is None:
            raise Forbidden("the account is no longer active")
        return self._login_token(found, self.act_as.community)

    def _login_token(self, login, community: str | None) -> dict:
        user = login.rpc_user()
        token = AccountTokens(self.config).issue(user, LOGIN_TOKEN_SECONDS, community)
        claims = jwt.decode(token, options={"verify_signature": False})
        return {"token": token, "expires": datetime.fromtimestamp(claims["exp"], TZ), "roles": user["roles"]}

    @timer(interval=3600)
    def purge_sessions(self):
        """Expired sessions are refused when used; this removes the ones never used again, and failed
        logins older than the throttle's window."""
        for db in self.db.each_community():
            with db.get_session() as session:
                removed = accounts.purge_expired(session)
                accounts.purge_login_failures(session, self.clock.now() - LOGIN_RULES.window)
                removed += phone_sessions.purge(session, self.clock.now(), self.clock.now() - phone.CODE_RULES.window)
            if removed:
                log.info("community %s: removed %d expired sessions", db.community, removed)

    # --- sessions ----------------------------------------------------------------------------

    @property
    def _secure_cookies(self) -> bool:
        return self.settings.secure_cookies

    def _login(self, request: Request) -> accounts.Login | None:
        token = request.cookies.get(web.SESSION_COOKIE)
        if not token:
            return None
        with self.db.get_session() as session:
            return accounts.resume(session, token)

    def _platform(self) -> Platform:
        """The other services, each call bounded by ORGANISER_RPC_TIMEOUT (a 503 page when it passes)."""
        timeout = self.settings.rpc_timeout
        return Platform(
            Timed(self.volunteers, "volunteers", timeout),
            Timed(self.activities, "activities", timeout),
            Timed(self.appeals, "appeals", timeout),
        )

    @http("GET", "/")
    def index(self, request):
        return web.redirect("/roster")

    @http("GET", "/static/<path:name>")
    def static(self, request, name):
        return web.static_file(name)

    @http("GET", "/login")
    def login_form(self, request, failed: bool = False):
        lang = web.language(request)
        token = new_token()
        response = web.render(
            "login.html",
            lang,
            401 if failed else 200,
            login=None,
            csrf=token,
            next=web.safe_next(request.args.get("next")),
            why=request.args.get("why") if not failed else "login_failed",
        )
        web.set_cookie(response, web.LOGIN_CSRF_COOKIE, token, 600, self._secure_cookies)
        return response

    @http("POST", "/login")
    def login(self, request):
        """Throttled before any hashing (security.login_wait), argon2 in an OS thread, a session on success."""
        lang = web.language(request)
        if not csrf_ok(request.cookies.get(web.LOGIN_CSRF_COOKIE), request.form.get("csrf")):
            return web.render("error.html", lang, 403, login=None, title=translate(lang, "csrf_failed"), message="")
        username, password = request.form.get("username", ""), request.form.get("password", "")
        address = web.client_address(request, self.settings.proxies)
        moment = self.clock.now()
        with self.db.get_session() as session:
            failures = accounts.login_failures(session, username, address, moment - LOGIN_RULES.window)
            stored = accounts.password_hash_of(session, username)
        wait = security.login_wait(LOGIN_RULES, failures, username, address, moment)
        if wait is not None:
            return web.too_many_logins(lang, wait)
        try:
            if not self.passwords.verify(stored, password):
                with self.db.get_session() as session:
                    accounts.record_login_failure(session, username, address, moment)
                return self.login_form(request, failed=True)
            new_hash = self.passwords.hash(password) if security.needs_rehash(stored) else None
        except HasherBusy:
            return web.logins_busy(lang)
        with self.db.get_session() as session:
            opened = accounts.open_session(session, username, lang, new_hash)
            accounts.forget_login_failures(session, username, address)
        if opened is None:  # deactivated while its password was being checked
            return self.login_form(request, failed=True)
        token, _ = opened
        response = web.redirect(web.safe_next(request.form.get("next")))
        web.set_cookie(response, web.SESSION_COOKIE, token, int(ABSOLUTE.total_seconds()), self._secure_cookies)
        web.clear_cookie(response, web.LOGIN_CSRF_COOKIE, self._secure_cookies)
        return response

    @http("POST", "/logout")
    @page()
    def logout(self, request, login, lang):
        with self.db.get_session() as session:
            accounts.log_out(session, login.session_id)
        response = web.redirect("/login")
        web.clear_cookie(response, web.SESSION_COOKIE, self._secure_cookies)
        return response

    @http("GET", "/lang/<code>")
    def switch_language(self, request, code):
        """Only a display preference, so a GET; the session remembers it too."""
        lang = code if code in ("zh", "en") else "zh"
        login = self._login(request)
        if login is not None:
            with self.db.get_session() as session:
                accounts.set_language(session, login.session_id, lang)
        response = web.redirect(web.back_to(request))
        web.set_cookie(response, web.LANG_COOKIE, lang, 365 * 86400, self._secure_cookies)
        return response

    # --- roster ------------------------------------------------------------------------------

    @http("GET", "/roster")
    @page()
    def roster_index(self, request, login, lang):
        platform = self._platform()
        try:
            rosters = platform.list_rosters()
        except Exception as exc:  # list_rosters is optional: the form to open one by number stays
            failure = classify(exc)
            if failure is None:
                raise
            rosters = None
        monday = now().date() + timedelta(days=(7 - now().weekday()) % 7 or 7)
        return web.render(
            "roster_index.html",
            lang,
            login=login,
            rosters=rosters,
            default_start=monday.isoformat(),
            grids=platform.grids(),
        )

    @http("GET", "/roster/open")
    @page()
    def roster_open(self, request, login, lang):
        try:
            return web.redirect(f"/roster/{int(request.args.get('id', ''))}")
        except ValueError:
            raise InvalidInput("id: a roster number") from None

    @http("POST", "/roster/build")
    @page(change=True)
    def roster_build(self, request, login, lang):
        form = request.form
        try:
            start = datetime.combine(date.fromisoformat(form.get("start", "")), datetime.min.time(), tzinfo=TZ)
            days = int(form.get("days", "28"))
            time_limit = float(form.get("time_limit", "10"))
            grids = sorted({int(g) for g in form.getlist("grid")})
        except ValueError:
            raise InvalidInput("start, days, time_limit: a date (YYYY-MM-DD) and numbers") from None
        if not (1 <= days <= 62 and 0.5 <= time_limit <= 120):
            raise InvalidInput("days: 1..62; time_limit: 0.5..120 seconds")
        reply = self._platform().start_build(
            start, start + timedelta(days=days), grids, {"time_limit": time_limit}, f"web-{new_token()[:32]}"
        )
        build = self.builds.follow(reply, login.username, time_limit, self.clock.now())
        return web.redirect(f"/roster/builds/{build.id}")

    @http("GET", "/roster/builds/<build_id>")
    @page()
    def roster_build_progress(self, request, login, lang, build_id):
        """While activities solves: a page that looks again every few seconds; then the roster, or why not."""
        build = self.builds.get(build_id, login.username)
        if build is None:  # started before a restart, or on another replica: the list shows it
            return web.redirect("/roster")
        if build.roster_id is not None:
            return web.redirect(f"/roster/{build.roster_id}")
        if build.failure is not None:
            return failure_page(lang, login, build.failure, build.failed_as)
        return web.render("building.html", lang, login=login, build=build, started=local(build.started_at))

    @http("GET", "/roster/<int:roster_id>")
    @page()
    def roster_show(self, request, login, lang, roster_id):
        platform = self._platform()
        # a roster still solving (or failed) has no result yet: its page says so, without numbers
        found = platform.get_roster(roster_id)
        roster = {**dict.fromkeys(("solver_status", "objective", "bound", "gap")), **found}
        ids = board.volunteer_ids(roster)
        names = platform.names(ids) if ids else {}
        grid_names = {int(g["id"]): g.get("code") or str(g["id"]) for g in platform.grids()}
        laid_out = board.layout(roster, names, grid_names, lang)
        rows = board.fairness_rows(roster, names)
        labels = {k: translate(lang, f"fairness_{k}") for k in ("title", "x", "y")}
        labels.update(leader=translate(lang, "leader"), patroller=translate(lang, "patroller"))
        chart = charts.fairness_histogram(rows, labels) if rows else None
        return web.render(
            "roster.html",
            lang,
            login=login,
            roster=roster,
            board=laid_out,
            weekday=lambda d: board.weekday(d, lang),
            chart=chart,
            outliers=[r for r in rows if r["delta"]][:10] if rows else [],
            people=sorted((names.get(v, f"#{v}"), v) for v in board.rostered_ids(roster)),
            done=request.args.get("done"),
        )

    @http("POST", "/roster/<int:roster_id>/publish")
    @page(change=True)
    def roster_publish(self, request, login, lang, roster_id):
        self._platform().publish_roster(roster_id)
        return web.redirect(f"/roster/{roster_id}", done="published")

    @http("POST", "/roster/<int:roster_id>/repair")
    @page(change=True)
    def roster_repair(self, request, login, lang, roster_id):
        (volunteer_id,) = self._volunteers_typed(roster_id, request.form, "volunteer_id")
        result = self._platform().repair_roster(roster_id, volunteer_id)
        return web.redirect(f"/roster/{result.get('id', roster_id)}", done="repaired")

    @http("POST", "/roster/<int:roster_id>/swap")
    @page(change=True)
    def roster_swap(self, request, login, lang, roster_id):
        form = request.form
        a, b = self._volunteers_typed(roster_id, form, "volunteer_a", "volunteer_b")
        try:
            # a day, and the time of the patrol when the volunteer has two that day
            day_a, day_b = (
                datetime.fromisoformat(f"{form.get(day, '').strip()} {form.get(at, '').strip() or '00:00'}")
                for day, at in (("day_a", "time_a"), ("day_b", "time_b"))
            )
        except ValueError:
            raise InvalidInput(
                "day_a, day_b: YYYY-MM-DD; time_a, time_b: HH:MM", "日期为年-月-日，时间为时:分"
            ) from None
        try:
            self._platform().swap_on_days(roster_id, a, day_a, b, day_b)
        except board.NotInRoster as exc:
            raise InvalidInput(str(exc), exc.message_zh) from None
        return web.redirect(f"/roster/{roster_id}", done="swapped")

    def _volunteers_typed(self, roster_id: int, form, *fields: str) -> list[int]:
        """The volunteers the form's `fields` name, by number or by name."""
        try:
            return self._platform().volunteers_typed(roster_id, {f: form.get(f) or "" for f in fields})
        except board.NotInRoster as exc:
            raise InvalidInput(str(exc), exc.message_zh) from None

    # --- attendance --------------------------------------------------------------------------

    @http("GET", "/attendance")
    @page()
    def attendance(self, request, login, lang):
        if not login.sees_private:  # who did which duty is for organisers (activities says so too)
            return web.render(
                "error.html",
                lang,
                403,
                login=login,
                title=translate(lang, "not_allowed"),
                message=translate(lang, "attendance_organisers_only"),
            )
        try:
            day = date.fromisoformat(request.args.get("day") or now().date().isoformat())
        except ValueError:
            raise InvalidInput("day: a date, YYYY-MM-DD") from None
        rows = self._platform().attendance_sheet(day)
        return web.render(
            "attendance.html",
            lang,
            login=login,
            day=day,
            rows=rows,
            local=lambda v: local(datetime.fromisoformat(v)),
            done=request.args.get("done"),
        )

    @http("POST", "/attendance/<int:signup_id>")
    @page(change=True)
    def attendance_mark(self, request, login, lang, signup_id):
        status = request.form.get("status")
        if status not in ("attended", "no_show", "excused"):
            raise InvalidInput("status: attended, no_show or excused")
        self._platform().mark_attendance(signup_id, status)
        return web.redirect("/attendance", day=request.form.get("day"), done="marked")

    @http("POST", "/volunteers/<int:volunteer_id>/feed")
    @page(change=True)
    def volunteer_feed_issue(self, request, login, lang, volunteer_id):
        self._platform().feed_urls(volunteer_id, issue=True)
        return web.redirect(f"/volunteers/{volunteer_id}")

    # --- volunteers --------------------------------------------------------------------------

    @http("GET", "/volunteers")
    @page()
    def volunteer_list(self, request, login, lang):
        try:
            offset = max(0, int(request.args.get("offset", 0)))
            grid = int(request.args["grid"]) if request.args.get("grid") else None
        except ValueError:
            raise InvalidInput("offset, grid: numbers") from None
        team = request.args.get("team") or None
        platform = self._platform()
        listing = platform.volunteers.list_volunteers(team=team, grid_id=grid, limit=50, offset=offset)
        teams, grids = platform.teams(), platform.grids()
        return web.render(
            "volunteers.html",
            lang,
            login=login,
            listing=listing,
            teams=teams,
            team=team,
            grid=grid,
            grids=grids,
            **directory_words(teams, grids, lang),
        )

    @http("GET", "/volunteers/<int:volunteer_id>")
    @page()
    def volunteer_show(self, request, login, lang, volunteer_id):
        platform = self._platform()
        volunteer = platform.volunteers.get_volunteer(volunteer_id=volunteer_id)
        links, qr, feed_error = None, None, None
        if login.sees_private:  # the personal link holds the volunteer's secret token
            try:
                links = platform.feed_urls(volunteer_id)
                if links.get("personal"):
                    qr = charts.qr_svg(links["personal"]["webcal"], translate(lang, "subscribe"))
            except Exception as exc:
                failure = classify(exc)
                if failure is None:
                    raise
                feed_error = failure.message
        signin_links = []
        if login.sees_private:
            with self.db.get_session() as session:
                signin_links = phone_sessions.links_of(session, volunteer_id, self.clock.now())
        partners = platform.names(volunteer.get("partners") or [])
        choices = []
        if login.can_change:  # partners are chosen by name among the patrol team of the volunteer's grid
            team = platform.all_volunteers(team="voluntary_patrol", grid_id=volunteer.get("grid_id"), active=True)
            choices = roster_settings.partner_choices(team, partners, volunteer_id)
        return web.render(
            "volunteer.html",
            lang,
            login=login,
            v=volunteer,
            links=links,
            qr=qr,
            feed_error=feed_error,
            signin_links=signin_links,
            partners=partners,
            partner_choices=choices,
            times_of_day=roster_settings.TIMES_OF_DAY,
            done=request.args.get("done"),
            **directory_words(platform.teams(), platform.grids(), lang),
        )

    @http("POST", "/volunteers/<int:volunteer_id>/settings")
    @page(change=True)
    def volunteer_settings(self, request, login, lang, volunteer_id):
        """The volunteer's roster settings: weekly cap, target a month, preferred days and times, partners."""
        changes = roster_settings.read(request.form, organiser=True)
        self._platform().volunteers.update_volunteer(volunteer_id=volunteer_id, **changes)
        return web.redirect(f"/volunteers/{volunteer_id}", done="settings_saved")

    @http("GET", "/volunteers/<int:volunteer_id>/recognition")
    @page()
    def volunteer_recognition(self, request, login, lang, volunteer_id):
        """Hours, points and team places of this year, on a sheet to print for recognition."""
        summary = phone.recognition(self.volunteers, self.activities, volunteer_id, self.clock.now())
        return web.render("recognition.html", lang, login=login, today=self.clock.now().date(), **summary)

    @http("POST", "/volunteers/<int:volunteer_id>/signin-link")
    @page(change=True)
    def volunteer_signin_link(self, request, login, lang, volunteer_id):
        """A personal sign-in link for a volunteer who cannot receive SMS, as a sheet to print and
        hand over (their earlier links stop working)."""
        volunteer = self._platform().volunteers.get_volunteer(volunteer_id=volunteer_id)
        if not volunteer.get("active"):
            raise InvalidInput(f"volunteer {volunteer_id} is not active")
        base = self.config.get("ORGANISER_PUBLIC_URL") or request.host_url
        link = self.signin_link_for(volunteer_id, login.username, base)
        return web.render("signin_sheet.html", lang, login=login, v=volunteer, link=link)

    @http("POST", "/volunteers/<int:volunteer_id>/signin-link/revoke")
    @page(change=True)
    def volunteer_signin_link_revoke(self, request, login, lang, volunteer_id):
        """Printed links stop working, and every phone signed in as the volunteer is signed out."""
        with self.db.get_session() as session:
            phone_sessions.revoke_links(session, volunteer_id, self.clock.now())
            phone_sessions.sign_out_everywhere(session, volunteer_id)
        return web.redirect(f"/volunteers/{volunteer_id}")
