"""What a person reads after training: report.md (scores, confusion, settings) and curves.png."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from thumbs import metrics
from thumbs.files import write_atomic


def curves_png(history: list[dict], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [h["epoch"] for h in history]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key, title in ((ax_loss, "loss", "loss"), (ax_acc, "acc", "accuracy")):
        ax.plot(epochs, [h[f"train_{key}"] for h in history], "o-", label="train")
        ax.plot(epochs, [h[f"val_{key}"] for h in history], "o-", label="validation")
        ax.set_xlabel("epoch")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend()
    ax_acc.set_ylim(0, 1.02)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return write_atomic(path, buf.getvalue())


def report_md(run_dir: Path, scores: metrics.Scores, settings: dict[str, Any], history: list[dict],
              best_epoch: int, notes: list[str]) -> Path:
    lines = [f"# Training report: {run_dir.name}", "",
             f"Best epoch **{best_epoch}** of {len(history)}: validation accuracy **{scores.accuracy:.1%}** "
             f"on {scores.count} images.", ""]
    lines += [f"- {n}" for n in notes] + [""] if notes else []
    lines += ["## Per class (validation, best model)", "", metrics.markdown(scores), "",
              "## Curves", "", "![loss and accuracy](curves.png)", "",
              "| epoch | stage | train loss | train acc | val loss | val acc | images/s | seconds |",
              "|---:|---|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {h['epoch']} | {h['stage']} | {h['train_loss']:.4f} | {h['train_acc']:.3f} | {h['val_loss']:.4f} "
              f"| {h['val_acc']:.3f} | {h['images_per_s']:.0f} | {h['seconds']:.1f} |" for h in history]
    lines += ["", "## Settings", "", "| setting | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in settings.items()]
    return write_atomic(run_dir / "report.md", ("\n".join(lines) + "\n").encode())
