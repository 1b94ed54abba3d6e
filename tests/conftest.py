"""Shared fixtures: small generated data made once per test session, and ../shared when present."""

from __future__ import annotations

import os
import pickle
import signal
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
from filelock import FileLock

T = TypeVar("T")
# One thread for PyTorch and OpenMP here and in every CLI subprocess (set before torch is first imported). The
# tests' networks are tiny: a second thread's hand-over costs more than it gives, and on a busy machine (or with
# pytest -n 2 beside another worker) OpenMP's threads wait on each other: a training step measured 5-20x slower.
os.environ["OMP_NUM_THREADS"] = "1"
# glibc's malloc hands freed tensors back to the OS and faults them in again at the next step: the trained model's
# training took 2.6 million page faults and 7.6 s of system time, 0.2 million and 2.7 s with these (4 GiB: never).
# Read at a process's start: pytest-xdist's workers and every subprocess get them, this first process does not.
for _name in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"):
    os.environ.setdefault(_name, str(4 << 30))

from tests import live_venv, trained_model  # noqa: E402
from thumbs.training import synthetic  # noqa: E402

# Ctrl-C tests need Python's own SIGINT handler, also when pytest was started with SIGINT ignored (a
# background job of a non-interactive shell inherits that, and so would every subprocess a test starts)
signal.signal(signal.SIGINT, signal.default_int_handler)
# the decoded-image cache of every test and CLI subprocess goes to a temporary folder, not ~/.cache
os.environ["THUMBS_CACHE"] = tempfile.mkdtemp(prefix="thumbs-test-cache-")

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
REAL_THUMBS = SHARED / "real-thumbs"
SHARED_WEIGHTS = SHARED / "weights" / "mobilenet_v2_x0.35_imagenet_keras_features.pth"


@pytest.fixture(scope="session")
def demo_video(tmp_path_factory) -> Path:
    """45 frames: up, none, down, 15 frames each, with ground truth beside it."""
    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    return synthetic.make_video(path, segments=[("up", 15), ("none", 15), ("down", 15)], seed=3, width=160,
                           height=120)


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory) -> Path:
    """A generated up/down/none data set (shared, read-only for tests: copy before changing it)."""
    root = tmp_path_factory.mktemp("demo") / "dataset"
    synthetic.make_dataset(root, per_class=40, seed=0, width=96, height=72)
    return root


def run_folder(tmp_path_factory) -> Path:
    """The folder of this test run that every pytest-xdist worker shares (pytest-N/, holding one per worker)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def made_once(tmp_path_factory, name: str, make: Callable[[Path], T]) -> T:
    """`make(folder)` once per test run. Under pytest-xdist every worker has its own session fixtures: the first
    worker that asks makes it in the run's shared temporary folder, the others wait for it and read it back."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return make(tmp_path_factory.mktemp(name))
    shared = run_folder(tmp_path_factory)
    done = shared / f"{name}.pickle"
    with FileLock(f"{done}.lock"):
        if done.exists():
            return pickle.loads(done.read_bytes())
        folder = shared / name
        folder.mkdir()
        made = make(folder)
        done.write_bytes(pickle.dumps(made))
        return made


def require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is not present (it lives in ../shared beside the project checkout)")
    return path


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """A ResNet-18 trained from scratch on generated thumbs at 40 px (tests/trained_model.py), shared by the
    training, export and live tests: the TrainResult and a held-out data set. Trained in a process of its own
    that starts when the tests are collected (pytest_collection_finish); started here if that did not run."""
    folder = run_folder(tmp_path_factory) / "trained"
    trained_model.start_once(folder)
    return trained_model.wait(folder)


@pytest.fixture(scope="session")
def live_video(tmp_path_factory) -> Path:
    """A held-out clip in long segments (as a person would hold a gesture), ground truth beside it."""
    path = tmp_path_factory.mktemp("live") / "live.mp4"
    return synthetic.make_video(path, segments=[("up", 40), ("none", 30), ("down", 40), ("up", 30)], seed=21,
                           width=160, height=120)


@pytest.fixture(scope="session")
def live_python() -> Path:
    """The Python of the Nano's live install (.venv38), with the tree's thumbs installed in it. Skips where .ci/run
    has not made it (no Python 3.8 there); fails when it exists but is not Python 3.8 + onnxruntime 1.11.0."""
    if not live_venv.PYTHON.exists():
        pytest.skip(f"{live_venv.VENV} is absent: .ci/run makes it (Python 3.8, onnxruntime {live_venv.ORT}, "
                    "the live install)")
    found = live_venv.describe()
    wrong = live_venv.problems(found)
    assert not wrong, f"{live_venv.VENV} is not the Nano's live install: {'; '.join(wrong)} (rerun .ci/run)"
    if live_venv.stale(found):
        with FileLock(str(live_venv.VENV / "reinstall.lock")):  # pytest-xdist workers: one reinstalls, the rest wait
            if live_venv.stale(live_venv.describe()):
                live_venv.reinstall()
        assert not live_venv.stale(live_venv.describe()), "the reinstalled thumbs still differs from the tree"
    return live_venv.PYTHON


# alexnet at 96 px, not its 224: its 2x2 last feature map is pooled to 6x6 by export's MatrixPool (opset 13 has no
# adaptive pool), which test_export_matches_pytorch_for_every_architecture then checks; the rest at 64 px.
OPSET13_SIZES = {"alexnet": 96}


@pytest.fixture(scope="session")
def opset13_models(tmp_path_factory) -> dict[str, Path]:
    """The default export (opset 13, what the Nano's TensorRT 8.2 parses) of every architecture, untrained, as
    `thumbs export` writes it from a default training (flip-averaged); a PyTorch reference output beside each."""
    return made_once(tmp_path_factory, "opset13", _export_opset13)


def _export_opset13(root: Path) -> dict[str, Path]:
    import numpy as np
    import torch

    from tests.helpers import make_checkpoint
    from thumbs.training import checkpoint, export, models

    exported = {}
    for arch in models.ARCHS:
        size = OPSET13_SIZES.get(arch, 64)
        ckpt = make_checkpoint(root / arch / "best.pt", arch, size, settings={"flip_average": True})
        result = export.export(ckpt, log=lambda m: None)
        assert result.opset == 13, f"{arch} exported at opset {result.opset}, not 13"
        x = np.random.default_rng(0).random((2, 3, size, size), dtype=np.float32)
        net = torch.nn.Sequential(models.from_checkpoint(checkpoint.load(ckpt)), torch.nn.Softmax(dim=1)).eval()
        with torch.no_grad():
            reference = net(torch.from_numpy(x)).numpy()
        np.save(f"{result.onnx_path}.input.npy", x)
        np.save(f"{result.onnx_path}.torch.npy", reference)
        exported[arch] = result.onnx_path
    return exported


@pytest.fixture(scope="session")
def display():
    """One virtual display for the session."""
    from tests.studio.driver import virtual_display

    with virtual_display() as name:
        yield name


# Session fixtures that cost most, in the order their tests run first.
COSTLY_FIRST = ("opset13_models", "live_python")


def pytest_collection_modifyitems(items) -> None:
    """The tests of the costliest shared fixtures run first. Under pytest-xdist (-n 2, load scheduling) they are
    then in the first worker's first batch, so that worker makes each fixture once while the other runs the rest,
    instead of waiting for it (made_once) or making it again. The trained model's tests run last: it trains in
    its own process meanwhile, on whatever core the tests leave idle."""
    def rank(item) -> tuple[bool, int]:
        costly = next((i for i, name in enumerate(COSTLY_FIRST) if name in item.fixturenames), len(COSTLY_FIRST))
        return "trained" in item.fixturenames, costly

    items.sort(key=rank)  # stable: the rest keep their order


def pytest_collection_finish(session) -> None:
    """Start training the `trained` fixture's model as soon as a selected test is known to need it."""
    if session.config.option.collectonly or not any("trained" in i.fixturenames for i in session.items):
        return
    trained_model.start_once(run_folder(session.config._tmp_path_factory) / "trained")
