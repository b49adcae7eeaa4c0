"""The command line's identity: whose token its calls carry, and where it keeps it.

In this order: ``GUANYINLI_TOKEN`` (a token handed to a script); the token of ``guanyinli login``
(kept in ``GUANYINLI_TOKEN_FILE``, default ``~/.config/guanyinli/token.json``, mode 600, and
renewed through ``organiser.renew_token`` once half its life is gone); the operator's ``tools``
key where this machine holds it (``IDENTITY_TOOLS_KEY``, ``$IDENTITY_KEYS_DIR/tools.key``, or
a local run's ``var/keys/tools.key``), which signs a short organiser token on the spot.

A community other than the installation's default one (``guanyinli --community``,
``GUANYINLI_COMMUNITY``; ``guanyinli.tenancy``) has a login of its own (``token.<slug>.json``
beside the default one's), and the operator's key signs tokens for it.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import jwt

from guanyinli import identity, tenancy

ENV_TOKEN = "GUANYINLI_TOKEN"
CLI_NAME = "guanyinli command line"
LOCAL_KEYS = Path(__file__).resolve().parents[3] / "var" / "keys"  # a checkout's `make run` keys
TOOLS_TOKEN_SECONDS = 3600


class NotSignedIn(Exception):
    """No token, no login and no operator key: the command line has no identity to call with."""


def token_file(community: str | None = None) -> Path:
    path = Path(os.environ.get("GUANYINLI_TOKEN_FILE") or Path.home() / ".config" / "guanyinli" / "token.json")
    return path if community is None else path.with_name(f"{path.stem}.{community}{path.suffix}")


def keys_config() -> dict:
    """Where the operator's key may be: the environment, else a local run's keys."""
    if os.environ.get("IDENTITY_TOOLS_KEY") or os.environ.get("IDENTITY_KEYS_DIR"):
        return {}
    return {"IDENTITY_KEYS_DIR": str(LOCAL_KEYS)} if (LOCAL_KEYS / "tools.key").exists() else {}


def has_tools_key() -> bool:
    return identity.signing_key_path("tools", keys_config()) is not None


def tools_token(roles, **kwargs) -> str:
    return identity.tools_token(roles, config=keys_config(), **kwargs)


def save_login(answer: dict, community: str | None = None) -> Path:
    path = token_file(community)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        json.dump({"token": answer["token"]}, f)
    temporary.replace(path)
    return path


def saved_login(community: str | None = None) -> str | None:
    try:
        return json.loads(token_file(community).read_text())["token"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def forget_login(community: str | None = None) -> bool:
    try:
        token_file(community).unlink()
        return True
    except FileNotFoundError:
        return False


def _times(token: str) -> tuple[int, int]:
    claims = jwt.decode(token, options={"verify_signature": False})
    return int(claims.get("iat", 0)), int(claims.get("exp", 0))


def needs_renewal(token: str, now: float | None = None) -> bool:
    issued, expires = _times(token)
    return (now or time.time()) >= issued + (expires - issued) / 2


def expired(token: str, now: float | None = None) -> bool:
    return (now or time.time()) >= _times(token)[1]


def community_of(token: str) -> str | None:
    """The community claim of a token, None when it has none (or is no token: the services say so)."""
    try:
        return jwt.decode(token, options={"verify_signature": False}).get(tenancy.CLAIM)
    except jwt.PyJWTError:
        return None


def context(renew, community: str | None = None) -> dict:
    """Context data for the command line's calls as ``community`` (None: the default one, see
    ``tenancy.named``); ``renew(token)`` returns a fresh login answer."""
    given = os.environ.get(ENV_TOKEN)
    if given:
        if community is not None and community_of(given) != community:  # without --community: the token's own
            raise NotSignedIn(f"{ENV_TOKEN} is a token of another community than {community}")
        return {identity.CONTEXT_KEY: given}
    saved = saved_login(community)
    if saved and not expired(saved):
        if needs_renewal(saved):
            try:
                saved = renew(saved)["token"]
                save_login({"token": saved}, community)
            except Exception:  # noqa: BLE001 - the old token still works until it expires
                pass
        return {identity.CONTEXT_KEY: saved}
    if has_tools_key():
        token = tools_token(["organiser"], name=CLI_NAME, seconds=TOOLS_TOKEN_SECONDS, community=community)
        return {identity.CONTEXT_KEY: token}
    raise NotSignedIn(
        "not signed in: run `guanyinli login` (an organiser account), or set GUANYINLI_TOKEN, "
        "or IDENTITY_TOOLS_KEY on the server"
    )
