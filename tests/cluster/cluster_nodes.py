"""Three RabbitMQ nodes on this machine, clustered, for `make test-cluster`.

Each node (``gy1@localhost`` .. ``gy3@localhost``) has its own AMQP port (5681-5683), Erlang
distribution port (25681-25683) and data and log directories under ``var/cluster/<node>``; they
share an Erlang cookie of their own (``var/cluster/home/.erlang.cookie``, the ``HOME`` of the
nodes and of every ``rabbitmqctl`` call made here), so the machine's own node ``rabbit@<host>``
(5672) is neither touched nor able to join. Nodes 2 and 3 join node 1; ``Cluster`` offers the
interface of ``rel_platform.Broker`` (``ctl``, ``add_vhost``, ``uri``, ``queue_depths``) so the
reliability suite's ``Platform`` runs the services against it, with every node in ``AMQP_URI``.

    python tests/cluster/cluster_nodes.py up|down   # by hand: start or remove the cluster
"""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "common"))

from guanyinli.config import join_broker_uris  # noqa: E402

BASE = Path(os.environ.get("CLUSTER_DIR", ROOT / "var" / "cluster"))
AMQP_PORTS = (5681, 5682, 5683)
DIST_OFFSET = 20000  # 5681 -> 25681
# The scripts themselves: the Debian wrappers in /usr/sbin run them as the rabbitmq user, whose HOME
# holds the cookie of the machine's own node.
RABBITMQ_BIN = Path("/usr/lib/rabbitmq/bin")
RABBITMQ_SERVER = str(RABBITMQ_BIN / "rabbitmq-server")


def wait_for(predicate, timeout: float, interval: float = 0.5, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {timeout:.0f} s")
        time.sleep(interval)


class Node:
    def __init__(self, index: int, base: Path):
        self.index = index
        self.name = f"gy{index}@localhost"
        self.port = AMQP_PORTS[index - 1]
        self.dist_port = self.port + DIST_OFFSET
        self.dir = base / f"gy{index}"
        self.stops = 0

    @property
    def short(self) -> str:
        return self.name.split("@")[0]


class Cluster:
    """Three clustered nodes; the broker of a ``rel_platform.Platform``."""

    mode = "cluster"

    def __init__(self, base: Path = BASE, user: str = "guanyinli", password: str | None = None):
        self.base = base
        self.home = base / "home"
        self.nodes = [Node(i, base) for i in (1, 2, 3)]
        self.user = user
        self.password = password or secrets.token_hex(12)
        self.down: set[str] = set()
        self.restarts = 0

    # --- rabbitmqctl ---------------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        return {**os.environ, "HOME": str(self.home)}

    def ctl_on(self, node: Node, *args: str, check: bool = True, timeout: float = 120, tool: str = "rabbitmqctl"):
        return subprocess.run(
            [str(RABBITMQ_BIN / tool), "-q", "-n", node.name, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=check,
            env=self.env(),
        )

    def up_node(self) -> Node:
        return next(n for n in self.nodes if n.name not in self.down)

    def ctl(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        """rabbitmqctl on a node that is running (cluster-wide commands answer from any)."""
        return self.ctl_on(self.up_node(), *args, check=check, timeout=timeout)

    # --- life cycle ----------------------------------------------------------------------------

    def start_node(self, node: Node) -> None:
        node.dir.mkdir(parents=True, exist_ok=True)
        (node.dir / "enabled_plugins").write_text("[].\n")
        (node.dir / "rabbitmq.conf").write_text(
            f"loopback_users = none\nlisteners.tcp.default = 127.0.0.1:{node.port}\n"
        )
        env = {
            **self.env(),
            "RABBITMQ_NODENAME": node.name,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(node.port),
            "RABBITMQ_DIST_PORT": str(node.dist_port),
            "RABBITMQ_MNESIA_BASE": str(node.dir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(node.dir / "log"),
            "RABBITMQ_CONFIG_FILE": str(node.dir / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(node.dir / "enabled_plugins"),
            "RABBITMQ_PID_FILE": str(node.dir / "pid"),
        }
        subprocess.run([RABBITMQ_SERVER, "-detached"], env=env, check=True, cwd=node.dir)
        self.down.discard(node.name)

    def await_node(self, node: Node, timeout: float = 120) -> None:
        wait_for(
            lambda: self.ctl_on(node, "status", check=False, timeout=30).returncode == 0,
            timeout,
            0.5,
            f"RabbitMQ node {node.name}",
        )
        self.ctl_on(node, "await_startup", "--timeout", str(int(timeout)))

    def start(self) -> None:
        self.remove()
        atexit.register(self.remove)  # also when the run is interrupted before its teardown
        self.home.mkdir(parents=True, exist_ok=True)
        cookie = self.home / ".erlang.cookie"
        cookie.write_text(secrets.token_hex(16).upper())
        cookie.chmod(0o400)
        for node in self.nodes:
            self.start_node(node)
        for node in self.nodes:
            self.await_node(node)
        first = self.nodes[0]
        for node in self.nodes[1:]:
            self.ctl_on(node, "stop_app")
            self.ctl_on(node, "join_cluster", first.name)
            self.ctl_on(node, "start_app")
            self.ctl_on(node, "await_startup", "--timeout", "120")
        running = self.running_nodes()
        if set(running) != {n.name for n in self.nodes}:
            raise RuntimeError(f"the cluster runs {running}, not all three nodes")
        self.ctl("add_user", self.user, self.password)

    def running_nodes(self) -> list[str]:
        out = self.ctl("eval", "rabbit_nodes:all_running().").stdout
        return [n.strip(" []'\n") for n in out.split(",") if n.strip(" []'\n")]

    def stop_node(self, node: Node) -> None:
        """Stop a node's RabbitMQ application and Erlang VM, as a crashed or rebooted machine would
        leave it (`rabbitmqctl stop`: its queues' leaders move to the others at once)."""
        self.ctl_on(node, "stop", check=False)
        self.down.add(node.name)
        node.stops += 1

    def restart_node(self, node: Node) -> None:
        self.restart_nodes([node])

    def restart_nodes(self, nodes: list[Node]) -> None:
        """Start stopped nodes together (each waits for the others at boot) and wait until they run."""
        for node in nodes:
            self.start_node(node)
        for node in nodes:
            self.await_node(node)
            self.restarts += 1

    def connections(self) -> Counter:
        """Client connections per node."""
        out = self.ctl("list_connections", "pid", "--no-table-headers").stdout
        return Counter(pid_node(line.strip()) for line in out.splitlines() if line.strip())

    def stop(self) -> None:
        self.remove()

    def remove(self) -> None:
        """Stop every node of ours that runs (also those a killed run left) and delete their data."""
        if self.home.exists():
            for node in self.nodes:
                self.ctl_on(node, "stop", check=False, timeout=60)
        shutil.rmtree(self.base, ignore_errors=True)

    # --- the interface of rel_platform.Broker -------------------------------------------------

    def add_vhost(self, vhost: str) -> None:
        self.ctl("add_vhost", vhost, "--default-queue-type", "quorum")
        self.ctl("set_permissions", "-p", vhost, self.user, ".*", ".*", ".*")

    def delete_vhost(self, vhost: str) -> None:
        self.ctl("delete_vhost", vhost, check=False)

    def uri(self, vhost: str) -> str:
        return join_broker_uris(
            f"pyamqp://{self.user}:{self.password}@127.0.0.1:{node.port}/{vhost}" for node in self.nodes
        )

    def consumers(self, vhost: str) -> Counter:
        """Consumers per queue, from the channels themselves (``list_queues`` shows a quorum queue's
        count as of its last statistics emission, up to 5 s old)."""
        out = self.ctl("list_consumers", "-p", vhost, "queue_name", "--no-table-headers").stdout
        return Counter(line.strip() for line in out.splitlines() if line.strip())

    def queue_depths(self, vhost: str) -> dict[str, tuple[int, int]]:
        out = self.ctl("list_queues", "-p", vhost, "name", "messages", "--no-table-headers").stdout
        consumers = self.consumers(vhost)
        depths = {}
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1].isdigit():
                depths[parts[0]] = (int(parts[1]), consumers[parts[0]])
        return depths

    def queues(self, vhost: str) -> list[dict]:
        """Every queue of the vhost: name, type, leader (quorum) or home node (classic), consumers."""
        out = self.ctl(
            "list_queues", "-p", vhost, "name", "type", "leader", "pid", "messages", "exclusive", "--no-table-headers"
        ).stdout
        consumers = self.consumers(vhost)
        rows = []
        for line in out.splitlines():
            parts = line.split("\t")
            if len(parts) == 6:
                name, kind, leader, pid, messages, exclusive = parts
                rows.append({
                    "name": name, "type": kind, "leader": leader or pid_node(pid), "consumers": consumers[name],
                    "messages": int(messages) if messages.isdigit() else 0, "exclusive": exclusive == "true",
                })  # fmt: skip
        return rows

    def node(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)


def pid_node(pid: str) -> str:
    """The node of an Erlang pid as rabbitmqctl prints it: ``<gy2@localhost.1666.1234.0>``."""
    return pid.strip("<>").rsplit(".", 3)[0] if "@" in pid else ""


def main(argv: list[str]) -> int:
    cluster = Cluster()
    if argv[:1] == ["up"]:
        cluster.start()
        atexit.unregister(cluster.remove)  # left running until `down`
        print(f"cluster up: {cluster.running_nodes()}; user {cluster.user} / {cluster.password}")
    elif argv[:1] == ["down"]:
        cluster.remove()
        print("cluster removed")
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
