"""The broker accounts: one RabbitMQ user per service and one for the organisers' tools, each
allowed only what it needs, so that only a service's own account can publish its events.

    python -m guanyinli.broker_users           # create or update every account (compose: broker-users)
    python -m guanyinli.broker_users --show    # print each account's permissions, as applied

Settings come from the environment (docker-compose.yml passes them):

* ``RABBITMQ_API``: the management HTTP API, with an administrator's credentials in it,
  e.g. ``http://admin:secret@rabbitmq:15672/api``;
* ``<ROLE>_AMQP_URI`` for every role in ``ROLES`` (``VOLUNTEERS_AMQP_URI``...): the URI that
  role connects with. Its user name, password and virtual host are the account to create; the
  same URI is the ``AMQP_URI`` of that role's containers.

What the permissions follow from (nameko 2.14's names; RabbitMQ's rules):

* declaring an exchange or a queue needs *configure* on its name; publishing needs *write* on
  the exchange; binding a queue needs *write* on the queue and *read* on the exchange; consuming
  needs *read* on the queue. A publish to the default exchange is a write to ``amq.default``,
  which nobody here has, so nobody can drop a message straight into another's queue. A queue's
  dead-letter exchange and an exchange's alternate exchange need *write* on them too, so neither
  is a way round.
* a service publishes its events to the topic exchange ``<service>.events`` (declared by its
  ``EventDispatcher``): only that service's account may write to it.
* an event handler's queue ``evt-<source>-<type>--<service>.<method>`` is bound to the source's
  exchange, and nameko (kombu) declares the source exchange before binding: the listening
  service needs configure and read on it, never write.
* RPC: every caller publishes requests to ``nameko-rpc`` with routing key ``<service>.<method>``,
  and a service publishes its replies there too, with the caller's reply queue's key. Any account
  may call any service: which caller may call which method is for the signed token in the
  request's context data, not for the broker. Topic permissions on ``nameko-rpc`` limit the
  *binding* keys instead: a service binds ``<service>.*`` (its ``rpc-<service>`` queue) and reply
  keys (a UUID, or the reply queue's name for ``guanyinli.client``), so no account can bind a
  queue with ``#`` and read everyone's requests and replies.
* queues are the account's own (``rpc-<service>``, ``rpc.reply-<service>-<uuid>``, its event
  handlers' queues, reply queues of ``guanyinli.client``, which are exclusive to their
  connection); the organisers' tools use ``guanyinli.client`` and nameko's standalone proxies
  (``rpc.reply-standalone_rpc_proxy-<uuid>``), and a server-named queue (``amq.gen-...``,
  exclusive) to follow ``roster_progress`` events of activities.

What the broker cannot stop: an account that declares a shared exchange (``nameko-rpc``, the
event exchanges it listens to) may also delete it, which stops traffic until the services
declare it again (they do on start and on every reconnection): a denial of service, never a
forged message. docs/DEPLOY.md ("Trust model") says what each account's password gives.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

RPC_EXCHANGE = "nameko-rpc"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
NAME = r"[A-Za-z0-9_]+"
CLIENT_REPLY_QUEUE = r"rpc\.reply-guanyinli-client-" + UUID  # guanyinli.client: the key is the queue's name
STANDALONE_REPLY_QUEUE = r"rpc\.reply-standalone_rpc_proxy-" + UUID  # nameko.standalone.rpc proxies
SERVER_NAMED_QUEUE = r"amq\.gen-[A-Za-z0-9_-]+"


@dataclass(frozen=True)
class Role:
    """One broker account: a nameko service (``service=True``) or a program outside nameko."""

    name: str
    emits: bool = False  # publishes its events to <name>.events
    listens: tuple[str, ...] = ()  # services whose events it handles
    service: bool = True

    def queues(self) -> list[str]:
        """Patterns of the queues this account declares, binds and consumes."""
        if self.service:
            own = [f"rpc-{self.name}", rf"rpc\.reply-{self.name}-{UUID}"]
            if self.listens:
                # a broadcast handler's queue ends in its process's identifier (revocations)
                own.append(rf"evt-{_any(self.listens)}-{NAME}--{self.name}\.{NAME}(-[0-9a-f]{{32}})?")
        else:
            own = [STANDALONE_REPLY_QUEUE, SERVER_NAMED_QUEUE]
        return [*own, CLIENT_REPLY_QUEUE]  # every account may use guanyinli.client (healthchecks do)

    def permissions(self) -> dict[str, str]:
        """configure, write and read regular expressions of the account on the platform's vhost."""
        own_exchange = [events_exchange(self.name)] if self.emits else []
        sources = [events_exchange(source) for source in self.listens]
        return {
            "configure": _exactly([RPC_EXCHANGE, *own_exchange, *sources, *self.queues()]),
            "write": _exactly([RPC_EXCHANGE, *own_exchange, *self.queues()]),
            "read": _exactly([RPC_EXCHANGE, *sources, *self.queues()]),
        }

    def topic_permissions(self) -> list[dict[str, str]]:
        """Per topic exchange: which routing keys the account may publish with, and bind with."""
        bind = [UUID, CLIENT_REPLY_QUEUE] + ([rf"{self.name}\.\*"] if self.service else [])
        return [{"exchange": RPC_EXCHANGE, "write": ".*", "read": _exactly(bind)}]


def events_exchange(service: str) -> str:
    return rf"{service}\.events"


def _any(names) -> str:
    return "(" + "|".join(names) + ")"


def _exactly(patterns: list[str]) -> str:
    return "^" + _any(patterns) + "$"


ROLES: tuple[Role, ...] = (
    Role("volunteers", emits=True, listens=("activities", "organiser", "appeals")),
    Role("activities", emits=True, listens=("organiser", "volunteers")),
    Role("notifications", listens=("activities", "volunteers", "organiser", "appeals")),
    Role("organiser", emits=True, listens=("organiser",)),
    Role("appeals", emits=True, listens=("organiser",)),
    # the organisers' command line and scripts (guanyinli.client): they call, they publish no event
    Role("tools", listens=("activities",), service=False),
)


def role(name: str) -> Role:
    for candidate in ROLES:
        if candidate.name == name:
            return candidate
    raise KeyError(f"no broker role {name!r}; the roles are {', '.join(r.name for r in ROLES)}")


@dataclass(frozen=True)
class Account:
    role: Role
    user: str
    password: str
    vhost: str


def account_from_uri(role_: Role, uri: str) -> Account:
    parts = urlsplit(uri)
    user, password = unquote(parts.username or ""), unquote(parts.password or "")
    vhost = unquote(parts.path[1:]) if parts.path not in ("", "/") else "/"
    if not user or not password:
        raise ValueError(f"{role_.name}: the AMQP URI names no user or no password")
    return Account(role_, user, password, vhost)


class ManagementApi:
    """The few calls of RabbitMQ's management HTTP API this needs; ``url`` carries the credentials."""

    def __init__(self, url: str, timeout: float = 10.0):
        parts = urlsplit(url)
        self.base = f"{parts.scheme}://{parts.hostname}:{parts.port or 15672}{parts.path.rstrip('/')}"
        credentials = f"{unquote(parts.username or 'guest')}:{unquote(parts.password or 'guest')}"
        self.auth = "Basic " + base64.b64encode(credentials.encode()).decode()
        self.timeout = timeout

    def call(self, method: str, path: str, body: dict | None = None):
        request = urllib.request.Request(self.base + path, method=method)
        request.add_header("Authorization", self.auth)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, data=data, timeout=self.timeout) as response:
            payload = response.read()
        return json.loads(payload) if payload else None

    def wait(self, seconds: float) -> None:
        """The API answers (the management plugin starts a little after the AMQP listener)."""
        deadline = time.monotonic() + seconds
        while True:
            try:
                self.call("GET", "/overview")
                return
            except urllib.error.HTTPError:
                raise
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)


def apply(api: ManagementApi, accounts: list[Account]) -> None:
    """Create or update every account: password, no management tag, its permissions only."""
    for vhost in sorted({a.vhost for a in accounts}):
        api.call("PUT", f"/vhosts/{quote(vhost, safe='')}", {})
    for account in accounts:
        user, vhost = quote(account.user, safe=""), quote(account.vhost, safe="")
        api.call("PUT", f"/users/{user}", {"password": account.password, "tags": ""})
        api.call("PUT", f"/permissions/{vhost}/{user}", account.role.permissions())
        wanted = account.role.topic_permissions()
        held = [p for p in api.call("GET", f"/users/{user}/topic-permissions") if p["vhost"] == account.vhost]
        if {p["exchange"] for p in held} - {p["exchange"] for p in wanted}:
            api.call("DELETE", f"/topic-permissions/{vhost}/{user}")  # the API removes them all at once
        for permission in wanted:
            api.call("PUT", f"/topic-permissions/{vhost}/{user}", permission)


def accounts_from_env(env: dict[str, str]) -> list[Account]:
    accounts = []
    for role_ in ROLES:
        key = f"{role_.name.upper()}_AMQP_URI"
        if not env.get(key):
            raise SystemExit(f"{key} is not set: every broker role needs its URI ({', '.join(r.name for r in ROLES)})")
        accounts.append(account_from_uri(role_, env[key]))
    if len({a.user for a in accounts}) != len(accounts):
        raise SystemExit("two broker roles share a user name: each role needs its own account")
    if len({a.password for a in accounts}) != len(accounts):
        raise SystemExit("two broker accounts share a password: give each its own")
    return accounts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", action="store_true", help="print each role's permissions and exit")
    parser.add_argument("--wait", type=float, default=60, help="seconds to wait for the management API")
    args = parser.parse_args(argv)
    if args.show:
        table = {r.name: {"permissions": r.permissions(), "topic_permissions": r.topic_permissions()} for r in ROLES}
        print(json.dumps(table, indent=2))
        return 0
    accounts = accounts_from_env(dict(os.environ))
    if not os.environ.get("RABBITMQ_API"):
        raise SystemExit("RABBITMQ_API is not set (http://<admin>:<password>@<host>:15672/api)")
    api = ManagementApi(os.environ["RABBITMQ_API"])
    try:
        api.wait(args.wait)
        apply(api, accounts)
    except urllib.error.HTTPError as exc:
        print(f"broker accounts not applied: {exc.code} {exc.reason} at {exc.url}", file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"broker accounts not applied: management API unreachable at {api.base}: {exc}", file=sys.stderr)
        return 1
    for account in accounts:
        print(f"broker account {account.user} (role {account.role.name}) on vhost {account.vhost}: applied")
    return 0


if __name__ == "__main__":
    sys.exit(main())
