"""An ONNX Runtime CPU session that takes one thread fewer while other work holds a core.

A session's thread count is fixed when it is made, so this keeps a session per count (warmed up: the first
trial's at load, others when first tried) and runs each inference on the one `threads.Tuner` chose from the
inferences' times. Quiet, every core's thread wins and inference is as fast as one plain session; with a core
busy, a waiting thread spun on that core and held up every inference, and one thread fewer wins
(docs/speed.md)."""

from __future__ import annotations

import time
from pathlib import Path

import onnxruntime as ort

from thumbs.core import threads
from thumbs.core.files import read_regular
from thumbs.runtime.providers import ORDER, make_session, warm_up

CPU = ORDER[2]


class TunedSession:
    """`run` as a session's; every other attribute (inputs, metadata, providers) is the first session's."""

    def __init__(self, path: Path, first: ort.InferenceSession, most: int) -> None:
        self.path, self.first = path, first
        self.sessions: dict[int, ort.InferenceSession] = {most: first}
        self.current = first
        self.tuner = threads.Tuner(self._use, most, load=threads.OtherLoad())
        self._made(most - 1)  # now, not in the middle of the frames: the first trial comes within a second

    def _made(self, count: int) -> ort.InferenceSession:
        if count not in self.sessions:
            session = make_session(read_regular(self.path), [CPU], cpu_threads=count)
            warm_up(session)
            self.sessions[count] = session
        return self.sessions[count]

    def _use(self, count: int) -> None:
        self.current = self._made(count)

    def run(self, outputs, feed):
        start = time.perf_counter()
        result = self.current.run(outputs, feed)
        self.tuner.timed(time.perf_counter() - start)
        return result

    def __getattr__(self, name: str):
        return getattr(self.first, name)


def tuned(path: Path, session: ort.InferenceSession) -> ort.InferenceSession:
    """The session itself where the policy does not tune (a GPU provider, a count the user set, one core)."""
    policy = threads.current()
    if session.get_providers()[0] != CPU or not policy.tunes:
        return session
    return TunedSession(path, session, threads.cores())  # type: ignore[return-value]
