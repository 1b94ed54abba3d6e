"""Measure the loop of issue 17 on the shared photos' person change, as a user runs it (the `thumbs` CLI):

1. train on person a (a_* files);
2. `thumbs live --capture` on the first half of person b's frames (a folder source, in order: the gestures
   in turns of CHUNK frames, as a person would change gesture);
3. label at most --label-max kept frames with their true class through `thumbs review --labels`;
4. retrain with `thumbs train --from`;
5. score the second half of b's frames before and after (`thumbs eval`), per seed, and time both trainings.

    python scripts/bench_adapt.py --seeds 0 1 2 --img-size 96 --epochs 8

Prints one row per seed and the mean; with --log-dir, keeps each command's output (the README shows them)."""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
PHOTOS = SHARED / "real-thumbs"
WEIGHTS = SHARED / "weights" / "mobilenet_v2_x0.35_imagenet_keras_features.pth"
CHUNK = 20  # frames of one gesture before the next one in the capture stream
GOAL_GAIN, GOAL_REACH, GOAL_RATIO = 0.25, 0.90, 1 / 3


def person(prefix: str) -> dict[str, list[Path]]:
    """A person's photos per class, in frame order (a_2 before a_10)."""
    def number(p: Path) -> int:
        return int(re.sub(r"\D", "", p.stem) or 0)
    return {c.name: sorted(c.glob(f"{prefix}_*.jpg"), key=number) for c in sorted(PHOTOS.iterdir()) if c.is_dir()}


def copy_classes(files: dict[str, list[Path]], root: Path) -> Path:
    for label, paths in files.items():
        (root / label).mkdir(parents=True)
        for p in paths:
            shutil.copy2(p, root / label / p.name)
    return root


def stream(first: dict[str, list[Path]], folder: Path) -> dict[str, str]:
    """The capture source: the classes in turns of CHUNK frames, named so that name order is that order.
    Returns the true class of each stream file."""
    folder.mkdir(parents=True)
    queues = {label: list(paths) for label, paths in first.items()}
    truth, n = {}, 0
    while any(queues.values()):
        for label, queue in queues.items():
            for p in queue[:CHUNK]:
                name = f"{n:05d}_{p.name}"
                shutil.copy2(p, folder / name)
                truth[name] = label
                n += 1
            del queue[:CHUNK]
    return truth


def cpu_seconds() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def thumbs(args: list[str], log: Path, env: dict[str, str]) -> tuple[str, float, float]:
    """Run `thumbs ARGS`; returns its output, wall time and CPU time, and keeps the output in `log`. The CPU
    time (all threads) is what a busy shared machine changes least; the wall time is what a user waits."""
    start, cpu = time.perf_counter(), cpu_seconds()
    done = subprocess.run([sys.executable, "-m", "thumbs.cli", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT)
    seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    text = f"$ thumbs {' '.join(args)}\n{done.stdout}{done.stderr}"
    log.write_text(text)
    if done.returncode:
        raise SystemExit(f"`thumbs {' '.join(args)}` failed ({done.returncode}):\n{text}")
    return text, seconds, cpu


def accuracy(text: str) -> float:
    """The accuracy of `thumbs eval --json` (the JSON object first; stderr lines may follow it)."""
    return json.JSONDecoder().raw_decode(text[text.index("{"):])[0]["accuracy"]


def choose(folder: Path, truth: dict[str, str], limit: int) -> list[tuple[str, str]]:
    """At most `limit` kept frames, evenly spread over the capture, with their true class."""
    records = [json.loads(line) for line in (folder / "captures.jsonl").read_text().splitlines() if line.strip()]
    if len(records) > limit:
        records = [records[round(i * (len(records) - 1) / (limit - 1))] for i in range(limit)]
    return [(r["file"], truth[Path(r["source_path"]).name]) for r in records]


def one_seed(seed: int, args: argparse.Namespace, work: Path, logs: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "THUMBS_CACHE": str(work / "cache"), "COLUMNS": "160"}
    env.pop("DISPLAY", None)
    a, b = person("a"), person("b")
    data = copy_classes(a, work / "data")
    first = {label: paths[: len(paths) // 2] for label, paths in b.items()}
    second = copy_classes({label: paths[len(paths) // 2:] for label, paths in b.items()}, work / "b_second")
    truth = stream(first, work / "b_first")
    common = ["--img-size", str(args.img_size), "--seed", str(seed), "--batch-size", "32", "--device", "cpu"]
    train1 = ["train", "--data", str(data), "--arch", "mobilenet_v2_x0_35", "--weights", str(WEIGHTS), "--norm",
             "inception", "--epochs", str(args.epochs), "--out", str(work / "run1"), *common]
    _, first_s, first_cpu = thumbs(train1, logs / "1-train.txt", env)
    before = accuracy(thumbs(["eval", str(work / "run1/best.pt"), "--data", str(second), "--json"],
                             logs / "2-eval-before.txt", env)[0])
    thumbs(["live", "--model", str(work / "run1/best.pt"), "--source", str(work / "b_first"), "--headless",
            "--capture", str(work / "captured"), "--capture-every", str(args.capture_every),
            "--capture-sample", str(args.capture_sample)],
           logs / "3-live-capture.txt", env)
    kept = sum(1 for _ in (work / "captured").glob("*.jpg"))
    records = [json.loads(line) for line in (work / "captured/captures.jsonl").read_text().splitlines() if line]
    unsure = sum(1 for r in records if set(r["why"]) - {"sample"})
    rows = choose(work / "captured", truth, args.label_max)
    per_class = Counter(label for _, label in rows)
    with open(work / "labels.csv", "w", newline="") as f:
        csv.writer(f).writerows([("file", "label"), *rows])
    thumbs(["review", str(work / "captured"), "--list"], logs / "4-review-list.txt", env)
    thumbs(["review", str(work / "captured"), "--data", str(data), "--labels", str(work / "labels.csv")],
           logs / "5-review-labels.txt", env)
    _, retrain_s, retrain_cpu = thumbs(["train", "--from", str(work / "run1/best.pt"), "--data", str(data), "--out",
                           str(work / "run2"), *common], logs / "6-train-from.txt", env)
    after = accuracy(thumbs(["eval", str(work / "run2/best.pt"), "--data", str(second), "--json"],
                            logs / "7-eval-after.txt", env)[0])
    return {"seed": seed, "kept": kept, "unsure": unsure, "labelled": len(rows),
            "per_class": " ".join(f"{c} {per_class[c]}" for c in sorted(b)), "before": before, "after": after,
            "first_s": first_s, "retrain_s": retrain_s, "first_cpu": first_cpu, "retrain_cpu": retrain_cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--img-size", type=int, default=96)
    parser.add_argument("--epochs", type=int, default=8, help="of the first training (the retrain: --from's own)")
    parser.add_argument("--label-max", type=int, default=20)
    parser.add_argument("--capture-every", type=float, default=0.0, help="a folder runs at 30 frames/s of "
                        "source time: 0 keeps every qualifying frame that is not a near-duplicate")
    parser.add_argument("--capture-sample", type=float, default=1.0, help="live's --capture-sample (its default)")
    parser.add_argument("--log-dir", type=Path, default=None, help="keep each command's output here")
    args = parser.parse_args()
    if not (PHOTOS.is_dir() and WEIGHTS.is_file()):
        raise SystemExit(f"needs {PHOTOS} and {WEIGHTS} (see ../shared/README.md)")
    results = []
    for seed in args.seeds:
        with tempfile.TemporaryDirectory(prefix="bench-adapt-") as tmp:
            logs = (args.log_dir / f"seed{seed}") if args.log_dir else Path(tmp) / "logs"
            logs.mkdir(parents=True, exist_ok=True)
            r = one_seed(seed, args, Path(tmp), logs)
        results.append(r)
        print(f"seed {seed}: kept {r['kept']} ({r['unsure']} unsure), labelled {r['labelled']} ({r['per_class']}); "
              f"b's second half {r['before']:.3f} -> "
              f"{r['after']:.3f}; first training {r['first_s']:.0f} s ({r['first_cpu']:.0f} s CPU), retrain "
              f"{r['retrain_s']:.0f} s ({r['retrain_cpu']:.0f} s CPU)", flush=True)
    print(f"\nmobilenet_v2_x0_35, {args.img_size} px, first training {args.epochs} epochs; person a -> person b; "
          f"--capture-every {args.capture_every} --capture-sample {args.capture_sample}; labelled <= {args.label_max}, "
          "spread over the kept frames in capture order\n")
    print("| seed | kept (unsure) | labelled (true class) | b 2nd half before | after | gain | first training | "
          "retrain | ratio | CPU ratio |")
    print("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['seed']} | {r['kept']} ({r['unsure']}) | {r['labelled']} ({r['per_class']}) | "
              f"{r['before']:.3f} | {r['after']:.3f} | "
              f"{r['after'] - r['before']:+.3f} | {r['first_s']:.0f} s | {r['retrain_s']:.0f} s | "
              f"{r['retrain_s'] / r['first_s']:.2f} | {r['retrain_cpu'] / r['first_cpu']:.2f} |")
    n = len(results)
    mean = {k: sum(r[k] for r in results) / n for k in ("before", "after", "first_s", "retrain_s", "first_cpu",
                                                       "retrain_cpu")}
    gain = mean["after"] - mean["before"]
    ratio = mean["retrain_s"] / mean["first_s"]
    cpu_ratio = mean["retrain_cpu"] / mean["first_cpu"]
    print(f"| mean | | | {mean['before']:.3f} | {mean['after']:.3f} | {gain:+.3f} | {mean['first_s']:.0f} s | "
          f"{mean['retrain_s']:.0f} s | {ratio:.2f} | {cpu_ratio:.2f} |")
    each = all(r["after"] - r["before"] >= GOAL_GAIN or r["after"] >= GOAL_REACH for r in results)
    print(f"\naccuracy goal (every seed gains >= {GOAL_GAIN} or reaches >= {GOAL_REACH}): "
          f"{'met' if each else 'NOT met'}; time goal (retrain <= 1/3 of the first training): "
          f"{'met' if ratio <= GOAL_RATIO else 'NOT met'} by wall time ({ratio:.2f}), "
          f"{'met' if cpu_ratio <= GOAL_RATIO else 'NOT met'} by CPU time ({cpu_ratio:.2f})")


if __name__ == "__main__":
    main()
