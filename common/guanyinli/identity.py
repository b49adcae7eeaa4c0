"""Who is calling: signed, expiring caller tokens, and the rule of who may call each RPC method.

Every call carries, in nameko context data under ``identity``, a JSON Web Token signed with
Ed25519 (PyJWT): ``iss`` the issuer, ``sub`` the subject (``account:wang``, ``volunteer:12``,
``service:activities``), ``roles``, ``vid`` (the caller's volunteer id), ``grids`` (grids a grid
leader leads), ``name``, ``iat``, ``exp`` and ``jti``. A call without a token, or with one that
is forged, expired, revoked, signed by an unknown key or claiming a role its issuer may not
grant, is **anonymous**: nothing in context data is believed without a valid signature.

Issuers and what they may grant (``ISSUER_ROLES``):

* ``organiser``: the organiser service, the platform's account authority: organisers, viewers,
  grid leaders and volunteers who sign in;
* ``tools``: the operator's key on the server, for programs outside nameko
  (``guanyinli token --role organiser``), and any role;
* every service (``organiser`` too): ``system``, for itself only (subject ``service:<name>``),
  on the calls and events it makes on its own account.

Keys: a directory (``IDENTITY_KEYS_DIR``, config or environment) holds each issuer's public key
``<issuer>.pub`` (more than one while a key is rotated: ``<issuer>.<label>.pub``) and, where the
process may sign, its private key ``<issuer>.key``; ``IDENTITY_SIGNING_KEY`` names a service's
private key file explicitly (compose gives each container only its own), ``IDENTITY_TOOLS_KEY``
the operator's. ``ensure_keys`` makes a local
set (``make run``: ``var/keys``; the tests: a temporary directory).
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from nameko.extensions import DependencyProvider

from guanyinli import tenancy

log = logging.getLogger(__name__)

CONTEXT_KEY = "identity"
AUDIENCE = "guanyinli"
ALGORITHM = "EdDSA"
LEEWAY = 30  # seconds of clock difference between machines that a token's times tolerate

ANONYMOUS = "anonymous"
VOLUNTEER = "volunteer"
GRID_LEADER = "grid_leader"
VIEWER = "viewer"
ORGANISER = "organiser"
SYSTEM = "system"
ROLES = (ANONYMOUS, VOLUNTEER, GRID_LEADER, VIEWER, ORGANISER, SYSTEM)
PERSON_ROLES = frozenset({VOLUNTEER, GRID_LEADER, VIEWER, ORGANISER})

SERVICES = ("volunteers", "activities", "notifications", "organiser", "appeals")
ISSUER_ROLES: dict[str, frozenset[str]] = {
    **{name: frozenset({SYSTEM}) for name in SERVICES},
    "organiser": PERSON_ROLES | {SYSTEM},
    "tools": frozenset(ROLES) - {ANONYMOUS},
}
# Issuers ensure_keys makes for a local run: every service and the operator's tools.
LOCAL_ISSUERS = (*SERVICES, "tools")

SERVICE_TOKEN_SECONDS = 300


class TokenError(ValueError):
    """A token that cannot be made (no signing key, a role the issuer may not grant)."""


def may_grant(issuer: str, subject: str, roles: frozenset[str]) -> bool:
    """Whether ``issuer`` may sign these roles for this subject (``ISSUER_ROLES``; a service's
    ``system`` only for itself, and a service subject only by that service or the tools key)."""
    if not roles or not roles <= ISSUER_ROLES.get(issuer, frozenset()):
        return False
    if issuer in SERVICES:
        is_self = subject == f"service:{issuer}"
        if SYSTEM in roles and not is_self:
            return False
        if subject.startswith("service:") and not is_self:
            return False
    return True


# --- the caller --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    """The verified caller of one request; ``Identity()`` is anonymous."""

    subject: str | None = None
    roles: frozenset[str] = frozenset()
    volunteer_id: int | None = None
    grid_ids: frozenset[int] = frozenset()
    name: str | None = None
    issuer: str | None = None
    token_id: str | None = None
    expires: int | None = None
    community: str | None = None  # claim ``com``; None: the installation's default community (guanyinli.tenancy)

    @property
    def anonymous(self) -> bool:
        return self.subject is None

    @property
    def known(self) -> bool:
        return not self.anonymous

    @property
    def is_system(self) -> bool:
        return SYSTEM in self.roles

    @property
    def service(self) -> str | None:
        """The service calling on its own account: a ``system`` token that service signed for
        itself (subject ``service:<name>``, issuer ``<name>``); None for anyone else, the operator's
        ``tools`` key included, whatever subject it names."""
        if SYSTEM in self.roles and self.issuer in SERVICES and self.subject == f"service:{self.issuer}":
            return self.issuer
        return None

    @property
    def is_organiser(self) -> bool:
        """Organisers, and other services on their own account, act for anyone."""
        return bool(self.roles & {ORGANISER, SYSTEM})

    @property
    def may_read_all(self) -> bool:
        """Viewers read what organisers read, and change nothing."""
        return self.is_organiser or VIEWER in self.roles

    def acts_for(self, volunteer_id: int | None) -> bool:
        """Organisers act for anyone; a volunteer only for themselves."""
        return self.is_organiser or (
            volunteer_id is not None and self.volunteer_id is not None and self.volunteer_id == volunteer_id
        )

    def leads(self, grid_id: int | None) -> bool:
        """A grid leader acts for the grids their token names; organisers for every grid."""
        return self.is_organiser or (grid_id is not None and GRID_LEADER in self.roles and grid_id in self.grid_ids)

    def has_any(self, roles: Iterable[str]) -> bool:
        wanted = frozenset(roles)
        return ANONYMOUS in wanted or bool(self.roles & wanted)

    @property
    def scope(self) -> str:
        """Who, for keys that must not be shared between callers (idempotency keys)."""
        return self.subject or ANONYMOUS


# --- who may call what -------------------------------------------------------------------------


@dataclass(frozen=True)
class Access:
    """Who may call an RPC method: the roles let in, and in words what narrows it further.

    ``roles`` is checked before the method runs; ``scope`` (for example "own records") is
    the method's own check, described here so the contract shows it.
    """

    roles: frozenset[str]
    scope: str = ""
    services: frozenset[str] = frozenset()  # when set, only these services on their own account

    def allows(self, caller: Identity) -> bool:
        if self.services:
            return caller.service in self.services
        return bool(caller.has_any(self.roles))

    def describe(self) -> str:
        if self.services:
            names = " and ".join(sorted(self.services))
            who = f"the {names} service{'s' if len(self.services) > 1 else ''} only (its own system token)"
        elif ANONYMOUS in self.roles:
            who = "anyone, signed in or not"
        else:
            who = ", ".join(ROLE_WORDS[r] for r in ROLES if r in self.roles)
        return f"{who}; {self.scope}" if self.scope else who

    def refusal(self, caller: Identity) -> str:
        if caller.anonymous:
            return f"sign in first: this call is for {self.describe()} (no valid identity token in context data)"
        return f"this call is for {self.describe()}"


ROLE_WORDS = {
    ANONYMOUS: "anyone",
    VOLUNTEER: "volunteers",
    GRID_LEADER: "grid leaders",
    VIEWER: "viewers",
    ORGANISER: "organisers",
    SYSTEM: "services (system)",
}


def allow(*roles: str, scope: str = "") -> Access:
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")
    return Access(frozenset(roles), scope)


ANYONE = allow(ANONYMOUS)
SIGNED_IN = allow(VOLUNTEER, GRID_LEADER, VIEWER, ORGANISER, SYSTEM)
READERS = allow(VIEWER, ORGANISER, SYSTEM)
ORGANISERS = allow(ORGANISER, SYSTEM)
SERVICES_ONLY = allow(SYSTEM)


def service_only(*services: str, scope: str = "") -> Access:
    """Only the named services, each calling on its own account (``Identity.service``): not the
    other services' ``system`` tokens, not the operator's ``tools`` key, not organisers."""
    unknown = set(services) - set(SERVICES)
    if not services or unknown:
        raise ValueError(f"unknown services {sorted(unknown)}" if unknown else "name at least one service")
    return Access(frozenset({SYSTEM}), scope, frozenset(services))


def own(scope: str = "a volunteer for themselves only") -> Access:
    """Volunteers on their own records; organisers (and services) on anyone's; viewers read."""
    return allow(VOLUNTEER, GRID_LEADER, VIEWER, ORGANISER, SYSTEM, scope=scope)


# --- keys --------------------------------------------------------------------------------------


def keys_dir(config: dict | None = None) -> Path | None:
    value = (config or {}).get("IDENTITY_KEYS_DIR") or os.environ.get("IDENTITY_KEYS_DIR")
    return Path(value) if value else None


def generate_keypair(directory: Path, issuer: str, label: str | None = None) -> None:
    """Write ``<issuer>.key`` (private, mode 600) and ``<issuer>[.<label>].pub``."""
    directory.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    stem = issuer if label is None else f"{issuer}.{label}"
    private = directory / f"{stem}.key"
    private.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    private.chmod(0o600)
    (directory / f"{stem}.pub").write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def ensure_keys(directory: Path, issuers: Iterable[str] = LOCAL_ISSUERS) -> Path:
    """A key pair for each issuer that has none yet (a local run's or the tests' keys)."""
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    for issuer in issuers:
        if not (directory / f"{issuer}.pub").exists():
            generate_keypair(directory, issuer)
    return directory


def _issuer_of(pub: Path) -> str:
    return pub.name.split(".", 1)[0]


class KeyRing:
    """The public keys of every issuer, read from a directory (re-read when it changes)."""

    RECHECK = 1.0  # seconds: how often the directory is looked at again

    def __init__(self, directory: Path | None):
        self.directory = directory
        self._keys: dict[str, list[Ed25519PublicKey]] = {}
        self._stamp: tuple = ()
        self._checked = 0.0
        self._lock = threading.Lock()

    def stamp(self) -> tuple:
        """The directory's public key files as last seen (looked at again at most every RECHECK s)."""
        if time.monotonic() - self._checked >= self.RECHECK:
            self._refresh()
        return self._stamp

    def _current_stamp(self) -> tuple:
        if self.directory is None or not self.directory.is_dir():
            return ()
        return tuple(sorted((p.name, p.stat().st_mtime_ns) for p in self.directory.glob("*.pub")))

    def keys(self, issuer: str) -> list[Ed25519PublicKey]:
        self.stamp()
        return self._keys.get(issuer, [])

    def _refresh(self) -> None:
        self._checked = time.monotonic()
        stamp = self._current_stamp()
        if stamp != self._stamp:
            with self._lock:
                keys: dict[str, list[Ed25519PublicKey]] = {}
                for pub in sorted(self.directory.glob("*.pub")) if stamp else ():
                    try:
                        key = serialization.load_pem_public_key(pub.read_bytes())
                    except (ValueError, OSError):
                        log.warning("identity: %s is not a PEM public key; ignored", pub.name)
                        continue
                    if isinstance(key, Ed25519PublicKey):
                        keys.setdefault(_issuer_of(pub), []).append(key)
                self._keys, self._stamp = keys, stamp


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise TokenError(f"{path}: not an Ed25519 private key")
    return key


def signing_key_path(issuer: str, config: dict | None = None) -> Path | None:
    """The private key file: ``IDENTITY_SIGNING_KEY`` for a service (``IDENTITY_TOOLS_KEY`` for the
    operator's tools) if set, else ``<IDENTITY_KEYS_DIR>/<issuer>.key`` if it exists."""
    variable = "IDENTITY_TOOLS_KEY" if issuer == "tools" else "IDENTITY_SIGNING_KEY"
    explicit = (config or {}).get(variable) or os.environ.get(variable)
    if explicit:
        return Path(explicit)
    directory = keys_dir(config)
    if directory is not None and (directory / f"{issuer}.key").exists():
        return directory / f"{issuer}.key"
    return None


# --- tokens ------------------------------------------------------------------------------------


class Issuer:
    """Signs tokens as one issuer with its private key."""

    def __init__(self, name: str, key: Ed25519PrivateKey, clock=time.time):
        self.name = name
        self.key = key
        self.clock = clock

    @classmethod
    def from_config(cls, name: str, config: dict | None = None) -> Issuer:
        path = signing_key_path(name, config)
        if path is None:
            raise TokenError(
                f"no signing key for {name!r}: set IDENTITY_SIGNING_KEY, or IDENTITY_KEYS_DIR with {name}.key in it"
            )
        return cls(name, load_signing_key(path))

    def issue(
        self,
        subject: str,
        roles: Iterable[str],
        *,
        seconds: int,
        volunteer_id: int | None = None,
        grid_ids: Iterable[int] = (),
        name: str | None = None,
        community: str | None = None,
    ) -> str:
        roles = sorted(set(roles))
        if not may_grant(self.name, subject, frozenset(roles)):
            raise TokenError(f"issuer {self.name!r} may not grant {roles} to {subject!r}")
        now = int(self.clock())
        claims: dict[str, Any] = {
            "iss": self.name,
            "sub": subject,
            "aud": AUDIENCE,
            "roles": roles,
            "iat": now,
            "exp": now + int(seconds),
            "jti": uuid.uuid4().hex,
        }
        if volunteer_id is not None:
            claims["vid"] = int(volunteer_id)
        if grid_ids:
            claims["grids"] = sorted({int(g) for g in grid_ids})
        if name:
            claims["name"] = name
        if community is not None:
            claims[tenancy.CLAIM] = tenancy.check_slug(community)
        return jwt.encode(claims, self.key, algorithm=ALGORITHM)


@dataclass
class Revocations:
    """Subjects whose tokens issued before a time no longer count, and single revoked token ids.

    Kept in memory by every process, from the ``identity_revoked`` events of the issuer; an
    entry need only outlive the longest token, so entries older than ``keep`` are dropped.
    """

    keep: float = 86400.0
    subjects: dict[str, float] = field(default_factory=dict)
    tokens: dict[str, float] = field(default_factory=dict)

    def revoke(self, *, subject: str | None = None, token_id: str | None = None, before: float | None = None) -> None:
        at = time.time() if before is None else before
        if subject:
            self.subjects[subject] = max(at, self.subjects.get(subject, 0))
        if token_id:
            self.tokens[token_id] = at
        horizon = time.time() - self.keep
        for table in (self.subjects, self.tokens):
            for key in [k for k, v in table.items() if v < horizon]:
                del table[key]

    def revoked(self, claims: dict) -> bool:
        if claims.get("jti") in self.tokens:
            return True
        cut = self.subjects.get(claims.get("sub"))
        return cut is not None and claims.get("iat", 0) <= cut


REVOCATIONS = Revocations()


class Verifier:
    """Turns a token into an ``Identity``; anything wrong with it gives the anonymous one."""

    CACHE = 4096  # verified tokens remembered, so a caller's next request skips the signature check

    def __init__(self, keyring: KeyRing, revocations: Revocations = REVOCATIONS, clock=time.time):
        self.keyring = keyring
        self.revocations = revocations
        self.clock = clock
        self._verified: dict[str, dict] = {}
        self._stamp: tuple | None = None

    def claims(self, token: Any) -> dict | None:
        """The verified claims, or None (the reason is logged at DEBUG, never the token)."""
        stamp = self.keyring.stamp()
        if stamp != self._stamp:  # a key added or removed: verify every token again
            self._verified.clear()
            self._stamp = stamp
        claims = self._verified.get(token) if isinstance(token, str) else None
        if claims is None:
            claims = self._check(token)
            if claims is None:
                return None
            if len(self._verified) >= self.CACHE:
                self._verified.clear()
            self._verified[token] = claims
        if claims["exp"] < self.clock() - LEEWAY or self.revocations.revoked(claims):
            return None
        return claims

    def _check(self, token: Any) -> dict | None:
        if not isinstance(token, str) or not token or len(token) > 4096:
            return None
        try:
            unverified = jwt.decode(token, options={"verify_signature": False})
            issuer = unverified.get("iss")
        except jwt.PyJWTError:
            return None
        if issuer not in ISSUER_ROLES:
            return None
        for key in self.keyring.keys(issuer):
            try:
                claims = jwt.decode(
                    token,
                    key,
                    algorithms=[ALGORITHM],
                    audience=AUDIENCE,
                    issuer=issuer,
                    leeway=LEEWAY,
                    options={"require": ["exp", "iat", "sub", "iss", "jti"]},
                )
            except jwt.InvalidSignatureError:
                continue
            except jwt.PyJWTError as exc:
                log.debug("identity: token of %s refused: %s", issuer, type(exc).__name__)
                return None
            if claims["iat"] > self.clock() + LEEWAY:
                return None
            return claims
        return None

    def identify(self, token: Any) -> Identity:
        claims = self.claims(token)
        if claims is None:
            return Identity()
        roles = claims.get("roles")
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            return Identity()
        roles_set = frozenset(roles)
        issuer = claims["iss"]
        if not isinstance(claims["sub"], str) or not may_grant(issuer, claims["sub"], roles_set):
            return Identity()
        vid = claims.get("vid")
        grids = claims.get("grids") or []
        name = claims.get("name")
        community = claims.get(tenancy.CLAIM)
        if community is not None and not (isinstance(community, str) and tenancy.SLUG.match(community)):
            return Identity()
        return Identity(
            subject=str(claims["sub"]),
            roles=roles_set,
            volunteer_id=vid if isinstance(vid, int) and not isinstance(vid, bool) else None,
            grid_ids=frozenset(g for g in grids if isinstance(g, int)) if isinstance(grids, list) else frozenset(),
            name=name if isinstance(name, str) else None,
            issuer=issuer,
            token_id=claims.get("jti"),
            expires=claims.get("exp"),
            community=community,
        )


def identity_from_context(context_data: dict | None, verifier: Verifier) -> Identity:
    return verifier.identify((context_data or {}).get(CONTEXT_KEY))


_WORKER_IDENTITY = "_guanyinli_identity"  # on the worker context (not its data, which travels)


def worker_identity(worker_ctx) -> Identity:
    """The worker's verified caller, checked once per worker (``CallerIdentity``, ``tenancy``)."""
    found = getattr(worker_ctx, _WORKER_IDENTITY, None)
    if found is None:
        found = identity_from_context(worker_ctx.context_data, verifier_for(worker_ctx.container.config))
        setattr(worker_ctx, _WORKER_IDENTITY, found)
    return found


# --- a service's own token ---------------------------------------------------------------------


class ServiceToken:
    """A service's own ``system`` token, renewed when half its life is gone."""

    def __init__(self, issuer: Issuer, seconds: int = SERVICE_TOKEN_SECONDS, community: str | None = None):
        self.issuer = issuer
        self.seconds = seconds
        self.community = community
        self._token: str | None = None
        self._renew_at = 0.0

    def __call__(self) -> str:
        now = self.issuer.clock()
        if self._token is None or now >= self._renew_at:
            self._token = self.issuer.issue(
                f"service:{self.issuer.name}", [SYSTEM], seconds=self.seconds, community=self.community
            )
            self._renew_at = now + self.seconds / 2
        return self._token


_SERVICE_TOKENS: dict[tuple[str, str, str | None], ServiceToken] = {}
_SERVICE_TOKENS_LOCK = threading.Lock()


def service_token(service: str, config: dict | None = None, community: str | None = None) -> str | None:
    """The service's own token, acting for ``community`` (None or the default: no claim, which
    means the default community), or None where it has no signing key (its calls go anonymous)."""
    path = signing_key_path(service, config)
    if path is None:
        return None
    community = tenancy.named(community, config)
    key = (service, str(path), community)
    with _SERVICE_TOKENS_LOCK:
        maker = _SERVICE_TOKENS.get(key)
        if maker is None:
            maker = _SERVICE_TOKENS[key] = ServiceToken(Issuer(service, load_signing_key(path)), community=community)
    return maker()


def service_context(service: str, config: dict | None = None, community: str | None = None) -> dict:
    token = service_token(service, config, community)
    return {CONTEXT_KEY: token} if token else {}


def person_subject(
    roles: Iterable[str], volunteer_id: int | None, name: str | None, community: str | None = None
) -> str:
    """``volunteer:12``, ``account:wang``; in a community other than the default one (``community``
    given) with ``@<slug>``, so that revoking one community's volunteer 12 leaves another's alone."""
    if volunteer_id is not None:
        subject = f"volunteer:{volunteer_id}"
    elif SYSTEM in roles:
        subject = f"system:{name or 'tools'}"
    else:
        subject = f"account:{name or '-'.join(sorted(roles))}"
    return subject if community is None else f"{subject}@{tenancy.check_slug(community)}"


def tools_token(
    roles: Iterable[str] = (ORGANISER,),
    *,
    volunteer_id: int | None = None,
    grid_ids: Iterable[int] = (),
    name: str | None = None,
    subject: str | None = None,
    seconds: int = 12 * 3600,
    config: dict | None = None,
    community: str | None = None,
) -> str:
    """A token signed with the operator's ``tools`` key (``guanyinli token``; scripts and tests),
    for ``community`` (None: the default community)."""
    roles = list(roles)
    issuer = Issuer.from_config("tools", config)
    return issuer.issue(
        subject or person_subject(roles, volunteer_id, name, community),
        roles,
        seconds=seconds,
        volunteer_id=volunteer_id,
        grid_ids=grid_ids,
        name=name,
        community=community,
    )


def tools_context(roles: Iterable[str] = (ORGANISER,), **kwargs) -> dict:
    """Context data for a call as ``roles`` (see ``tools_token``)."""
    return {CONTEXT_KEY: tools_token(roles, **kwargs)}


def key_problem(service: str, config: dict | None = None) -> str | None:
    """What is missing for ``service`` to verify callers and sign its own calls, or None."""
    directory = keys_dir(config)
    if directory is None:
        return "IDENTITY_KEYS_DIR is not set"
    if not directory.is_dir() or not any(directory.glob("*.pub")):
        return f"IDENTITY_KEYS_DIR {directory} holds no public key (*.pub)"
    path = signing_key_path(service, config)
    if path is None or not path.is_file():
        return f"no private key of {service!r} (IDENTITY_SIGNING_KEY, or {service}.key in IDENTITY_KEYS_DIR)"
    return None


# --- the nameko dependency ---------------------------------------------------------------------


_VERIFIERS: dict[str, Verifier] = {}


def verifier_for(config: dict | None = None) -> Verifier:
    directory = keys_dir(config)
    key = str(directory)
    if key not in _VERIFIERS:
        _VERIFIERS[key] = Verifier(KeyRing(directory))
    return _VERIFIERS[key]


class CallerIdentity(DependencyProvider):
    """``self.caller``: the verified ``Identity`` of the worker's caller (anonymous if none)."""

    def setup(self):
        config = self.container.config
        self.verifier = verifier_for(config)
        problem = key_problem(self.container.service_name, config)
        if problem is not None:
            from guanyinli.config import is_local

            if not is_local():  # a deployment without keys would answer every caller as anonymous
                raise RuntimeError(f"identity keys: {problem} (docs/DEPLOY.md, 'Trust model')")
            log.warning("identity: %s; callers are anonymous and this service calls others as anonymous", problem)

    def get_dependency(self, worker_ctx) -> Identity:
        return worker_identity(worker_ctx)


# --- keys for a deployment -------------------------------------------------------------------------


def make_deployment_keys(directory: Path, issuers: Iterable[str] = LOCAL_ISSUERS, rotate: str | None = None) -> None:
    """``<dir>/public/<issuer>.pub`` for every container and ``<dir>/private/<issuer>.key`` for the
    one that signs as it (docker-compose.yml mounts them so). ``rotate``: a new key pair for that
    issuer; its old public key stays as ``<issuer>.previous.pub`` until removed by hand, so tokens
    signed before the rotation stay valid until they expire."""
    public, private = directory / "public", directory / "private"
    for issuer in issuers:
        if rotate == issuer and (public / f"{issuer}.pub").exists():
            (public / f"{issuer}.pub").replace(public / f"{issuer}.previous.pub")
            (private / f"{issuer}.key").unlink(missing_ok=True)
        if (public / f"{issuer}.pub").exists():
            continue
        public.mkdir(parents=True, exist_ok=True)
        generate_keypair(private, issuer)
        (private / f"{issuer}.pub").replace(public / f"{issuer}.pub")


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m guanyinli.identity", description="Make or rotate the identity keys of a deployment."
    )
    parser.add_argument(
        "directory", type=Path, help="e.g. ./keys (docker-compose.yml mounts keys/public, keys/private)"
    )
    parser.add_argument("--rotate", choices=LOCAL_ISSUERS, help="replace this issuer's key pair")
    args = parser.parse_args(argv)
    make_deployment_keys(args.directory, rotate=args.rotate)
    for pub in sorted((args.directory / "public").glob("*.pub")):
        print(pub)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
