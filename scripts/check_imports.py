"""Checks the import rules of DESIGN.md over the source, without importing any of it.

    python scripts/check_imports.py        # exit 1 and one line per problem, else "ok"

1. No import cycle between modules of the project (config, accounts, campaigns, assets,
   analytics, messaging), however long.
2. Layers: `accounts` imports no other app; `campaigns` imports neither `assets`,
   `analytics` nor `messaging`; `assets` (templates, content blocks, media) imports
   neither `analytics` nor `messaging`, and `analytics` not `assets`; `analytics` does
   not import `messaging`; `config.api` (the plumbing every app may use) imports no app.
3. Channel adapters are pure: nothing under `messaging/channels/` imports a model, a
   service, the delivery code, the tracking views or a view module of the project.
4. An import inside a function is a hidden edge of the graph: it is allowed only where a
   comment on that line or the line above says why it must be there.

Only `import x` / `from x import y` statements are read (TYPE_CHECKING blocks included:
they do not run, but a cycle through them is still a tangle a reader has to follow).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("config", "accounts", "campaigns", "assets", "analytics", "messaging")
SKIP_PARTS = {"migrations", "__pycache__"}

# (importer prefix, imported prefix): the importer may not import the imported.
FORBIDDEN = [
    # accounts (roles, the audit log) sits under every app: each asks it who may act.
    ("accounts", "campaigns"),
    ("accounts", "analytics"),
    ("accounts", "messaging"),
    ("accounts", "assets"),
    # assets (templates, content blocks, media) sits on campaigns (its tags), under messaging.
    ("campaigns", "assets"),
    ("assets", "analytics"),
    ("assets", "messaging"),
    ("analytics", "assets"),
    ("campaigns", "analytics"),
    ("campaigns", "messaging"),
    ("analytics", "messaging"),
    ("config.api", "campaigns"),
    ("config.api", "analytics"),
    ("config.api", "messaging"),
    ("config.api", "assets"),
]
# What a channel adapter may not reach (rule 3).
CHANNEL_FORBIDDEN = (
    "messaging.models",
    "messaging.services",
    "messaging.delivery",
    "messaging.pipeline",
    "messaging.tracking",
    "messaging.views",
    "messaging.api",
    "messaging.tasks",
    "campaigns.models",
    "analytics",
    "django.db",
)
CHANNEL_ALLOWED = ("campaigns.models.Channel",)


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the imported module (or module.name for `from m import name`)
    line: int
    in_function: bool
    explained: bool


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_files() -> Iterator[Path]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if not SKIP_PARTS & set(path.relative_to(ROOT).parts):
                yield path


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    # `from . import x` inside a package's __init__ is relative to the package itself.
    keep = len(base) - node.level + (1 if is_package else 0)
    prefix = base[:keep]
    return ".".join(prefix + ([node.module] if node.module else []))


def _explained(lines: list[str], lineno: int) -> bool:
    here = lines[lineno - 1]
    above = lines[lineno - 2].strip() if lineno >= 2 else ""
    return "#" in here or above.startswith("#")


def imports_of(path: Path) -> Iterator[Import]:
    module = module_name(path)
    is_package = path.name == "__init__.py"
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    tree = ast.parse(text, filename=str(path))
    functions: list[ast.AST] = [
        n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
    ]
    inside = {id(n) for f in functions for n in ast.walk(f) if n is not f}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, is_package, node)
            targets = [f"{base}.{alias.name}" if base else alias.name for alias in node.names]
        else:
            continue
        for target in targets:
            yield Import(
                module=module,
                target=target,
                line=node.lineno,
                in_function=id(node) in inside,
                explained=_explained(lines, node.lineno),
            )


def _project_module(target: str, modules: set[str]) -> str | None:
    """The project module an import target lands in (`m.name` → `m`, or `m.name` itself)."""
    candidate = target
    while candidate:
        if candidate in modules:
            return candidate
        candidate = candidate.rpartition(".")[0]
    return None


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each one cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0

    def visit(start: str) -> None:
        nonlocal counter
        # Iterative, so a deep graph cannot hit the recursion limit.
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def problems() -> list[str]:
    files = list(source_files())
    modules = {module_name(path) for path in files}
    found: list[str] = []
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for path in files:
        where = path.relative_to(ROOT)
        for imp in imports_of(path):
            target = _project_module(imp.target, modules)
            if imp.in_function and not imp.explained:
                found.append(
                    f"{where}:{imp.line}: import of {imp.target} inside a function, with no "
                    "comment saying why it cannot be at the top"
                )
            for importer, imported in FORBIDDEN:
                if _under(imp.module, importer) and _under(imp.target, imported):
                    found.append(f"{where}:{imp.line}: {importer} may not import {imp.target}")
            if _under(imp.module, "messaging.channels") and not any(
                _under(imp.target, allowed) for allowed in CHANNEL_ALLOWED
            ):
                for forbidden in CHANNEL_FORBIDDEN:
                    if _under(imp.target, forbidden):
                        found.append(
                            f"{where}:{imp.line}: a channel adapter may not import {imp.target}"
                        )
            if target and target != imp.module and not _package_of(imp.module, target):
                graph[imp.module].add(target)
    for cycle in find_cycles(graph):
        found.append("import cycle: " + " <-> ".join(cycle))
    return found


def _package_of(module: str, target: str) -> bool:
    """A module importing its own package's __init__ (`from . import x`) is no edge: the
    package is being initialised already, and `x` is then resolved as its own module."""
    return module.startswith(target + ".")


def main() -> int:
    found = problems()
    for line in found:
        print(line)
    if found:
        print(f"{len(found)} import problem(s)")
        return 1
    print(f"imports ok: no cycle, layers kept, channels pure ({len(list(source_files()))} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
