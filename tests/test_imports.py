"""The package's import graph: the live path never pulls in torch or the training/export stack, and
no module imports another that imports it back."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "thumbs"
LIVE_PATH = {"sources", "preprocess", "providers", "runtime", "live", "overlay", "window", "smoothing", "collect",
             "datacheck", "doctor", "dataset", "model_info", "files", "errors", "metrics"}
HEAVY = {"torch", "torchvision", "thumbs.export", "thumbs.train", "thumbs.training_data", "thumbs.checkpoint",
         "thumbs.models", "thumbs.torch_backend", "thumbs.report", "thumbs.demo"}


def top_level_imports(path: Path) -> set[str]:
    """Modules imported when the module loads (imports inside functions run only when called)."""
    found: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            if node.module == "thumbs":
                found |= {f"thumbs.{a.name}" for a in node.names}
    return found


def graph() -> dict[str, set[str]]:
    return {f"thumbs.{p.stem}": top_level_imports(p) for p in PACKAGE.glob("*.py")}


def test_live_path_never_imports_torch_or_the_training_stack():
    g = graph()
    for name in sorted(LIVE_PATH):
        reach, todo = set(), [f"thumbs.{name}"]
        while todo:
            for dep in g.get(todo.pop(), set()) - reach:
                reach.add(dep)
                todo.append(dep)
        assert not reach & HEAVY, f"thumbs.{name} imports {sorted(reach & HEAVY)}"


def test_no_import_cycle():
    g = {m: {d for d in deps if d in graph()} for m, deps in graph().items()}
    state: dict[str, int] = {}

    def visit(m: str, trail: list[str]) -> None:
        state[m] = 1
        for d in g[m]:
            assert state.get(d) != 1, f"import cycle: {' -> '.join([*trail, m, d])}"
            if d not in state:
                visit(d, [*trail, m])
        state[m] = 2

    for m in g:
        if m not in state:
            visit(m, [])


def test_the_walk_would_see_a_violation(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from thumbs import export\nimport torch\n\ndef f():\n    import cv2\n")
    assert top_level_imports(bad) == {"thumbs", "thumbs.export", "torch"}
