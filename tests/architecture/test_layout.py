"""Every service has the declared shape (tests/architecture/layout.py), and no module is so
long that it needs banners to find one's way in it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.architecture.layout import COMMON, MAX_LINES, OPTIONAL, SCHEMAS, SHAPES

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ROOT / "services"


def _modules(service: str) -> set[str]:
    base = SERVICES / service
    return {
        p.relative_to(base).as_posix()
        for p in base.rglob("*.py")
        if "migrations" not in p.relative_to(base).parts and "__pycache__" not in p.parts
    }


def test_every_service_folder_is_declared() -> None:
    found = {p.name for p in SERVICES.iterdir() if p.is_dir() and (p / "app.py").exists()}
    assert found == set(SHAPES)


@pytest.mark.parametrize("service", sorted(SHAPES))
def test_the_service_has_the_declared_modules_and_no_others(service: str) -> None:
    modules = _modules(service)
    shape = SHAPES[service]
    missing = COMMON - modules
    assert not missing, f"{service} lacks {sorted(missing)}"
    routers = {m.removeprefix("api/") for m in modules if m.startswith("api/")} - {"__init__.py", "deps.py"}
    without = {r for r in routers if f"service/{r}" not in modules} - shape.routers_without_use_cases
    assert not without, f"{service}: routers without service/<same name>: {sorted(without)}"
    schemas = modules & set(SCHEMAS)
    assert len(schemas) == 1, f"{service} has {sorted(schemas) or 'no schemas'}: one of {SCHEMAS}"
    by_resource = {m.removeprefix("schemas/") for m in modules if m.startswith("schemas/")} - {"__init__.py"}
    assert by_resource <= routers, f"{service}: schemas/ modules without a router: {sorted(by_resource - routers)}"
    free = {m for m in modules if m.startswith(("domain/", "service/", "api/", "schemas/"))} | schemas
    unknown = modules - COMMON - OPTIONAL - shape.extras - free
    assert not unknown, f"{service} has modules the layout does not declare: {sorted(unknown)}"


@pytest.mark.parametrize("service", sorted(SHAPES))
def test_no_module_of_the_service_is_longer_than_the_limit(service: str) -> None:
    long = {
        m: n
        for m in _modules(service)
        if (n := len((SERVICES / service / m).read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"{service}: modules over {MAX_LINES} lines: {long}"


@pytest.mark.parametrize("service", sorted(SHAPES))
def test_use_cases_take_ctx_and_principal(service: str) -> None:
    """The same names for the same roles: the context is ``ctx``, the caller ``principal``."""
    context = SERVICES / service / "service" / "context.py"
    assert context.exists(), f"{service} has no service/context.py"
    assert "class Context" in context.read_text(encoding="utf-8")
    wrong: list[str] = []
    seen = 0
    for path in sorted((SERVICES / service / "service").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for arg in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]:
                    note = ast.unparse(arg.annotation) if arg.annotation else ""
                    seen += note.endswith(("Context", "Principal"))
                    if note.endswith("Context") and arg.arg != "ctx":
                        wrong.append(f"{path.name}:{node.name}({arg.arg}: {note})")
                    if note.endswith("Principal") and arg.arg != "principal":
                        wrong.append(f"{path.name}:{node.name}({arg.arg}: {note})")
    assert seen and not wrong, wrong


# What only the routes and the app may import: the HTTP framework and the HTTP shape of
# an error. Below them a use case raises a ``cadrekit.errors`` kind and the app's one
# handler (``cadrekit.problems.PROBLEM_OF``) decides the answer.
HTTP_ONLY = ("fastapi", "starlette", "cadrekit.problems")


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return found


@pytest.mark.parametrize("service", sorted(SHAPES))
def test_below_the_routes_nothing_knows_http(service: str) -> None:
    base = SERVICES / service
    wrong = {
        m: sorted(i for i in _imports(base / m) if i.startswith(HTTP_ONLY))
        for m in sorted(_modules(service))
        if not m.startswith("api/") and m != "app.py"
    }
    wrong = {m: i for m, i in wrong.items() if i}
    assert not wrong, f"{service}: modules below the routes import HTTP: {wrong}"


def test_the_rule_sees_an_http_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("from cadrekit.problems import NotFound\nimport fastapi\n", encoding="utf-8")
    assert {"cadrekit.problems", "fastapi"} <= _imports(module)
