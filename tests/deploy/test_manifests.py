"""The deployment files, checked by structure (no container engine or cluster here).

docker-compose.yml, .env.example, the Dockerfile, deploy/postgres/init.sh, Prometheus and
Grafana provisioning, and every Kubernetes manifest under deploy/k8s/: every process has its
readiness check, its migration step before it, its own database and role, the broker address,
and no secret is written in any of these files.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from cadrekit.settings import BaseServiceSettings
from deploy.launcher import APPS, MIGRATIONS
from gateway.settings import GatewaySettings
from services.matching.settings import MatchingSettings
from services.roster.settings import RosterSettings
from services.scoring.settings import ScoringSettings
from services.secondment.settings import SecondmentSettings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
SERVICES = ("roster", "matching", "scoring", "secondment")
PROCESSES = (*SERVICES, "gateway")
SETTINGS: dict[str, type[BaseServiceSettings]] = {
    "roster": RosterSettings,
    "matching": MatchingSettings,
    "scoring": ScoringSettings,
    "secondment": SecondmentSettings,
    "gateway": GatewaySettings,
}
# Names that hold a secret when they hold a value (paths to key directories do not).
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|SEAL_KEYS|INDEX_KEY|PRIVATE|API_KEY|_AUTH$", re.IGNORECASE)
REFERENCE = re.compile(r"^\$\{[A-Z0-9_]+(:?[-?][^}]*)?\}$")
CREDENTIALS_IN_URL = re.compile(r"[a-z+]+://[^:/@\s]*:([^@\s]+)@")


def _load_all(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    doc = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(doc, dict)
    return doc


def _env(service: dict[str, Any]) -> dict[str, Any]:
    env = service.get("environment") or {}
    assert isinstance(env, dict), "environment is a mapping (the anchors merge mappings)"
    return env


def _walk_strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for k, v in node.items():
            yield str(k)
            yield from _walk_strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from _walk_strings(v)


# --- docker-compose.yml -------------------------------------------------------------------------


def test_compose_has_every_part(compose: dict[str, Any]) -> None:
    services = set(compose["services"])
    expected = {"kafka", "kafka-setup", "postgres", "redis", "edge", "prometheus", "grafana", *PROCESSES}
    expected |= {f"migrate-{p}" for p in PROCESSES}
    assert expected <= services, expected - services


def test_kafka_runs_in_kraft_mode_from_the_official_image(compose: dict[str, Any]) -> None:
    kafka = compose["services"]["kafka"]
    assert "apache/kafka:" in kafka["image"]
    env = _env(kafka)
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert "CONTROLLER" in env["KAFKA_CONTROLLER_LISTENER_NAMES"]
    assert env["KAFKA_ADVERTISED_LISTENERS"] == "BROKER://kafka:9092"
    # Every listener authenticates and the authorizer lets in no one without an ACL.
    protocols = dict(p.split(":") for p in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    assert set(protocols.values()) == {"SASL_PLAINTEXT"}, protocols
    assert env["KAFKA_AUTHORIZER_CLASS_NAME"].endswith("StandardAuthorizer")
    assert env["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
    assert set(env["KAFKA_SUPER_USERS"].split(";")) == {"User:admin", "User:controller"}
    assert REFERENCE.match(env["KAFKA_ADMIN_PASSWORD"]) and REFERENCE.match(env["KAFKA_CONTROLLER_PASSWORD"])
    assert kafka["entrypoint"] == ["/bin/bash", "/opt/cadre/start.sh"]
    assert "./deploy/kafka/start.sh:/opt/cadre/start.sh:ro" in kafka["volumes"]
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert not any("ZOOKEEPER" in k for k in env)
    assert "/var/lib/kafka/data" in env["KAFKA_LOG_DIRS"]
    assert "ports" not in kafka, "the broker is for the compose network only"
    assert "kafka-broker-api-versions" in " ".join(kafka["healthcheck"]["test"])


def test_the_tests_run_the_kafka_compose_pins(compose: dict[str, Any]) -> None:
    from cadrekit.testing.kafka import kafka_version

    for name in ("kafka",):
        image = compose["services"][name]["image"]
        assert image.endswith(f"apache/kafka:{kafka_version()}}}"), (image, kafka_version())


def test_kafka_setup_job_makes_users_topics_and_acls_for_every_principal(compose: dict[str, Any]) -> None:
    from deploy.kafka_access import PRINCIPALS

    job = compose["services"]["kafka-setup"]
    assert job["restart"] == "no"
    assert job["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert job["command"] == ["cadre", "kafka-setup"]
    env = _env(job)
    assert REFERENCE.match(env["CADRE_KAFKA_ADMIN_PASSWORD"])
    for p in PRINCIPALS:
        assert REFERENCE.match(env[f"{p.name.upper()}_KAFKA_PASSWORD"]), p.name
    assert env["KAFKA_PARTITIONS"] == "${KAFKA_PARTITIONS:-6}"
    assert env["KAFKA_REPLICATION"].startswith("${KAFKA_REPLICATION")
    # The services' own numbers match the job's.
    app_env = _env(compose["services"]["roster"])
    assert app_env["CADRE_TOPIC_PARTITIONS"] == env["KAFKA_PARTITIONS"]
    assert app_env["CADRE_TOPIC_REPLICATION"] == env["KAFKA_REPLICATION"]


@pytest.mark.parametrize("name", PROCESSES)
def test_each_process_logs_in_to_kafka_as_itself(compose: dict[str, Any], name: str) -> None:
    env = _env(compose["services"][name])
    assert env["CADRE_KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT"
    assert env["CADRE_KAFKA_CREATE_TOPICS"] == "false"
    assert (
        env[f"{name.upper()}_KAFKA_PASSWORD"]
        == _env(compose["services"]["kafka-setup"])[f"{name.upper()}_KAFKA_PASSWORD"]
    )
    assert not any(k.endswith("_KAFKA_PASSWORD") and not k.startswith(name.upper()) for k in env), "only its own"


@pytest.mark.parametrize("name", PROCESSES)
def test_each_process_waits_for_its_migration_and_checks_ready(compose: dict[str, Any], name: str) -> None:
    svc = compose["services"][name]
    migrate = compose["services"][f"migrate-{name}"]
    assert migrate["command"] == ["python", "-m", "deploy.migrate", name]
    assert name in MIGRATIONS, "deploy.migrate accepts the name"
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "deploy" not in migrate, "a migration runs once, not per replica"

    deps = svc["depends_on"]
    assert deps[f"migrate-{name}"]["condition"] == "service_completed_successfully"
    assert deps["kafka-setup"]["condition"] == "service_completed_successfully"
    assert deps["postgres"]["condition"] == "service_healthy"
    assert deps["kafka"]["condition"] == "service_healthy"

    check = " ".join(svc["healthcheck"]["test"])
    assert "http://127.0.0.1:8000/ready" in check
    assert svc["deploy"]["replicas"] == 2
    assert svc["command"][:4] == ["uvicorn", APPS[name], "--factory", "--host"]
    assert svc["command"][svc["command"].index("--port") + 1] == "8000"


def test_one_image_for_every_process(compose: dict[str, Any]) -> None:
    ours = [n for n in compose["services"] if n in PROCESSES or n.startswith("migrate-")]
    images = {compose["services"][n]["image"] for n in ours}
    builds = {json.dumps(compose["services"][n]["build"], sort_keys=True) for n in ours}
    assert len(images) == 1 and len(builds) == 1
    assert json.loads(builds.pop())["dockerfile"] == "deploy/Dockerfile"


@pytest.mark.parametrize("name", PROCESSES)
def test_each_process_has_its_own_database_and_role(compose: dict[str, Any], name: str) -> None:
    env = _env(compose["services"][name])
    url = env[f"{name.upper()}_DATABASE_URL"]
    m = re.fullmatch(r"postgresql\+asyncpg://([a-z]+):(\$\{[A-Z_]+:?\??[^}]*\})@postgres:5432/([a-z]+)", url)
    assert m, url
    role, password, database = m.groups()
    assert role == database == name
    assert password.startswith(f"${{{name.upper()}_DB_PASSWORD")
    # no other process's database URL reaches this container
    others = {f"{o.upper()}_DATABASE_URL" for o in PROCESSES if o != name} | {"CADRE_DATABASE_URL"}
    assert not others & set(env)
    assert _env(compose["services"][f"migrate-{name}"]) == env, "the migration uses the service's settings"
    # the role's password reaches PostgreSQL's init script
    pg = _env(compose["services"]["postgres"])
    assert pg[f"{name.upper()}_DB_PASSWORD"].startswith(f"${{{name.upper()}_DB_PASSWORD:?")


def test_databases_and_roles_are_distinct(compose: dict[str, Any]) -> None:
    urls = [_env(compose["services"][p])[f"{p.upper()}_DATABASE_URL"] for p in PROCESSES]
    roles = {u.split("://")[1].split(":")[0] for u in urls}
    databases = {u.rsplit("/", 1)[1] for u in urls}
    assert len(roles) == len(databases) == len(PROCESSES)


@pytest.mark.parametrize("name", PROCESSES)
def test_each_process_is_in_production_mode_on_the_broker(compose: dict[str, Any], name: str) -> None:
    env = _env(compose["services"][name])
    assert env["CADRE_MODE"] == "production"
    assert env["CADRE_KAFKA_BOOTSTRAP"] == "kafka:9092"
    assert env["CADRE_BROKER_VOLATILE"] == "false"
    assert env["CADRE_KAFKA_IDEMPOTENCE"] == "true"
    assert env["CADRE_JWKS_URL"] == "http://gateway:8000/.well-known/jwks.json"


def test_gateway_wiring(compose: dict[str, Any]) -> None:
    gw = compose["services"]["gateway"]
    env = _env(gw)
    for s in SERVICES:
        assert env[f"GATEWAY_{s.upper()}_URL"] == f"http://{s}:8000"
    assert env["GATEWAY_REDIS_URL"].startswith("redis://:${REDIS_PASSWORD")
    assert env["GATEWAY_REDIS_URL"].endswith("@redis:6379/0")
    assert env["GATEWAY_CREATE_BOOTSTRAP_CLIENT"] == "false"
    assert env["GATEWAY_SIGNING_KEYS_DIR"] == "/run/secrets/signing-keys"
    assert any(v.endswith(":/run/secrets/signing-keys:ro") for v in gw["volumes"])
    assert gw["depends_on"]["redis"]["condition"] == "service_healthy"
    assert "ports" not in gw, "replicas cannot share a host port: the edge proxy publishes the gateway"
    edge = compose["services"]["edge"]
    assert edge["depends_on"]["gateway"]["condition"] == "service_healthy"
    conf = compose["configs"]["edge-nginx"]["content"]
    assert "resolver 127.0.0.11" in conf and "http://gateway:8000" in conf
    assert "location = /metrics { return 404; }" in conf
    # nginx's own variables are escaped from compose's interpolation
    assert not re.search(r"(?<!\$)\$[a-z_]", conf)


def test_postgres_runs_the_init_script(compose: dict[str, Any]) -> None:
    pg = compose["services"]["postgres"]
    assert any(
        v.startswith("./deploy/postgres/init.sh:/docker-entrypoint-initdb.d/") and v.endswith(":ro")
        for v in pg["volumes"]
    )
    assert pg["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    assert "tcp_keepalives_idle=60" in pg["command"]
    assert "ports" not in pg


def test_no_hard_coded_secret_in_compose(compose: dict[str, Any]) -> None:
    for name, svc in compose["services"].items():
        for key, value in _env(svc).items():
            if SECRET_NAME.search(key) and value is not None:
                assert REFERENCE.match(str(value)), f"{name}: {key} must be a ${{VAR}} reference, not a literal"
            for m in CREDENTIALS_IN_URL.finditer(str(value or "")):
                assert REFERENCE.match(m.group(1)), f"{name}: {key} has a literal password"
    for text in _walk_strings(compose):
        for m in CREDENTIALS_IN_URL.finditer(text):
            assert REFERENCE.match(m.group(1)), text
    redis_cmd = compose["services"]["redis"]["command"]
    assert REFERENCE.match(redis_cmd[redis_cmd.index("--requirepass") + 1])
    grafana = _env(compose["services"]["grafana"])
    assert REFERENCE.match(grafana["GF_SECURITY_ADMIN_PASSWORD"])


def test_internal_consoles_bind_to_loopback(compose: dict[str, Any]) -> None:
    for name in ("prometheus", "grafana"):
        assert all(p.startswith("127.0.0.1:") for p in compose["services"][name]["ports"]), name


# --- .env.example ---------------------------------------------------------------------------------


def _env_example() -> str:
    return (ROOT / ".env.example").read_text()


@pytest.mark.parametrize("name", PROCESSES)
def test_env_example_lists_every_setting(name: str) -> None:
    text = _env_example()
    missing = []
    for field in SETTINGS[name].model_fields:
        names = {f"CADRE_{field.upper()}", f"{name.upper()}_{field.upper()}"}
        if not any(re.search(rf"\b{n}\b", text) for n in names):
            missing.append(field)
    assert not missing, f"{name}: settings missing from .env.example: {missing}"


def test_env_example_has_every_required_compose_variable() -> None:
    compose_text = (ROOT / "docker-compose.yml").read_text()
    required = set(re.findall(r"\$\{([A-Z0-9_]+):\?", compose_text))
    assert required, "compose requires its secrets"
    assigned = dict(
        line.split("=", 1) for line in _env_example().splitlines() if line and not line.startswith("#") and "=" in line
    )
    assert required <= set(assigned), required - set(assigned)
    for var in required:
        if SECRET_NAME.search(var):
            assert "REPLACE_ME" in assigned[var], f"{var} must be a placeholder in .env.example"


def test_env_example_covers_every_variable_compose_reads() -> None:
    compose_text = (ROOT / "docker-compose.yml").read_text()
    referenced = set(re.findall(r"(?<!\$)\$\{([A-Z0-9_]+)", compose_text))
    text = _env_example()
    missing = {v for v in referenced if not re.search(rf"\b{v}\b", text)}
    assert not missing, missing


# --- the image ----------------------------------------------------------------------------------


def test_dockerfile_builds_from_the_lock_file_and_runs_as_non_root() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    froms = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", text, re.MULTILINE)
    assert len(froms) >= 2, "multi-stage"
    assert "uv sync --frozen --no-dev" in text
    assert "COPY pyproject.toml uv.lock" in text
    assert re.search(r"^COPY --from=build .*/app/\.venv /app/\.venv", text, re.MULTILINE)
    users = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)
    assert users and users[-1].split(":")[0].isdigit() and users[-1].split(":")[0] != "0"
    for line in re.findall(r"^(?:ENV|ARG)\s+.*$", text, re.MULTILINE):
        assert not SECRET_NAME.search(line), line
    for line in re.findall(r"^COPY\s+.*$", text, re.MULTILINE):
        assert not re.search(r"\.env\b|secrets|\.pem|\bvar\b", line), line
    assert re.search(r'^CMD \["uvicorn", "gateway\.app:create_app", "--factory"', text, re.MULTILINE)
    assert "ENTRYPOINT" not in re.sub(r"#.*", "", text), "the command alone picks the process"


# --- deploy/postgres/init.sh ----------------------------------------------------------------------


def test_init_script_makes_one_database_and_role_per_service() -> None:
    text = (DEPLOY / "postgres" / "init.sh").read_text()
    m = re.search(r"^SERVICES=\(([^)]*)\)", text, re.MULTILINE)
    assert m and set(m.group(1).split()) == set(PROCESSES)
    assert 'for svc in "${SERVICES[@]}"' in text
    assert "CREATE ROLE %I LOGIN" in text
    assert "CREATE DATABASE %I OWNER %I" in text
    assert 'ALTER DATABASE :"svc" OWNER TO :"svc"' in text
    assert 'REVOKE CONNECT, TEMPORARY ON DATABASE :"svc" FROM PUBLIC' in text
    assert 'GRANT CONNECT, TEMPORARY ON DATABASE :"svc" TO :"svc"' in text
    assert "REVOKE CONNECT ON DATABASE postgres FROM PUBLIC" in text
    # the password is passed as a psql variable (quoted by psql), from the env or a secret file
    assert "PASSWORD :'pw'" in text
    assert "_DB_PASSWORD" in text and "_FILE" in text
    assert not re.search(r"PASSWORD\s+'[^:]", text), "no literal password"
    assert text.startswith("#!/usr/bin/env bash") and "set -euo pipefail" in text
    assert os.access(DEPLOY / "postgres" / "init.sh", os.X_OK)


# --- observability --------------------------------------------------------------------------------


def test_prometheus_scrapes_every_replica_of_every_process() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    jobs = {j["job_name"]: j for j in config["scrape_configs"]}
    for name in PROCESSES:
        sd = jobs[name]["dns_sd_configs"]
        assert sd == [{"names": [name], "type": "A", "port": 8000, "refresh_interval": "15s"}]
        assert jobs[name].get("metrics_path", "/metrics") == "/metrics"


def test_grafana_dashboard_uses_the_metrics_the_code_exports() -> None:
    ds = yaml.safe_load((DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yaml").read_text())
    uid = ds["datasources"][0]["uid"]
    assert ds["datasources"][0]["url"] == "http://prometheus:9090"
    provider = yaml.safe_load((DEPLOY / "grafana" / "provisioning" / "dashboards" / "cadre.yaml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    dash = json.loads((DEPLOY / "grafana" / "dashboards" / "cadre.json").read_text())
    exprs = " ".join(t["expr"] for p in dash["panels"] for t in p.get("targets", []))
    assert all(p["datasource"]["uid"] == uid for p in dash["panels"] if "datasource" in p)
    code = (ROOT / "cadrekit" / "http.py").read_text() + (ROOT / "cadrekit" / "app.py").read_text()
    for metric in (
        "http_requests_total",
        "http_request_duration_seconds",
        "outbox_backlog",
        "outbox_published_total",
        "consumer_lag_messages",
        "consumer_dead_lettered_total",
        "consumer_last_fetch_age_seconds",
    ):
        assert f'"{metric}"' in code, f"{metric} is not exported any more"
        assert metric in exprs, f"the dashboard lacks {metric}"
    assert "by (job, route" in exprs, "request rate, errors and latency per route"
    assert 'consumer="gateway.webhooks"' in exprs


# --- Kubernetes -----------------------------------------------------------------------------------


def _k8s_docs() -> list[tuple[Path, dict[str, Any]]]:
    out = []
    for path in sorted(K8S.rglob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        out += [(path, d) for d in _load_all(path)]
    return out


def _kind(kind: str, base_only: bool = True) -> dict[str, dict[str, Any]]:
    root = K8S / "base" if base_only else K8S
    return {d["metadata"]["name"]: d for p, d in _k8s_docs() if d.get("kind") == kind and root in p.parents}


def test_every_kustomization_lists_every_file_beside_it() -> None:
    kustomizations = sorted(K8S.rglob("kustomization.yaml"))
    assert {k.parent.relative_to(K8S).as_posix() for k in kustomizations} == {"base", "overlays/production"}
    for kpath in kustomizations:
        k = yaml.safe_load(kpath.read_text())
        here = kpath.parent
        listed = {r for r in k.get("resources", []) if not r.startswith("..")}
        listed |= {p["path"] for p in k.get("patches", []) if "path" in p}
        for gen in k.get("configMapGenerator", []) + k.get("secretGenerator", []):
            listed |= set(gen.get("envs", [])) | set(gen.get("files", []))
        for rel in listed:
            assert (here / rel).is_file(), f"{kpath}: {rel} does not exist"
        on_disk = {
            p.relative_to(here).as_posix()
            for p in here.rglob("*")
            if p.is_file() and p.name != "kustomization.yaml" and not _inside_other(p, here, kustomizations)
        }
        assert on_disk == listed, f"{kpath}: not listed {on_disk - listed}, listed but absent {listed - on_disk}"
        assert not k.get("secretGenerator"), "secrets are made apart, never from files in the repository"


def _inside_other(path: Path, here: Path, kustomizations: list[Path]) -> bool:
    return any(k.parent != here and k.parent in path.parents and here in k.parent.parents for k in kustomizations)


@pytest.mark.parametrize("name", PROCESSES)
def test_each_deployment_is_probed_limited_and_non_root(name: str) -> None:
    dep = _kind("Deployment")[name]
    pod = dep["spec"]["template"]["spec"]
    assert dep["spec"]["replicas"] == 2
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    (container,) = pod["containers"]
    assert container["command"][:3] == ["uvicorn", APPS[name], "--factory"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    for c in pod["containers"] + pod["initContainers"]:
        res = c["resources"]
        for part in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(res[part]), f"{name}/{c['name']}: {part}"
        sc = c["securityContext"]
        assert sc["allowPrivilegeEscalation"] is False and sc["readOnlyRootFilesystem"] is True
        assert sc["runAsNonRoot"] is True
        assert c["image"] == "cadre-platform:latest"
    assert dep["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert pod["terminationGracePeriodSeconds"] >= 30


@pytest.mark.parametrize("name", PROCESSES)
def test_each_deployment_has_its_migration_job_and_waits_for_it(name: str) -> None:
    job = _kind("Job")[f"{name}-migrate"]
    tpl = job["spec"]["template"]["spec"]
    (container,) = tpl["containers"]
    assert container["command"] == ["python", "-m", "deploy.migrate", name]
    assert tpl["restartPolicy"] == "Never" and job["spec"]["parallelism"] == 1
    assert tpl["securityContext"]["runAsNonRoot"] is True
    assert {"cpu", "memory"} <= set(container["resources"]["limits"])
    dep = _kind("Deployment")[name]
    init = {c["name"]: c for c in dep["spec"]["template"]["spec"]["initContainers"]}
    wait = init["wait-for-migrations"]
    assert wait["command"][0:2] == ["python", "-c"] and wait["command"][3] == name
    assert "head_revision(MIGRATIONS[name])" in wait["command"][2]
    # the Job and the gate read the same database URL as the service
    url_env = f"{name.upper()}_DATABASE_URL"
    (svc_url,) = [e for e in dep["spec"]["template"]["spec"]["containers"][0]["env"] if e["name"] == url_env]
    assert [e for e in container["env"] if e["name"] == url_env] == [svc_url]
    assert [e for e in wait["env"] if e["name"] == url_env] == [svc_url]
    assert svc_url["valueFrom"]["secretKeyRef"] == {"name": f"cadre-{name}-db", "key": "database-url"}


@pytest.mark.parametrize("name", PROCESSES)
def test_each_deployment_has_service_hpa_and_pdb(name: str) -> None:
    labels = {"app.kubernetes.io/name": name}
    svc = _kind("Service")[name]
    assert svc["spec"]["selector"] == labels and svc["spec"]["ports"][0]["port"] == 8000
    hpa = _kind("HorizontalPodAutoscaler")[name]
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
    assert 2 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    if name in SERVICES:
        assert hpa["spec"]["maxReplicas"] <= 6, "more consumers than partitions would idle"
    pdb = _kind("PodDisruptionBudget")[name]
    assert pdb["spec"]["selector"]["matchLabels"] == labels


def test_config_and_secrets_in_kubernetes() -> None:
    config = dict(
        line.split("=", 1)
        for line in (K8S / "base" / "config.env").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert config["CADRE_MODE"] == "production"
    assert config["CADRE_KAFKA_BOOTSTRAP"] and config["CADRE_BROKER_VOLATILE"] == "false"
    assert config["CADRE_JWKS_URL"] == "http://gateway:8000/.well-known/jwks.json"
    for s in SERVICES:
        assert config[f"GATEWAY_{s.upper()}_URL"] == f"http://{s}:8000"
    for key in config:
        assert not SECRET_NAME.search(key), f"{key} belongs in a Secret"
    for path, doc in _k8s_docs():
        assert doc.get("kind") != "Secret", f"{path}: no Secret is kept in the repository"
        for text in _walk_strings(doc):
            assert not CREDENTIALS_IN_URL.search(text), f"{path}: credentials in a URL"
        for c in _containers(doc):
            for e in c.get("env", []):
                if SECRET_NAME.search(e["name"]) or e["name"].endswith("_DATABASE_URL") or "REDIS_URL" in e["name"]:
                    assert "value" not in e and "secretKeyRef" in e["valueFrom"], f"{path}: {e['name']}"
            if c.get("command", [""])[0] in ("python", "uvicorn"):
                assert {"configMapRef": {"name": "cadre-config"}} in c["envFrom"], f"{path}: {c['name']}"
    gateway = _kind("Deployment")["gateway"]["spec"]["template"]["spec"]
    secret_volumes = {v["name"]: v["secret"]["secretName"] for v in gateway["volumes"] if "secret" in v}
    assert secret_volumes == {"signing-keys-secret": "cadre-gateway-signing-keys"}
    assert "order-signing-keys" in {c["name"] for c in gateway["initContainers"]}


def _containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    spec = doc.get("spec", {})
    pod = spec.get("template", {}).get("spec", {})
    return list(pod.get("containers", [])) + list(pod.get("initContainers", []))


def test_production_overlay() -> None:
    k = yaml.safe_load((K8S / "overlays" / "production" / "kustomization.yaml").read_text())
    assert "../../base" in k["resources"]
    assert k["namespace"] == "cadre"
    assert k["images"][0]["name"] == "cadre-platform" and k["images"][0]["newTag"]
    assert k["configMapGenerator"][0] == {"name": "cadre-config", "behavior": "merge", "envs": ["config.env"]}


KUBECTL = shutil.which("kubectl")


@pytest.mark.skipif(KUBECTL is None, reason="kubectl (kustomize) not installed")
@pytest.mark.parametrize("target", ["base", "overlays/production"])
def test_kustomize_builds(target: str) -> None:
    assert KUBECTL is not None
    out = subprocess.run([KUBECTL, "kustomize", str(K8S / target)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    docs = [d for d in yaml.safe_load_all(out.stdout) if d]
    kinds = [d["kind"] for d in docs]
    for kind in ("Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"):
        assert kinds.count(kind) == len(PROCESSES), kind
    assert kinds.count("Job") == len(PROCESSES) + 1, "a migration Job per process, and kafka-setup"
    (cm,) = [d for d in docs if d["kind"] == "ConfigMap"]
    for d in docs:
        for c in _containers(d):
            if c.get("command", [""])[0] in ("python", "uvicorn", "cadre"):
                assert {"configMapRef": {"name": cm["metadata"]["name"]}} in c["envFrom"]
    if target != "base":
        assert all(d["metadata"].get("namespace") == "cadre" for d in docs if d["kind"] != "Namespace")
        assert all("replicas" not in d["spec"] for d in docs if d["kind"] == "Deployment"), "the HPAs own replicas"
        assert cm["data"]["CADRE_TOPIC_REPLICATION"] == "3"


def test_wait_for_migrations_gate_runs(tmp_path: Path) -> None:
    """The init container's script, run here against SQLite: it passes once the schema is at
    head and gives up (non-zero) when it is not."""
    from cadrekit.migrate import upgrade

    wait = _kind("Deployment")["gateway"]["spec"]["template"]["spec"]["initContainers"][0]
    assert wait["name"] == "wait-for-migrations"
    script = wait["command"][2]
    url = f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
    env = {**os.environ, "GATEWAY_DATABASE_URL": url, "MIGRATION_WAIT_SECONDS": "0", "PYTHONPATH": str(ROOT)}
    before = subprocess.run(
        [sys.executable, "-c", script, "gateway"], env=env, capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert before.returncode != 0 and "did the migration Job run?" in before.stderr
    upgrade(MIGRATIONS["gateway"], url)
    after = subprocess.run(
        [sys.executable, "-c", script, "gateway"], env=env, capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert after.returncode == 0, after.stderr
    assert "schema at" in after.stdout


@pytest.mark.parametrize("name", PROCESSES)
def test_compose_environment_is_valid_for_the_settings(
    compose: dict[str, Any], name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each process's compose environment (interpolated with sample values) loads its settings."""
    import base64

    samples = {
        "ROSTER_ID_SEAL_KEYS": "k1:" + base64.b64encode(b"s" * 32).decode(),
        "ROSTER_ID_INDEX_KEY": base64.b64encode(b"i" * 32).decode(),
    }

    def interpolate(value: str) -> str:
        def one(m: re.Match[str]) -> str:
            var, op, default = m.group(1), m.group(2) or "", m.group(3) or ""
            if var in samples:
                return samples[var]
            return default if op.endswith("-") else "sample"

        return re.sub(r"(?<!\$)\$\{([A-Z0-9_]+)(:?[-?])?([^}]*)\}", one, value)

    for key in list(os.environ):
        if key.startswith(("CADRE_", f"{name.upper()}_")):
            monkeypatch.delenv(key)
    for key, value in _env(compose["services"][name]).items():
        if value is not None:
            monkeypatch.setenv(key, interpolate(str(value)))
    settings = SETTINGS[name]()
    assert settings.mode == "production"
    assert settings.database_url == f"postgresql+asyncpg://{name}:sample@postgres:5432/{name}"
    assert settings.kafka_bootstrap == "kafka:9092" and settings.topic_partitions == 6
    assert settings.broker_volatile is False and settings.kafka_idempotence is True


@pytest.mark.parametrize("name", PROCESSES)
def test_each_deployment_logs_in_to_kafka_as_itself(name: str) -> None:
    (container,) = _kind("Deployment")[name]["spec"]["template"]["spec"]["containers"]
    passwords = [e for e in container["env"] if e["name"].endswith("_KAFKA_PASSWORD")]
    assert passwords == [
        {
            "name": f"{name.upper()}_KAFKA_PASSWORD",
            "valueFrom": {"secretKeyRef": {"name": f"cadre-{name}-kafka", "key": "password"}},
        }
    ]


def test_kubernetes_kafka_setup_job_makes_every_principal() -> None:
    from deploy.kafka_access import PRINCIPALS

    job = _kind("Job")["kafka-setup"]
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["cadre", "kafka-setup"]
    env = {e["name"]: e for e in container["env"]}
    for p in PRINCIPALS:
        ref = env[f"{p.name.upper()}_KAFKA_PASSWORD"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": f"cadre-{p.name}-kafka", "key": "password"}
    assert env["CADRE_KAFKA_ADMIN_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "cadre-kafka-admin"
    assert (env["KAFKA_REPLICATION"]["value"], env["KAFKA_MIN_INSYNC_REPLICAS"]["value"]) == ("3", "2")
    config = (K8S / "base" / "config.env").read_text()
    assert "CADRE_KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT" in config and "CADRE_KAFKA_CREATE_TOPICS=false" in config
