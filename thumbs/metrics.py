"""Scores a person can read: accuracy, per-class precision/recall/F1, confusion matrix (numpy only)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np


@dataclass
class ClassScore:
    name: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class Scores:
    classes: list[str]
    accuracy: float
    confusion: list[list[int]]  # rows: true class, columns: predicted class
    per_class: list[ClassScore]
    count: int

    def to_dict(self) -> dict:
        return asdict(self)


def confusion_matrix(y_true: Sequence[int], y_pred: Sequence[int], n: int) -> np.ndarray:
    cm = np.zeros((n, n), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)), 1)
    return cm


def score(y_true: Sequence[int], y_pred: Sequence[int], classes: Sequence[str]) -> Scores:
    cm = confusion_matrix(y_true, y_pred, len(classes))
    tp = np.diag(cm).astype(float)
    predicted, actual = cm.sum(0), cm.sum(1)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros_like(tp),
                   where=(precision + recall) > 0)
    total = int(cm.sum())
    per_class = [ClassScore(c, round(float(p), 4), round(float(r), 4), round(float(f), 4), int(s))
                 for c, p, r, f, s in zip(classes, precision, recall, f1, actual)]
    accuracy = float(tp.sum() / total) if total else 0.0
    return Scores(list(classes), round(accuracy, 4), cm.tolist(), per_class, total)


def markdown(scores: Scores) -> str:
    """Per-class table and confusion matrix as Markdown, for report.md and the terminal."""
    lines = ["| class | precision | recall | F1 | images |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {c.name} | {c.precision:.3f} | {c.recall:.3f} | {c.f1:.3f} | {c.support} |"
              for c in scores.per_class]
    lines += ["", "Confusion matrix (rows: true class, columns: predicted):", "",
              "| true \\ predicted | " + " | ".join(scores.classes) + " |",
              "|---|" + "---:|" * len(scores.classes)]
    lines += [f"| {name} | " + " | ".join(str(v) for v in row) + " |"
              for name, row in zip(scores.classes, scores.confusion)]
    return "\n".join(lines)
