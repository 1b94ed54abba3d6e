"""ONNX Runtime latency per architecture, and what the live loop costs on top of bare inference.

    python scripts/bench_runtime.py [--sizes 224,64] [--provider auto] [--frames 300] [--flip-average]

For each architecture (random weights: speed does not depend on them) and input size:
- model latency p50/p95 in ms for one frame through ONNX Runtime on the chosen provider;
- on a generated 320x240 demo clip: frames/s of a bare loop (decode + preprocess + inference) and of
  `thumbs live` headless with --events and --record (decode + inference + smoothing + events + overlay +
  video encoding), medians of 3 runs each, so the loop's overhead shows."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from thumbs.live import loop as live
from thumbs.runtime.classifier import Classifier
from thumbs.sources.readers import open_source
from thumbs.training import checkpoint, models, synthetic
from thumbs.training.export import export


def latency(clf: Classifier, size: int, n: int = 200) -> tuple[float, float]:
    x = np.random.default_rng(0).random((1, 3, size, size), dtype=np.float32)
    for _ in range(10):
        clf.predict_batch(x)
    times = []
    for _ in range(n):
        t = time.perf_counter()
        clf.predict_batch(x)
        times.append((time.perf_counter() - t) * 1000)
    return float(np.percentile(times, 50)), float(np.percentile(times, 95))


def bare_loop_fps(clf: Classifier, video: Path) -> float:
    start, frames = time.perf_counter(), 0
    with open_source(str(video)) as src:
        for frame in src:
            clf(frame.image)
            frames += 1
    return frames / (time.perf_counter() - start)


def live_loop_fps(clf: Classifier, video: Path, events: Path) -> float:
    """`thumbs live --headless --events F --record V`: smoothing, events, the overlay drawn on every frame
    and encoded to an annotated video: the most a headless run does per frame."""
    opts = live.LiveOptions(headless=True, events=str(events), record=str(events.with_suffix(".mp4")))
    with open_source(str(video)) as src:
        return live.run(src, clf, opts).fps


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="224,64")
    ap.add_argument("--archs", default=",".join(models.ARCHS))
    ap.add_argument("--provider", default="auto")
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--flip-average", action="store_true", help="models that average each frame with its mirror "
                    "(what `thumbs train` makes by default)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="thumbs-bench-"))
    video = synthetic.make_video(tmp / "clip.mp4", segments=[("up", args.frames // 2), ("down", args.frames // 2)])
    print(f"{'arch':<20}{'size':>5}{'provider':>10}{'p50 ms':>8}{'p95 ms':>8}{'bare fps':>10}{'live fps':>10}"
          f"{'overhead':>10}")
    for arch in args.archs.split(","):
        for size in (int(s) for s in args.sizes.split(",")):
            torch.manual_seed(0)
            model, norm = models.build(arch, 3, weights="none", log=lambda m: None)
            ckpt = checkpoint.save(tmp / arch / str(size) / "best.pt", model.eval(), arch=arch,
                                   classes=["down", "none", "up"], img_size=size, norm=norm,
                                   settings={"flip_average": args.flip_average},
                                   metrics={}, history=[], epoch=0, stage="full")
            clf = Classifier.load(export(ckpt, log=lambda m: None).onnx_path, args.provider, log=lambda m: None)
            p50, p95 = latency(clf, size)
            bare_loop_fps(clf, video)  # warm-up: file cache, decoder and allocator
            bares, lives = [], []
            for _ in range(3):  # alternate, take medians: a shared 2-core machine is noisy
                bares.append(bare_loop_fps(clf, video))
                lives.append(live_loop_fps(clf, video, tmp / "events.jsonl"))
            bare, live_fps = float(np.median(bares)), float(np.median(lives))
            overhead = 1000 / live_fps - 1000 / bare
            print(f"{arch:<20}{size:>5}{clf.provider.removesuffix('ExecutionProvider'):>10}{p50:>8.2f}{p95:>8.2f}"
                  f"{bare:>10.0f}{live_fps:>10.0f}{overhead:>8.2f}ms", flush=True)


if __name__ == "__main__":
    main()
