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

from tests import live_venv  # noqa: E402
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


def made_once(tmp_path_factory, name: str, make: Callable[[Path], T]) -> T:
    """`make(folder)` once per test run. Under pytest-xdist every worker has its own session fixtures: the first
    worker that asks makes it in the run's shared temporary folder, the others wait for it and read it back."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return make(tmp_path_factory.mktemp(name))
    shared = tmp_path_factory.getbasetemp().parent  # pytest-N/, holding one folder per worker
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


def _train_resnet18(root: Path):
    from thumbs.training import train

    data, held_out = root / "train", root / "held_out"
    synthetic.make_dataset(data, per_class=300, seed=11, width=80, height=60)
    synthetic.make_dataset(held_out, per_class=60, seed=12, width=80, height=60)
    cfg = train.TrainConfig(data=str(data), arch="resnet18", weights="none", epochs=8, img_size=40,
                            batch_size=32, out=str(root / "run"))
    return train.train(cfg, log=lambda m: None), held_out


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """A ResNet-18 trained from scratch on generated thumbs at 40 px, shared by the training, export and live tests.
    Returns the TrainResult and a held-out data set. Measured (seed 11 here, 5 beside it): validation 0.71 (0.70),
    held-out 0.71 (0.69), direction 0.92 (0.94), live clip 0.99 (1.00) per frame, stable 0.81 (0.92); at 48 px
    0.74, 0.73, 0.94, 0.90 in 1.3 times as long. 6 epochs, 240 images a class, 32 px, lr 2e-3, or a MobileNet or
    SqueezeNet from scratch fell below the tests' bars."""
    return made_once(tmp_path_factory, "trained", _train_resnet18)


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
COSTLY_FIRST = ("trained", "opset13_models", "live_python")


def pytest_collection_modifyitems(items) -> None:
    """The tests of the costliest shared fixtures run first. Under pytest-xdist (-n 2, load scheduling) they are
    then in the first worker's first batch, so that worker makes each fixture once while the other runs the rest,
    instead of waiting for it (made_once) or making it again."""
    def rank(item) -> int:
        return next((i for i, name in enumerate(COSTLY_FIRST) if name in item.fixturenames), len(COSTLY_FIRST))

    items.sort(key=rank)  # stable: the rest keep their order
