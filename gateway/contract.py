"""One contract for the portal: the services' OpenAPI documents merged into one, and an
AsyncAPI document of every topic and event.

Merging is a pure function over the documents; only ``collect`` talks to the services.
Schema names are kept when every service means the same thing by them, and prefixed with
the service's name when two services disagree, with every ``$ref`` rewritten to match.
"""

from __future__ import annotations

import asyncio
import copy
import json
from dataclasses import dataclass
from typing import Any

import httpx

from contracts import catalogue
from contracts.envelope import example

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details; `errors` names the fields at fault.",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "request_id": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}
ERROR_RESPONSES = {
    "400": "Bad request",
    "401": "No valid token",
    "403": "The token's role or unit scope does not allow this",
    "404": "Not found (or outside the caller's units)",
    "409": "Conflict with the current state",
    "422": "Invalid input; `errors` names the fields",
    "429": "Rate limit reached; see Retry-After",
    "503": "A service or its database is unavailable",
    "504": "A service did not answer in time",
}
PUBLIC_PATHS = {"/api/v1/auth/token", "/.well-known/jwks.json", "/api/v1/openapi.json", "/api/v1/asyncapi.json"}


def _walk_refs(node: Any, rename: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str) and v.startswith("#/components/schemas/"):
                name = v.rsplit("/", 1)[1]
                out[k] = "#/components/schemas/" + rename.get(name, name)
            else:
                out[k] = _walk_refs(v, rename)
        return out
    if isinstance(node, list):
        return [_walk_refs(v, rename) for v in node]
    return node


def merge_openapi(gateway: dict[str, Any], services: dict[str, dict[str, Any]], missing: list[str]) -> dict[str, Any]:
    """The portal's one document: the gateway's own public paths and every service's
    ``/api/v1/`` paths, with shared schemas, the bearer scheme and problem responses."""
    merged: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "Cadre Placement Platform API",
            "version": gateway.get("info", {}).get("version", "1.0.0"),
            "description": "The portal's one API: the gateway and the roster, matching, scoring and secondment services.",
        },
        "servers": [{"url": "/"}],
        "paths": {},
        "components": {
            "schemas": {"Problem": PROBLEM_SCHEMA},
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT (EdDSA), from POST /api/v1/auth/token",
                }
            },
        },
        "security": [{"bearerAuth": []}],
        "tags": [],
    }
    if missing:
        merged["x-degraded"] = sorted(missing)
    schemas = merged["components"]["schemas"]
    docs = {"gateway": gateway, **services}
    # A name two documents define differently is prefixed in every document that has it.
    seen: dict[str, Any] = {}
    clash: set[str] = set()
    for doc in docs.values():
        for name, schema in doc.get("components", {}).get("schemas", {}).items():
            if name in seen and seen[name] != schema:
                clash.add(name)
            seen.setdefault(name, schema)
    for source, doc in docs.items():
        rename = {n: f"{source}.{n}" for n in doc.get("components", {}).get("schemas", {}) if n in clash}
        for name, schema in doc.get("components", {}).get("schemas", {}).items():
            schemas[rename.get(name, name)] = _walk_refs(copy.deepcopy(schema), rename)
        for path, item in doc.get("paths", {}).items():
            if not (path.startswith("/api/v1/") or path in PUBLIC_PATHS) or path.startswith("/api/v1/gateway/"):
                continue  # a service's own /health, /metrics and the like stay internal
            item = _walk_refs(copy.deepcopy(item), rename)
            for method, op in item.items():
                if not isinstance(op, dict) or method.startswith("x-"):
                    continue
                op["operationId"] = f"{source}_{op.get('operationId', method + path)}"
                op.setdefault("tags", [source])
                if path in PUBLIC_PATHS:
                    op["security"] = []
                responses = op.setdefault("responses", {})
                if "HTTPValidationError" in json.dumps(responses.get("422", {})):
                    # FastAPI's default 422 (application/json) is not what the services send:
                    # their handlers answer every validation error as problem+json.
                    del responses["422"]
                for code, text in ERROR_RESPONSES.items():
                    responses.setdefault(
                        code,
                        {
                            "description": text,
                            "content": {
                                "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                            },
                        },
                    )
            merged["paths"][path] = item
    tags = sorted(
        {
            t
            for item in merged["paths"].values()
            for op in item.values()
            if isinstance(op, dict)
            for t in op.get("tags", [])
        }
    )
    merged["tags"] = [{"name": t} for t in tags]
    return merged


KAFKA_BINDING = "0.5.0"


@dataclass(frozen=True)
class Brokers:
    """Where subscribers connect and how, as the AsyncAPI document states it."""

    hosts: tuple[str, ...]
    environment: str = "embedded"  # the settings' mode: embedded, production, test
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str = "SCRAM-SHA-512"
    partitions: int = 3

    @classmethod
    def of(cls, settings: Any) -> Brokers:
        hosts = settings.asyncapi_servers or [h.strip() for h in settings.kafka_bootstrap.split(",") if h.strip()]
        return cls(
            tuple(hosts),
            settings.mode,
            settings.kafka_security_protocol,
            settings.kafka_sasl_mechanism,
            settings.topic_partitions,
        )

    def servers(self) -> dict[str, Any]:
        sasl = self.security_protocol.startswith("SASL")
        out: dict[str, Any] = {}
        for i, host in enumerate(self.hosts, start=1):
            server: dict[str, Any] = {
                "host": host,
                "protocol": "kafka-secure" if self.security_protocol == "SASL_SSL" else "kafka",
                "description": f"{self.environment} broker {i} of {len(self.hosts)} ({self.security_protocol})",
                "bindings": {"kafka": {"bindingVersion": KAFKA_BINDING}},
            }
            if sasl:
                server["security"] = [{"$ref": "#/components/securitySchemes/kafkaScram"}]
            out[f"{self.environment}-{i}"] = server
        return out

    def security_schemes(self) -> dict[str, Any]:
        if not self.security_protocol.startswith("SASL"):
            return {}
        kind = "scramSha512" if self.sasl_mechanism == "SCRAM-SHA-512" else "scramSha256"
        return {
            "kafkaScram": {
                "type": kind,
                "description": "one SCRAM user per subscriber, read-only on the topics it is granted "
                "(ops: `cadre kafka-access`, deploy/kafka_access.py)",
            }
        }


def build_asyncapi(catalogs: dict[str, dict[str, Any]], brokers: Brokers, missing: list[str]) -> dict[str, Any]:
    """AsyncAPI 3.0: one channel per topic, one message per event type, each a CloudEvent
    whose ``data`` follows the service's documented schema, keyed as its model says."""
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}

    def _newest(schema: dict[str, Any]) -> str:
        order = schema.get("x-order")
        if order is None:
            return "Each event is a record made once."
        of = ", ".join(f"`data.{f}`" for f in order["of"])
        return (
            f"A replay or a dead letter sent back may bring an older state: keep the one with the highest "
            f"`data.{order['by']}` per {of}."
        )

    def _version(schema: dict[str, Any]) -> str:
        version = schema.get("x-dataversion", "1")
        if "x-sunset" not in schema:
            return f"Data version {version}"
        return (
            f"Deprecated: data version {version}, published beside version {schema['x-beside']} until "
            f"{schema['x-sunset']}. Each version-{schema['x-beside']} event is followed on its key by this "
            f"version's companion, whose `supersededby` names it: read one of the two, never both"
        )

    def _messages(cat: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
        """(component name, event type, catalogue entry): the newest version of each type,
        then every older one still published beside it."""
        out = [(t.replace(".", "_"), t, s) for t, s in sorted(cat.get("events", {}).items())]
        for event_type, versions in sorted(cat.get("deprecated", {}).items()):
            for version, schema in sorted(versions.items()):
                out.append((f"{event_type.replace('.', '_')}_v{version}", event_type, schema))
        return out

    for service, cat in sorted(catalogs.items()):
        topic = cat["topic"]
        channel_messages = {}
        for name, event_type, schema in _messages(cat):
            key_name = schema.get("x-key-name", cat.get("key", "cadre id"))
            key_field = schema.get("x-key", "cadre_id")
            messages[name] = {
                "name": event_type,
                "title": event_type
                if "x-sunset" not in schema
                else f"{event_type} (version {schema['x-dataversion']})",
                "summary": schema.get("summary", ""),
                "description": (
                    f"Kafka key: the {key_name} (`data.{key_field}`). One {key_name}'s events arrive "
                    f"in the order they happened; there is no order across keys. {_newest(schema)} "
                    f"{_version(schema)}; at least once: de-duplicate on `id`."
                ),
                "contentType": "application/cloudevents+json",
                "headers": {
                    "type": "object",
                    "properties": {"ce_id": {"type": "string"}, "ce_type": {"const": event_type}},
                },
                "payload": catalogue.message_schema(event_type, schema),
                "bindings": {
                    "kafka": {
                        "key": {"type": "string", "description": f"the {key_name}: order holds per {key_name}"},
                        "bindingVersion": KAFKA_BINDING,
                    }
                },
            }
            if schema.get("examples"):
                subject = schema.get("x-subject", "")
                messages[name]["examples"] = [
                    {"name": "example", "payload": example(service, event_type, subject, schema["x-dataversion"], e)}
                    for e in schema["examples"]
                ]
            channel_messages[name] = {"$ref": f"#/components/messages/{name}"}
        channels[topic] = {
            "address": topic,
            "description": f"Everything {service} publishes, keyed by {cat.get('key', 'cadre id')}: order holds per key.",
            "messages": channel_messages,
            "bindings": {"kafka": {"topic": topic, "partitions": brokers.partitions, "bindingVersion": KAFKA_BINDING}},
        }
        operations[f"receive_{service}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{topic}"},
            "summary": f"Subscribe to {topic}",
        }
    doc: dict[str, Any] = {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Cadre Placement Platform events",
            "version": "1.0.0",
            "description": "CloudEvents 1.0 in JSON structured mode on Kafka; delivery at least once.",
        },
        "servers": brokers.servers(),
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, **({"securitySchemes": s} if (s := brokers.security_schemes()) else {})},
    }
    if missing:
        doc["x-degraded"] = sorted(missing)
    return doc


async def collect(
    http: httpx.AsyncClient, upstreams: dict[str, str], path: str, timeout: float = 5.0
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Each service's document at ``path``, and the names of those that did not answer."""

    async def one(name: str, base: str) -> tuple[str, dict[str, Any] | None]:
        try:
            resp = await http.get(base.rstrip("/") + path, timeout=timeout)
            resp.raise_for_status()
            return name, json.loads(resp.content)
        except (httpx.HTTPError, ValueError):
            return name, None

    results = await asyncio.gather(*(one(n, u) for n, u in upstreams.items()))
    docs = {n: d for n, d in results if d is not None}
    return docs, sorted(n for n, d in results if d is None)
