"""Real receivers for the notifications tests: an SMTP server (aiosmtpd), an HTTP webhook receiver,
a stand-in for Tencent Cloud's SMS endpoint, a clock the test moves, a volunteers stand-in, and
helpers to publish events, read the SMS sink and read the outbox."""

from __future__ import annotations

import asyncio
import email
import hashlib
import hmac
import json
import re
import socket
import threading
import time
import uuid
from datetime import datetime, timedelta
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller
from nameko.rpc import rpc
from sqlalchemy import create_engine, select, text

from guanyinli.errors import NotFound
from guanyinli.events import make_payload
from guanyinli.testing import event_dispatcher
from guanyinli.timeutil import TZ
from notifications.models import Delivery, Notification, Reminder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition, timeout: float = 15.0, interval: float = 0.05, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {message}")


class FakeClock:
    """The service's clock under test control (a dependency swapped with replace_dependencies)."""

    def __init__(self, start: datetime):
        self.current = start

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta) -> datetime:
        self.current = self.current + timedelta(**delta)
        return self.current

    def set(self, moment: datetime) -> None:
        self.current = moment


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """2026-11-<day> hh:mm in Asia/Shanghai (the 23rd is a Monday)."""
    return datetime(2026, 11, day, hour, minute, tzinfo=TZ)


# --- SMTP --------------------------------------------------------------------------------------


class SmtpSink:
    """Accepts mail on 127.0.0.1 and keeps what it accepted. Scripted faults:

    * ``replies``: DATA answers to use for the next messages instead of 250 (e.g. "451 ...").
    * ``hold_rcpt``: the next RCPT waits until ``release()``; ``holding`` tells that a client waits.
    * ``hold_accepted``: the next message is kept (as an MTA that has queued it), but the 250 answer
      waits until ``release()``.
    * ``drop_reused``: how many times to close, without an answer, a connection that has carried
      a message already when its next message begins (MAIL), as a server that dropped an idle
      connection.
    * ``drop_at_data``: numbers of messages whose connection it closes once their text has come,
      before keeping it and before answering.

    ``connections`` counts the connections opened to it.
    """

    def __init__(self, port: int | None = None):
        self.messages: list[dict] = []
        self.replies: list[str] = []
        self.hold_rcpt = False
        self.hold_accepted = False
        self.holding = False
        self._released = False
        self.drop_reused = 0
        self.drop_at_data: set[int] = set()
        self.mails = 0
        self.data = 0
        self.connections = 0
        self.port = port or free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        self.mails += 1
        carried = getattr(session, "carried", 0)
        session.carried = carried + 1
        if carried and self.drop_reused:
            self.drop_reused -= 1
            server.transport.close()
            return "421 closing"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.hold_rcpt:
            self.hold_rcpt = False
            self.holding = True
            while not self._released:
                await asyncio.sleep(0.02)
            self.holding = False
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.data += 1
        if self.data in self.drop_at_data:
            server.transport.close()
            return "421 closing"
        if self.replies:
            return self.replies.pop(0)
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        self.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos), "message": message})
        if self.hold_accepted:
            self.hold_accepted = False
            self.holding = True
            while not self._released:
                await asyncio.sleep(0.02)
            self.holding = False
        return "250 OK"

    def release(self) -> None:
        self._released = True

    def to(self, address: str) -> list:
        return [m["message"] for m in self.messages if address in m["to"]]

    def start(self) -> SmtpSink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self._released = True
        if self.controller.loop.is_running():
            self.controller.stop()


# --- webhook -----------------------------------------------------------------------------------


class WebhookReceiver:
    """An HTTP server in a thread that records every POST and answers with scripted statuses."""

    def __init__(self):
        self.requests: list[dict] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status = receiver.statuses.pop(0) if receiver.statuses else 204
                if status < 300:
                    receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/guanyinli"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- text messages ---------------------------------------------------------------------------


def sms_lines(path) -> list[dict]:
    """The messages the local SMS sink wrote (one JSON object a line), oldest first."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


_AUTHORIZATION = re.compile(
    r"TC3-HMAC-SHA256 Credential=(?P<id>[^/]+)/(?P<date>\d{4}-\d{2}-\d{2})/(?P<service>[a-z]+)/tc3_request, "
    r"SignedHeaders=(?P<names>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})"
)


class TencentSmsStandIn:
    """A stand-in for Tencent Cloud's SMS endpoint (sms.tencentcloudapi.com, which the tests cannot
    reach): a real HTTP server in a thread that answers ``SendSms`` (API 3.0, 2021-01-11) as Tencent
    documents it.

    Every request's signature is checked as Tencent's "Signature v3" page describes, written here
    again rather than taken from the client: the Authorization header's credential scope (its
    SecretId, the UTC date of X-TC-Timestamp, service ``sms``, ``tc3_request``), the canonical
    request rebuilt from the headers the request names (content-type and host at least, lower case,
    trimmed) and the SHA-256 of the body as received, the key derived from the SecretKey, and a
    timestamp within five minutes of the stand-in's own clock. A request that fails is answered
    ``AuthFailure.*`` and not recorded.

    Scripted answers for the next requests, in ``replies``: ``{"number": code}`` (the number's
    ``SendStatusSet`` code), ``{"error": code}`` (the request's ``Response.Error``), ``{"http": 502}``
    (a proxy's error page) or ``"hold"`` (no answer until ``release()``). Otherwise ``Ok``.
    """

    def __init__(self, secret_id: str, secret_key: str, clock=time.time):
        self.secret_id, self.secret_key, self.clock = secret_id, secret_key, clock
        self.requests: list[dict] = []  # accepted requests: headers and JSON body
        self.replies: list = []
        self.refused: list[str] = []  # why requests were refused
        self._released = threading.Event()
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status, answer = standin.answer(self.path, self.headers, body)
                data = json.dumps(answer).encode() if isinstance(answer, dict) else answer
                self.send_response(status)
                self.send_header("Content-Type", "application/json" if isinstance(answer, dict) else "text/html")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def signature_problem(self, path: str, headers, body: bytes) -> str | None:
        """Why the request's signature is not the one Tencent would compute, or None."""
        found = _AUTHORIZATION.fullmatch(headers.get("Authorization") or "")
        if found is None:
            return "AuthFailure.InvalidAuthorization"
        if found["id"] != self.secret_id:
            return "AuthFailure.SecretIdNotFound"
        timestamp = int(headers.get("X-TC-Timestamp") or 0)
        if abs(timestamp - self.clock()) > 300:
            return "AuthFailure.SignatureExpire"
        names = found["names"].split(";")
        date = time.strftime("%Y-%m-%d", time.gmtime(timestamp))
        if found["date"] != date or found["service"] != "sms" or not {"content-type", "host"} <= set(names):
            return "AuthFailure.InvalidAuthorization"
        canonical_headers = "".join(f"{name}:{(headers.get(name) or '').strip().lower()}\n" for name in names)
        canonical_request = "POST\n" + path + "\n\n" + canonical_headers + "\n" + found["names"] + "\n"
        canonical_request += hashlib.sha256(body).hexdigest()
        string_to_sign = (
            f"TC3-HMAC-SHA256\n{timestamp}\n{date}/sms/tc3_request\n"
            + hashlib.sha256(canonical_request.encode()).hexdigest()
        )
        key = ("TC3" + self.secret_key).encode()
        for part in (date, "sms", "tc3_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
        return None if hmac.compare_digest(expected, found["signature"]) else "AuthFailure.SignatureFailure"

    def answer(self, path: str, headers, body: bytes) -> tuple[int, dict | bytes]:
        request_id = str(uuid.uuid4())
        problem = self.signature_problem(path, headers, body)
        if problem is None and (
            path != "/"
            or headers.get("X-TC-Action") != "SendSms"
            or headers.get("X-TC-Version") != "2021-01-11"
            or not headers.get("X-TC-Region")
        ):
            problem = "InvalidAction"
        if problem is not None:
            self.refused.append(problem)
            return 200, {"Response": {"Error": {"Code": problem, "Message": "refused"}, "RequestId": request_id}}
        request = json.loads(body)
        reply = self.replies.pop(0) if self.replies else {}
        if reply == "hold":
            self._released.wait(30)
            return 200, {"Response": {"Error": {"Code": "InternalError.Timeout", "Message": "late"}}}
        self.requests.append({"headers": dict(headers), "body": request})
        if "http" in reply:
            return reply["http"], b"<html><body>Bad Gateway</body></html>"
        if "error" in reply:
            return 200, {"Response": {"Error": {"Code": reply["error"], "Message": "error"}, "RequestId": request_id}}
        code = reply.get("number", "Ok")
        status = {
            "SerialNo": f"5000:{uuid.uuid4().int % 10**28}",
            "PhoneNumber": request["PhoneNumberSet"][0],
            "Fee": 1,
            "SessionContext": "",
            "Code": code,
            "Message": "send success" if code == "Ok" else "refused",
            "IsoCode": "CN",
        }
        return 200, {"Response": {"SendStatusSet": [status], "RequestId": request_id}}

    def release(self) -> None:
        self._released.set()

    def start(self) -> TencentSmsStandIn:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()


# --- volunteers stand-in -----------------------------------------------------------------------

DIRECTORY: dict[int, dict] = {}


class StandInVolunteers:
    """Answers ``get_volunteer`` like the volunteers service does, from ``DIRECTORY``."""

    name = "volunteers"

    @rpc
    def get_volunteer(self, volunteer_id: int) -> dict:
        if volunteer_id not in DIRECTORY:
            raise NotFound(f"volunteer {volunteer_id} not found")
        return {"id": volunteer_id, "active": True, "phone": None, **DIRECTORY[volunteer_id]}


# --- events and the database -------------------------------------------------------------------


class Publisher:
    """Publishes events as the other services do (validated by guanyinli.events)."""

    def __init__(self, config: dict):
        self._dispatch = event_dispatcher(config)

    def wire(self, event_type: str, **payload) -> dict:
        return make_payload(event_type, payload)

    def send(self, source: str, event_type: str, wire: dict) -> dict:
        self._dispatch(source, event_type, wire)
        return wire

    def activities(self, event_type: str, **payload) -> dict:
        return self.send("activities", event_type, self.wire(event_type, **payload))

    def volunteer(self, volunteer_id: int, name: str, email: str | None, active: bool = True) -> dict:
        return self.send(
            "volunteers",
            "volunteer_created",
            self.wire(
                "volunteer_created",
                volunteer_id=volunteer_id,
                name=name,
                email=email,
                teams=["voluntary_patrol"],
                grid_id=3,
                active=active,
            ),
        )


def occurrence(start: datetime, occurrence_id: int = 7, hours: int = 2, **extra) -> dict:
    return {
        "occurrence_id": occurrence_id,
        "activity_id": 3,
        "title": "第3网格夜间巡逻",
        "kind": "patrol",
        "start": start,
        "end": start + timedelta(hours=hours),
        "place": "观音里3号院",
        **extra,
    }


def signup(volunteer_id: int, start: datetime, signup_id: int = 41, status: str = "confirmed", **extra) -> dict:
    return {
        **occurrence(start, **extra),
        "signup_id": signup_id,
        "volunteer_id": volunteer_id,
        "role": "巡逻队员",
        "status": status,
    }


class Outbox:
    """Reads the service's tables directly (the test's view of the database)."""

    def __init__(self, url: str):
        self.engine = create_engine(url)

    def rows(self, sql: str, **params) -> list[dict]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(text(sql), params)]

    def select(self, stmt) -> list[dict]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(stmt)]

    def deliveries(self, *where) -> list[dict]:
        """Deliveries with their notification's kind and volunteer; datetimes typed (naive UTC)."""
        stmt = (
            select(Delivery.__table__, Notification.kind, Notification.volunteer_id, Notification.source_id)
            .join(Notification, Notification.id == Delivery.notification_id)
            .where(*where)
            .order_by(Delivery.id)
        )
        return self.select(stmt)

    def reminders(self, *where) -> list[dict]:
        return self.select(select(Reminder.__table__).where(*where).order_by(Reminder.due_at))

    def count(self, table: str) -> int:
        return self.rows(f"SELECT count(*) AS n FROM {table}")[0]["n"]

    def close(self) -> None:
        self.engine.dispose()


def body_json(request: dict) -> dict:
    return json.loads(request["body"].decode("utf-8"))
