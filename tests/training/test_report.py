from __future__ import annotations

import cv2
import numpy as np

from thumbs.core import metrics
from thumbs.training import report


def _wrong(n: int) -> list[report.Wrong]:
    rng = np.random.default_rng(0)
    return [report.Wrong(rng.integers(0, 255, (48, 48, 3), dtype=np.uint8), "up", "down", 0.5 + i / 100, "kitchen")
            for i in range(n)]


def test_misclassified_png_shows_each_wrong_image_as_a_tile(tmp_path):
    path = report.misclassified_png(_wrong(8), tmp_path / "misclassified.png")
    grid = cv2.imread(str(path))
    assert grid.shape == (2 * report.TILE, report.COLUMNS * report.TILE, 3)  # 8 tiles: 6 + 2
    assert grid[report.TILE:, 2 * report.TILE:].max() == 32  # empty places stay background
    assert grid[:report.TILE, :report.TILE].std() > 20  # a tile holds the picture and its caption


def test_misclassified_png_is_capped_and_absent_when_nothing_is_wrong(tmp_path):
    path = report.misclassified_png(_wrong(40), tmp_path / "m.png")
    rows = -(-report.MAX_WRONG // report.COLUMNS)
    assert cv2.imread(str(path)).shape[:2] == (rows * report.TILE, report.COLUMNS * report.TILE)
    assert report.misclassified_png([], path) is None and not path.exists()


def _validation(new: bool) -> metrics.Validation:
    y_true, y_pred = [0, 0, 0, 1, 1, 1, 2, 2], [0, 0, 2, 1, 1, 1, 2, 2]
    is_new = [new, new, new, False, False, False, new, False]
    sessions = ["kitchen" if n else "s1" for n in is_new]
    return metrics.score_parts(y_true, y_pred, is_new, sessions, ["down", "none", "up"], 0.3)


def test_report_puts_the_new_session_figure_first_and_names_the_weakest_class(tmp_path):
    history = [{"epoch": 1, "stage": "full", "train_loss": 0.5, "train_acc": 0.8, "val_loss": 0.3, "val_acc": 0.75,
                "val_new_acc": 0.75, "val_same_acc": 1.0, "images_per_s": 100, "seconds": 1.0}]
    text = report.report_md(tmp_path, _validation(True), {"arch": "x"}, history, 1, []).read_text()
    lines = [line for line in text.splitlines() if line]
    assert lines[1].startswith("**Accuracy on a new session: 75.0%** on 4 images")
    assert "Same-session accuracy" in lines[2] and "100.0%" in lines[2]
    assert "**Weakest class: 'down'** (recall 67%; 1 taken for 'up')" in text
    assert "| kitchen | new session | 4 | 75.0% |" in text and "| s1 | same session | 4 | 100.0% |" in text


def test_one_session_report_says_it_is_optimistic(tmp_path):
    text = report.report_md(tmp_path, _validation(False), {}, [], 0, []).read_text()
    assert "accuracy on held-out frames of the training sessions" in text.lower()
    assert "**optimistic**" in text and "record another session" in text
