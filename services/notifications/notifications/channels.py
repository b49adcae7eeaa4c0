"""Delivery channels: one adapter class per channel, each with ``send(message)`` and ``close()``.

A failed send raises ``DeliveryFailed``; ``permanent=True`` means a retry cannot help (a refused
address, a webhook answering 4xx) and the delivery is dead-lettered at once. Adding a channel is
one class here plus its name in ``CHANNEL_CLASSES``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import smtplib
import ssl
from base64 import encodebytes
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes, policy
from email.header import Header
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr

import requests

from guanyinli.timeutil import iso
from notifications import rendering

log = logging.getLogger(__name__)


class DeliveryFailed(Exception):
    """``permanent``: retrying this message cannot help. ``unreachable``: the server itself could
    not be reached (the sender then stops trying that channel until its next poll)."""

    def __init__(self, message: str, permanent: bool = False, unreachable: bool = False):
        super().__init__(message)
        self.permanent = permanent
        self.unreachable = unreachable


@dataclass(frozen=True)
class Recipient:
    volunteer_id: int
    name: str | None
    email: str | None
    phone: str | None = None


@dataclass(frozen=True)
class OutgoingMessage:
    message_id: str  # derived from the outbox key: the same for every try of the same message
    kind: str
    language: str
    subject: str
    text: str
    recipient: Recipient
    sent_at: datetime  # this try, by the service clock
    data: dict = field(default_factory=dict)


class EmailChannel:
    """Email over SMTP, one connection kept open and reused from message to message (and from
    poll to poll: ``notifications.dependencies.Channels`` keeps its channel sets); STARTTLS and
    login when configured.

    A kept connection may have been closed by the server meanwhile (an idle timeout, a restart):
    when the first command of a message (``MAIL FROM``) finds it gone, nothing of that message
    has reached the server, so the channel connects again and sends it at once, on the new
    connection. A connection lost later in the dialogue fails the try as before (retried with
    backoff), since the server may have taken the message.
    """

    name = "email"
    address = "email"  # what of the recipient it needs

    def __init__(
        self,
        host: str,
        port: int = 25,
        starttls: bool = False,
        user: str | None = None,
        password: str | None = None,
        sender: str = "Guanyinli Community <noreply@guanyinli.example>",
        timeout: float = 30.0,
    ):
        self.host, self.port, self.starttls = host, port, starttls
        self.user, self.password, self.sender, self.timeout = user, password, sender, timeout
        self._smtp: smtplib.SMTP | None = None
        self._used = False  # the open connection has carried a message already
        self.connections = 0  # opened so far (told in the benchmark and the tests)
        name, self._envelope_from = parseaddr(sender)
        self._from_header = _header_address(name, self._envelope_from)

    def unreachable(self, recipient: Recipient) -> str | None:
        return None if recipient.email else "the volunteer has no email address"

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is None:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            try:
                smtp.ehlo()
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                    smtp.ehlo()
                if self.user:
                    smtp.login(self.user, self.password or "")
            except BaseException:
                smtp.close()
                raise
            self._smtp, self._used = smtp, False
            self.connections += 1
        return self._smtp

    def build(self, message: OutgoingMessage) -> EmailMessage:
        """The message as a reader gets it: what ``wire`` sends, parsed back with local line ends."""
        data, _ = self.wire(message, eight_bit=True)
        return message_from_bytes(data.replace(b"\r\n", b"\n"), policy=policy.default)

    def wire(self, message: OutgoingMessage, eight_bit: bool) -> tuple[bytes, str]:
        """The message's bytes and their transfer encoding, written directly (the ``email``
        package's header registry and generator cost more than the SMTP dialogue). Headers are
        RFC 2047 encoded where they are not ASCII; a UTF-8 text goes as 8bit to a server that
        announces 8BITMIME (``eight_bit``), else in base64."""
        body = message.text.replace("\r\n", "\n").replace("\r", "\n")
        if not body.endswith("\n"):
            body += "\n"
        raw = body.replace("\n", "\r\n").encode("utf-8")
        long_line = any(len(line) > 998 for line in raw.split(b"\r\n"))
        if raw.isascii() and not long_line:
            encoding, payload = "7bit", raw
        elif eight_bit and not long_line:
            encoding, payload = "8bit", raw
        else:
            encoding, payload = "base64", encodebytes(raw).replace(b"\n", b"\r\n")
        headers = (
            f"From: {self._from_header}\r\n"
            f"To: {_header_address(message.recipient.name or '', message.recipient.email)}\r\n"
            f"Subject: {_header_text(message.subject, 'Subject')}\r\n"
            f"Message-ID: {message.message_id}\r\n"
            f"Date: {format_datetime(message.sent_at)}\r\n"
            f"X-Guanyinli-Kind: {message.kind}\r\n"
            f"Content-Language: {'zh-CN' if message.language == 'zh' else 'en'}\r\n"
            'Content-Type: text/plain; charset="utf-8"\r\n'
            f"Content-Transfer-Encoding: {encoding}\r\n"
            "MIME-Version: 1.0\r\n\r\n"
        )
        return headers.encode("ascii") + payload, encoding

    def send(self, message: OutgoingMessage) -> None:
        try:
            self._send(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise DeliveryFailed(
                f"recipient refused: {exc.recipients}", permanent=all(c >= 500 for c in codes)
            ) from None
        except (smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as exc:
            self.close()
            raise DeliveryFailed(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}", permanent=exc.smtp_code >= 500) from None
        except smtplib.SMTPAuthenticationError as exc:
            self.close()
            raise DeliveryFailed(f"SMTP login failed: {exc.smtp_code}") from None
        except (TimeoutError, smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, OSError) as exc:
            self.close(quit=False)
            raise DeliveryFailed(f"SMTP {type(exc).__name__}: {exc}", unreachable=True) from None
        except smtplib.SMTPException as exc:
            self.close(quit=False)
            raise DeliveryFailed(f"SMTP {type(exc).__name__}: {exc}") from None

    def _send(self, message: OutgoingMessage) -> None:
        """One SMTP mail transaction, as ``smtplib.SMTP.sendmail`` for one recipient, on the kept
        connection, or on a new one when the kept one is found closed at ``MAIL FROM``."""
        smtp = self._connection()
        eight_bit = smtp.has_extn("8bitmime")
        data, encoding = self.wire(message, eight_bit)
        options = ["BODY=8BITMIME"] if encoding == "8bit" else []
        try:
            code, reply = smtp.mail(self._envelope_from, options)
        except (smtplib.SMTPServerDisconnected, ConnectionError) as exc:
            if not self._used:
                raise
            log.info("the SMTP connection was closed while idle (%s): connecting again", type(exc).__name__)
            self.close(quit=False)
            smtp = self._connection()
            code, reply = smtp.mail(self._envelope_from, options)
        self._used = True
        if code != 250:
            _reset(smtp)
            raise smtplib.SMTPSenderRefused(code, reply, self._envelope_from)
        code, reply = smtp.rcpt(message.recipient.email)
        if code not in (250, 251):
            _reset(smtp)
            raise smtplib.SMTPRecipientsRefused({message.recipient.email: (code, reply)})
        code, reply = smtp.data(data)
        if code != 250:
            _reset(smtp)
            raise smtplib.SMTPDataError(code, reply)

    def close(self, quit: bool = True) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            if quit:
                smtp.quit()
            else:
                smtp.close()
        except (smtplib.SMTPException, OSError):
            smtp.close()


def _reset(smtp: smtplib.SMTP) -> None:
    """RSET after a refused command, as ``sendmail`` does; a connection lost meanwhile shows at the next use."""
    try:
        smtp.rset()
    except smtplib.SMTPServerDisconnected:
        pass


def _one_line(value: str) -> str:
    return " ".join(value.splitlines())


def _header_text(value: str, name: str) -> str:
    """An unstructured header value: as it is when ASCII, else RFC 2047 encoded words, folded."""
    value = _one_line(value)
    if value.isascii() and len(value) + len(name) + 2 <= 78:
        return value
    return Header(value, "utf-8", header_name=name).encode(linesep="\r\n")


def _header_address(name: str, address: str) -> str:
    """``name <address>``; a name that is not ASCII as encoded words (``formataddr``)."""
    return formataddr((_one_line(name), address), charset="utf-8")


def post(session: requests.Session, url: str, body: bytes, headers: dict, timeout: float, what: str):
    """POST ``body`` for an HTTP channel or provider (``what`` names it in errors): a connection
    error or a time-out is ``DeliveryFailed`` unreachable, any other request error one to retry."""
    try:
        return session.post(url, data=body, headers=headers, timeout=timeout)
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise DeliveryFailed(f"{what} {type(exc).__name__}: {exc}", unreachable=True) from None
    except requests.RequestException as exc:
        raise DeliveryFailed(f"{what} {type(exc).__name__}: {exc}") from None


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The webhook signature: hex HMAC-SHA256 over ``<timestamp>.<body>`` with the shared secret."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class WebhookChannel:
    """HTTP POST of a JSON body, signed with HMAC-SHA256 in ``X-Guanyinli-Signature``.

    Headers: ``X-Guanyinli-Delivery`` (the stable message id, for deduplication),
    ``X-Guanyinli-Timestamp`` (Unix seconds), ``X-Guanyinli-Signature: sha256=<hex>`` computed
    by ``sign(secret, timestamp, raw_body)``. A 2xx answer is success; 408, 429 and 5xx are
    retried; any other 4xx is permanent.
    """

    name = "webhook"
    address = None

    def __init__(self, url: str, secret: str, timeout: float = 10.0):
        if not secret:
            raise ValueError("a webhook needs a secret to sign with")
        self.url, self.secret, self.timeout = url, secret, timeout
        self._session = requests.Session()

    def unreachable(self, recipient: Recipient) -> str | None:
        return None

    def body(self, message: OutgoingMessage) -> bytes:
        payload = {
            "id": message.message_id,
            "kind": message.kind,
            "volunteer_id": message.recipient.volunteer_id,
            "name": message.recipient.name,
            "phone": message.recipient.phone,
            "language": message.language,
            "subject": message.subject,
            "text": message.text,
            "data": message.data,
            "sent_at": iso(message.sent_at),
        }
        return json.dumps(payload, ensure_ascii=False, sort_keys=True).encode("utf-8")

    def send(self, message: OutgoingMessage) -> None:
        body = self.body(message)
        timestamp = str(int(message.sent_at.timestamp()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-Guanyinli-Delivery": message.message_id,
            "X-Guanyinli-Timestamp": timestamp,
            "X-Guanyinli-Signature": "sha256=" + sign(self.secret, timestamp, body),
        }
        response = post(self._session, self.url, body, headers, self.timeout, "webhook")
        if 200 <= response.status_code < 300:
            return
        retry = response.status_code in (408, 429) or response.status_code >= 500
        raise DeliveryFailed(f"webhook answered {response.status_code}", permanent=not retry)

    def close(self) -> None:
        self._session.close()


class SmsChannel:
    """A text message to the volunteer's phone through an SMS provider (``notifications.sms``):
    the short text of the message's kind (``rendering.short``), not the email's. The provider is
    the channel set's, which closes it."""

    name = "sms"
    # Volunteer events carry no phone number, so the sender asks the volunteers service for it.
    address = "phone"

    def __init__(self, provider):
        self.provider = provider

    def unreachable(self, recipient: Recipient) -> str | None:
        return None if recipient.phone else "the volunteer has no phone number"

    def send(self, message: OutgoingMessage) -> str:
        short = rendering.short(message.kind, message.language, message.data)
        return self.provider.send(message.recipient.phone, short.template, short.params, short.text)

    def close(self) -> None:
        pass


CHANNEL_CLASSES = {"email": EmailChannel, "webhook": WebhookChannel, "sms": SmsChannel}
