"""Measure `thumbs studio` as a person uses it, on the demo data, on this machine's CPU:

1. the studio opens on a 30 fps clip (a camera stand-in) with the demo data set (`thumbs demo-data`) and the
   demo's recipe (ResNet-18 from random weights at 48 px, 10 epochs);
2. `t`: the time from the key press to a live model (the first frame event the new model classifies);
3. a burst of new frames (`1`, `a`) and `t` again: the warm-started retrain, while the first model stays live
   (a screenshot of the window is taken during it, for the README);
4. the preview's frame rate overall and while a training runs, from the studio's own `quit` event.

    python scripts/bench_studio.py --screenshot docs/studio.png

Needs Xvfb and xdotool (the window runs on a virtual display) and the training install."""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.studio.driver import StudioRun, virtual_display  # noqa: E402
from thumbs.train_config import DEMO_BATCH_SIZE, DEMO_IMG_SIZE, DEMO_PER_CLASS  # noqa: E402
from thumbs.training import synthetic  # noqa: E402


def _time_to_live(run: StudioRun, key_at: float, after: int) -> tuple[float, float, dict]:
    """Seconds from the key press to model_ready, and to the first frame that model classified."""
    ready = run.wait_for("model_ready", timeout=1800, after=after, fail_on="train_failed")
    ready_at = time.perf_counter()
    events = run.read()
    start = events.index(ready, after)
    while not [e for e in run.read()[start:] if e.get("event") == "frame"]:
        time.sleep(0.05)
    return ready_at - key_at, time.perf_counter() - key_at, ready


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=DEMO_PER_CLASS)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--screenshot", type=Path, help="Save the window, during the retrain, as this PNG.")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-studio-"))
    subprocess.run([sys.executable, "-m", "thumbs", "demo-data", "--out", str(work / "demo"), "--per-class",
                    str(args.per_class)], check=True, capture_output=True)
    camera = synthetic.make_video(work / "camera.mp4", seed=7, fps=30.0)
    recipe = ["--arch", "resnet18", "--weights", "none", "--img-size", str(DEMO_IMG_SIZE), "--batch-size",
              str(DEMO_BATCH_SIZE), "--epochs", str(args.epochs)]
    with virtual_display() as display:
        run = StudioRun(display, work, "--classes", "up,down,none", "--data", "demo/dataset", "--source",
                        str(camera), *recipe)
        time.sleep(2)
        pressed = time.perf_counter()
        run.key("t", gap=0)
        first_ready, first_live, ready = _time_to_live(run, pressed, 0)
        run.key("1", "a")
        time.sleep(3)
        run.key("a")
        n = len(run.read())
        pressed = time.perf_counter()
        run.key("t", gap=0)
        if args.screenshot:
            run.wait_for("epoch", after=n, timeout=600)
            run.screenshot(args.screenshot)
        second_ready, second_live, second = _time_to_live(run, pressed, n)
        time.sleep(2)
        run.key("q")
        code, out, err = run.finish()
    quit_event = run.read()[-1]
    print(f"machine: {sys.platform}, {__import__('os').cpu_count()} cores; data: demo ({args.per_class} per class), "
          f"resnet18 from random weights at {DEMO_IMG_SIZE} px, {args.epochs} epochs")
    print(f"t -> model_ready {first_ready:.1f} s, -> first frame classified by it {first_live:.1f} s "
          f"({ready['headline']} {ready['accuracy']:.1%})")
    print(f"retrain (warm start, +{second.get('run')}): t -> model_ready {second_ready:.1f} s, -> live "
          f"{second_live:.1f} s ({second['headline']} {second['accuracy']:.1%})")
    print(f"preview: {quit_event['fps']} fps overall, {quit_event['training_fps']} fps while training "
          f"(camera stand-in at 30 fps); exit code {code}")
    if args.screenshot:
        print(f"screenshot: {args.screenshot}")


if __name__ == "__main__":
    main()
