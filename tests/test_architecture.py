"""The package structure holds: no import cycle, and the layer contracts catch an upward import."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import grimp

import hookline

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
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
                    work.append(
                        (child, iter(sorted(graph.find_modules_directly_imported_by(child))))
                    )
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
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
                    found.append(sorted(component))
    return found


def test_no_import_cycle() -> None:
    """No module of hookline imports itself back, directly or through others, at run time."""
    graph = grimp.build_graph("hookline", exclude_type_checking_imports=True)
    assert _cycles(graph) == []


def test_cycle_finder_sees_a_cycle() -> None:
    """The cycle check itself finds a planted two-module cycle."""
    graph = grimp.ImportGraph()
    for module in ("pkg", "pkg.a", "pkg.b", "pkg.c"):
        graph.add_module(module)
    graph.add_import(importer="pkg.a", imported="pkg.b")
    graph.add_import(importer="pkg.b", imported="pkg.a")
    graph.add_import(importer="pkg.c", imported="pkg.a")
    assert _cycles(graph) == [["pkg.a", "pkg.b"]]


def test_layer_contract_breaks_on_an_upward_import(tmp_path: Path) -> None:
    """``lint-imports`` fails when a lower layer (bus) imports a higher one (cli)."""
    copy = tmp_path / "src"
    shutil.copytree(Path(hookline.__file__).parent, copy / "hookline")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    topics = copy / "hookline" / "bus" / "topics.py"
    topics.write_text(topics.read_text() + "\nimport hookline.cli  # planted upward import\n")
    env = {"PYTHONPATH": str(copy), "PATH": "/usr/bin:/bin"}
    broken = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert broken.returncode != 0, broken.stdout
    assert "hookline.bus.topics -> hookline.cli" in broken.stdout
