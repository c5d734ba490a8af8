"""The package's shape: imports go one way, no private reach-through, small classes and functions.

Run as a script to print the import graph by layer and the largest classes and functions:

    .venv/bin/python tests/test_architecture.py
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "tsattn"

#: Bottom to top; a module may import modules of its own layer or lower ones, never higher.
LAYERS = [
    (
        "data",
        ["tsattn.data", "tsattn.datasets", "tsattn.params", "tsattn.metrics", "tsattn.baselines"],
    ),
    ("models", ["tsattn.models"]),
    ("training", ["tsattn.train"]),
    ("plots", ["tsattn.plotting"]),
    ("run tracking", ["tsattn.tracking.store", "tsattn.tracking.runs", "tsattn.tracking.studies"]),
    ("evaluation, saved format", ["tsattn.evaluation", "tsattn.persistence"]),
    ("forecaster base", ["tsattn.forecaster"]),
    ("estimators", ["tsattn.neural", "tsattn.statistical"]),
    ("registry", ["tsattn.estimators"]),
    ("export", ["tsattn.export"]),
    ("model flavor, registry", ["tsattn.tracking"]),
    ("tuning", ["tsattn.tuning"]),
    ("applications", ["tsattn.cli", "tsattn.demo", "tsattn.batch"]),
]
MAX_CLASS_LINES, MAX_FUNCTION_LINES = 300, 80


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, ast.Module]:
    return {module_name(p): ast.parse(p.read_text()) for p in sorted(PACKAGE.rglob("*.py"))}


def layer_of(name: str) -> int:
    for level, (_, prefixes) in enumerate(LAYERS):
        if any(name == p or name.startswith(p + ".") for p in prefixes):
            return level
    raise AssertionError(f"{name} is in no layer of tests/test_architecture.py; add it to LAYERS.")


def resolve(name: str, known: set[str]) -> str | None:
    """The tsattn module ``name`` refers to (``tsattn.data.panel.Panel`` -> ``tsattn.data.panel``)."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def imports(tree: ast.Module, known: set[str], current: str) -> set[str]:
    """tsattn modules imported anywhere in ``tree`` (in functions too), ``tsattn`` itself excluded."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            assert not node.level, f"{current}: use absolute imports"
            names = [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            target = resolve(name, known)
            if target and target.startswith("tsattn.") and target != current:
                found.add(target)
    return found


def graph() -> dict[str, set[str]]:
    trees = modules()
    known = set(trees)
    return {name: imports(tree, known, name) for name, tree in trees.items() if name != "tsattn"}


def upward_edges(edges: dict[str, set[str]]) -> list[str]:
    return [
        f"{a} (layer {LAYERS[layer_of(a)][0]!r}) imports {b} (layer {LAYERS[layer_of(b)][0]!r})"
        for a, targets in edges.items()
        for b in sorted(targets)
        if layer_of(b) > layer_of(a)
    ]


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    found, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                found.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    return found


def private_reach(trees: dict[str, ast.Module]) -> list[str]:
    """Private names taken from another module: imported, or called on anything but self/cls."""
    found = []
    for name, tree in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tsattn"):
                found += [
                    f"{name} imports {node.module}.{a.name}"
                    for a in node.names
                    if a.name.startswith("_") and not a.name.startswith("__")
                ]
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))
                and not (
                    isinstance(node.value, ast.Call)
                    and getattr(node.value.func, "id", "") == "super"
                )
            ):
                found.append(f"{name}:{node.lineno} uses .{node.attr}")
    return found


def sizes(trees: dict[str, ast.Module]) -> list[tuple[int, str, str]]:
    """``(lines, kind, name)`` of every class and function, largest first."""
    rows = []
    for name, tree in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                kind = "class" if isinstance(node, ast.ClassDef) else "function"
                rows.append((node.end_lineno - node.lineno + 1, kind, f"{name}.{node.name}"))
    return sorted(rows, reverse=True)


def test_every_module_has_a_layer():
    for name in graph():
        layer_of(name)


def test_imports_go_one_way():
    edges = graph()
    assert upward_edges(edges) == []
    assert cycles(edges) == []


def test_models_need_only_torch():
    edges = graph()
    for name, targets in edges.items():
        if name.startswith("tsattn.models"):
            assert all(t.startswith("tsattn.models") for t in targets), (name, targets)


def test_no_module_uses_another_modules_private_names():
    assert private_reach(modules()) == []


def test_no_class_or_function_too_large():
    too_large = [
        row
        for row in sizes(modules())
        if not row[2].startswith("tsattn.plotting.")
        and row[0] > (MAX_CLASS_LINES if row[1] == "class" else MAX_FUNCTION_LINES)
    ]
    assert too_large == []


def test_the_checker_sees_an_upward_edge_and_a_cycle():
    edges = {"tsattn.data.panel": {"tsattn.neural"}, "tsattn.neural": {"tsattn.data.panel"}}
    assert upward_edges(edges) and cycles(edges)


def main() -> None:
    edges = graph()
    for level, (title, _) in enumerate(LAYERS):
        print(f"layer {level}: {title}")
        for name in sorted(n for n in edges if layer_of(n) == level):
            print(f"  {name} -> {', '.join(sorted(edges[name])) or '-'}")
    print(f"\nupward edges: {upward_edges(edges) or 'none'}; cycles: {cycles(edges) or 'none'}")
    print("private names used across modules:", private_reach(modules()) or "none")
    print("\nlargest classes and functions (lines, docstrings included):")
    for lines, kind, name in sizes(modules())[:12]:
        print(f"  {lines:4d} {kind:<8} {name}")


if __name__ == "__main__":
    sys.exit(main())
