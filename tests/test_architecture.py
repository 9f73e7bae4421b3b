"""The house's rules (docs/ARCHITECTURE.md), checked on the source: a layout that draws the flow.

* no import circle between modules (imports inside functions count: a lazy import is not a way
  around a circle; only ``if TYPE_CHECKING:`` blocks are left out);
* each package imports only the packages below it in :data:`LAYERS` (plus the few upward
  imports named in :data:`UPWARD`, each with its reason);
* no private name (``_x``) is imported from another module;
* no function is longer than 80 lines, and none takes more than 11 parameters (an options
  object instead);
* the top of ``ecometer/`` holds only the facade modules, and every package says in its
  docstring what it owns and what it may import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "ecometer"

#: the stages, bottom first: a package may import those before it (docs/ARCHITECTURE.md)
LAYERS = [
    ("ecometer.errors", "ecometer._version", "ecometer.compat"),
    ("ecometer.checks",),
    ("ecometer.files",),
    ("ecometer.record",),
    ("ecometer.energy", "ecometer.work"),
    ("ecometer.sensors",),
    ("ecometer.measuring",),
    ("ecometer.impact",),
    ("ecometer.standards",),
    ("ecometer.forecast",),
    ("ecometer.report",),
    ("ecometer.distributed",),
    ("ecometer.api",),
    ("ecometer.integrations",),
    ("ecometer.commands", "ecometer.bench"),
]
#: imports against the flow, each on demand and with its reason
UPWARD = {
    ("ecometer.measuring", "ecometer.forecast"): "Meter.forecast() projects the running record on request",
}
#: modules allowed at the top of ecometer/
TOP_LEVEL = {"__init__.py", "__main__.py", "_version.py", "errors.py", "api.py", "compat.py"}
MAX_FUNCTION_LINES = 80
#: more than this many parameters is a dozen values passed through: an options object instead
MAX_PARAMETERS = 11


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _resolve(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


class _Imports(ast.NodeVisitor):
    def __init__(self, module: str, is_package: bool) -> None:
        self.module = module
        self.package = module if is_package else module.rpartition(".")[0]
        self.found: list[tuple[str, str, int]] = []  # (imported module, name, line)

    def visit_If(self, node: ast.If) -> None:
        if "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                self.visit(child)
            return
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.found.append((alias.name, "", node.lineno))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
            parts = self.package.split(".")
            base = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
        for alias in node.names:
            full = f"{base}.{alias.name}"
            self.found.append((full if full in MODULES else base, alias.name, node.lineno))

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if (
            isinstance(func, ast.Attribute)
            and func.attr == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            self.found.append((node.args[0].value, "", node.lineno))
        self.generic_visit(node)


def _imports() -> dict[str, list[tuple[str, str, int]]]:
    out = {}
    for module, path in MODULES.items():
        visitor = _Imports(module, path.name == "__init__.py")
        visitor.visit(ast.parse(path.read_text(encoding="utf-8")))
        out[module] = [(target, name, line) for target, name, line in visitor.found if target.startswith("ecometer")]
    return out


IMPORTS = _imports()


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for module, found in IMPORTS.items():
        for target, _, _ in found:
            resolved = _resolve(target)
            if resolved and resolved != module and module != "ecometer.compat":
                graph[module].add(resolved)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))
    return out


def _layer(module: str) -> tuple[int, str] | None:
    for rank, names in enumerate(LAYERS):
        for name in names:
            if module == name or module.startswith(name + "."):
                return rank, name
    return None


def test_no_import_circles():
    assert _cycles(_graph()) == []


def test_cycle_finder_finds_a_circle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_every_package_has_a_place_in_the_flow():
    unplaced = [m for m in MODULES if m != "ecometer" and m != "ecometer.__main__" and _layer(m) is None]
    assert unplaced == []


def test_packages_import_only_what_is_below_them():
    wrong = []
    for module, found in IMPORTS.items():
        here = _layer(module)
        if here is None:
            continue
        for target, _, line in found:
            there = _layer(_resolve(target) or target)
            if there is None or there[0] <= here[0] or (here[1], there[1]) in UPWARD:
                continue
            wrong.append(f"{MODULES[module].relative_to(ROOT.parent)}:{line} {module} imports {target}")
    assert wrong == []


def test_no_private_names_imported_across_modules():
    private = [
        f"{MODULES[module].relative_to(ROOT.parent)}:{line} imports {name} from {target}"
        for module, found in IMPORTS.items()
        for target, name, line in found
        if (name.startswith("_") and not name.startswith("__"))
        or any(p.startswith("_") and not p.startswith("__") and p != "_version" for p in target.split("."))
    ]
    assert private == []


@pytest.mark.parametrize("limit", [MAX_FUNCTION_LINES])
def test_no_function_over_80_lines(limit):
    long = []
    for path in MODULES.values():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > limit:
                    long.append(f"{path.relative_to(ROOT.parent)}:{node.lineno} {node.name} ({length} lines)")
    assert long == []


def test_no_signature_passes_a_dozen_values():
    wide = []
    for path in MODULES.values():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                args = node.args
                names = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
                count = len([n for n in names if n not in ("self", "cls")])
                if count > MAX_PARAMETERS:
                    wide.append(f"{path.relative_to(ROOT.parent)}:{node.lineno} {node.name} ({count} parameters)")
    assert wide == []


def test_top_of_the_package_holds_only_the_facade():
    top = {p.name for p in ROOT.glob("*.py")}
    assert top <= TOP_LEVEL, sorted(top - TOP_LEVEL)


def test_every_package_says_what_it_owns_and_may_import():
    silent = []
    for init in sorted(ROOT.glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) or ""
        if "May import" not in doc:
            silent.append(str(init.relative_to(ROOT.parent)))
    assert silent == []


def test_the_rules_are_written_down():
    text = (ROOT.parent / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    for names in LAYERS:
        for name in names:
            if not name.startswith("ecometer._") and name != "ecometer.compat":
                assert f"`{name.removeprefix('ecometer.')}" in text, name
    assert "docs/ARCHITECTURE.md" in (ROOT.parent / "README.md").read_text(encoding="utf-8")
