"""Apache Kafka for the suite: the production broker, run as compose runs it.

The broker's jars come from Maven Central (``deploy/kafka/pom.xml`` pins the version that
compose and Kubernetes pin), resolved once with Maven into ``~/.m2``; the classpath is kept
in ``~/.cache/cadre-platform/``. Each node is started by ``deploy/kafka/start.sh`` — the very
script compose's kafka service runs — from the KAFKA_* settings of compose's kafka service,
with only what differs per node here replaced (node id, listeners on free loopback ports,
log directory, heap). So the suite runs the authenticated KRaft broker of production: SASL/
SCRAM for clients and between brokers, ACLs, no automatic topics. The users, topics and ACLs
are then made by ``deploy.kafka_setup.apply``, the kafka-setup job's own code.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cadrekit.testing.servers import ServerUnavailable, free_port

ROOT = Path(__file__).resolve().parents[2]
POM = ROOT / "deploy" / "kafka" / "pom.xml"
START = ROOT / "deploy" / "kafka" / "start.sh"
COMPOSE = ROOT / "docker-compose.yml"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "cadre-platform"
# Per node: which compose settings are the machine's, not the broker's.
NODE_KEYS = (
    "KAFKA_NODE_ID",
    "KAFKA_LISTENERS",
    "KAFKA_ADVERTISED_LISTENERS",
    "KAFKA_CONTROLLER_QUORUM_VOTERS",
    "KAFKA_LOG_DIRS",
    "KAFKA_HEAP_OPTS",
)
LOG4J = """log4j.rootLogger=WARN, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaServer=INFO
log4j.logger.kafka.server.BrokerServer=INFO
"""


def kafka_version() -> str:
    match = re.search(r"<kafka.version>([^<]+)</kafka.version>", POM.read_text())
    assert match, "deploy/kafka/pom.xml names no kafka.version"
    return match.group(1)


def classpath() -> str:
    """The broker's classpath, resolved by Maven once per pom (the jars stay in ~/.m2)."""
    digest = hashlib.sha256(POM.read_bytes()).hexdigest()[:12]
    cached = CACHE / f"kafka-{kafka_version()}-{digest}.classpath"
    if cached.exists():
        jars = cached.read_text().strip()
        if all(Path(j).exists() for j in jars.split(":")):
            return jars
    mvn, java = shutil.which("mvn"), shutil.which("java")
    if not mvn or not java:
        raise ServerUnavailable("Apache Kafka needs java and mvn; run `make test-deps` (Debian's openjdk-17 and maven)")
    CACHE.mkdir(parents=True, exist_ok=True)
    out = CACHE / f".{cached.name}.{os.getpid()}"
    done = subprocess.run(
        [mvn, "-q", "-B", "-f", str(POM), "dependency:build-classpath", f"-Dmdep.outputFile={out}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0 or not out.exists():
        raise ServerUnavailable(f"Maven could not resolve Apache Kafka {kafka_version()}:\n{done.stdout[-3000:]}")
    out.replace(cached)
    return cached.read_text().strip()


def kafka_home(where: Path) -> Path:
    """A KAFKA_HOME whose bin/ has the two scripts start.sh calls, over the Maven jars."""
    home = where / "kafka-home"
    (home / "bin").mkdir(parents=True, exist_ok=True)
    (home / "log4j.properties").write_text(LOG4J)
    cp = classpath()
    java = (
        "exec java ${KAFKA_HEAP_OPTS:-} -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true "
        f'-Dlog4j.configuration=file:{home}/log4j.properties -cp "{cp}"'
    )
    for name, main in (("kafka-storage.sh", "kafka.tools.StorageTool"), ("kafka-server-start.sh", "kafka.Kafka")):
        script = home / "bin" / name
        script.write_text(f'#!/usr/bin/env bash\n{java} {main} "$@"\n')
        script.chmod(0o755)
    return home


_REF = re.compile(r"\$\{([A-Z0-9_]+)(?::?[-?]([^}]*))?\}")


def compose_kafka_environment(values: dict[str, str]) -> dict[str, str]:
    """Compose's kafka service environment, its ``${VAR:-default}`` resolved from ``values``
    (then the default)."""
    import yaml

    service = yaml.safe_load(COMPOSE.read_text())["services"]["kafka"]
    env: dict[str, str] = {}
    for key, raw in service["environment"].items():
        text = str(raw)
        env[key] = _REF.sub(lambda m: values.get(m.group(1), m.group(2) or ""), text)
    return env


@dataclass
class KafkaNode:
    node_id: int
    port: int
    controller_port: int
    data: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"


@dataclass
class KafkaCluster:
    """One or more KRaft nodes (each broker and controller) on free loopback ports.

    ``stop``/``start`` keep the ports and the data (a restarted broker comes back with its
    log, as Apache Kafka does); ``kill`` is a SIGKILL of one node."""

    root: Path
    nodes: list[KafkaNode] = field(default_factory=list)
    admin_password: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    controller_password: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    passwords: dict[str, str] = field(default_factory=dict)
    cluster_id: str = ""
    heap: str = "-Xms256m -Xmx512m"

    @classmethod
    def make(cls, root: Path, size: int = 1) -> KafkaCluster:
        from deploy.kafka_access import PRINCIPALS

        cluster = cls(root=root)
        cluster.passwords = {p.name: secrets.token_urlsafe(16) for p in PRINCIPALS}
        cluster.cluster_id = _cluster_id()
        for i in range(1, size + 1):
            cluster.nodes.append(KafkaNode(i, free_port(), free_port(), root / f"node-{i}"))
        return cluster

    @property
    def bootstrap(self) -> str:
        return ",".join(n.bootstrap for n in self.nodes)

    @property
    def replication(self) -> int:
        return min(3, len(self.nodes))

    def environment(self, node: KafkaNode) -> dict[str, str]:
        replication = str(self.replication)
        values = {
            "KAFKA_CLUSTER_ID": self.cluster_id,
            "KAFKA_ADMIN_PASSWORD": self.admin_password,
            "KAFKA_CONTROLLER_PASSWORD": self.controller_password,
            "KAFKA_PARTITIONS": "6",
            "KAFKA_REPLICATION": replication,
            "KAFKA_MIN_INSYNC_REPLICAS": "2" if self.replication >= 3 else "1",
        }
        env = compose_kafka_environment(values)
        voters = ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in self.nodes)
        env.update(
            KAFKA_NODE_ID=str(node.node_id),
            KAFKA_LISTENERS=f"BROKER://127.0.0.1:{node.port},CONTROLLER://127.0.0.1:{node.controller_port}",
            KAFKA_ADVERTISED_LISTENERS=f"BROKER://127.0.0.1:{node.port}",
            KAFKA_CONTROLLER_QUORUM_VOTERS=voters,
            KAFKA_LOG_DIRS=str(node.data / "log"),
            KAFKA_HEAP_OPTS=self.heap,
            KAFKA_CONFIG_FILE=str(node.data / "server.properties"),
            KAFKA_CLIENT_CONFIG_FILE=str(node.data / "admin.properties"),
        )
        assert set(NODE_KEYS) <= set(env), "compose's kafka service lost a per-node setting"
        return env

    def start(self, node: KafkaNode | None = None) -> None:
        home = kafka_home(self.root)
        targets = [node] if node else self.nodes
        for n in targets:
            if n.proc is not None and n.proc.poll() is None:
                continue
            n.data.mkdir(parents=True, exist_ok=True)
            env = {k: v for k, v in os.environ.items() if not k.startswith("KAFKA_")}
            env.update(self.environment(n), KAFKA_HOME=str(home))
            log = open(n.data / "broker.log", "ab")  # noqa: SIM115 - the child writes it
            n.proc = subprocess.Popen(
                ["bash", str(START)], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
            log.close()
        for n in targets:
            self._wait_ready(n)

    def _wait_ready(self, node: KafkaNode, timeout: float = 90) -> None:
        import socket

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if node.proc is None or node.proc.poll() is not None:
                raise ServerUnavailable(f"Kafka node {node.node_id} exited:\n{self.log_tail(node)}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", node.port)) == 0 and self._answers(node):
                    return
            time.sleep(0.2)
        raise ServerUnavailable(f"Kafka node {node.node_id} not ready in {timeout:.0f} s:\n{self.log_tail(node)}")

    def _answers(self, node: KafkaNode) -> bool:
        from confluent_kafka.admin import AdminClient

        from deploy.kafka_setup import admin_config

        try:
            meta = AdminClient(admin_config(node.bootstrap, self.admin_password)).list_topics(timeout=5)
        except Exception:
            return False
        return node.node_id in meta.brokers

    def setup(self) -> Any:
        """What compose's kafka-setup job does: users, topics, ACLs."""
        from deploy.kafka_setup import TopicLayout, apply

        layout = TopicLayout(
            partitions=6, replication=self.replication, min_insync_replicas=2 if self.replication >= 3 else None
        )
        return apply(self.bootstrap, self.admin_password, self.passwords, layout)

    def stop(self, node: KafkaNode | None = None) -> None:
        for n in [node] if node else self.nodes:
            if n.proc is not None and n.proc.poll() is None:
                os.killpg(n.proc.pid, signal.SIGTERM)
                try:
                    n.proc.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(n.proc.pid, signal.SIGKILL)
                    n.proc.wait()
            n.proc = None

    def kill(self, node: KafkaNode) -> None:
        if node.proc is not None and node.proc.poll() is None:
            os.killpg(node.proc.pid, signal.SIGKILL)
            node.proc.wait()
        node.proc = None

    def log_tail(self, node: KafkaNode, lines: int = 30) -> str:
        try:
            return "\n".join((node.data / "broker.log").read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def client_settings(self, service: str) -> dict[str, Any]:
        """The settings a service's process needs to reach this cluster as itself."""
        return {
            "kafka_bootstrap": self.bootstrap,
            "kafka_security_protocol": "SASL_PLAINTEXT",
            "kafka_password": self.passwords[service],
            "kafka_idempotence": True,
            "broker_volatile": False,
            "kafka_create_topics": False,
            "topic_partitions": 6,
            "topic_replication": self.replication,
        }

    def admin_options(self) -> dict[str, Any]:
        """aiokafka options for a test's own client acting as the operator (admin)."""
        return {
            "bootstrap_servers": self.bootstrap,
            "security_protocol": "SASL_PLAINTEXT",
            "sasl_mechanism": "SCRAM-SHA-512",
            "sasl_plain_username": "admin",
            "sasl_plain_password": self.admin_password,
        }


def _cluster_id() -> str:
    import base64
    import uuid

    # As Kafka's own Uuid.randomUuid: an id beginning with "-" would be read as an option by
    # kafka-storage (one in 64 runs failed so).
    while True:
        made = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not made.startswith("-"):
            return made


class KafkaBroker:
    """A single Apache Kafka node with the suite's broker interface (``bootstrap``, ``start``,
    ``stop``), set up as the kafka-setup job sets it up."""

    kind = "kafka"

    def __init__(self, log_dir: Path, size: int = 1) -> None:
        self._tmp = Path(tempfile.mkdtemp(prefix="cadre-kafka-", dir=log_dir))
        self.cluster = KafkaCluster.make(self._tmp, size)
        self._set_up = False

    @property
    def bootstrap(self) -> str:
        return self.cluster.bootstrap

    def start(self) -> None:
        self.cluster.start()
        if not self._set_up:
            self.cluster.setup()
            self._set_up = True

    def stop(self) -> None:
        self.cluster.stop()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self._tmp, ignore_errors=True)

    def client_settings(self, service: str) -> dict[str, Any]:
        return self.cluster.client_settings(service)

    def client_options(self) -> dict[str, Any]:
        return self.cluster.admin_options()

    def process_env(self, partitions: int = 6) -> dict[str, str]:
        """The environment the launcher's processes reach this broker with, as compose gives
        it: each logs in as its own principal, none creates topics, the broker keeps its log."""
        env = {
            "CADRE_KAFKA_BOOTSTRAP": self.bootstrap,
            "CADRE_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "CADRE_KAFKA_IDEMPOTENCE": "true",
            "CADRE_KAFKA_CREATE_TOPICS": "false",
            "CADRE_BROKER_VOLATILE": "false",
            "CADRE_TOPIC_PARTITIONS": str(partitions),
            "CADRE_TOPIC_REPLICATION": str(self.cluster.replication),
        }
        env.update({f"{name.upper()}_KAFKA_PASSWORD": pw for name, pw in self.cluster.passwords.items()})
        return env

    def cli_env(self) -> dict[str, str]:
        """The environment ``cadre`` reaches this broker with, as the admin principal."""
        return {
            "CADRE_KAFKA_BOOTSTRAP": self.bootstrap,
            "CADRE_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "CADRE_KAFKA_ADMIN_PASSWORD": self.cluster.admin_password,
        }


if __name__ == "__main__":  # `make test-deps`: fetch the jars before any test needs them
    print(f"Apache Kafka {kafka_version()}: {len(classpath().split(':'))} jars on the classpath")
