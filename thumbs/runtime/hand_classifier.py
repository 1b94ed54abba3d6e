"""`HandClassifier`: a hand model (ModelInfo.input "hand" or "landmarks") behind the hand front end.

Per frame: the front end finds the hands (tracking between frames), each hand is fed as the model was trained
(hands.inputs: its crop or its landmark features) in one batch, and the frame's prediction is the hand the
classifier is surest of. No hand found: the no-hand rule, the data set's no-gesture class with score 1.0,
without running the classifier. Each hand's label, score and landmarks ride along (overlay, events)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from thumbs.core.backend import Backend, Prediction
from thumbs.core.errors import ThumbsError
from thumbs.hands.frontend import HandFrontEnd
from thumbs.hands.hand import Hand
from thumbs.hands.inputs import hand_crop, landmark_features, no_hand_class


@dataclass
class HandResult:
    """One hand found in a frame and what the classifier says of it."""

    hand: Hand
    label: str
    score: float
    probs: np.ndarray

    def to_event(self) -> dict:
        return {**self.hand.to_event(), "label": self.label, "label_score": round(self.score, 4)}


@dataclass
class FoundHands:
    """A frame's hands and the model's input for them (None when there is no hand)."""

    hands: list[Hand]
    batch: np.ndarray | None


class HandClassifier:
    """A `Classifier` for hand models (the same members): `preprocess` runs the front end, `infer` the classifier
    on every hand found (the live loop times them apart: the front end counts as preprocessing)."""

    def __init__(self, backend: Backend, max_hands: int = 1, provider: str | None = None,
                 log: Callable[[str], None] = print, front_end: HandFrontEnd | None = None) -> None:
        self.backend = backend
        self.info, self.classes, self.img_size = backend.info, backend.classes, backend.img_size
        self.path, self.provider = backend.path, backend.provider
        self.none = no_hand_class(self.classes)
        if self.none is None:
            raise ThumbsError(f"'{backend.path}' is a hand model but its classes ({', '.join(self.classes)}) have "
                              "no no-gesture class for frames without a hand: retrain it with a `none` folder")
        self.front_end = front_end or HandFrontEnd(max_hands, provider, track=True, log=log)
        log(f"hand front end: {self.front_end.why}")
        self.crop = "full"  # the front end searches the whole frame
        self.preprocess = self.find_hands

    @property
    def sees(self) -> str:
        what = "landmarks of" if self.info.input == "landmarks" else f"{self.img_size}px crops of"
        return f"{what} up to {self.front_end.max_hands} hand(s) a frame"

    def predict_batch(self, batch: np.ndarray) -> np.ndarray:
        return self.backend.predict_batch(batch)

    def __call__(self, bgr: np.ndarray) -> Prediction:
        return self.infer(self.preprocess(bgr))

    def find_hands(self, bgr: np.ndarray) -> FoundHands:
        hands = self.front_end(bgr)
        return FoundHands(hands, self.inputs(bgr, hands) if hands else None)

    def inputs(self, bgr: np.ndarray, hands: list[Hand]) -> np.ndarray:
        """What the model was trained on, one row per hand: landmark features, or the float32 NCHW crop."""
        if self.info.input == "landmarks":
            return np.stack([landmark_features(hand) for hand in hands]).astype(np.float32)
        crops = np.stack([hand_crop(bgr, hand, self.img_size).transpose(2, 0, 1) for hand in hands])
        return crops.astype(np.float32) * np.float32(1 / 255)

    def infer(self, found: FoundHands) -> Prediction:
        start = time.perf_counter()
        if found.batch is None:
            probs = np.zeros(len(self.classes), np.float32)
            probs[self.classes.index(self.none)] = 1.0
            return Prediction(self.none, 1.0, probs, (time.perf_counter() - start) * 1000, hands=[])
        all_probs = self.predict_batch(found.batch)
        results = [HandResult(hand, self.classes[int(p.argmax())], float(p.max()), p)
                   for hand, p in zip(found.hands, all_probs)]
        top = max(results, key=lambda r: r.score)
        return Prediction(top.label, top.score, top.probs, (time.perf_counter() - start) * 1000, hands=results)
