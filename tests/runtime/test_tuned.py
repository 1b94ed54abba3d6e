"""The CPU session that takes a thread away while other work holds a core: a real ONNX Runtime session per
thread count, the same answers from each, and the plain session wherever the policy does not tune."""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers import make_checkpoint
from thumbs.core import threads
from thumbs.runtime import loader
from thumbs.runtime.tuned import TunedSession
from thumbs.training.export import export


@pytest.fixture(scope="module")
def onnx_path(tmp_path_factory):
    return export(make_checkpoint(tmp_path_factory.mktemp("tuned") / "best.pt"), log=lambda m: None).onnx_path


def test_a_slow_count_gives_way_to_one_thread_fewer_with_the_same_answers(onnx_path, monkeypatch) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(threads, "cores", lambda: 2)
    monkeypatch.setattr(threads.OtherLoad, "since_last", lambda self: None)  # this machine's neighbours: unknown
    backend = loader.load_model(onnx_path, "cpu", log=lambda m: None)
    session = backend.session
    assert isinstance(session, TunedSession) and session.sessions[2].get_session_options().intra_op_num_threads == 2
    x = np.random.default_rng(0).random((1, 3, backend.img_size, backend.img_size), dtype=np.float32)
    two = backend.predict_batch(x)
    session.tuner.hold = 0.0  # this test is about what it chooses, not when
    for _ in range(threads.TRIAL_STEPS):
        session.tuner.timed(1.0)  # two threads, as slow as on a busy core (the first is not counted)
    backend.predict_batch(x)  # the last of the held count's steps: one thread fewer goes on trial
    assert session.tuner.trial == 1 and session.current is session.sessions[1]
    assert session.current.get_session_options().intra_op_num_threads == 1
    for _ in range(threads.TRIAL_STEPS + 1):
        np.testing.assert_allclose(backend.predict_batch(x), two, atol=1e-6)
    assert session.tuner.threads == 1 and session.current is session.sessions[1]  # fast, it stays


@pytest.mark.parametrize("env", [{"OMP_NUM_THREADS": "2"}, {}])
def test_a_count_the_user_set_or_a_single_core_keeps_the_plain_session(onnx_path, monkeypatch, env) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(threads, "cores", lambda: 1 if not env else 2)
    session = loader.load_model(onnx_path, "cpu", log=lambda m: None).session
    assert not isinstance(session, TunedSession)
    assert session.get_session_options().intra_op_num_threads == int(env.get("OMP_NUM_THREADS", 1))
