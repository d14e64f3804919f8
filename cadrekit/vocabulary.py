"""The Chinese words of every enumerated field of the public API (issue 17, item 9).

Each service declares its vocabulary once, beside its domain rules
(``services/<name>/domain/vocabulary.py``; the gateway's in ``gateway/vocabulary.py``): a
``Term`` per closed set of values, each value with its Chinese label and, where the label
needs it, an English meaning. Which fields are enumerated is not listed by hand: ``enumerated``
reads them off the app's OpenAPI document (every schema property and every parameter with an
``enum``, a ``const`` or a ``^(a|b|c)$`` pattern, also inside arrays, ``anyOf`` and ``$ref``),
so a new ``Literal`` without its words fails ``tests/docs/test_vocabulary.py``, naming the
field and the value, and docs/vocabulary.md (``python -m deploy.vocabulary``) is written from
the same two sources.

A field finds its term by name: a term lists the field and parameter names that carry it
(``"health"``), or ``"Schema.field"`` (``"GET /api/v1/…/path.param"`` for a parameter) where
a name carries another set of values elsewhere; the qualified binding wins. Where several
terms bind a name, the one whose labels cover the field's values is meant (``kind`` of a unit
and ``kind`` of an exit).

Pure: no framework, no I/O; service domains import ``Term``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

METHODS = ("get", "put", "post", "delete", "patch")
# A query parameter constrained to a list of words, as FastAPI writes ``Query(pattern=...)``.
_ALTERNATIVES = re.compile(r"\^\(([\w-]+(?:\|[\w-]+)*)\)\$")
_CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class Term:
    """One closed set of values: its name, its Chinese name, each value's label."""

    name: str  # as the docs call it: "health"
    zh: str  # its Chinese name: "健康状况"
    labels: Mapping[str, str]  # value → Chinese label
    fields: tuple[str, ...]  # the names carrying it: "health", "CadreExit.kind", "GET /api/v1/x.status"
    meanings: Mapping[str, str] = field(default_factory=dict)  # value → English, where useful


@dataclass(frozen=True, order=True)
class Field:
    """An enumerated field of an OpenAPI document: a schema's property or a parameter."""

    where: str  # the schema's name, or "GET /api/v1/roster/cadres" for a parameter
    name: str
    values: tuple[str, ...]
    parameter: str | None = None  # "query", "path", "header" for a parameter

    @property
    def qualified(self) -> str:
        return f"{self.where}.{self.name}"

    @property
    def shown(self) -> str:
        return f"{self.where} ?{self.name}" if self.parameter == "query" else self.qualified


def _values(schema: Any, components: Mapping[str, Any]) -> list[str]:
    """The enumerated values a schema allows (empty when it is not enumerated)."""
    if not isinstance(schema, dict):
        return []
    if "$ref" in schema:
        target = components.get(str(schema["$ref"]).rsplit("/", 1)[-1], {})
        # an object is walked as its own schema; only an enumeration is followed
        return _values(target, components) if "enum" in target or "const" in target else []
    if "enum" in schema:
        return [str(v) for v in schema["enum"] if v is not None]
    if "const" in schema:
        return [str(schema["const"])]
    found: list[str] = []
    if isinstance(schema.get("pattern"), str) and (m := _ALTERNATIVES.fullmatch(schema["pattern"])):
        found += m.group(1).split("|")
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        for sub in schema.get(key, ()):
            found += [v for v in _values(sub, components) if v not in found]
    for key in ("items", "additionalProperties"):
        found += [v for v in _values(schema.get(key), components) if v not in found]
    return found


def enumerated(openapi: Mapping[str, Any]) -> list[Field]:
    """Every enumerated property of every schema and every enumerated parameter, sorted."""
    components: Mapping[str, Any] = openapi.get("components", {}).get("schemas", {})
    found: list[Field] = []
    for name, schema in components.items():
        for prop, sub in schema.get("properties", {}).items():
            if values := _values(sub, components):
                found.append(Field(name, prop, tuple(values)))
    for path, item in openapi.get("paths", {}).items():
        for method in METHODS:
            for param in item.get(method, {}).get("parameters", ()):
                if values := _values(param.get("schema"), components):
                    found.append(Field(f"{method.upper()} {path}", param["name"], tuple(values), param.get("in")))
    return sorted(found)


@dataclass
class Resolution:
    """Which fields each term labels, and what is wrong: a value without a label (or a field
    without a term), and a label or binding the API does not have (stale)."""

    bound: dict[str, list[Field]] = field(default_factory=dict)  # term name → its fields
    missing: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)


def resolve(service: str, terms: Sequence[Term], fields: Iterable[Field]) -> Resolution:
    out = Resolution(bound={t.name: [] for t in terms})
    by_name = {t.name: t for t in terms}
    for f in fields:
        candidates = [t for t in terms if f.qualified in t.fields] or [t for t in terms if f.name in t.fields]
        if not candidates:
            out.missing.append(
                f"{service} {f.shown} {list(f.values)}: no term of its vocabulary binds {f.name!r} "
                "(declare one, with a Chinese label for each value)"
            )
            continue
        covering = [t for t in candidates if set(f.values) <= set(t.labels)]
        if len(covering) > 1:
            out.missing.append(
                f"{service} {f.shown}: terms {[t.name for t in covering]} all fit; bind it as {f.qualified!r}"
            )
        elif covering:
            out.bound[covering[0].name].append(f)
        else:
            nearest = max(candidates, key=lambda t: len(set(f.values) & set(t.labels)))
            out.missing += [
                f"{service} {f.shown}: {v!r} has no Chinese label (term {nearest.name!r})"
                for v in f.values
                if v not in nearest.labels
            ]
    for name, found in out.bound.items():
        term = by_name[name]
        if not found:
            out.stale.append(f"{service} term {name!r}: no field of the API carries it")
            continue
        used = {v for f in found for v in f.values}
        out.stale += [
            f"{service} term {name!r}: {v!r} is labelled but no field of the API has it"
            for v in term.labels
            if v not in used
        ]
        out.stale += [
            f"{service} term {name!r}: a meaning for {v!r}, which has no label"
            for v in term.meanings
            if v not in term.labels
        ]
        names = {f.name for f in found} | {f.qualified for f in found}
        out.stale += [
            f"{service} term {name!r}: binds {b!r}, which is not its field" for b in term.fields if b not in names
        ]
        out.stale += [
            f"{service} term {name!r}: {v!r} has no Chinese in its label"
            for v, zh in term.labels.items()
            if not _CJK.search(zh)
        ]
    return out


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown(terms: Sequence[Term], resolution: Resolution) -> str:
    """A section per term: its fields, then value | 中文 | meaning."""
    parts: list[str] = []
    for term in terms:
        fields = resolution.bound.get(term.name, [])
        shown = ", ".join(f"`{f.shown}`" for f in fields)
        rows = [f"| `{v}` | {_cell(zh)} | {_cell(term.meanings.get(v, ''))} |" for v, zh in term.labels.items()]
        parts.append(
            f"#### {term.zh} (`{term.name}`)\n\nFields: {shown}\n\n| value | 中文 | meaning |\n|---|---|---|\n"
            + "\n".join(rows)
            + "\n"
        )
    return "\n".join(parts)
