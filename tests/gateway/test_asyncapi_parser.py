"""The AsyncAPI document as an outside team reads it: valid for the official parser
(npm ``@asyncapi/parser``, from tools/asyncapi's committed lockfile, installed by
``make test-deps``), its servers from the settings, every message keyed as its model says."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from contracts import catalogue, secondment, topics
from contracts.base import BESIDE, current, model_of
from gateway.contract import Brokers, build_asyncapi
from gateway.settings import GatewaySettings

TOOL = Path(__file__).parents[2] / "tools" / "asyncapi"


def parse(doc: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    node = shutil.which("node")
    assert node, "Node.js is part of this machine kind"
    assert (TOOL / "node_modules" / "@asyncapi" / "parser").is_dir(), "run `make test-deps` (npm ci in tools/asyncapi)"
    path = tmp_path / "asyncapi.json"
    path.write_text(json.dumps(doc))
    done = subprocess.run([node, str(TOOL / "validate.mjs"), str(path)], capture_output=True, text=True, timeout=120)
    assert done.stdout, done.stderr
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def document(brokers: Brokers) -> dict[str, Any]:
    catalogs = {service: catalogue.catalog(service) for service in topics.OF_SERVICE}
    return build_asyncapi(catalogs, brokers, missing=[])


def production() -> GatewaySettings:
    return GatewaySettings(
        mode="test",
        kafka_bootstrap="kafka:9092",
        asyncapi_servers="kafka-1.cadre.example.gov:9093, kafka-2.cadre.example.gov:9093",  # type: ignore[arg-type]
        kafka_security_protocol="SASL_SSL",
        kafka_password="not-used-here",  # type: ignore[arg-type]
        topic_partitions=6,
    )


@pytest.mark.parametrize("where", ["embedded", "production"])
def test_the_official_parser_accepts_the_document_with_no_error_or_warning(where: str, tmp_path: Path) -> None:
    brokers = Brokers(("127.0.0.1:9092",)) if where == "embedded" else Brokers.of(production())
    found = parse(document(brokers), tmp_path)
    assert found["errors"] == [] and found["warnings"] == []
    every = {t for service in topics.OF_SERVICE for t in catalogue.catalog(service)["events"]}
    assert set(found["messages"]) == every and len(every) >= 31


def test_servers_come_from_the_settings_not_the_loopback_broker() -> None:
    doc = document(Brokers.of(production()))
    assert {s["host"] for s in doc["servers"].values()} == {
        "kafka-1.cadre.example.gov:9093",
        "kafka-2.cadre.example.gov:9093",
    }
    assert all(s["protocol"] == "kafka-secure" for s in doc["servers"].values())
    assert doc["components"]["securitySchemes"]["kafkaScram"]["type"] == "scramSha512"
    assert all(c["bindings"]["kafka"]["partitions"] == 6 for c in doc["channels"].values())
    # without GATEWAY_ASYNCAPI_SERVERS: the gateway's own bootstrap, plain
    plain = document(Brokers.of(GatewaySettings(mode="test", kafka_bootstrap="a:9092,b:9092")))
    assert [s["host"] for s in plain["servers"].values()] == ["a:9092", "b:9092"]
    assert "securitySchemes" not in plain["components"]


def test_every_message_names_the_key_its_model_keys_by() -> None:
    doc = document(Brokers(("127.0.0.1:9092",)))
    for component, message in doc["components"]["messages"].items():
        older = re.search(r"_v(\d+)$", component)
        model = model_of(message["name"], older.group(1)) if older else current(message["name"])
        assert f"`data.{model.KEY}`" in message["description"]
        assert message["bindings"]["kafka"]["key"]["description"].startswith(f"the {model.key_name()}")
        assert message["payload"]["properties"]["dataversion"] == {"const": model.DATAVERSION}
        assert message["examples"][0]["payload"]["data"][model.KEY]
    keyed_by = {m["name"]: m["bindings"]["kafka"]["key"]["description"] for m in doc["components"]["messages"].values()}
    assert keyed_by["roster.unit.created"].startswith("the unit id")
    assert keyed_by["matching.campaign.opened"].startswith("the campaign id")
    assert keyed_by["gateway.webhook.disabled"].startswith("the subscription id")


def test_an_older_version_published_beside_the_newest_is_its_own_deprecated_message() -> None:
    doc = document(Brokers(("127.0.0.1:9092",)))
    messages = doc["components"]["messages"]
    beside = {c for c in messages if re.search(r"_v\d+$", c)}
    assert beside == {f"{m.TYPE.replace('.', '_')}_v{m.DATAVERSION}" for ms in BESIDE.values() for m in ms}
    started, v1 = messages["secondment_started"], messages["secondment_started_v1"]
    assert (
        started["payload"]["properties"]["dataversion"] == {"const": "2"} and "Deprecated" not in started["description"]
    )
    assert (
        v1["payload"]["properties"]["dataversion"] == {"const": "1"}
        and v1["payload"]["properties"]["data"]["deprecated"]
    )
    assert (
        f"until {secondment.VERSION_1_SUNSET.isoformat()}" in v1["description"]
        and "`supersededby`" in v1["description"]
    )
    assert "secondment_started_v1" in doc["channels"][topics.SECONDMENT]["messages"]
