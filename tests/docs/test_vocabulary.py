"""Every enumerated field of every app's public API has its Chinese words (issue 17, item 9).

The fields are read off the OpenAPI documents (cadrekit.vocabulary.enumerated), so a new
``Literal`` or query pattern without labels fails here naming the schema, the field and the
value; a label for a value no field has is stale; docs/vocabulary.md is what
``python -m deploy.vocabulary`` writes. The apps are built, never started.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cadrekit.vocabulary import Field, Resolution, Term, enumerated, resolve
from deploy.vocabulary import DOC, VOCABULARIES, render, resolutions


@pytest.fixture(scope="module")
def found() -> Iterator[dict[str, Resolution]]:
    yield resolutions()


def test_every_value_of_every_enumerated_field_has_a_chinese_label(found: dict[str, Resolution]) -> None:
    missing = [m for r in found.values() for m in r.missing]
    assert not missing, "\n".join(missing)
    assert sum(len(fs) for r in found.values() for fs in r.bound.values()) > 60  # the walk found the API


def test_no_label_is_declared_for_a_value_the_api_does_not_have(found: dict[str, Resolution]) -> None:
    stale = [m for r in found.values() for m in r.stale]
    assert not stale, "\n".join(stale)


def test_a_value_two_services_share_reads_the_same_in_both() -> None:
    seen: dict[tuple[str, str], tuple[str, str]] = {}
    differ: list[str] = []
    for service, terms in VOCABULARIES.items():
        for term in terms:
            for value, label in term.labels.items():
                first = seen.setdefault((term.name, value), (service, label))
                if first[1] != label:
                    differ.append(f"{term.name}={value}: {first[0]} {first[1]!r}, {service} {label!r}")
    assert not differ, differ


def test_docs_vocabulary_is_what_the_generator_writes(found: dict[str, Resolution]) -> None:
    doc = DOC.read_text()
    assert render(doc, found) == doc, "docs/vocabulary.md is out of date: run `python -m deploy.vocabulary`"


# The walk itself, on a made-up document: nothing enumerated is missed however it is written.
OPENAPI = {
    "components": {
        "schemas": {
            "Colour": {"type": "string", "enum": ["red", "green"]},
            "Thing": {
                "properties": {
                    "plain": {"type": "string", "enum": ["a", "b"]},
                    "nullable": {"anyOf": [{"enum": ["c"]}, {"type": "null"}]},
                    "listed": {"type": "array", "items": {"enum": ["d", "e"]}},
                    "by_ref": {"$ref": "#/components/schemas/Colour"},
                    "one": {"const": "f"},
                    "free": {"type": "string"},
                    "object": {"$ref": "#/components/schemas/Other"},
                }
            },
            "Other": {"properties": {"name": {"type": "string"}}},
        }
    },
    "paths": {
        "/things": {
            "get": {
                "parameters": [
                    {
                        "name": "state",
                        "in": "query",
                        "schema": {"anyOf": [{"pattern": "^(on|off)$"}, {"type": "null"}]},
                    },
                    {"name": "q", "in": "query", "schema": {"pattern": "^[a-z]+$"}},
                ]
            }
        }
    },
}


def test_the_walk_finds_enums_in_anyof_arrays_refs_consts_and_query_patterns() -> None:
    assert {(f.shown, f.values) for f in enumerated(OPENAPI)} == {
        ("Thing.plain", ("a", "b")),
        ("Thing.nullable", ("c",)),
        ("Thing.listed", ("d", "e")),
        ("Thing.by_ref", ("red", "green")),
        ("Thing.one", ("f",)),
        ("GET /things ?state", ("on", "off")),
    }


def test_a_new_value_or_field_without_words_is_named_and_an_old_label_is_stale() -> None:
    terms = [
        Term("colour", "颜色", {"red": "红", "blue": "蓝"}, ("by_ref",)),
        Term("exit", "方式", {"a": "甲", "b": "乙"}, ("Thing.plain",)),
        Term("switch", "开关", {"on": "开", "off": "关", "dim": "暗"}, ("state", "GET /gone.state")),
    ]
    fields = [*enumerated(OPENAPI), Field("Else", "plain", ("z",))]
    r = resolve("svc", terms, fields)
    assert "svc Thing.by_ref: 'green' has no Chinese label (term 'colour')" in r.missing
    assert any(m.startswith("svc Else.plain ['z']: no term") for m in r.missing)
    assert r.bound["exit"] == [Field("Thing", "plain", ("a", "b"))]  # the qualified binding
    assert r.bound["switch"] == [Field("GET /things", "state", ("on", "off"), "query")]
    assert r.stale == [
        "svc term 'colour': no field of the API carries it",
        "svc term 'switch': 'dim' is labelled but no field of the API has it",
        "svc term 'switch': binds 'GET /gone.state', which is not its field",
    ]
