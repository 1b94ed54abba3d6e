"""The embedded default: the whole product run end to end on synthetic data, no camera needed.

generate data -> collect from a clip -> train -> export -> live on a held-out clip (headless, with
--record and --events) -> frame accuracy against the clip's ground truth.

A command like `evaluate`: it wires the live install (collect, the live loop) and the training install (synthetic
data, train, export) through their public functions; neither of them imports the other."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from thumbs.core.errors import ThumbsError
from thumbs.core.files import check_writable_dir, write_atomic
from thumbs.train_config import DEMO_BATCH_SIZE, DEMO_IMG_SIZE, DEMO_PER_CLASS, TrainConfig

MARKER = ".thumbs-demo"  # marks a folder demo-data wrote, so a second run may write there again
RUN_MARKER = b"written by `thumbs demo`: its run, video and events, replaced by the next demo\n"


def claim_demo_dir(out_dir: Path) -> Path:
    """Refuse a folder holding anything demo-data did not write (a real data set is never touched),
    then mark it as demo output."""
    if out_dir.exists() and not out_dir.is_dir():
        raise ThumbsError(f"--out '{out_dir}' is a file: give a new or empty folder")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / MARKER).is_file():
        raise ThumbsError(f"--out '{out_dir}' already holds files that demo-data did not write: give a new or "
                          "empty folder (demo-data never writes into your own data)")
    check_writable_dir(out_dir)
    write_atomic(out_dir / MARKER, b"written by `thumbs demo-data`: synthetic data, safe to delete\n")
    return out_dir


def make_demo_data(out_dir: str | Path, per_class: int = DEMO_PER_CLASS, seed: int = 0) -> dict[str, Path]:
    """A training set, a clip to `collect` from, and a held-out live clip with ground truth."""
    if per_class < 1:
        raise ThumbsError(f"--per-class {per_class}: use 1 or more images per class")
    from thumbs.training import synthetic

    synthetic.check_out(Path(out_dir))  # before the folder is claimed: nothing is written for a name OpenCV fails on
    out_dir = claim_demo_dir(Path(out_dir))
    data = out_dir / "dataset"
    synthetic.make_dataset(data, per_class=per_class, seed=seed)
    clip = synthetic.make_video(out_dir / "clips" / "up.mp4", segments=[("up", 60)], seed=seed + 100)
    live = synthetic.make_video(out_dir / "clips" / "live.mp4", seed=seed + 200)
    return {"dataset": data, "collect clip": clip, "live clip": live, "ground truth": synthetic.truth_path(live)}


def clear_own_run(run_dir: Path) -> None:
    """The demo replaces only a run folder it marked as its own: one a person trained into (`thumbs train --out
    demo-run/run`) is refused, never deleted."""
    if not run_dir.exists():
        return
    if not (run_dir / MARKER).is_file():
        raise ThumbsError(f"'{run_dir}' holds a run the demo did not write: move it elsewhere, or give the demo "
                          "another --out")
    shutil.rmtree(run_dir)


@dataclass
class DemoResult:
    run_dir: Path
    val_accuracy: float
    onnx: Path
    record: Path
    events: Path
    frame_accuracy: float
    fps: float


def run_demo(out_dir: str | Path = "demo-run", arch: str = TrainConfig.arch, epochs: int = TrainConfig.epochs,
             img_size: int = DEMO_IMG_SIZE, per_class: int = DEMO_PER_CLASS, seed: int = 0,
             log: Callable[[str], None] = print) -> DemoResult:
    out_dir = Path(out_dir)
    run_dir = out_dir / "run"  # everything the demo makes from the data: model, report, video, events
    clear_own_run(run_dir)
    log("1/5 generating synthetic data and clips")
    paths = make_demo_data(out_dir, per_class=per_class, seed=seed)  # refuses a bad --out before torch loads

    from thumbs.live import loop as live
    from thumbs.live.collect import collect
    from thumbs.runtime.classifier import Classifier
    from thumbs.sources import readers as sources
    from thumbs.training import export, synthetic, train

    log("2/5 collecting frames from a clip (headless, every 0.5 s), as `thumbs collect` does from a camera")
    with sources.open_source(str(paths["collect clip"])) as src:
        got = collect(src, "up", paths["dataset"], interval=0.5)
    log(f"    saved {len(got.saved)} frames to {paths['dataset'] / 'up'}")
    log(f"3/5 training {arch} from random initialisation (offline demo: no pretrained download)")
    cfg = TrainConfig(data=str(paths["dataset"]), arch=arch, weights="none", epochs=epochs, img_size=img_size,
                      batch_size=DEMO_BATCH_SIZE, out=str(run_dir), seed=seed)
    try:
        trained = train.train(cfg, log=log)
    finally:  # also a stopped run is the demo's own, for the next demo to replace
        if run_dir.is_dir():
            write_atomic(run_dir / MARKER, RUN_MARKER)
    log("4/5 exporting to ONNX")
    exported = export.export(trained.best)
    log(f"    {exported.onnx_path} (max difference to PyTorch {exported.max_diff:.1e})")
    log("5/5 live on the held-out clip, headless")
    clf = Classifier.load(exported.onnx_path, log=log)
    record, events = run_dir / "live.mp4", run_dir / "events.jsonl"
    opts = live.LiveOptions(headless=True, events=str(events), record=str(record), keep_labels=True)  # to score
    with sources.open_source(str(paths["live clip"])) as src:
        summary = live.run(src, clf, opts)
    for line in summary.lines():
        log("    " + line)
    accuracy = live.frame_accuracy(summary.labels, synthetic.load_truth(paths["live clip"]))
    return DemoResult(trained.run_dir, trained.scores.accuracy, exported.onnx_path, record, events, accuracy,
                      summary.fps)
