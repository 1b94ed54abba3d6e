"""`thumbs eval`: score a .pt checkpoint or an .onnx model on any class-folder data set.

Classes are matched by name: the folder may hold a subset of the model's classes in any order;
a folder the model does not know is reported and not scored."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from thumbs.core import metrics
from thumbs.core.errors import ThumbsError
from thumbs.core.files import read_image
from thumbs.data import dataset
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

    def to_dict(self) -> dict:
        return {"model": self.model, "data": self.data, "provider": self.provider, **self.scores.to_dict(),
                "unknown_classes": self.unknown_classes, "skipped": self.skipped}


def evaluate(model_path: str | Path, data_root: str | Path, provider: str | None = "auto",
             log: Callable[[str], None] = print) -> EvalResult:
    """Each image preprocessed with the model's own size and crop policy, as live does. `provider` as live takes
    it; `log` hears the loader (a TensorRT engine build takes minutes: the user must see why nothing moves)."""
    import thumbs.training  # noqa: F401  (registers the .pt loader; PyTorch loads only for a .pt)

    predictor = load_model(model_path, provider, log=log)
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
                bgr = read_image(p)
                if bgr is None:
                    skipped.append(str(p))
                    continue
                batch.append(model_view(bgr, predictor.img_size, predictor.crop))
            if batch:
                probs = predictor.predict_batch(np.stack(batch).astype(np.float32) / 255)
                if not np.isfinite(probs).all():
                    raise ThumbsError(f"model '{model_path}' outputs NaN or infinity: its weights are broken (a "
                                      "training run that diverged?); retrain, e.g. with a lower --lr")
                y_pred += probs.argmax(1).tolist()
                y_true += [target] * len(batch)
    if not y_true:
        known = ", ".join(predictor.classes)
        raise ThumbsError(f"'{data_root}' has no readable images in any class the model knows ({known})")
    scores = metrics.score(y_true, y_pred, predictor.classes)
    return EvalResult(str(model_path), str(data_root), scores, predictor.provider, unknown, skipped)
