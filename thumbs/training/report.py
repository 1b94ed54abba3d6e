"""What a person reads after training: report.md (the new-session accuracy first, per-session scores, the
weakest class and what to record for it, confusion, settings), curves.png and misclassified.png."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from thumbs.core import metrics
from thumbs.core.errors import SHOW_NAMES, ThumbsError
from thumbs.core.files import write_atomic

MAX_WRONG = 24  # tiles in misclassified.png
TILE = 160  # pixels per tile side
COLUMNS = 6
VARY = "another room or light, nearer and farther, other positions in the frame, the other hand"


@dataclass
class Wrong:
    """A validation image the model got wrong: what it saw (RGB uint8 HWC) and what it said."""

    image: np.ndarray
    true: str
    predicted: str
    confidence: float
    session: str = ""


def misclassified_png(wrong: list[Wrong], path: Path) -> Path | None:
    """A grid of up to MAX_WRONG wrong images, most confident mistakes first, each captioned with the true
    label, the prediction and its confidence. No file (and an old one removed) when nothing is wrong."""
    if not wrong:
        path.unlink(missing_ok=True)
        return None
    shown = sorted(wrong, key=lambda w: -w.confidence)[:MAX_WRONG]
    cols = min(COLUMNS, len(shown))
    rows = math.ceil(len(shown) / cols)
    grid = np.full((rows * TILE, cols * TILE, 3), 32, np.uint8)
    for k, w in enumerate(shown):
        tile = cv2.resize(cv2.cvtColor(w.image, cv2.COLOR_RGB2BGR), (TILE, TILE), interpolation=cv2.INTER_AREA)
        cv2.rectangle(tile, (0, TILE - 38), (TILE, TILE), (0, 0, 0), -1)
        cv2.putText(tile, f"true {w.true}"[:22], (4, TILE - 22), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (80, 200, 80), 1,
                    cv2.LINE_AA)
        cv2.putText(tile, f"said {w.predicted} {w.confidence:.0%}"[:22], (4, TILE - 6), cv2.FONT_HERSHEY_SIMPLEX,
                    0.45, (60, 60, 230), 1, cv2.LINE_AA)
        r, c = divmod(k, cols)
        grid[r * TILE:(r + 1) * TILE, c * TILE:(c + 1) * TILE] = tile
    ok, buf = cv2.imencode(".png", grid)
    if not ok:
        raise ThumbsError(f"could not encode {path.name}")
    return write_atomic(path, buf.tobytes())


def curves_png(history: list[dict], path: Path) -> Path:
    """Loss and accuracy per epoch. A bare Figure (no pyplot state, no backend switch) with fixed margins: every
    run draws one, and tight_layout's measuring pass took half of its 0.2 s."""
    from matplotlib.figure import Figure

    epochs = [h["epoch"] for h in history]
    fig = Figure(figsize=(10, 4))
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.13, top=0.92, wspace=0.18)
    ax_loss, ax_acc = fig.subplots(1, 2)
    for ax, key, title in ((ax_loss, "loss", "loss"), (ax_acc, "acc", "accuracy")):
        ax.plot(epochs, [h[f"train_{key}"] for h in history], "o-", label="train")
        ax.plot(epochs, [h[f"val_{key}"] for h in history], "o-", label="validation")
        ax.set_xlabel("epoch")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend()
    ax_acc.set_ylim(0, 1.02)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return write_atomic(path, buf.getvalue())


def _headline(validation: metrics.Validation, best_epoch: int, epochs: int, one_session: list[str]) -> list[str]:
    head = validation.headline
    lines = [f"**{validation.headline_name[0].upper() + validation.headline_name[1:]}: {head.accuracy:.1%}** "
             f"on {head.count} images (best epoch {best_epoch} of {epochs}, chosen by this figure).", ""]
    if validation.new_decides and validation.same is not None:
        lines += [f"Same-session accuracy (held-out frames of the training sessions, optimistic): "
                  f"{validation.same.accuracy:.1%} on {validation.same.count} images."]
    if validation.new is not None and not validation.new_decides:
        shown = ", ".join(c.name for c in validation.new.per_class if c.support)
        lines += [f"Accuracy on a new session: {validation.new.accuracy:.1%} on {validation.new.count} images, of "
                  f"{shown} only: too narrow to choose by, so the figure above is **optimistic**. Record another "
                  "session of the other classes too."]
    elif validation.new is None:
        lines += ["This figure is **optimistic**: every validation image comes from a session training also saw "
                  "(same room, light and hand). To measure what tomorrow looks like, record another session of "
                  "each class (another day, room or light): `thumbs collect --label NAME`, or put copied-in "
                  "photos in a sub-folder per session (dataset/up/kitchen/)."]
    elif one_session:
        lines += [f"Classes recorded in one session ({', '.join(one_session)}) have no new-session images: "
                  "their figures are optimistic; record another session of each."]
    return lines + [""]


def _weakest(validation: metrics.Validation) -> list[str]:
    found = metrics.weakest_class(validation.headline)
    if found is None:
        return []
    name, recall, taken_for, n = found
    if recall >= 1.0:
        return [f"Every validated class is recognised; to keep it so on new days, vary: {VARY}.", ""]
    mistake = f"; {n} taken for '{taken_for}'" if taken_for else ""
    return [f"**Weakest class: '{name}'** (recall {recall:.0%}{mistake}). To improve it, record more '{name}' in "
            f"a new session: {VARY}" + (f"; and more '{taken_for}' that does not look like '{name}'"
                                        if taken_for else "") + ".", ""]


def _sessions_table(validation: metrics.Validation) -> list[str]:
    lines = ["## Accuracy per session (validation, best model)", "", "| session | part | images | accuracy |",
             "|---|---|---:|---:|"]
    lines += [f"| {s.session} | {'new session' if s.part == 'new' else 'same session'} | {s.images} | "
              f"{s.accuracy:.1%} |" for s in validation.sessions]
    return lines + [""]


def report_md(run_dir: Path, validation: metrics.Validation, settings: dict[str, Any], history: list[dict],
              best_epoch: int, notes: list[str], one_session: list[str] = (), wrong_png: Path | None = None,
              stopped: str | None = None) -> Path:
    """report.md: the figure that predicts tomorrow first, then what to do about it, then the details.
    `stopped`: the line that says a run is partial, first, where nobody misses it."""
    lines = [f"# Training report: {run_dir.name}", ""]
    lines += [stopped, ""] if stopped else []
    lines += _headline(validation, best_epoch, len(history), list(one_session))
    lines += _weakest(validation)
    lines += [f"- {n}" for n in notes] + [""] if notes else []
    if wrong_png is not None:
        lines += ["## Validation images the model got wrong", "", f"![misclassified]({wrong_png.name})", ""]
    lines += _sessions_table(validation)
    for title, scores in (("new session", validation.new), ("same session", validation.same)):
        if scores is not None:
            lines += [f"## Per class, {title} (validation, best model)", "", metrics.markdown(scores), ""]
    lines += ["## Curves", "", "![loss and accuracy](curves.png)", "",
              "| epoch | stage | train loss | train acc | val loss | val acc | new-session acc | same-session acc "
              "| images/s | seconds |", "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {h['epoch']} | {h['stage']} | {h['train_loss']:.4f} | {h['train_acc']:.3f} | {h['val_loss']:.4f} "
              f"| {h['val_acc']:.3f} | {_maybe(h.get('val_new_acc'))} | {_maybe(h.get('val_same_acc'))} "
              f"| {h['images_per_s']:.0f} | {h['seconds']:.1f} |" for h in history]
    lines += ["", "## Settings", "", "| setting | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in settings.items()]
    return write_atomic(run_dir / "report.md", ("\n".join(lines) + "\n").encode("utf-8", SHOW_NAMES))


def _maybe(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
