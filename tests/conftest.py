"""Shared fixtures: small generated data made once per test session, and ../shared when present."""

from __future__ import annotations

from pathlib import Path

import pytest

from thumbs import demo

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
REAL_THUMBS = SHARED / "real-thumbs"
SHARED_WEIGHTS = SHARED / "weights" / "mobilenet_v2_x0.35_imagenet_keras_features.pth"


@pytest.fixture(scope="session")
def demo_video(tmp_path_factory) -> Path:
    """45 frames: up, none, down, 15 frames each, with ground truth beside it."""
    path = tmp_path_factory.mktemp("video") / "clip.mp4"
    return demo.make_video(path, segments=[("up", 15), ("none", 15), ("down", 15)], seed=3, width=160,
                           height=120)


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory) -> Path:
    """A generated up/down/none data set (shared, read-only for tests: copy before changing it)."""
    root = tmp_path_factory.mktemp("demo") / "dataset"
    demo.make_dataset(root, per_class=40, seed=0, width=96, height=72)
    return root


def require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is not present (it lives in ../shared beside the project checkout)")
    return path
