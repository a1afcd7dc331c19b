"""The package layout: imports point one way (arena -> leagues -> agents -> games), and
inside arena no module imports, at its top level, a module that imports it back."""

from __future__ import annotations

import ast
import importlib
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
LAYERS = ["games", "agents", "leagues", "arena"]  # each imports only those before it


def _modules(package: str) -> dict[str, pathlib.Path]:
    out = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _imports(path: pathlib.Path, name: str, top_level_only: bool) -> set[str]:
    """Absolute names of the modules ``path`` imports (all, or only at its top level)."""
    tree = ast.parse(path.read_text(), str(path))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found = set()
    is_pkg = path.name == "__init__.py"
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base[: len(base) - node.level + (1 if is_pkg else 0)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            found.add(mod)
            found.update(f"{mod}.{a.name}" for a in node.names)
    return found


def _resolve(names: set[str], known: dict[str, pathlib.Path]) -> set[str]:
    """The known modules among ``names`` and their parent packages (importing a.b runs a)."""
    out = set()
    for n in names:
        parts = n.split(".")
        for k in range(1, len(parts) + 1):
            if ".".join(parts[:k]) in known:
                out.add(".".join(parts[:k]))
    return out


ARENA = _modules("arena")


@pytest.mark.parametrize("name", sorted(n for n in ARENA if not n.endswith("__main__")))
def test_every_arena_module_imports(name):
    importlib.import_module(name)


def test_no_import_circles_inside_arena():
    graph = {
        name: _resolve(_imports(path, name, True), ARENA) - {name} for name, path in ARENA.items()
    }
    # A package's own __init__ runs before its submodules; an edge sub -> its own package
    # only says "the package exists", not a circle.
    for name in graph:
        graph[name] = {t for t in graph[name] if not name.startswith(t + ".")}
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(n: str) -> None:
        state[n] = 1
        path.append(n)
        for t in sorted(graph[n]):
            if state.get(t) == 1:
                cycle = path[path.index(t) :] + [t]
                pytest.fail("import circle: " + " -> ".join(cycle))
            if t not in state:
                visit(t)
        path.pop()
        state[n] = 2

    for n in sorted(graph):
        if n not in state:
            visit(n)


def test_no_arena_module_imports_a_removed_path():
    gone = {
        "arena.exact_payoffs",
        "arena.metagame",
        "arena.population",
        "arena.commands",
        "arena.league_cli",
        "arena.catalogs",
        "arena.viewer",
    }
    for name, path in ARENA.items():
        assert not (_imports(path, name, False) & gone), name


@pytest.mark.parametrize("index", range(len(LAYERS)))
def test_layers_import_only_downwards(index):
    layer, above = LAYERS[index], set(LAYERS[index + 1 :])
    for name, path in _modules(layer).items():
        bad = {n for n in _imports(path, name, False) if n.split(".")[0] in above}
        assert not bad, f"{name} imports {sorted(bad)}"


def test_the_evaluation_package_does_not_import_the_league():
    for name, path in ARENA.items():
        if name.startswith("arena.evaluation"):
            bad = {
                n
                for n in _imports(path, name, False)
                if n.startswith(("arena.league", "arena.cli", "arena.report"))
            }
            assert not bad, f"{name} imports {sorted(bad)}"
