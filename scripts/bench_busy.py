"""Speed on a quiet and on a busy machine: the demo's training, a live run and the studio's preview while it
trains, with the thread policy (thumbs/core/threads.py) against the settings of before it, side by side.

    python scripts/bench_busy.py [--rounds 2] [--epochs 2] [--per-class 300] [--frames 900]
        [--no-studio] [--studio-rounds 1] [--studio-epochs 1] [--before REV]

"busy": every core but one runs a plain Python loop that this script starts and stops itself. Each round runs
every (state, variant) pair back to back, the variants interleaved, so both see the same machine. "before" is
the libraries' own defaults (each library's thread count, OpenMP's and ONNX Runtime's spinning), set through the
variables the policy leaves to the user (OMP_NUM_THREADS, GOMP_SPINCOUNT=300000: libgomp's default); with
--before REV it is that git revision's tree instead (a temporary worktree, run with this Python).
It prints a table: training img/s (median of the epochs), live fps (the headless run's summary) and the studio's
preview fps while its training runs, quiet and busy, and busy/quiet. The studio needs Xvfb and xdotool.
With --no-studio the defaults took 329 s on 2 cores (the studio adds four runs of a minute or two);
--rounds 1 and --per-class 150 make it shorter. Where other sessions share the machine, give it the CPU first
(docs/speed.md says how), or their work is part of "quiet"."""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from thumbs.core import threads  # noqa: E402
from thumbs.train_config import DEMO_BATCH_SIZE, DEMO_IMG_SIZE, DEMO_PER_CLASS  # noqa: E402

BEFORE_ENV = {"OMP_NUM_THREADS": "", "GOMP_SPINCOUNT": "300000"}  # OMP_NUM_THREADS filled in with the core count
CLEARED = ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME", "MKL_NUM_THREADS")
LIVE_FRAMES = 900
RECIPE = ["--arch", "resnet18", "--weights", "none", "--img-size", str(DEMO_IMG_SIZE), "--batch-size",
          str(DEMO_BATCH_SIZE)]


@contextlib.contextmanager
def busy(cores: int) -> Iterator[None]:
    """`cores` plain Python loops, stopped on the way out."""
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(cores)]
    try:
        yield
    finally:
        for p in loops:
            p.kill()
            p.wait()


def variant_env(name: str, tree: Path | None) -> dict:
    """The environment of one variant: the user's thread variables cleared, then the variant's own."""
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env["PYTHONPATH"] = str(tree or ROOT)
    if name == "before" and tree is None:
        env.update(BEFORE_ENV, OMP_NUM_THREADS=str(threads.cores()))
    return env


def thumbs(env: dict, *args: str, cwd: Path) -> str:
    done = subprocess.run([sys.executable, "-m", "thumbs", *args], cwd=cwd, env=env, capture_output=True,
                          text=True)
    if done.returncode:
        raise SystemExit(f"thumbs {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return done.stdout + done.stderr


def train_rate(env: dict, work: Path, epochs: int, out: str) -> float:
    text = thumbs(env, "train", "--data", "demo/dataset", *RECIPE, "--epochs", str(epochs), "--out", out,
                  "--no-cache", cwd=work)
    rates = [float(r) for r in re.findall(r"(\d+) img/s ", text)]
    return statistics.median(rates)


def live_fps(env: dict, work: Path, model: str, frames: int) -> float:
    text = thumbs(env, "live", "--model", model, "--source", "live.mp4", "--headless", "--max-frames",
                  str(frames), "--provider", "cpu", cwd=work)
    return float(re.search(r"([\d.]+) fps on", text).group(1))


def studio_fps(env: dict, work: Path, epochs: int) -> float:
    """The preview's fps while the first training runs, from the studio's own quit event."""
    from tests.studio.driver import StudioRun, virtual_display

    (work / "events.jsonl").unlink(missing_ok=True)  # the last run's: its model_ready is not this one's
    with virtual_display() as display:
        run = StudioRun(display, work, "--classes", "up,down,none", "--data", "demo/dataset", "--source",
                        "camera.mp4", "--captures", "studio-captures", *RECIPE, "--epochs", str(epochs), env=env)
        time.sleep(2)
        run.key("t", gap=0)
        run.wait_for("model_ready", timeout=900, fail_on="train_failed")
        run.key("q")
        run.finish()
    return float(run.read()[-1]["training_fps"] or 0)


def prepare(work: Path, per_class: int, epochs: int) -> str:
    """The demo's data, a camera stand-in, and one trained and exported model for the live runs."""
    from thumbs.training import synthetic

    env = variant_env("policy", None)
    thumbs(env, "demo-data", "--out", "demo", "--per-class", str(per_class), cwd=work)
    synthetic.make_video(work / "camera.mp4", seed=7, fps=30.0)
    third = LIVE_FRAMES // 3  # the demo's live clip, longer: a run of seconds, not one
    synthetic.make_video(work / "live.mp4", [("up", third), ("none", third), ("down", third)], seed=200)
    train_rate(env, work, epochs, "runs/model")
    thumbs(env, "export", "runs/model/best.pt", cwd=work)
    return "runs/model/best.onnx"


def worktree(rev: str, into: Path) -> Path:
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(into), rev], check=True,
                   capture_output=True)
    return into


def measure(args: argparse.Namespace, work: Path, tree: Path | None) -> dict:
    model = prepare(work, args.per_class, args.epochs)
    results: dict = {}
    for r in range(args.rounds):
        for state in ("quiet", "busy"):
            with busy(threads.cores() - 1) if state == "busy" else contextlib.nullcontext():
                for variant in ("before", "policy") if r % 2 == 0 else ("policy", "before"):
                    env = variant_env(variant, tree)
                    row = results.setdefault((variant, state), {"train": [], "live": [], "studio": []})
                    row["train"].append(train_rate(env, work, args.epochs, f"runs/{variant}-{state}-{r}"))
                    row["live"].append(live_fps(env, work, model, args.frames))
                    if args.studio and r < args.studio_rounds:
                        row["studio"].append(studio_fps(env, work, args.studio_epochs))
                    print(f"round {r + 1} {state} {variant}: " + ", ".join(
                        f"{k} {v[-1]:.1f}" for k, v in row.items() if v), flush=True)
    return results


def table(results: dict) -> str:
    def med(variant: str, state: str, what: str) -> float | None:
        values = results[(variant, state)][what]
        return statistics.median(values) if values else None

    lines = ["| measure | variant | quiet | busy | busy/quiet |", "|---|---|---|---|---|"]
    for what, unit in (("train", "training img/s"), ("live", "live fps"), ("studio", "preview fps while training")):
        for variant in ("before", "policy"):
            q, b = med(variant, "quiet", what), med(variant, "busy", what)
            if q is None:
                continue
            lines.append(f"| {unit} | {variant} | {q:.1f} | {b:.1f} | {b / q if q else float('nan'):.2f} |")
        q0, q1 = med("before", "quiet", what), med("policy", "quiet", what)
        if q0 and q1 is not None:
            lines.append(f"| {unit} | policy/before, quiet | | | {q1 / q0:.2f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="Rounds of every pair; medians are printed.")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--per-class", type=int, default=DEMO_PER_CLASS, help="Demo images per class.")
    parser.add_argument("--frames", type=int, default=LIVE_FRAMES, help=f"Frames of each live run (at most "
                        f"{LIVE_FRAMES}, the clip's).")
    parser.add_argument("--studio", action=argparse.BooleanOptionalAction, default=True,
                        help="Also the studio's preview while training (Xvfb, xdotool).")
    parser.add_argument("--studio-rounds", type=int, default=1, help="Rounds that include the studio.")
    parser.add_argument("--studio-epochs", type=int, default=1, help="Epochs of the studio's training (its job "
                        "runs on all cores but one, at a lower priority: slower than `thumbs train`).")
    parser.add_argument("--before", metavar="REV", help="Run 'before' from this git revision's tree.")
    args = parser.parse_args()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-busy-") as tmp:
        work = Path(tmp)
        tree = worktree(args.before, work / "before-tree") if args.before else None
        try:
            results = measure(args, work, tree)
        finally:
            if tree:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)
    load = os.getloadavg()[0]
    print(f"\n{threads.cores()} cores; busy: {threads.cores() - 1} plain Python loop(s); load average at the end "
          f"{load:.1f}; {args.rounds} round(s), {time.perf_counter() - start:.0f} s")
    print(table(results))


if __name__ == "__main__":
    main()
