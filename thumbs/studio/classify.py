"""The live model on a thread of its own, so the studio's window draws every frame at the camera's rate
whatever the model costs (a ResNet-18 beside a training can take longer than a frame): each frame is offered,
the newest one waiting is classified, and the ones that came meanwhile are passed over, as a camera drops frames
for a slow reader. ONNX Runtime releases the GIL while it runs, so the window's thread keeps going."""

from __future__ import annotations

import threading

from thumbs.core.backend import Prediction
from thumbs.core.errors import ThumbsError
from thumbs.runtime.classifier import Classifier
from thumbs.sources.readers import Frame


class NewestFrameClassifier:
    def __init__(self, classifier: Classifier) -> None:
        self.classifier = classifier
        self._cond = threading.Condition()
        self._waiting: Frame | None = None
        self._done: list[tuple[Frame, Prediction]] = []
        self._error: BaseException | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="thumbs-classify", daemon=True)
        self._thread.start()

    def offer(self, frame: Frame) -> None:
        """The newest frame; one still waiting is replaced (passed over)."""
        with self._cond:
            self._waiting = frame
            self._cond.notify()

    def results(self) -> list[tuple[Frame, Prediction]]:
        """The frames classified since the last call, in order; an error of the model is raised here, in one line."""
        with self._cond:
            done, self._done = self._done, []
            if self._error is not None:
                raise ThumbsError(f"the live model {self.classifier.path} failed on a frame: {self._error}")
        return done

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._waiting is None and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                frame, self._waiting = self._waiting, None
            try:
                pred = self.classifier.infer(self.classifier.preprocess(frame.image))
            except Exception as e:  # handed to the window's thread, which says it
                with self._cond:
                    self._error = e
                return
            with self._cond:
                self._done.append((frame, pred))

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(5)
