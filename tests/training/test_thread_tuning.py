"""Training on the CPU tunes its thread count as it runs (thumbs/core/threads.py), unless the user set one."""

from __future__ import annotations

import pytest
import torch

from thumbs.core import threads
from thumbs.training import train


def _cfg(data, out) -> train.TrainConfig:
    return train.TrainConfig(data=str(data), arch="mobilenet_v2_x0_35", weights="none", epochs=2, img_size=32,
                             batch_size=16, cache=False, out=str(out), device="cpu")


@pytest.mark.parametrize("user_count", [None, "2"])
def test_training_tries_one_thread_fewer_unless_the_user_set_the_count(demo_data, tmp_path, monkeypatch,
                                                                       user_count) -> None:
    monkeypatch.setattr(threads, "cores", lambda: 2)
    monkeypatch.setattr(threads, "FIRST_HOLD", 0.0)  # at once and in few steps: the test is about what, not when
    monkeypatch.setattr(threads, "TRIAL_STEPS", 2)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)  # the tests' processes run one (conftest)
    counts: list[int] = []
    monkeypatch.setattr(torch, "set_num_threads", counts.append)
    if user_count:
        monkeypatch.setenv("OMP_NUM_THREADS", user_count)
    else:
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    train.train(_cfg(demo_data, tmp_path / "run"), log=lambda m: None)
    if user_count:
        assert counts == []
    else:
        assert counts[0] == 1 and set(counts) <= {1, 2}
