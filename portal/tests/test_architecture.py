"""The layout keeps its promises, checked on the source: every write at the edges goes through a
service, selectors only read, dependencies point `tickets -> contracts -> portal`, no module
imports itself back through others, and no import hides inside a function."""

import ast
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ("portal", "contracts", "tickets")
# The edges: the support desk, the API, the portal's pages, the API's representations.
EDGES = {"admin", "api", "views", "serializers"}
# ORM calls that write rows.
WRITES = {
    "save",
    "delete",
    "create",
    "bulk_create",
    "bulk_update",
    "get_or_create",
    "update_or_create",
}
# The project package also composes the apps: its URLs, settings and entry points may name them.
# The one exception to the direction: statements read ticket outcomes through the selector
# `tickets` exposes for them.
STATEMENTS_READ_OUTCOMES = {("contracts.statements.figures", "tickets.outcomes")}
COMPOSITION = {"portal.urls", "portal.api.urls", "portal.settings", "portal.wsgi", "portal.celery"}


@cache
def project_modules() -> dict[str, ast.Module]:
    """Every module of the three apps (tests and migrations aside), by dotted name."""
    modules = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if "tests" in parts or "migrations" in parts:
                continue
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = ast.parse(path.read_text(), filename=str(path))
    return modules


def imported(tree: ast.Module) -> set[str]:
    """The project modules a module imports at its top level (a name imported from a package
    counts as its module when it is one)."""
    known = project_modules()
    targets = set()
    for node in tree.body:
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [
                f"{node.module}.{alias.name}"
                if f"{node.module}.{alias.name}" in known
                else node.module
                for alias in node.names
            ]
        targets.update(name for name in names if name.split(".")[0] in APPS)
    return targets


def is_edge(name: str) -> bool:
    return bool(EDGES & set(name.split(".")[1:]))


def write_calls(tree: ast.Module) -> list[str]:
    """Calls that write rows: `x.save()`, `Model.objects.create(...)`, `queryset.update(...)`;
    `form.save(commit=False)` builds unsaved objects and is not one."""
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        method, receiver = node.func.attr, ast.unparse(node.func.value)
        uncommitted = any(
            k.arg == "commit" and isinstance(k.value, ast.Constant) and k.value.value is False
            for k in node.keywords
        )
        queryset = "objects" in receiver or any(
            part in receiver for part in ("filter(", "exclude(", ".all(")
        )
        if (method in WRITES and not uncommitted) or (method == "update" and queryset):
            found.append(f"line {node.lineno}: {receiver}.{method}(...)")
    return found


def test_the_edges_write_only_through_services():
    offenders = {
        name: calls
        for name, tree in project_modules().items()
        if is_edge(name) and (calls := write_calls(tree))
    }
    assert offenders == {}


def test_the_check_sees_a_write_around_the_services():
    tree = ast.parse(
        "Ticket.objects.filter(pk=1).update(subject='x')\n"
        "ticket.save(update_fields=['subject'])\n"
        "formset.save(commit=False)\n"
        "context.update(extra)\n"
    )
    assert write_calls(tree) == [
        "line 1: Ticket.objects.filter(pk=1).update(...)",
        "line 2: ticket.save(...)",
    ]


def test_selectors_only_read_and_import_no_service():
    for name, tree in project_modules().items():
        if name.split(".")[-1] != "selectors":
            continue
        assert write_calls(tree) == [], name
        services = {target for target in imported(tree) if ".services" in target}
        assert services == set(), name


@pytest.mark.parametrize(
    ("app", "may_not_import"), [("portal", ("contracts", "tickets")), ("contracts", ("tickets",))]
)
def test_dependencies_point_from_tickets_to_contracts_to_portal(app, may_not_import):
    offenders = {
        name: sorted(
            t
            for t in imported(tree)
            if t.split(".")[0] in may_not_import and (name, t) not in STATEMENTS_READ_OUTCOMES
        )
        for name, tree in project_modules().items()
        if name.split(".")[0] == app and name not in COMPOSITION
    }
    assert {name: targets for name, targets in offenders.items() if targets} == {}


def cycles_in(graph: dict[str, set[str]]) -> list[str]:
    """Every import path that leads from a module back to itself."""
    cycles = []
    for start in sorted(graph):
        # Depth-first search for a path that leads back to `start`.
        stack, seen = [(start, (start,))], set()
        while stack:
            name, path = stack.pop()
            for target in graph.get(name, ()):
                if target == start:
                    cycles.append(" -> ".join((*path, start)))
                elif target not in seen:
                    seen.add(target)
                    stack.append((target, (*path, target)))
    return cycles


def test_no_module_imports_itself_back_through_others():
    graph = {name: imported(tree) for name, tree in project_modules().items()}
    assert cycles_in(graph) == []


def test_the_check_sees_an_import_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles_in(graph) == ["a -> b -> c -> a", "b -> c -> a -> b", "c -> a -> b -> c"]


def test_no_import_hides_inside_a_function():
    hidden = [
        f"{name}:{node.lineno}"
        for name, tree in project_modules().items()
        for function in ast.walk(tree)
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef)
        for node in ast.walk(function)
        if isinstance(node, ast.Import | ast.ImportFrom)
    ]
    assert hidden == []
