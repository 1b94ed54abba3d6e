"""`thumbs eval`: score a .pt checkpoint or an .onnx model on any class-folder data set.

Classes are matched by name: the folder may hold a subset of the model's classes in any order;
a folder the model does not know is reported and not scored."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from thumbs import dataset, metrics
from thumbs.errors import ThumbsError
from thumbs.files import read_image
from thumbs.preprocess import model_view

BATCH = 32


@dataclass
class Predictor:
    """A model reduced to what evaluation needs: names, input size, batch -> probabilities."""

    classes: list[str]
    img_size: int
    predict: Callable[[np.ndarray], np.ndarray]  # float32 NCHW [0, 1] -> probabilities (N, classes)


@dataclass
class EvalResult:
    model: str
    data: str
    scores: metrics.Scores
    unknown_classes: dict[str, int] = field(default_factory=dict)  # folder -> images not scored
    skipped: list[str] = field(default_factory=list)  # unreadable files

    def to_dict(self) -> dict:
        return {"model": self.model, "data": self.data, **self.scores.to_dict(),
                "unknown_classes": self.unknown_classes, "skipped": self.skipped}


def _torch_predictor(path: Path) -> Predictor:
    try:
        import torch

        from thumbs import checkpoint
    except ImportError:
        raise ThumbsError("evaluating a .pt checkpoint needs the training extra: pip install 'thumbs[train]' "
                          "(or export it and evaluate the .onnx)") from None
    ckpt = checkpoint.load(path)
    model = checkpoint.build_model(ckpt)

    def predict(batch: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return torch.softmax(model(torch.from_numpy(batch)), 1).numpy()

    return Predictor(list(ckpt["classes"]), int(ckpt["img_size"]), predict)


def load_predictor(path: str | Path) -> Predictor:
    path = Path(path)
    if not path.exists():
        raise ThumbsError(f"model '{path}' does not exist")
    if path.suffix == ".onnx":
        from thumbs.runtime import Classifier

        clf = Classifier.load(path)
        return Predictor(clf.classes, clf.img_size, clf.predict_batch)
    if path.suffix in (".pt", ".pth"):
        return _torch_predictor(path)
    raise ThumbsError(f"model '{path}': expected a .pt checkpoint or an .onnx file")


def evaluate(model_path: str | Path, data_root: str | Path) -> EvalResult:
    predictor = load_predictor(model_path)
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
                batch.append(model_view(bgr, predictor.img_size))
            if batch:
                probs = predictor.predict(np.stack(batch).astype(np.float32) / 255)
                y_pred += probs.argmax(1).tolist()
                y_true += [target] * len(batch)
    if not y_true:
        known = ", ".join(predictor.classes)
        raise ThumbsError(f"'{data_root}' has no readable images in any class the model knows ({known})")
    scores = metrics.score(y_true, y_pred, predictor.classes)
    return EvalResult(str(model_path), str(data_root), scores, unknown, skipped)
