"""Per-frame cost of the hand front end and a hand model behind it, on the CPU: p50/p95 ms.

    python scripts/bench_hands.py [--model hand.onnx] [--landmarks landmarks.onnx] [--frames ../shared/real-thumbs/up]
        [--threads 1 0]
    .venv38/bin/python scripts/bench_hands.py   # the Nano's onnxruntime 1.11, with the model the first run made

The frames are a held gesture as a camera sees it: each photo for --hold frames, drifting a pixel a frame (so
tracking works as on video, not on one frozen image). Rows: the front end without tracking (the palm detector
and the landmarks every frame), with tracking, the classifier alone on one hand crop, and the whole frame
(front end with tracking + crop + classifier). Where --model is absent (and PyTorch is installed) it is made: an
untrained mobilenet_v2_x0_35 at 224 px exported with the hand contract (weights do not change its time).
--landmarks adds the rows of a landmarks model (`thumbs train --arch landmarks`, exported): the classifier alone
and the whole frame with it (front end with tracking + landmark features + classifier).
Threads: ONNX Runtime's intra-op threads, 0 its default (all cores). Each row gives wall time and this thread's CPU
time: on a busy machine the wall time measures the neighbours, and with one thread the CPU time is the cost.
Torch-free unless it must build the model."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
import onnxruntime as ort

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from thumbs.hands.frontend import LANDMARK_MODEL, MODELS, PALM_MODEL, HandFrontEnd  # noqa: E402
from thumbs.hands.hand import Hand  # noqa: E402
from thumbs.hands.inputs import hand_crop, landmark_features  # noqa: E402
from thumbs.hands.landmarks import LandmarkModel  # noqa: E402
from thumbs.hands.palm import PalmDetector  # noqa: E402
from thumbs.hands.rect import rect_from_landmarks  # noqa: E402


def session(path: Path, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def front_end(threads: int, track: bool) -> HandFrontEnd:
    """The product's front end, its sessions swapped for ones with this many threads."""
    fe = HandFrontEnd(provider="cpu", track=track, log=lambda _: None)
    fe.palms = PalmDetector(session(MODELS / PALM_MODEL, threads))
    fe.landmarks = LandmarkModel(session(MODELS / LANDMARK_MODEL, threads))
    return fe


def held_frames(folder: Path, photos: int, hold: int, fe: HandFrontEnd) -> list[np.ndarray]:
    """`photos` photos in which the front end finds a hand, each held for `hold` frames, drifting smoothly
    (up to 8 pixels, a pixel a frame) as a hand held still in front of a camera does."""
    frames = []
    for path in sorted(folder.glob("*.jpg")):
        image = cv2.imread(str(path))
        if image is None or not fe.detect(image):
            continue
        for i in range(hold):
            dx, dy = abs(i % 32 - 16) - 8, abs(i % 16 - 8) - 4
            shift = np.float32([[1, 0, dx], [0, 1, dy]])
            frames.append(cv2.warpAffine(image, shift, image.shape[1::-1], borderMode=cv2.BORDER_REPLICATE))
        if len(frames) >= photos * hold:
            break
    return frames


def timed(fn: Callable[[np.ndarray], object], frames: list[np.ndarray]) -> tuple[list[float], list[float]]:
    """Wall and this thread's CPU milliseconds per frame. With one ONNX Runtime thread the work runs on this
    thread, so its CPU time is what a quiet core would take, whatever else the machine is running."""
    fn(frames[0])  # warm-up
    wall, cpu = [], []
    for frame in frames:
        start, start_cpu = time.perf_counter(), time.thread_time()
        fn(frame)
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.thread_time() - start_cpu) * 1000)
    return wall, cpu


def untrained_hand_model(path: Path) -> Path:
    """mobilenet_v2_x0_35 at 224 px, exported to `path` with the hand contract (needs the training install)."""
    import onnx

    from thumbs.core.model_info import META_KEY, ModelInfo
    from thumbs.training import checkpoint, models
    from thumbs.training.export import export

    model, norm = models.build("mobilenet_v2_x0_35", 3, weights="none", log=lambda m: None)
    with tempfile.TemporaryDirectory() as tmp:
        ckpt = checkpoint.save(Path(tmp) / "hand.pt", model.eval(), arch="mobilenet_v2_x0_35",
                               classes=["down", "none", "up"], img_size=224, norm=norm, settings={}, metrics={},
                               history=[], epoch=0, stage="full")
        proto = onnx.load(str(export(ckpt, Path(tmp) / "hand.onnx").onnx_path))
    for prop in proto.metadata_props:
        if prop.key == META_KEY:
            info = ModelInfo.from_dict(json.loads(prop.value))
            prop.value = json.dumps({**info.to_dict(), "input": "hand"})
    onnx.save(proto, str(path))
    return path


def ms(value: float) -> str:
    """Milliseconds to a tenth, or to a hundredth below one (the landmarks classifier's few microseconds)."""
    return f"{value:.1f}" if value >= 1 else f"{value:.2f}"


def row(name: str, times: tuple[list[float], list[float]]) -> str:
    wall, cpu = times
    q, cq = statistics.quantiles(wall, n=20), statistics.quantiles(cpu, n=20)
    return (f"| {name} | {ms(statistics.median(wall))} | {ms(q[18])} | {ms(statistics.median(cpu))} | "
            f"{ms(cq[18])} |")


def bench(threads: int, model: Path, frames: list[np.ndarray], landmarks: Path | None = None) -> None:
    clf = session(model, threads)
    size, name = clf.get_inputs()[0].shape[-1], clf.get_inputs()[0].name
    tracked, still, whole_fe = front_end(threads, True), front_end(threads, False), front_end(threads, True)
    hand = still.detect(frames[0])[0]
    crop = hand_crop(frames[0], hand, size).transpose(2, 0, 1)[None].astype(np.float32) / 255
    rect = rect_from_landmarks(hand.landmarks)

    def whole(frame: np.ndarray) -> None:
        found = whole_fe(frame)
        if found:
            batch = np.stack([hand_crop(frame, h, size).transpose(2, 0, 1) for h in found])
            clf.run(None, {name: batch.astype(np.float32) / 255})

    print(f"\nthreads {threads or 'default'} (CPU: this thread's; with more threads the rest is elsewhere)\n"
          "| per frame | p50 ms | p95 ms | p50 CPU ms | p95 CPU ms |\n|---|---|---|---|---|")
    print(row("palm detector alone (letterbox, model, NMS)", timed(still.palms, frames)))
    print(row("landmark model alone (crop, model)", timed(lambda f: still.landmarks(f, rect), frames)))
    print(row("front end, no tracking", timed(still, frames)))
    runs = tracked.detector_runs
    times = timed(tracked, frames)
    print(row("front end, tracking", times) + f" palm detector on {tracked.detector_runs - runs} of "
          f"{len(frames) + 1} frames")
    print(row(f"classifier ({size} px crop)", timed(lambda f: clf.run(None, {name: crop}), frames)))
    print(row("whole frame (tracking + crop + classifier)", timed(whole, frames)))
    if landmarks is not None:
        bench_landmarks(session(landmarks, threads), front_end(threads, True), hand, frames)


def bench_landmarks(mlp: ort.InferenceSession, tracked: HandFrontEnd, hand: Hand,
                    frames: list[np.ndarray]) -> None:
    """The rows of a landmarks model: its classifier alone on one hand's features, and the whole frame."""
    name = mlp.get_inputs()[0].name
    features = landmark_features(hand)[None]

    def whole(frame: np.ndarray) -> None:
        found = tracked(frame)
        if found:
            mlp.run(None, {name: np.stack([landmark_features(h) for h in found])})

    print(row("landmarks classifier alone", timed(lambda f: mlp.run(None, {name: features}), frames)))
    print(row("whole frame (tracking + landmarks classifier)", timed(whole, frames)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=Path(tempfile.gettempdir()) / "thumbs-bench-hand224.onnx",
                        help="a hand model (.onnx); made there when absent (needs the training install)")
    parser.add_argument("--landmarks", type=Path, default=None, help="a landmarks model (.onnx) to time as well")
    parser.add_argument("--frames", type=Path, default=ROOT.parent / "shared" / "real-thumbs" / "up")
    parser.add_argument("--photos", type=int, default=6)
    parser.add_argument("--hold", type=int, default=30, help="frames per photo")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 0])
    args = parser.parse_args()
    frames = held_frames(args.frames, args.photos, args.hold, front_end(0, False))
    if not frames:
        sys.exit(f"no photo with a hand found in {args.frames}: give --frames DIR")
    model = args.model if args.model.exists() else untrained_hand_model(args.model)
    print(f"{len(frames)} frames of {frames[0].shape[1]}x{frames[0].shape[0]}, onnxruntime {ort.__version__}, "
          f"Python {sys.version_info[0]}.{sys.version_info[1]}, classifier {model}")
    for threads in args.threads:
        bench(threads, model, frames, args.landmarks)


if __name__ == "__main__":
    main()
