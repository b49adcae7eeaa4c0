"""Logging pieces for the services' config (config/nameko.yaml)."""

from __future__ import annotations

import logging
import re


class ExpectedErrors(logging.Filter):
    """Typed answers to bad requests are logged as one INFO line, without the traceback.

    nameko logs an entrypoint's expected exceptions as a WARNING with the traceback; for the
    platform's typed errors (InvalidInput, NotFound, ...) that is noise, not a fault.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "nameko.containers" and str(record.msg).startswith("(expected)"):
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


# Secrets that travel in URLs: a personal feed token is the path after /feeds/volunteers/, all of
# it, since a client may send a token followed by more ("<token>/x.ics") and that is a token too;
# so is a resident's reply link, the path after /appeal/reply/.
SECRET_IN_URL = re.compile(r"(/feeds/volunteers/|/appeal/reply/)([^\s\"'?#]+)")
REDACTED = "<redacted>"
# Loggers that write URLs whatever the logging config says: nameko's WSGI access log (INFO), and
# its RPC client, which logs every answer at DEBUG (feed links are answers of the feed RPCs).
URL_LOGGERS = ("nameko.web.server", "nameko.rpc", "nameko.standalone.rpc")


def redact(text: str) -> str:
    return SECRET_IN_URL.sub(_redacted, text)


def _redacted(match: re.Match) -> str:
    return match.group(1) + REDACTED + (".ics" if match.group(2).endswith(".ics") else "")


class RedactSecrets(logging.Filter):
    """Replaces feed tokens in a record's message and traceback text before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: the handler reports it, as without this filter
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def redact_url_logs() -> None:
    """Attach ``RedactSecrets`` to ``URL_LOGGERS`` (once), for a service that serves secret URLs.

    The handler filter of config/nameko.yaml covers every line that reaches the console; this
    covers these loggers under any logging config, tests' log capture included.
    """
    for name in URL_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())
