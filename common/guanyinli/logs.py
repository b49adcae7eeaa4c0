"""Logging pieces for the services' config (config/nameko.yaml)."""

from __future__ import annotations

import logging


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
