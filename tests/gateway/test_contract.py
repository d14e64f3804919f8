"""Merging the services' OpenAPI documents and building the AsyncAPI document (pure)."""

from __future__ import annotations

from typing import Any

from openapi_spec_validator import validate

from gateway.contract import Brokers, build_asyncapi, merge_openapi


def _doc(path: str, schema_name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "x", "version": "1"},
        "paths": {
            path: {
                "post": {
                    "operationId": "create",
                    "requestBody": {
                        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_name}"}}}
                    },
                    "responses": {"201": {"description": "created"}},
                }
            },
            "/health": {"get": {"operationId": "health", "responses": {"200": {"description": "ok"}}}},
        },
        "components": {"schemas": {schema_name: schema, "Shared": {"type": "string"}}},
    }


def test_clashing_schema_names_are_prefixed_and_refs_follow() -> None:
    roster = _doc("/api/v1/roster/things", "Body", {"type": "object", "properties": {"a": {"type": "string"}}})
    scoring = _doc("/api/v1/scoring/things", "Body", {"type": "object", "properties": {"b": {"type": "integer"}}})
    gateway = {"openapi": "3.1.0", "info": {"title": "g", "version": "1"}, "paths": {}, "components": {}}
    merged = merge_openapi(gateway, {"roster": roster, "scoring": scoring}, missing=["matching"])
    validate(merged)
    schemas = merged["components"]["schemas"]
    assert {"roster.Body", "scoring.Body", "Shared", "Problem"} <= set(schemas)
    assert "Body" not in schemas
    ref = merged["paths"]["/api/v1/scoring/things"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert ref == {"$ref": "#/components/schemas/scoring.Body"}
    assert "/health" not in merged["paths"]
    op = merged["paths"]["/api/v1/roster/things"]["post"]
    assert op["operationId"] == "roster_create"
    assert "application/problem+json" in op["responses"]["422"]["content"]
    assert merged["x-degraded"] == ["matching"]
    assert merged["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_asyncapi_has_a_channel_per_topic_and_a_message_per_event() -> None:
    catalogs = {
        "scoring": {
            "topic": "scoring.events",
            "key": "cadre id",
            "events": {"scoring.score.changed": {"summary": "s", "type": "object", "properties": {"total": {}}}},
        }
    }
    doc = build_asyncapi(catalogs, Brokers(("127.0.0.1:9092",)), missing=[])
    assert doc["asyncapi"] == "3.0.0"
    message = doc["components"]["messages"]["scoring_score_changed"]
    assert message["payload"]["properties"]["type"] == {"const": "scoring.score.changed"}
    assert message["payload"]["properties"]["data"]["properties"] == {"total": {}}
    assert doc["channels"]["scoring.events"]["messages"] == {
        "scoring_score_changed": {"$ref": "#/components/messages/scoring_score_changed"}
    }
