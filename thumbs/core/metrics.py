"""Scores a person can read: accuracy, per-class precision/recall/F1, confusion matrix (numpy only)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

# Session folders of frames kept by `live --capture` and labelled by `review` (data.captures writes them,
# data.dataset splits them by time): their held-out part is scored as "the captured place".
CAPTURE_PREFIX = "capture-"


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


def only_prediction(scores: Scores) -> str | None:
    """The one class a model predicts for every image, or None. A model that does this has not learned: the
    trainer says so in its notes, and the studio keeps the live model instead of it."""
    predicted = [c for c, column in enumerate(zip(*scores.confusion)) if sum(column)]
    return scores.classes[predicted[0]] if len(predicted) == 1 and len(scores.classes) > 1 else None


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


@dataclass
class SessionScore:
    session: str
    part: str  # "new": a session training never saw; "same": held-out runs of a training session
    images: int
    accuracy: float


@dataclass
class Validation:
    """One validation pass in two parts: `new` (whole sessions training never sees: what tomorrow looks
    like) and `same` (held-out runs of training sessions: optimistic). The headline, which also picks the
    best checkpoint, is `new` whenever it holds two or more classes: one class alone (say a single new
    session of 'up') cannot show whether the gestures are told apart, and would pick epochs by chance."""

    new: Scores | None
    same: Scores | None
    loss: float
    sessions: list[SessionScore]

    @property
    def new_decides(self) -> bool:
        return self.new is not None and (self.same is None or sum(1 for c in self.new.per_class if c.support) >= 2)

    @property
    def headline(self) -> Scores:
        return self.new if self.new_decides else self.same  # type: ignore[return-value]

    @property
    def captured(self) -> bool:
        """The new part is the later frames of capture sessions (dataset.split), not whole sessions."""
        new = [s.session for s in self.sessions if s.part == "new"]
        return bool(new) and all(s.startswith(CAPTURE_PREFIX) for s in new)

    @property
    def headline_name(self) -> str:
        if not self.new_decides:
            return "accuracy on held-out frames of the training sessions"
        if self.captured:
            return "accuracy on the captured place (its later frames, held out in time order)"
        return "accuracy on a new session"

    def to_dict(self) -> dict:
        return {"headline": self.headline_name, "new_session": self.new.to_dict() if self.new else None,
                "same_session": self.same.to_dict() if self.same else None, "loss": self.loss,
                "sessions": [asdict(s) for s in self.sessions]}


def score_parts(y_true: Sequence[int], y_pred: Sequence[int], is_new: Sequence[bool], sessions: Sequence[str],
                classes: Sequence[str], loss: float) -> Validation:
    """Score the new-session and same-session parts apart, and every session on its own."""
    def part(flag: bool) -> Scores | None:
        idx = [i for i, n in enumerate(is_new) if n == flag]
        return score([y_true[i] for i in idx], [y_pred[i] for i in idx], classes) if idx else None

    per_session: dict[tuple[str, bool], list[bool]] = {}
    for t, p, n, s in zip(y_true, y_pred, is_new, sessions):
        per_session.setdefault((s, n), []).append(t == p)
    table = [SessionScore(s, "new" if n else "same", len(hits), round(sum(hits) / len(hits), 4))
             for (s, n), hits in sorted(per_session.items(), key=lambda kv: (not kv[0][1], kv[0][0]))]
    return Validation(part(True), part(False), loss, table)


def weakest_class(scores: Scores) -> tuple[str, float, str | None, int] | None:
    """The class with the lowest recall among those validated, and what it is most often taken for."""
    rows = [(c.recall, i) for i, c in enumerate(scores.per_class) if c.support]
    if not rows:
        return None
    recall, i = min(rows)
    others = [(n, j) for j, n in enumerate(scores.confusion[i]) if j != i and n]
    if not others:
        return scores.classes[i], recall, None, 0
    n, j = max(others)
    return scores.classes[i], recall, scores.classes[j], n
