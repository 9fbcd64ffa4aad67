"""The dependency rule, checked on the source: campaigns -> calls -> voiceapps -> portal, never
upwards; recordings, forwarding and alerts -> calls, beside campaigns and importing nothing of
each other (alerts may read forwarding and campaigns); metrics (GET /metrics) above them all,
imported by none.

Every project module's imports are read with `ast`, at module level and inside functions.
No exceptions besides the frame's URL and settings wiring: the frame (portal) imports no
feature, voiceapps imports nothing of calls, calls nothing of campaigns, and the sandbox
(Callboard's provider emulator inside voiceapps) is reached from outside voiceapps only
through the URLs. The module-level imports also form no cycle: a module never needs itself
half-imported. Inside an app, imports in function bodies form none either (a cycle there is
two modules doing each other's jobs), except a task body importing the service it runs:
services enqueue tasks, so that one is the rule (docs/decisions.md).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("portal", "voiceapps", "calls", "campaigns", "recordings", "forwarding", "alerts",
            "metrics")
# The frame's wiring: the one place it names the features it mounts.
WIRING = frozenset({"portal.urls", "portal.settings"})
# What each layer may not import (a prefix of the imported module's name).
FORBIDDEN = {
    "portal": ("voiceapps", "calls", "campaigns", "recordings", "forwarding", "alerts", "metrics"),
    "voiceapps": ("calls", "campaigns", "recordings", "forwarding", "alerts", "metrics"),
    "calls": ("campaigns", "recordings", "forwarding", "alerts", "metrics"),
    "campaigns": ("recordings", "forwarding", "alerts", "metrics"),
    "recordings": ("campaigns", "forwarding", "alerts", "metrics"),
    "forwarding": ("campaigns", "recordings", "alerts", "metrics"),
    # Alerts watch calls, forwarding and campaigns; /metrics reads everything, and nothing
    # reads it.
    "alerts": ("recordings", "metrics"),
}
SANDBOX = "voiceapps.sandbox"


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int
    module_level: bool  # run when the importer is imported (not in a function, not typing)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    return {
        module_name(path): path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }


def _in_project(name: str) -> bool:
    return name.split(".")[0] in PACKAGES


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> list[Import]:
    """The project modules `name` imports: `from a import b` names a.b when b is a module."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[Import] = []

    def add(imported: str, node: ast.stmt, module_level: bool) -> None:
        if _in_project(imported):
            found.append(Import(name, imported, node.lineno, module_level))

    def visit(nodes: list[ast.stmt], module_level: bool) -> None:
        for node in nodes:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    add(alias.name, node, module_level)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in node.names:
                    candidate = f"{base}.{alias.name}"
                    add(candidate if candidate in modules else base, node, module_level)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                visit(node.body, False)
            elif isinstance(node, ast.If) and _is_type_checking(node):
                visit(node.body, False)
                visit(node.orelse, module_level)
            else:
                for field in ("body", "orelse", "finalbody", "handlers"):
                    children = getattr(node, field, None)
                    if children:
                        visit(children, module_level)

    visit(ast.parse(path.read_text(), str(path)).body, True)
    return found


def all_imports() -> list[Import]:
    modules = project_modules()
    return [found for name, path in modules.items() for found in imports_of(name, path, modules)]


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def upward(found: Import) -> str:
    """Why this import breaks the dependency rule, or ""."""
    if found.importer in WIRING:
        return ""
    layer = found.importer.split(".")[0]
    for forbidden in FORBIDDEN.get(layer, ()):
        if _under(found.imported, forbidden):
            return f"{layer} imports {forbidden}"
    if _under(found.imported, SANDBOX) and not _under(found.importer, "voiceapps"):
        return "the sandbox is imported from outside voiceapps"
    return ""


def _app(name: str) -> str:
    return name.split(".")[0]


def runs_its_service(edge: Import) -> bool:
    """A task importing, in its body, the service it runs (calls.tasks -> calls.services…)."""
    return not edge.module_level and edge.importer.rpartition(".")[2] == "tasks"


def module_level_cycles(found: list[Import]) -> list[list[str]]:
    """The cycles among module-level imports."""
    return cycles([edge for edge in found if edge.module_level])


def in_app_cycles(found: list[Import]) -> list[list[str]]:
    """The cycles among one app's imports, function bodies included, tasks running their
    service aside."""
    return cycles([edge for edge in found
                   if _app(edge.importer) == _app(edge.imported) and not runs_its_service(edge)])


def cycles(edges: list[Import]) -> list[list[str]]:
    """Strongly connected groups of modules (Tarjan) with more than one member, or a module
    importing itself, in the graph of these imports."""
    graph: dict[str, set[str]] = {}
    for edge in edges:
        graph.setdefault(edge.importer, set()).add(edge.imported)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1 or node in graph.get(node, ()):
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def test_the_reader_sees_the_imports_it_must_judge():
    found = all_imports()
    pairs = {(edge.importer, edge.imported, edge.module_level) for edge in found}

    # Module level, `from package import module`, and inside a function.
    assert ("calls.urls", "calls.hooks.answer", True) in pairs
    assert ("calls.services.placing", "calls.tasks", True) in pairs
    assert ("calls.tasks", "calls.services.sending", False) in pairs
    assert ("campaigns.services.dialing", "calls.services.placing", True) in pairs


def test_no_module_imports_upwards():
    broken = [
        f"{edge.importer} line {edge.line} imports {edge.imported}: {why}"
        for edge in all_imports()
        if (why := upward(edge))
    ]

    assert broken == [], "\n".join(broken)


def test_no_module_level_import_cycle():
    cycles = module_level_cycles(all_imports())

    assert cycles == [], "\n".join(" <-> ".join(group) for group in cycles)


def test_no_import_cycle_inside_an_app():
    found = in_app_cycles(all_imports())

    assert found == [], "\n".join(" <-> ".join(group) for group in found)


def test_the_rules_catch_what_they_are_for():
    assert upward(Import("portal.views", "calls.models", 1, True))
    assert upward(Import("voiceapps.services", "calls.services.placing", 1, False))
    assert upward(Import("calls.views.dashboard", "voiceapps.sandbox.scripts", 1, True))
    assert upward(Import("calls.hooks.answer", "campaigns.models", 1, False))
    assert upward(Import("voiceapps.ncco.services", "campaigns.models", 1, True))
    assert upward(Import("campaigns.services.rehearsal", "voiceapps.sandbox.scripts", 1, True))
    assert not upward(Import("campaigns.services.dialing", "calls.services.placing", 1, True))
    assert not upward(Import("portal.urls", "calls.urls", 1, True))
    assert not upward(Import("voiceapps.providers.sandbox", "voiceapps.sandbox.scripts", 1, True))
    assert module_level_cycles([Import("a", "b", 1, True), Import("b", "a", 1, True)]) == [
        ["a", "b"]
    ]
    assert module_level_cycles([Import("a", "b", 1, True), Import("b", "a", 1, False)]) == []
    assert in_app_cycles([Import("a.models", "a.services", 1, False),
                          Import("a.services", "a.models", 1, True)]) == [
        ["a.models", "a.services"]
    ]
    assert in_app_cycles([Import("a.tasks", "a.services", 1, False),
                          Import("a.services", "a.tasks", 1, True)]) == []
    assert in_app_cycles([Import("a.models", "b.services", 1, False),
                          Import("b.services", "a.models", 1, True)]) == []
