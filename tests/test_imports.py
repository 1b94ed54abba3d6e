"""The import graph, read from the source: the live install never loads torch or thumbs.training when its modules
load; no module imports one that imports it back; and no import runs into a layer above or beside the importer's
(tests/layout.py LAYERS); lazy imports (inside functions) included."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.layout import LAYERS, ROOT, all_modules, below, layer, live_modules, may_import, needs_training


def imports(path: Path, module: str, lazy: bool) -> set[str]:
    """The modules `module` imports: at load time only, or also inside functions (`lazy`)."""
    tree = ast.parse(path.read_text())
    nodes = ast.walk(tree) if lazy else iter(tree.body)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], base]).strip(".")
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names}  # a submodule, when the name is one
    return found


def graph(lazy: bool) -> dict[str, set[str]]:
    """Module -> the modules of the tree (and training-only packages) it imports. An import of its own package
    (`from thumbs.training import models` in thumbs.training.export) is no edge: the package is loaded first."""
    modules = all_modules()
    return {m: {d for d in imports(p, m, lazy) if (d in modules or needs_training(d)) and not m.startswith(d + ".")}
            for m, p in modules.items()}


def closure(g: dict[str, set[str]], start: str) -> set[str]:
    """What loading `start` loads: its imports, theirs, and each one's parent packages."""
    seen, todo = set(), [start]
    while todo:
        m = todo.pop()
        parents = {".".join(m.split(".")[:i]) for i in range(1, m.count(".") + 1)}
        for dep in (g.get(m, set()) | parents) - seen:
            seen.add(dep)
            todo.append(dep)
    return seen


def test_live_install_never_loads_torch_or_the_training_package():
    g = graph(lazy=False)
    for module in live_modules():
        bad = sorted(d for d in closure(g, module) if needs_training(d))
        assert not bad, f"{module} loads {bad}: move it to thumbs/training/ or import it inside the function"


def test_live_modules_import_with_torch_unavailable():
    names = sorted(m for m in live_modules() if not m.endswith("__main__"))  # `python -m` ones run the command
    code = ("import sys\nfor blocked in ('torch', 'torchvision', 'onnx', 'matplotlib'):\n"
            "    sys.modules[blocked] = None\n" + "".join(f"import {m}\n" for m in names)
            + "print(sorted(m for m in sys.modules if m.startswith('thumbs.training')))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "[]"


def test_no_import_cycle_lazy_imports_included():
    g = graph(lazy=True)
    state: dict[str, int] = {}

    def visit(m: str, trail: list[str]) -> None:
        state[m] = 1
        for d in sorted(g.get(m, set())):
            assert state.get(d) != 1, f"import cycle: {' -> '.join([*trail, m, d])}"
            if d not in state:
                visit(d, [*trail, m])
        state[m] = 2

    for m in sorted(g):
        if m not in state:
            visit(m, [])


def test_the_walk_sees_a_violation(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from thumbs.training import export\nimport torch\n\ndef f():\n    from . import cv2\n")
    assert imports(bad, "thumbs.live.bad", lazy=False) == {"thumbs.training", "thumbs.training.export", "torch"}
    assert "thumbs.live.cv2" in imports(bad, "thumbs.live.bad", lazy=True)
    g = {"thumbs.live.bad": {"thumbs.training.export"}, "thumbs.training.export": {"torch"}}
    assert needs_training("torch") and "torch" in closure(g, "thumbs.live.bad")


def test_the_rule_is_the_tree():
    live = live_modules()
    assert "thumbs.runtime.loader" in live and "thumbs.cli" in live and "thumbs.evaluate" in live
    assert not any(m.startswith("thumbs.training") for m in live)
    assert set(all_modules()) - set(live) == {m for m in all_modules() if m.startswith("thumbs.training")}
    assert all(p.is_relative_to(ROOT / "thumbs") for p in live.values())


def arrows_up(g: dict[str, set[str]]) -> list[str]:
    """Every import from a module into a layer above or beside its own (tests/layout.py LAYERS)."""
    return sorted(f"{m} -> {d}" for m, deps in g.items() for d in deps
                  if d.startswith("thumbs") and not may_import(m, d))


def test_no_arrow_up_lazy_imports_included():
    up = arrows_up(graph(lazy=True))
    assert not up, "imports into a layer above or beside (tests/layout.py LAYERS): " + "; ".join(up)


def test_every_module_has_a_layer_and_an_arrow_up_is_seen():
    assert {layer(m) for m in all_modules()} <= set(LAYERS)
    assert below("training") >= {"settings", "data", "runtime", "core"} and "live" not in below("training")
    assert arrows_up({"thumbs.runtime.loader": {"thumbs.training.torch_backend", "thumbs.core.errors"},
                      "thumbs.training.demo": {"thumbs.live.loop", "thumbs.training.export"},
                      "thumbs.data.dataset": {"thumbs.runtime.preprocess"}}) == \
        ["thumbs.data.dataset -> thumbs.runtime.preprocess", "thumbs.runtime.loader -> thumbs.training.torch_backend",
         "thumbs.training.demo -> thumbs.live.loop"]
    with pytest.raises(KeyError, match="thumbs.newpackage.x is in no layer"):
        layer("thumbs.newpackage.x")
