"""The volunteers' own page on their phone (``/v``): sign-in by SMS code or a printed link, their
duties, open duties to take, cancelling, stand-ins, swaps, availability, roster and notification
preferences, points and calendar.

Entry points only: the rules are in ``organiser.signin`` (sign-in) and in the services each page
calls, as the signed-in volunteer (``volunteer:<id>``, role ``volunteer``, ``grid_leader`` too for
those who lead a grid), so each service applies its own "for themselves only" rule. Every page is
one action, in plain words, in the volunteer's language (Chinese first).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import wraps

from werkzeug.wrappers import Request, Response

from guanyinli import tenancy
from guanyinli.errors import Forbidden, InvalidInput, NotFound
from guanyinli.timeutil import TZ
from organiser import board, charts, roster_settings, school_pages, signin, web
from organiser import volunteer_sessions as sessions
from organiser.i18n import translate
from organiser.remote import UNREACHABLE, classify
from organiser.security import csrf_ok, new_token
from organiser.web import http

log = logging.getLogger(__name__)

ME_COOKIE = "gyl_me"
ME_CSRF_COOKIE = "gyl_me_csrf"
CODE_RULES = signin.CodeRules()
UPCOMING_DAYS = 60
OPEN_WEEKS = 4  # how far ahead open duties are offered, a week a page
OPEN_PER_PAGE = 30
PAST_DAYS = 90


def recognition(volunteers, activities, volunteer_id: int, moment: datetime) -> dict:
    """A volunteer's hours and points: in all, this year, and their place in each team's table of
    this year (the phone page's points and the organiser's printed summary)."""
    volunteer = volunteers.get_volunteer(volunteer_id=volunteer_id)
    ledger = volunteers.get_ledger(volunteer_id=volunteer_id, limit=20)
    stats = activities.volunteer_stats(volunteer_id=volunteer_id)
    since = moment.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0).isoformat()
    year = {"hours": 0.0, "points": 0}
    for row in volunteers.leaderboard(since=since, limit=500):
        if row["volunteer_id"] == volunteer_id:
            year = {"hours": row["hours"], "points": row["points"]}
    places = []
    for team in volunteer.get("teams") or ():
        table = volunteers.leaderboard(team=team, since=since, limit=500)
        mine = next((r for r in table if r["volunteer_id"] == volunteer_id), None)
        places.append({"team": team, "rank": mine["rank"] if mine else None, "of": len(table)})
    return {
        "volunteer": volunteer,
        "ledger": ledger,
        "stats": stats,
        "year": year,
        "places": places,
        "year_no": moment.year,
    }


def phone_page(fn: Callable):
    """An @http method of the phone page: the signed-in volunteer (else the sign-in page), CSRF on
    POST, calls made as them, failures of the other services as a page saying what to do next.

    The method receives ``(request, me, lang, *args)``."""

    @wraps(fn)
    def wrapper(self, request: Request, *args, **kwargs):
        me = self._me(request)
        lang = web.language(request, me.lang if me else None)
        if me is None:
            if request.method == "POST":  # nothing is done without a session: say so, as for a forged form
                return self._v_message(lang, None, "v_session_ended", "v_sign_in_again", 403)
            why = "v_session_ended" if request.cookies.get(ME_COOKIE) else None
            return web.redirect("/v/login", why=why)
        if request.method == "POST" and not csrf_ok(me.csrf_token, request.form.get("csrf")):
            return self._v_message(lang, me, "v_form_expired", "v_form_expired_next", 403)
        self.act_as(me.rpc_user())
        try:
            return fn(self, request, me, lang, *args, **kwargs)
        except Exception as exc:
            return self._v_failure(lang, me, exc)

    return wrapper


def wait_minutes(wait: timedelta) -> int:
    """A wait in whole minutes, rounded up, for the page's words."""
    return max(1, int(wait.total_seconds() + 59) // 60)


def retry_after(response: Response, wait: timedelta) -> Response:
    response.headers["Retry-After"] = str(int(wait.total_seconds()) + 1)
    return response


def _int(value: str | None, name: str) -> int:
    try:
        return int(value or "")
    except ValueError:
        raise InvalidInput(f"{name}: a number") from None


def _monday(moment: datetime) -> datetime:
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


def _dated(availability: dict) -> list[dict]:
    """Dated entries as ``set_availability`` takes them back."""
    return [{k: d.get(k) for k in ("kind", "start", "end", "note")} for d in availability["dated"]]


class PhonePages:
    """Mixed into ``OrganiserService`` (nameko finds entry points on the service class)."""

    # --- plumbing --------------------------------------------------------------------------

    def _me(self, request: Request) -> sessions.Me | None:
        token = request.cookies.get(ME_COOKIE)
        if not token:
            return None
        with self.db.get_session() as session:
            return sessions.resume(session, token, self.clock.now())

    def _v_render(self, template: str, lang: str, me, status: int = 200, **context) -> Response:
        return web.render(f"v/{template}", lang, status, me=me, **context)

    def _v_message(self, lang: str, me, title: str, next_step: str, status: int = 400, **words) -> Response:
        return self._v_render(
            "message.html",
            lang,
            me,
            status,
            title=translate(lang, title).format(**words),
            message=translate(lang, next_step).format(**words),
        )

    def _v_failure(self, lang: str, me, exc: BaseException) -> Response:
        """A refusal or an outage in the volunteer's words, with what to do next."""
        failure = classify(exc)
        if failure is None:
            raise exc
        kind = type(exc).__name__
        if failure.code == UNREACHABLE:
            return self._v_message(lang, me, "v_unreachable", "v_unreachable_next", 503)
        if isinstance(exc, Forbidden):
            return self._v_message(lang, me, "v_not_yours", "v_not_yours_next", 403)
        if isinstance(exc, NotFound):
            return self._v_message(lang, me, "v_not_found", "v_not_found_next", 404)
        specific = f"v_err_{kind}"
        if translate(lang, specific) != specific:
            return self._v_render(
                "message.html",
                lang,
                me,
                409,
                title=translate(lang, specific),
                message=translate(lang, specific + "_next"),
                detail=failure.message_zh if lang == "zh" and failure.message_zh else None,
            )
        detail = failure.message_zh if lang == "zh" and failure.message_zh else failure.message
        return self._v_render(
            "message.html", lang, me, 409, title=translate(lang, "v_refused"), message=detail, back=True
        )

    def _open_me(self, request: Request, volunteer: dict, how: str, lang: str) -> Response:
        moment = self.clock.now()
        with self.db.get_session() as session:
            token, _ = sessions.open_session(session, volunteer, lang, how, moment)
        response = web.redirect("/v")
        max_age = int(signin.ABSOLUTE.total_seconds())
        web.set_cookie(response, ME_COOKIE, token, max_age, self.settings.secure_cookies)
        web.clear_cookie(response, ME_CSRF_COOKIE, self.settings.secure_cookies)
        return response

    def _signin_form(self, lang: str, template: str, status: int = 200, **context) -> Response:
        token = new_token()
        response = self._v_render(template, lang, None, status, csrf=token, **context)
        web.set_cookie(response, ME_CSRF_COOKIE, token, 1800, self.settings.secure_cookies)
        return response

    def _signin_csrf_ok(self, request: Request) -> bool:
        return csrf_ok(request.cookies.get(ME_CSRF_COOKIE), request.form.get("csrf"))

    # --- sign-in ---------------------------------------------------------------------------

    @http("GET", "/v/login")
    def v_login_page(self, request: Request) -> Response:
        lang = web.language(request)
        if self._me(request) is not None:
            return web.redirect("/v")
        return self._signin_form(lang, "login.html", why=request.args.get("why"))

    @http("POST", "/v/code")
    def v_send_code(self, request: Request) -> Response:
        """Asks for a code. The page that follows is the same whether or not the number is a
        volunteer's; the limits count every request alike."""
        lang = web.language(request)
        if not self._signin_csrf_ok(request):
            return self._signin_form(lang, "login.html", 403, why="v_form_expired")
        phone = signin.mobile_number(request.form.get("phone"))
        if phone is None:
            return self._signin_form(lang, "login.html", 400, why="v_phone_invalid", typed=request.form.get("phone"))
        wait = self._code_wait(request, phone, "sign_in")
        if wait is not None:
            response = self._signin_form(lang, "login.html", 429, why="v_code_wait", minutes=wait_minutes(wait))
            return retry_after(response, wait)
        volunteer = self._volunteer_by_phone(phone)
        owner = volunteer["id"] if volunteer else None
        if not self._new_code(request, phone, "sign_in", lang, owner, text=volunteer is not None):
            return self._signin_form(lang, "login.html", 503, why="v_sms_down")
        return self._signin_form(lang, "code.html", phone=phone, masked=signin.masked(phone))

    # --- one-time codes by SMS, for the volunteers' sign-in and the residents' appeal form ------------

    def _code_wait(self, request: Request, phone: str, purpose: str) -> timedelta | None:
        """How long before another code may be asked for this number from this address; None: now.
        The limits count every request alike, whoever the number belongs to."""
        moment = self.clock.now()
        digest = signin.phone_digest(self.settings.signin_key, phone, purpose)
        address = web.client_address(request, self.settings.proxies)
        with self.db.get_session() as session:
            asked = sessions.code_requests(session, digest, address, moment - CODE_RULES.window)
        return signin.code_wait(CODE_RULES, asked, digest, address, moment)

    def _new_code(
        self, request: Request, phone: str, purpose: str, lang: str, owner: int | None = None, text: bool = True
    ) -> bool:
        """A new code for the number, kept as digests, and texted (unless ``text`` is False: a number
        that is nobody's gets none); False when the text could not go out."""
        key, moment = self.settings.signin_key, self.clock.now()
        code = signin.new_code()
        with self.db.get_session() as session:
            code_id = sessions.add_code(
                session,
                signin.phone_digest(key, phone, purpose),
                signin.digest(key, phone, code),
                owner,
                web.client_address(request, self.settings.proxies),
                moment,
            )
        if not text:
            return True
        prefix = "signin" if purpose == "sign_in" else f"{purpose}-code"
        try:
            self.notifications.send_sign_in_code(
                phone=phone, code=code, language=lang, request_id=f"{prefix}-{code_id}", purpose=purpose
            )
        except Exception as exc:
            if classify(exc) is None:
                raise
            log.warning("%s code %d not sent: %s", purpose, code_id, type(exc).__name__)
            return False
        return True

    def _spend_code(self, phone: str, code: str, purpose: str) -> tuple[str | None, int | None, int | None]:
        """(why it is refused, or None; the volunteer it signs in; the code's id). A right code is used
        up here, a wrong one counts a try. For sign-in the number must be a volunteer's."""
        key, moment = self.settings.signin_key, self.clock.now()
        check = signin.check_code if purpose == "sign_in" else signin.verify_code
        with self.db.get_session() as session:
            latest = sessions.latest_code(session, signin.phone_digest(key, phone, purpose))
            try:
                owner = check(key, latest[1] if latest else None, phone, code, moment)
            except signin.CodeRefused as refused:
                if latest is not None and refused.reason == "code_wrong":
                    sessions.count_try(session, latest[0])
                return refused.reason, None, None
            if not sessions.use_code(session, latest[0], moment):
                return "code_wrong", None, None
        return None, owner, latest[0]

    def _volunteer_by_phone(self, phone: str) -> dict | None:
        """The active volunteer with this number, asked as this service (never as a person)."""
        try:
            found = self.volunteers.find_by_phone(phone=phone)
        except NotFound:
            return None
        return found if found.get("active") else None

    @http("POST", "/v/verify")
    def v_verify_code(self, request: Request) -> Response:
        lang = web.language(request)
        if not self._signin_csrf_ok(request):
            return self._signin_form(lang, "login.html", 403, why="v_form_expired")
        phone = signin.mobile_number(request.form.get("phone"))
        code = (request.form.get("code") or "").strip()
        if phone is None:
            return self._signin_form(lang, "login.html", 400, why="v_phone_invalid")
        reason, volunteer_id, _ = self._spend_code(phone, code, "sign_in")
        if reason is not None:
            back = "code.html" if reason == "code_wrong" else "login.html"
            return self._signin_form(lang, back, 401, why=f"v_{reason}", phone=phone, masked=signin.masked(phone))
        volunteer = self._volunteer_by_phone(phone)
        if volunteer is None or int(volunteer["id"]) != volunteer_id:  # deactivated or renumbered meanwhile
            return self._signin_form(lang, "login.html", 401, why="v_code_wrong")
        return self._open_me(request, volunteer, "sms", lang)

    @http("GET", "/v/link/<string:token>")
    def v_link_page(self, request: Request, token: str) -> Response:
        """A printed link opens a page with one button: link previews and scanners do not sign in."""
        lang = web.language(request)
        return self._signin_form(lang, "link.html", token=token)

    @http("POST", "/v/link/<string:token>")
    def v_use_link(self, request: Request, token: str) -> Response:
        lang = web.language(request)
        if not self._signin_csrf_ok(request):
            return self._signin_form(lang, "link.html", 403, token=token, why="v_form_expired")
        try:
            with self.db.get_session() as session:
                volunteer_id = sessions.use_link(session, token, self.clock.now())
            volunteer = self.volunteers.get_volunteer(volunteer_id=volunteer_id)
        except NotFound:
            return self._v_message(lang, None, "v_link_dead", "v_link_dead_next", 404)
        if not volunteer.get("active"):
            return self._v_message(lang, None, "v_link_dead", "v_link_dead_next", 404)
        return self._open_me(request, volunteer, "link", lang)

    @http("POST", "/v/logout")
    @phone_page
    def v_sign_out(self, request: Request, me, lang) -> Response:
        with self.db.get_session() as session:
            sessions.sign_out(session, me.session_id)
        response = web.redirect("/v/login")
        web.clear_cookie(response, ME_COOKIE, self.settings.secure_cookies)
        return response

    @http("GET", "/v/lang/<code>")
    def v_language(self, request: Request, code: str) -> Response:
        lang = code if code in ("zh", "en") else "zh"
        me = self._me(request)
        if me is not None:
            with self.db.get_session() as session:
                sessions.set_language(session, me.session_id, lang)
        response = web.redirect("/v")
        web.set_cookie(response, web.LANG_COOKIE, lang, 365 * 86400, self.settings.secure_cookies)
        return response

    # --- the volunteer's pages -------------------------------------------------------------

    @http("GET", "/v")
    @phone_page
    def v_home(self, request: Request, me, lang) -> Response:
        now = self.clock.now()
        duties = self.activities.list_duties(
            volunteer_id=me.volunteer_id,
            start=now,
            end=now + timedelta(days=UPCOMING_DAYS),
            include_waitlisted=True,
        )
        pupils = {}  # a tutor's pupils per school session: grade and subjects, never the guardian's contact
        if any(d["kind"] == "tutoring" for d in duties):
            end = now + timedelta(days=UPCOMING_DAYS)
            pupils = school_pages.tutored(
                self.activities.list_assignments(start=now, end=end, tutor_id=me.volunteer_id)
            )
        return self._v_render(
            "home.html", lang, me, duties=duties, pupils=pupils, now=now, notice=request.args.get("done")
        )

    @http("GET", "/v/past")
    @phone_page
    def v_past(self, request: Request, me, lang) -> Response:
        now = self.clock.now()
        duties = self.activities.list_duties(
            volunteer_id=me.volunteer_id, start=now - timedelta(days=PAST_DAYS), end=now
        )
        duties.sort(key=lambda d: d["duty_start"], reverse=True)
        return self._v_render("past.html", lang, me, duties=duties)

    @http("GET", "/v/open")
    @phone_page
    def v_open(self, request: Request, me, lang) -> Response:
        """Open duties a week at a time (this week and the three after it), by kind if asked, at most
        ``OPEN_PER_PAGE`` of them: a page a weak phone loads at once."""
        week = min(max(_int(request.args.get("week") or "0", "week"), 0), OPEN_WEEKS - 1)
        kind = request.args.get("kind") or None
        now = self.clock.now()
        start = now if week == 0 else _monday(now) + timedelta(weeks=week)
        end = _monday(now) + timedelta(weeks=week + 1)
        duties = self.activities.list_open_duties(volunteer_id=me.volunteer_id, start=start, end=end, kind=kind)
        kinds = sorted({d["kind"] for d in duties})
        return self._v_render(
            "open.html",
            lang,
            me,
            duties=duties[:OPEN_PER_PAGE],
            more=max(0, len(duties) - OPEN_PER_PAGE),
            kind=kind,
            kinds=kinds,
            week=week,
            weeks=OPEN_WEEKS,
            first_day=start.date(),
            last_day=(end - timedelta(days=1)).date(),
        )

    @http("POST", "/v/signup")
    @phone_page
    def v_sign_up(self, request: Request, me, lang) -> Response:
        occurrence_id = _int(request.form.get("occurrence_id"), "occurrence_id")
        signup = self.activities.sign_up(
            occurrence_id=occurrence_id,
            volunteer_id=me.volunteer_id,
            role=request.form.get("role") or None,
            request_id=request.form.get("request_id") or None,
        )
        return self._v_render("signed_up.html", lang, me, signup=signup)

    @http("POST", "/v/duties/<int:signup_id>/cancel")
    @phone_page
    def v_cancel(self, request: Request, me, lang, signup_id: int) -> Response:
        self.activities.cancel_sign_up(signup_id=signup_id)
        return web.redirect("/v", done="cancelled")

    @http("POST", "/v/duties/<int:signup_id>/cant-come")
    @phone_page
    def v_cant_come(self, request: Request, me, lang, signup_id: int) -> Response:
        self.activities.cant_come(
            signup_id=signup_id, reason=(request.form.get("reason") or "")[:200] or None, request_id=None
        )
        return web.redirect("/v", done="offered")

    @http("GET", "/v/standins")
    @phone_page
    def v_standins(self, request: Request, me, lang) -> Response:
        offers = self.activities.list_standin_offers(volunteer_id=me.volunteer_id)
        return self._v_render("standins.html", lang, me, offers=offers)

    @http("POST", "/v/standins/<int:offer_id>/take")
    @phone_page
    def v_take_standin(self, request: Request, me, lang, offer_id: int) -> Response:
        self.activities.accept_standin(offer_id=offer_id, volunteer_id=me.volunteer_id, request_id=None)
        return web.redirect("/v", done="taken")

    @http("GET", "/v/points")
    @phone_page
    def v_points(self, request: Request, me, lang) -> Response:
        summary = recognition(self.volunteers, self.activities, me.volunteer_id, self.clock.now())
        return self._v_render("points.html", lang, me, **summary)

    @http("GET", "/v/calendar")
    @phone_page
    def v_calendar(self, request: Request, me, lang) -> Response:
        links = self.activities.feed_urls(volunteer_id=me.volunteer_id)
        personal = links.get("personal")
        qr = charts.qr_svg(personal["webcal"], translate(lang, "subscribe")) if personal else None
        return self._v_render("calendar.html", lang, me, links=links, qr=qr, notice=request.args.get("done"))

    @http("POST", "/v/calendar/new")
    @phone_page
    def v_new_calendar_link(self, request: Request, me, lang) -> Response:
        self.activities.rotate_feed_token(volunteer_id=me.volunteer_id)
        return web.redirect("/v/calendar", done="new_link")

    # --- swaps ------------------------------------------------------------------------------

    @http("GET", "/v/swaps")
    @phone_page
    def v_swaps(self, request: Request, me, lang) -> Response:
        """Swaps asked of this volunteer (to accept or decline) and their own proposals."""
        proposed = self.activities.list_swaps(volunteer_id=me.volunteer_id, status="proposed")
        shifts = self._shift_words(proposed)
        names = self._names({s["volunteer_a"] for s in proposed} | {s["volunteer_b"] for s in proposed})
        return self._v_render(
            "swaps.html", lang, me, swaps=proposed, shifts=shifts, names=names, notice=request.args.get("done")
        )

    @http("GET", "/v/duties/<int:occurrence_id>/swap")
    @phone_page
    def v_swap_options(self, request: Request, me, lang, occurrence_id: int) -> Response:
        options = self.activities.swap_options(volunteer_id=me.volunteer_id, occurrence_id=occurrence_id)
        names = self._names({o["volunteer_b"] for o in options})
        return self._v_render("swap_options.html", lang, me, options=options, names=names)

    @http("POST", "/v/swaps")
    @phone_page
    def v_propose_swap(self, request: Request, me, lang) -> Response:
        self.activities.request_swap(
            roster_id=_int(request.form.get("roster_id"), "roster_id"),
            volunteer_a=me.volunteer_id,
            shift_a=request.form.get("shift_a") or "",
            volunteer_b=_int(request.form.get("volunteer_b"), "volunteer_b"),
            shift_b=request.form.get("shift_b") or "",
            request_id=request.form.get("request_id") or None,
        )
        return web.redirect("/v/swaps", done="swap_proposed")

    @http("POST", "/v/swaps/<int:swap_id>/<string:answer>")
    @phone_page
    def v_answer_swap(self, request: Request, me, lang, swap_id: int, answer: str) -> Response:
        if answer == "accept":
            self.activities.accept_swap(swap_id=swap_id)
        elif answer == "decline":
            self.activities.decline_swap(swap_id=swap_id, reason=None)
        elif answer == "withdraw":
            self.activities.withdraw_swap(swap_id=swap_id)
        else:
            raise InvalidInput("answer: accept, decline or withdraw")
        return web.redirect("/v/swaps", done=f"swap_{answer}")

    def _names(self, volunteer_ids) -> dict[int, str]:
        """Names of other volunteers (names only: their contacts are not this volunteer's to see)."""
        return {vid: self.volunteers.get_volunteer(volunteer_id=vid)["name"] for vid in sorted(volunteer_ids)[:30]}

    def _shift_words(self, swaps: list[dict]) -> dict[str, dict]:
        """The occurrences behind the shifts of these swaps (a shift id is its occurrence's id)."""
        found = {}
        for shift in {s["shift_a"] for s in swaps} | {s["shift_b"] for s in swaps}:
            try:
                found[shift] = self.activities.get_occurrence(occurrence_id=int(shift))
            except (ValueError, NotFound):
                continue
        return found

    # --- availability and time off -------------------------------------------------------

    @http("GET", "/v/availability")
    @phone_page
    def v_availability(self, request: Request, me, lang) -> Response:
        current = self.volunteers.get_availability(volunteer_id=me.volunteer_id)
        now = self.clock.now()
        time_off = [d for d in current["dated"] if d["kind"] == "off" and board.when(d["end"]) > now]
        return self._v_render(
            "availability.html",
            lang,
            me,
            weekly=sorted(current["weekly"], key=lambda w: (w["weekday"], w["start"])),
            time_off=time_off,
            today=now.date(),
            one_second=timedelta(seconds=1),
            notice=request.args.get("done"),
        )

    @http("POST", "/v/availability/weekly")
    @phone_page
    def v_set_weekly(self, request: Request, me, lang) -> Response:
        """The weekly windows kept (not ticked to remove) and the one added; dated entries unchanged."""
        current = self.volunteers.get_availability(volunteer_id=me.volunteer_id)
        removed = set(request.form.getlist("remove"))
        weekly = [
            {"weekday": w["weekday"], "start": w["start"], "end": w["end"]}
            for w in current["weekly"]
            if f"{w['weekday']}-{w['start']}-{w['end']}" not in removed
        ]
        if request.form.get("weekday"):
            weekly.append(
                {
                    "weekday": _int(request.form.get("weekday"), "weekday"),
                    "start": request.form.get("start") or "",
                    "end": request.form.get("end") or "",
                }
            )
        self.volunteers.set_availability(volunteer_id=me.volunteer_id, weekly=weekly, dated=_dated(current))
        return web.redirect("/v/availability", done="saved")

    @http("POST", "/v/availability/off")
    @phone_page
    def v_add_time_off(self, request: Request, me, lang) -> Response:
        """Whole days off, from one date to another (inclusive)."""
        try:
            first = date.fromisoformat(request.form.get("from") or "")
            last = date.fromisoformat(request.form.get("to") or request.form.get("from") or "")
        except ValueError:
            raise InvalidInput("from, to: dates") from None
        if last < first:
            raise InvalidInput("to: on or after from")
        current = self.volunteers.get_availability(volunteer_id=me.volunteer_id)
        start = datetime.combine(first, datetime.min.time(), tzinfo=TZ)
        end = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=TZ)
        note = (request.form.get("note") or "").strip()[:200] or None
        dated = _dated(current) + [{"kind": "off", "start": start.isoformat(), "end": end.isoformat(), "note": note}]
        self.volunteers.set_availability(volunteer_id=me.volunteer_id, weekly=current["weekly"], dated=dated)
        return web.redirect("/v/availability", done="time_off_added")

    @http("POST", "/v/availability/off/remove")
    @phone_page
    def v_remove_time_off(self, request: Request, me, lang) -> Response:
        current = self.volunteers.get_availability(volunteer_id=me.volunteer_id)
        gone = request.form.get("start") or ""
        dated = [d for d in _dated(current) if not (d["kind"] == "off" and d["start"] == gone)]
        self.volunteers.set_availability(volunteer_id=me.volunteer_id, weekly=current["weekly"], dated=dated)
        return web.redirect("/v/availability", done="saved")

    # --- roster preferences ---------------------------------------------------------------

    @http("GET", "/v/profile")
    @phone_page
    def v_profile(self, request: Request, me, lang) -> Response:
        """Their own weekly cap, preferred days and times; the target and partners, which organisers set,
        are shown (a volunteer may list no one, so partners are chosen by organisers)."""
        volunteer = self.volunteers.get_volunteer(volunteer_id=me.volunteer_id)
        partners = self._names(volunteer.get("partners") or [])
        return self._v_render(
            "profile.html",
            lang,
            me,
            v=volunteer,
            partners=list(partners.values()),
            times_of_day=roster_settings.TIMES_OF_DAY,
            notice=request.args.get("done"),
        )

    @http("POST", "/v/profile")
    @phone_page
    def v_save_profile(self, request: Request, me, lang) -> Response:
        changes = roster_settings.read(request.form, organiser=False)
        self.volunteers.update_volunteer(volunteer_id=me.volunteer_id, **changes)
        return web.redirect("/v/profile", done="saved")

    # --- notification preferences --------------------------------------------------------

    @http("GET", "/v/settings")
    @phone_page
    def v_settings(self, request: Request, me, lang) -> Response:
        prefs = self.notifications.get_preferences(volunteer_id=me.volunteer_id)
        return self._v_render("settings.html", lang, me, prefs=prefs, notice=request.args.get("done"))

    @http("POST", "/v/settings")
    @phone_page
    def v_save_settings(self, request: Request, me, lang) -> Response:
        quiet = request.form.get("quiet") == "on"
        self.notifications.set_preferences(
            volunteer_id=me.volunteer_id,
            channels=[c for c in ("sms", "email") if request.form.get(f"channel_{c}") == "on"],
            language=request.form.get("language") or None,
            quiet_hours=quiet,
            quiet_start=(request.form.get("quiet_start") or None) if quiet else None,
            quiet_end=(request.form.get("quiet_end") or None) if quiet else None,
            mode=request.form.get("mode") or None,
            reminders=[lead for lead in ("24h", "2h") if request.form.get(f"reminder_{lead}") == "on"],
        )
        return web.redirect("/v/settings", done="saved")

    # --- for organisers: printed sign-in links ---------------------------------------------

    def signin_link_for(self, volunteer_id: int, created_by: str, base_url: str) -> dict:
        with self.db.get_session() as session:
            token, view = sessions.add_link(session, volunteer_id, created_by, self.clock.now())
        path = tenancy.path_for(self.db.community, f"/v/link/{token}", self.config)  # its community's page
        url = f"{base_url.rstrip('/')}{path}"
        return {**view, "url": url, "qr": charts.qr_svg(url, url)}
