"""Text messages (SMS): the provider interface and its two providers.

A provider sends one message: ``send(phone, kind, params, text) -> the provider's message id``.
``kind`` names the message's template (the message kind, ``<kind>.en`` for the English text),
``params`` are the values of that template's variables in order, ``text`` the whole message as the
phone shows it (``rendering.short`` makes all three). A failure raises ``channels.DeliveryFailed``:
``permanent`` when this message can never go (a number that is no mobile, a refused template),
``unreachable`` when the provider cannot be used at the moment (down, or its account refused), so
the sender stops trying it until its next poll.

* ``SinkSms`` appends each message as one JSON line to a file: ``make run``, the demo and the tests.
* ``TencentCloudSms`` calls ``SendSms`` of Tencent Cloud SMS (API 3.0), signed with TC3-HMAC-SHA256.

Phone numbers appear in logs masked (``mask``: 139****4770); secrets and texts never appear there.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import requests

from guanyinli.timeutil import iso
from guanyinli.timeutil import now as local_now
from notifications.channels import DeliveryFailed, post

log = logging.getLogger(__name__)

PROVIDERS = ("sink", "tencent", "off")

# --- phone numbers -----------------------------------------------------------------------------

_SEPARATORS = re.compile(r"[\s\-()]")
_MAINLAND_MOBILE = re.compile(r"(?:\+86|0086|86)?(1[3-9][0-9]{9})")
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
_DIGITS_IN_TEXT = re.compile(r"\+?[0-9]{6,}")


def e164(phone: str | None) -> str:
    """The number in E.164: ``+86`` before an 11-digit mainland mobile number (written with or
    without 86, +86 or 0086 before it, spaces and dashes ignored); a number of another country
    already in E.164 as it is. ``ValueError`` for anything else (a landline, a typing error)."""
    cleaned = _SEPARATORS.sub("", phone or "")
    mainland = _MAINLAND_MOBILE.fullmatch(cleaned)
    if mainland:
        return "+86" + mainland.group(1)
    if _E164.fullmatch(cleaned) and not cleaned.startswith("+86"):
        return cleaned
    raise ValueError("not a mobile number")


def mask(phone: str | None) -> str:
    """A phone number fit for a log line: the first three and last four digits, 139****4770
    (of the national number for a mainland mobile)."""
    try:
        number = e164(phone)
    except ValueError:
        digits = re.sub(r"[^0-9]", "", phone or "")
        return f"{digits[:3]}****{digits[-4:]}" if len(digits) >= 8 else "****"
    national = number[3:] if number.startswith("+86") else number[1:]
    return f"{national[:3]}****{national[-4:]}"


def scrub(text: str) -> str:
    """``text`` (a provider's error message) with every run of six or more digits masked: a phone
    number it quotes, or a code."""
    return _DIGITS_IN_TEXT.sub(lambda m: mask(m.group(0)), text or "")


def _mobile(phone: str | None) -> str:
    try:
        return e164(phone)
    except ValueError:
        raise DeliveryFailed(f"not a mobile number: {mask(phone)}", permanent=True) from None


# --- the local sink ----------------------------------------------------------------------------

_SINK_LOCKS: dict[str, threading.Lock] = {}
_SINK_LOCKS_GUARD = threading.Lock()


class SinkSms:
    """Writes each message as one JSON line to a file instead of sending it: ``make run``, the demo
    (a person trying the volunteers' phone page reads their sign-in code here) and the tests.

    A line: ``{"time", "id", "phone" (E.164), "kind", "text", "params"}``. Each line is a single
    ``write`` to the file opened for appending, under a lock per file, so lines of threads and
    greenlets (and, through ``O_APPEND``, of other processes) never mix. The file is made readable
    by its owner only: sign-in codes are in it.
    """

    name = "sink"

    def __init__(self, path: str | Path, clock: Callable[[], datetime] = local_now):
        self.path = Path(path)
        self.clock = clock
        with _SINK_LOCKS_GUARD:
            self._lock = _SINK_LOCKS.setdefault(str(self.path.absolute()), threading.Lock())

    def send(self, phone: str, kind: str, params: Sequence[str], text: str) -> str:
        number = _mobile(phone)
        message_id = f"sink-{uuid.uuid4().hex}"
        line = {
            "time": iso(self.clock()),
            "id": message_id,
            "phone": number,
            "kind": kind,
            "text": text,
            "params": [str(p) for p in params],
        }
        data = (json.dumps(line, ensure_ascii=False) + "\n").encode("utf-8")
        try:
            with self._lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    view = memoryview(data)
                    while view:
                        view = view[os.write(fd, view) :]
                finally:
                    os.close(fd)
        except OSError as exc:
            raise DeliveryFailed(
                f"SMS sink {self.path}: {exc.strerror or type(exc).__name__}", unreachable=True
            ) from None
        log.info("SMS %s to %s written to %s", kind, mask(number), self.path)
        return message_id

    def close(self) -> None:
        pass


# --- Tencent Cloud API 3.0 signature (TC3-HMAC-SHA256) -------------------------------------------

TC3_ALGORITHM = "TC3-HMAC-SHA256"


@dataclass(frozen=True)
class Tc3Signature:
    canonical_request: str
    string_to_sign: str
    signature: str
    authorization: str


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def tc3_sign(
    secret_id: str,
    secret_key: str,
    service: str,
    timestamp: int,
    headers: Mapping[str, str],
    payload: bytes,
    method: str = "POST",
    uri: str = "/",
    query: str = "",
) -> Tc3Signature:
    """Tencent Cloud's signature v3 of one request, in the documented steps:

    1. ``CanonicalRequest`` = method, URI, query string, the canonical headers, the signed header
       names and the hex SHA-256 of the payload, one per line; the canonical headers are
       ``name:value\\n`` of each header signed (``headers``: at least Content-Type and Host), name
       and value in lower case and trimmed, sorted by name, and the signed header names those
       names joined by ``;``.
    2. ``StringToSign`` = the algorithm, the timestamp, the credential scope
       ``<UTC date of the timestamp>/<service>/tc3_request`` and the hex SHA-256 of the
       canonical request, one per line.
    3. The signing key: HMAC-SHA256 of the date under ``"TC3" + SecretKey``, of the service under
       that, of ``tc3_request`` under that; the signature is the hex HMAC-SHA256 of the string to
       sign under the signing key.
    4. ``Authorization`` = ``TC3-HMAC-SHA256 Credential=<SecretId>/<scope>,
       SignedHeaders=<names>, Signature=<signature>``.
    """
    canonical = sorted((name.strip().lower(), value.strip().lower()) for name, value in headers.items())
    canonical_headers = "".join(f"{name}:{value}\n" for name, value in canonical)
    signed_headers = ";".join(name for name, _ in canonical)
    canonical_request = "\n".join((method, uri, query, canonical_headers, signed_headers, _sha256_hex(payload)))
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    scope = f"{date}/{service}/tc3_request"
    string_to_sign = "\n".join((TC3_ALGORITHM, str(timestamp), scope, _sha256_hex(canonical_request.encode("utf-8"))))
    key = _hmac(_hmac(_hmac(("TC3" + secret_key).encode("utf-8"), date), service), "tc3_request")
    signature = hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    authorization = (
        f"{TC3_ALGORITHM} Credential={secret_id}/{scope}, SignedHeaders={signed_headers}, Signature={signature}"
    )
    return Tc3Signature(canonical_request, string_to_sign, signature, authorization)


# --- Tencent Cloud SMS ---------------------------------------------------------------------------

PERMANENT, ACCOUNT, RETRY = "permanent", "account", "retry"

# Tencent's error codes (of SendSms, and API 3.0's common ones) by what trying again can do. A code
# is looked up whole, then by its first part (``LimitExceeded`` for ``LimitExceeded.AppDailyLimit``);
# a code not here is tried again (with backoff, until the tries run out).
ERROR_CODES: dict[str, str] = {
    # the number will not take messages: a wrong number, on a blacklist, a region not served
    "InvalidParameterValue.IncorrectPhoneNumber": PERMANENT,
    "FailedOperation.PhoneNumberInBlacklist": PERMANENT,
    "FailedOperation.PhoneNumberOnBlacklist": PERMANENT,
    "UnsupportedOperation": PERMANENT,
    # the message is refused (template or sign not approved, a variable too long or not digits in a
    # code template, a sensitive word): fixed in the console or the settings, not by trying again
    "FailedOperation": PERMANENT,
    "InvalidParameter": PERMANENT,
    "InvalidParameterValue": PERMANENT,
    "MissingParameter": PERMANENT,
    # the account: every message fails until someone fixes the keys, the SDK app or the balance
    "AuthFailure": ACCOUNT,
    "UnauthorizedOperation": ACCOUNT,
    "FailedOperation.InsufficientBalanceInSmsPackage": ACCOUNT,
    "InvalidParameterValue.SdkAppIdNotExist": ACCOUNT,
    "InvalidParameter.AppidAndBizId": ACCOUNT,
    # frequency limits (per number, per day, per app) and Tencent's own faults: later
    "LimitExceeded": RETRY,
    "RequestLimitExceeded": RETRY,
    "InternalError": RETRY,
    "ResourceUnavailable": RETRY,
}


def classify(code: str) -> str:
    """``PERMANENT``, ``ACCOUNT`` or ``RETRY`` for one of Tencent's error codes (``ERROR_CODES``)."""
    return ERROR_CODES.get(code) or ERROR_CODES.get(code.split(".", 1)[0]) or RETRY


def _refused(code: str, message: str, request_id: str | None) -> DeliveryFailed:
    outcome = classify(code)
    text = f"Tencent SMS {code}: {scrub(message)}" + (f" (RequestId {request_id})" if request_id else "")
    return DeliveryFailed(text, permanent=outcome == PERMANENT, unreachable=outcome == ACCOUNT)


def read_answer(status: int, body: bytes) -> str:
    """The serial number of the message from a ``SendSms`` answer (one number sent), or the
    ``DeliveryFailed`` its error calls for: the request's ``Response.Error`` or the number's
    ``SendStatusSet[0].Code`` other than ``Ok``. An answer that is not Tencent's JSON (a proxy's
    error page) is tried again, at once unreachable for a 5xx."""
    try:
        answer = json.loads(body)["Response"]
    except (ValueError, KeyError, TypeError):
        answer = None
    if not isinstance(answer, dict):
        raise DeliveryFailed(f"Tencent SMS answered HTTP {status} without a Response", unreachable=status >= 500)
    request_id = answer.get("RequestId")
    error = answer.get("Error")
    if error:
        raise _refused(str(error.get("Code") or ""), str(error.get("Message") or ""), request_id)
    sent = answer.get("SendStatusSet") or []
    if status >= 300 or len(sent) != 1 or not isinstance(sent[0], dict):
        raise DeliveryFailed(
            f"Tencent SMS answered HTTP {status} with {len(sent)} send statuses (RequestId {request_id})"
        )
    if sent[0].get("Code") != "Ok":
        raise _refused(str(sent[0].get("Code") or ""), str(sent[0].get("Message") or ""), request_id)
    return str(sent[0].get("SerialNo") or request_id or "")


def parse_templates(text: str | None) -> dict[str, str]:
    """``TENCENT_SMS_TEMPLATES``: ``kind=id`` pairs separated by commas, e.g.
    ``sign_in_code=1234567,reminder_24h=1234568,reminder_24h.en=1234569``."""
    templates: dict[str, str] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        kind, sep, template = (s.strip() for s in part.partition("="))
        if not sep or not kind or not template:
            raise ValueError(f"TENCENT_SMS_TEMPLATES: expected kind=template id, got {part.strip()!r}")
        templates[kind] = template
    return templates


class TencentCloudSms:
    """``SendSms`` of Tencent Cloud SMS (API 3.0, version 2021-01-11), one number per request,
    through ``requests`` with a time limit.

    ``templates`` maps a message kind (``<kind>.en`` for English) to the id of the template
    registered for it in Tencent's console; the text registered must have the variables
    ``rendering.short`` fills, in the same order. A kind without a template fails permanently.
    Connection errors and time-outs leave the provider unreachable for the rest of a poll.
    """

    name = "tencent"
    SERVICE = "sms"
    ACTION = "SendSms"
    VERSION = "2021-01-11"
    CONTENT_TYPE = "application/json; charset=utf-8"
    ENDPOINT = "https://sms.tencentcloudapi.com"

    def __init__(
        self,
        secret_id: str | None,
        secret_key: str | None,
        sdk_app_id: str | None,
        sign_name: str | None,
        templates: Mapping[str, str],
        region: str = "ap-guangzhou",
        endpoint: str = ENDPOINT,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
    ):
        required = {
            "TENCENT_SMS_SECRET_ID": secret_id,
            "TENCENT_SMS_SECRET_KEY": secret_key,
            "TENCENT_SMS_SDK_APP_ID": sdk_app_id,
            "TENCENT_SMS_SIGN_NAME": sign_name,
            "TENCENT_SMS_REGION": region,
        }
        missing = [name for name, value in required.items() if not value]
        if missing:
            raise ValueError(f"SMS_PROVIDER=tencent needs {', '.join(missing)}")
        self.secret_id, self._secret_key = secret_id, secret_key
        self.sdk_app_id, self.sign_name, self.region = sdk_app_id, sign_name, region
        self.templates = dict(templates)
        self.url = endpoint.rstrip("/") + "/"
        self.host = urlsplit(self.url).netloc
        self.timeout, self.clock = timeout, clock
        self._session = requests.Session()

    def __repr__(self) -> str:
        return f"TencentCloudSms({self.url}, app {self.sdk_app_id}, region {self.region})"

    def body(self, number: str, template: str, params: Sequence[str]) -> bytes:
        request = {
            "PhoneNumberSet": [number],
            "SmsSdkAppId": self.sdk_app_id,
            "SignName": self.sign_name,
            "TemplateId": template,
            "TemplateParamSet": [str(p) for p in params],
        }
        return json.dumps(request, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def headers(self, payload: bytes, timestamp: int) -> dict[str, str]:
        signed = {"Content-Type": self.CONTENT_TYPE, "Host": self.host, "X-TC-Action": self.ACTION}
        signature = tc3_sign(self.secret_id, self._secret_key, self.SERVICE, timestamp, signed, payload)
        return {
            **signed,
            "Authorization": signature.authorization,
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Version": self.VERSION,
            "X-TC-Region": self.region,
        }

    def send(self, phone: str, kind: str, params: Sequence[str], text: str) -> str:
        template = self.templates.get(kind)
        if not template:
            raise DeliveryFailed(f"no Tencent SMS template for {kind} (TENCENT_SMS_TEMPLATES)", permanent=True)
        number = _mobile(phone)
        payload = self.body(number, template, params)
        headers = self.headers(payload, int(self.clock()))
        response = post(self._session, self.url, payload, headers, self.timeout, "Tencent SMS")
        serial = read_answer(response.status_code, response.content)
        log.info("SMS %s to %s sent through Tencent Cloud (serial %s)", kind, mask(number), serial)
        return serial

    def close(self) -> None:
        self._session.close()
