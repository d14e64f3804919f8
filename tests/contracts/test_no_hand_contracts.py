"""Nothing outside the contracts package names a topic or an event type in a literal, or
builds an event or an envelope by hand: every producer and consumer goes through the models
(contracts/), so a renamed topic or a changed field cannot be missed in one place."""

from __future__ import annotations

import ast
from pathlib import Path

from contracts import topics
from contracts.catalogue import every_type

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = ("cadrekit", "services", "gateway", "deploy", "bench")
NAMES = {*topics.ALL, *(topics.dlq(t) for t in topics.ALL), *every_type()}


def _modules() -> list[Path]:
    return sorted(p for d in PRODUCTION for p in (ROOT / d).rglob("*.py") if "migrations" not in p.parts)


def _docstrings(tree: ast.AST) -> set[int]:
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                out.add(id(body[0].value))
    return out


def findings(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = _docstrings(tree)
    where = path.relative_to(ROOT)
    out: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            if node.value in NAMES:
                out.append(f"{where}:{node.lineno}: {node.value!r} written as a literal")
            elif node.value.endswith(topics.DLQ_SUFFIX) and node.value != topics.DLQ_SUFFIX:
                out.append(f"{where}:{node.lineno}: a dead-letter topic written by hand")
        elif isinstance(node, ast.JoinedStr):
            tail = node.values[-1] if node.values else None
            if isinstance(tail, ast.Constant) and str(tail.value).endswith((".events", topics.DLQ_SUFFIX)):
                out.append(f"{where}:{node.lineno}: a topic name built by hand")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Event":
            out.append(f"{where}:{node.lineno}: an event built by hand (build it from its model)")
        elif isinstance(node, ast.Dict):
            keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
            if "specversion" in keys:
                out.append(f"{where}:{node.lineno}: an envelope built by hand (contracts.envelope)")
    return sorted(out, key=lambda f: int(f.split(":")[1]))


def test_no_topic_name_event_type_or_envelope_is_written_by_hand_outside_contracts() -> None:
    found = [f for path in _modules() for f in findings(path)]
    assert found == [], "\n".join(found)


def test_the_check_sees_each_kind_of_hand_written_contract(tmp_path: Path) -> None:
    module = ROOT / "bench" / "_hand_written_probe.py"
    module.write_text(
        '"""roster.events in a docstring is fine."""\n'
        'TOPIC = "roster.events"\n'
        'DLQ = f"{TOPIC}.dlq"\n'
        'KIND = "scoring.score.changed"\n'
        'e = Event("x", "s", "k", {})\n'
        'env = {"specversion": "1.0"}\n',
        encoding="utf-8",
    )
    try:
        got = findings(module)
    finally:
        module.unlink()
    assert [line.split(": ", 1)[1] for line in got] == [
        "'roster.events' written as a literal",
        "a topic name built by hand",
        "'scoring.score.changed' written as a literal",
        "an event built by hand (build it from its model)",
        "an envelope built by hand (contracts.envelope)",
    ]
