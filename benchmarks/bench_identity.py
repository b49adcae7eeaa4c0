"""Identity for the benchmarks: a key set the services they start can find, and their callers' tokens.

Every RPC call needs a signed token in context data (``guanyinli.identity``), and a service
outside a local run refuses to start without keys. ``ensure_local_keys`` keeps the caller's
``IDENTITY_KEYS_DIR`` if set, else makes a throwaway key set (removed at exit) and sets the
variable in ``os.environ``, so service processes started afterwards inherit it. Call it before
starting any process and before making a token.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "common"))

from guanyinli.identity import CONTEXT_KEY, ensure_keys, tools_context  # noqa: E402

__all__ = ["CONTEXT_KEY", "ensure_local_keys", "organiser_context", "system_context"]


def ensure_local_keys() -> Path:
    """``IDENTITY_KEYS_DIR``, made under a temporary directory where it is not set."""
    if not os.environ.get("IDENTITY_KEYS_DIR"):
        directory = Path(tempfile.mkdtemp(prefix="bench-keys-"))
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
        os.environ["IDENTITY_KEYS_DIR"] = str(ensure_keys(directory / "keys"))
    return Path(os.environ["IDENTITY_KEYS_DIR"])


def organiser_context(name: str = "benchmark") -> dict:
    """Context data of an organiser, signed with the operator's ``tools`` key."""
    ensure_local_keys()
    return tools_context(["organiser"], name=name)


def system_context(name: str = "benchmark") -> dict:
    """Context data of a program acting as the platform itself (``system``), signed with the ``tools`` key."""
    ensure_local_keys()
    return tools_context(["system"], name=name)
