"""`thumbs eval`: score a .pt checkpoint or an .onnx model on any class-folder data set.

Classes are matched by name: the folder may hold a subset of the model's classes in any order;
a folder the model does not know is reported and not scored. A hand model is scored as live runs it: the hand
front end finds the hands (once per photo, hands/found.py), a photo with no hand is the no-gesture class (the
no-hand rule), the others are fed the best hand's crop or landmarks."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from thumbs.core import metrics
from thumbs.core.errors import ThumbsError
from thumbs.core.files import read_image
from thumbs.core.model_info import ModelInfo
from thumbs.data import dataset
from thumbs.hands.found import HandCache, default_dir
from thumbs.hands.inputs import hand_crop, landmark_features, no_hand_class
from thumbs.runtime.loader import load_model
from thumbs.runtime.preprocess import model_view

BATCH = 32


@dataclass
class EvalResult:
    model: str
    data: str
    scores: metrics.Scores
    provider: str  # what ran the model: an ONNX Runtime provider, or PyTorch on the CPU/GPU
    unknown_classes: dict[str, int] = field(default_factory=dict)  # folder -> images not scored
    skipped: list[str] = field(default_factory=list)  # unreadable files
    no_hand: dict[str, int] | None = None  # hand models: class -> photos with no hand (answered by the rule)

    def to_dict(self) -> dict:
        return {"model": self.model, "data": self.data, "provider": self.provider, **self.scores.to_dict(),
                "unknown_classes": self.unknown_classes, "skipped": self.skipped, "no_hand": self.no_hand}


RULE = "rule"  # _Feed's answer for a photo with no hand: the no-gesture class, without the model


class _Feed:
    """Photo -> what the model is fed (float32, one sample), RULE, or None for an unreadable photo."""

    def __init__(self, info: ModelInfo, log: Callable[[str], None]) -> None:
        self.info = info
        self.found: HandCache | None = None
        if info.input != "frame":
            from thumbs.hands import HandFrontEnd

            self.found = HandCache(default_dir(), HandFrontEnd(max_hands=1, track=False, log=log))

    def __call__(self, path: Path) -> np.ndarray | str | None:
        hands = self.found.hands(path) if self.found else []
        if hands is None:
            return None
        if self.found and not hands:
            return RULE
        if self.info.input == "landmarks":
            return landmark_features(hands[0])
        bgr = read_image(path)
        if bgr is None:
            return None
        size = self.info.img_size
        view = model_view(bgr, size, self.info.crop) if not hands else hand_crop(bgr, hands[0], size).transpose(2, 0, 1)
        return view.astype(np.float32) / 255


def evaluate(model_path: str | Path, data_root: str | Path, provider: str | None = "auto",
             log: Callable[[str], None] = print) -> EvalResult:
    """Each image preprocessed with the model's own size and crop policy, as live does. `provider` as live takes
    it; `log` hears the loader (a TensorRT engine build takes minutes: the user must see why nothing moves)."""
    import thumbs.training  # noqa: F401  (registers the .pt loader; PyTorch loads only for a .pt)

    predictor = load_model(model_path, provider, log=log)
    feed = _Feed(predictor.info, log)
    rule = predictor.classes.index(no_hand_class(predictor.classes) or predictor.classes[0])
    no_hand: dict[str, int] = {}
    scanned = dataset.scan(data_root)
    unknown = {name: len(paths) for name, paths in scanned.items() if name not in predictor.classes}
    y_true: list[int] = []
    y_pred: list[int] = []
    skipped: list[str] = []
    for name, paths in scanned.items():
        if name in unknown:
            continue
        target = predictor.classes.index(name)
        for start in range(0, len(paths), BATCH):
            batch = []
            for p in paths[start:start + BATCH]:
                x = feed(p)
                if x is None:
                    skipped.append(str(p))
                elif isinstance(x, str):
                    no_hand[name] = no_hand.get(name, 0) + 1
                    y_pred.append(rule)
                    y_true.append(target)
                else:
                    batch.append(x)
            if batch:
                probs = predictor.predict_batch(np.stack(batch))
                if not np.isfinite(probs).all():
                    raise ThumbsError(f"model '{model_path}' outputs NaN or infinity: its weights are broken (a "
                                      "training run that diverged?); retrain, e.g. with a lower --lr")
                y_pred += probs.argmax(1).tolist()
                y_true += [target] * len(batch)
    if not y_true:
        known = ", ".join(predictor.classes)
        raise ThumbsError(f"'{data_root}' has no readable images in any class the model knows ({known})")
    scores = metrics.score(y_true, y_pred, predictor.classes)
    return EvalResult(str(model_path), str(data_root), scores, predictor.provider, unknown, skipped,
                      no_hand if feed.found else None)
