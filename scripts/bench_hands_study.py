"""Whole frame against hand crop against landmarks (issue 29, item 5): which model works on people it never saw.

    nice -n 15 python scripts/bench_hands_study.py [--seeds 0,1,2] [--splits a-later,a-to-b,b-to-a]
        [--methods landmarks,hand,frame] [--img-size 96] [--epochs 5] [--jsonl study.jsonl] [--merge study.jsonl]
        [--no-cost]

The splits of ../shared/real-thumbs are scripts/sweep_recipe.py's (its build_split): a-to-b and b-to-a train on
one person and score on the other (another room, camera, light); a-later trains on everything but person a's
frames numbered 40 and up and scores on those (the same person's later frames). Every run is the product's own:
`thumbs.training.train.train` with the settings below (fixed before any run; nothing chosen on the scored frames,
the run's last.pt is scored, not an epoch picked on them), then `thumbs.evaluate.evaluate` of that last.pt on the
held-out photos, which for a hand model runs the hand front end and applies the no-hand rule (a photo with no
hand found counts as predicted `none`). Hands found are cached (hands/found.py), so the front end runs once per
photo for the whole study. Prints a line per run, the table (accuracy mean, min, max, per seed; the accuracy on
the up and down photos alone, sweep_recipe's "gestures"; and with no hand found: the share of held-out photos),
each run's JSON line (--jsonl) also has its wall time with the eval and the load average at its start;
then the per-frame cost on this CPU with ONNX Runtime: front end (video
mode, with tracking) and classifier, p50 over person a's frames."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sweep_recipe import DATA, SPLITS, WEIGHTS, _gestures, build_split  # noqa: E402

from thumbs.core.files import read_image  # noqa: E402
from thumbs.evaluate import evaluate  # noqa: E402
from thumbs.hands import HandFrontEnd  # noqa: E402
from thumbs.hands.inputs import hand_crop, landmark_features  # noqa: E402
from thumbs.runtime.loader import load_model  # noqa: E402
from thumbs.runtime.preprocess import Preprocessor  # noqa: E402
from thumbs.training import export, train  # noqa: E402

SIZE = 96  # pixels for both image models: small, so the study runs in minutes on a CPU
IMAGE = {"arch": "mobilenet_v2_x0_35", "norm": "inception", "img_size": SIZE, "epochs": 5, "flip_average": False}
METHODS = {  # TrainConfig overrides; everything else is TrainConfig's default
    "frame": {**IMAGE},  # today's default model, on the whole frame
    "hand": {**IMAGE, "input": "hand"},  # the same network and weights on the hand crop
    "landmarks": {"arch": "landmarks", "epochs": 40},  # the MLP: 40 short epochs, seconds in all
}
VAL_FRACTION = 0.1  # the trainer's own validation split of the training photos (its report only)


def test_folder(test: list[tuple[Path, str]], into: Path) -> Path:
    """The held-out photos as class folders of symlinks, for `thumbs eval`'s evaluate."""
    for path, label in test:
        (into / label).mkdir(parents=True, exist_ok=True)
        (into / label / path.name).symlink_to(path.resolve())
    return into


def run_one(method: str, split: str, seed: int, train_dir: Path, tests: Path, out: Path) -> dict:
    cfg = train.TrainConfig(data=str(train_dir), seed=seed, device="cpu", val_fraction=VAL_FRACTION, out=str(out),
                            **({"weights": str(WEIGHTS)} if method != "landmarks" else {}), **METHODS[method])
    load = os.getloadavg()[0]  # the machine's state when the run starts: its times are wall times
    start = time.perf_counter()
    result = train.train(cfg, log=lambda m: None)
    seconds = time.perf_counter() - start
    scored = evaluate(result.last, tests, "cpu", log=lambda m: None)
    no_hand = sum((scored.no_hand or {}).values())
    return {"method": method, "split": split, "seed": seed, "accuracy": scored.scores.accuracy,
            "count": scored.scores.count, "no_hand": no_hand, "confusion": scored.scores.confusion,
            "classes": scored.scores.classes, "train_s": round(seconds, 1),
            "wall_s": round(time.perf_counter() - start, 1), "load": round(load, 2), "run": str(result.run_dir)}


def table(rows: list[dict], seeds: list[int]) -> str:
    head = (f"| method | split | mean | min | max | {' | '.join(f's{s}' for s in seeds)} | up/down only | "
            f"no hand found | train s |\n|---|---|---|---|---|{'---|' * len(seeds)}---|---|---|")
    lines = [head]
    keys = []
    for r in rows:
        if (r["method"], r["split"]) not in keys:
            keys.append((r["method"], r["split"]))
    for method, split in keys:
        runs = {r["seed"]: r for r in rows if (r["method"], r["split"]) == (method, split)}
        accs = [r["accuracy"] for r in runs.values()]
        cells = " | ".join(f"{runs[s]['accuracy']:.3f}" if s in runs else "-" for s in seeds)
        some = next(iter(runs.values()))
        missed = f"{some['no_hand'] / some['count']:.3f}" if method != "frame" else "-"
        gestures = statistics.mean(_gestures(r["confusion"], r["classes"]) for r in runs.values())
        seconds = statistics.mean(r["train_s"] for r in runs.values())
        lines.append(f"| {method} | {split} | {statistics.mean(accs):.3f} | {min(accs):.3f} | {max(accs):.3f} | "
                     f"{cells} | {gestures:.3f} | {missed} | {seconds:.0f} |")
    return "\n".join(lines)


def p50(values: list[float]) -> float:
    return float(np.percentile(values, 50))


def frame_cost(models: dict[str, Path], frames: list[np.ndarray]) -> str:
    """Per-frame milliseconds (p50) on this CPU with ONNX Runtime: the front end as live runs it (tracking), the
    classifier on what it is fed, and the two together."""
    lines = ["| method | front end ms | classifier ms | per frame ms |", "|---|---|---|---|"]
    front = HandFrontEnd(max_hands=1, provider="cpu", track=True, log=lambda m: None)
    hands, front_ms = [], []
    for bgr in frames:
        start = time.perf_counter()
        hands.append(front(bgr))
        front_ms.append((time.perf_counter() - start) * 1000)
    for method, path in models.items():
        backend = load_model(path, "cpu", log=lambda m: None)
        prep = Preprocessor(backend.img_size, backend.crop)
        ms = []
        for bgr, found in zip(frames, hands):
            start = time.perf_counter()
            if method == "frame":
                backend.predict_batch(prep(bgr))
            elif found:
                x = landmark_features(found[0])[None] if method == "landmarks" else \
                    (hand_crop(bgr, found[0], backend.img_size).transpose(2, 0, 1)[None] / np.float32(255))
                backend.predict_batch(np.ascontiguousarray(x, dtype=np.float32))
            ms.append((time.perf_counter() - start) * 1000)
        with_front = [c + (f if method != "frame" else 0.0) for c, f in zip(ms, front_ms)]
        lines.append(f"| {method} | {p50(front_ms) if method != 'frame' else 0:.1f} | {p50(ms):.2f} | "
                     f"{p50(with_front):.1f} |")
    found_share = sum(1 for h in hands if h) / len(hands)
    return "\n".join(lines) + f"\n\n(front end found a hand in {found_share:.0%} of {len(frames)} frames)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--splits", default=",".join(SPLITS))
    ap.add_argument("--methods", default="landmarks,hand,frame")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--img-size", type=int, default=SIZE, help="pixels for the image models (frame, hand)")
    ap.add_argument("--epochs", type=int, default=IMAGE["epochs"], help="epochs for the image models")
    ap.add_argument("--jsonl", type=Path, default=None, help="append one JSON line per run here")
    ap.add_argument("--merge", type=Path, nargs="*", help="only print the table of runs saved in these --jsonl files")
    ap.add_argument("--no-cost", action="store_true", help="skip the per-frame cost")
    ap.add_argument("--cost-from", type=Path, nargs="*", help="only measure the per-frame cost, of the first run of "
                    "each method in these --jsonl files")
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    if args.merge:
        rows = [json.loads(line) for path in args.merge for line in path.read_text().splitlines() if line]
        print(table(rows, seeds))
        return
    torch.set_num_threads(args.threads)
    for method in ("frame", "hand"):
        METHODS[method].update(img_size=args.img_size, epochs=args.epochs)
    if args.cost_from:
        rows = [json.loads(line) for path in args.cost_from for line in path.read_text().splitlines() if line]
        firsts = {r["method"]: Path(r["run"]) / "last.pt" for r in reversed(rows)}
        print(cost({m: firsts[m] for m in METHODS if m in firsts}))
        return
    tmp = Path(tempfile.mkdtemp(prefix="thumbs-hands-study-"))
    splits = args.splits.split(",")
    built = {s: build_split(DATA, s, tmp) for s in splits}
    tests = {s: test_folder(test, tmp / s / "test") for s, (_, test) in built.items()}
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; held out: "
          + ", ".join(f"{s} {len(t)}" for s, (_, t) in built.items()), flush=True)
    rows: list[dict] = []
    first: dict[str, Path] = {}
    for method in args.methods.split(","):
        for seed in seeds:
            for split in splits:
                out = tmp / "runs" / f"{method}-{split}-{seed}"
                row = run_one(method, split, seed, built[split][0], tests[split], out)
                rows.append(row)
                print(f"{method:<10} {split:<8} seed {seed}  accuracy {row['accuracy']:.3f} on {row['count']} "
                      f"(no hand found: {row['no_hand']})  train {row['train_s']:.0f} s, with eval "
                      f"{row['wall_s']:.0f} s, load {row['load']:.1f}", flush=True)
                if args.jsonl:
                    with args.jsonl.open("a") as f:
                        f.write(json.dumps(row) + "\n")
                first.setdefault(method, Path(row["run"]) / "last.pt")
    print(table(rows, seeds))
    if not args.no_cost:
        print(cost(first))


def cost(checkpoints: dict[str, Path]) -> str:
    """The per-frame cost of these checkpoints (exported to ONNX beside them) on person a's photos of up."""
    exported = {m: export.export_once(path, log=lambda m: None) for m, path in checkpoints.items()}
    frames = [read_image(p) for p in sorted((DATA / "up").glob("a_*.jpg"))[:60]]
    return frame_cost(exported, frames)


if __name__ == "__main__":
    main()
