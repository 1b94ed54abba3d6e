"""N cameras: N `thumbs live` clients against one Triton server, and the same N clients each with the model local.

    python scripts/bench_serve.py [--clients 1,2,4] [--arch squeezenet1_1] [--size 96] [--frames 300]
                                  [--scheme grpc] [--max-seconds 600]

Random weights (speed does not depend on them), exported with `thumbs export --format triton --instance cpu` and
served by the tritonserver of nvidia-pytriton with the tests' stand-in onnxruntime backend (tests/serve/server.py;
a GPU server runs Triton's own onnxruntime or TensorRT backend instead). Each client is the installed command,
headless, reading a generated 320x240 clip as fast as it decodes, with --events; it reports frames/s, and its
events give each frame's inference latency (for a served model: the round trip). Prints a Markdown table: frames/s
in total and per client, latency p50/p95 over all clients' frames. Every wait is bounded (--max-seconds)."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.serve.server import TritonServer, missing  # noqa: E402
from thumbs.training import checkpoint, models, serve_export, synthetic  # noqa: E402

FPS_LINE = re.compile(r"(\d+) frames in ([\d.]+) s: ([\d.]+) fps")
THUMBS = [sys.executable, "-m", "thumbs.cli"]


def make_repo(root: Path, arch: str, size: int) -> Path:
    model, norm = models.build(arch, 3, weights="none", log=lambda m: None)
    ckpt = checkpoint.save(root / "runs" / "bench" / "best.pt", model.eval(), arch=arch, classes=["down", "none", "up"],
                           img_size=size, norm=norm, settings={}, metrics={}, history=[], epoch=0, stage="full")
    serve_export.export_triton(ckpt, root / "repo", instance="cpu", log=lambda m: None)
    return root / "repo"


def run_clients(model: str, clip: Path, n: int, frames: int, folder: Path, deadline: float) -> dict:
    """N live processes at once; their frames/s (own report) and every frame's latency from the events."""
    procs, events = [], []
    for i in range(n):
        events.append(folder / f"{n}-{i}.jsonl")
        events[-1].unlink(missing_ok=True)
        procs.append(subprocess.Popen([*THUMBS, "live", "--model", model, "--source", str(clip), "--headless",
                                       "--max-frames", str(frames), "--events", str(events[-1])],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    fps, latencies = [], []
    for proc, path in zip(procs, events):
        try:
            out, err = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            for p in procs:
                p.kill()
            raise SystemExit(f"clients still running at --max-seconds: {model}, {n} clients") from None
        found = FPS_LINE.search(out)
        if proc.returncode or not found:
            raise SystemExit(f"a client failed ({proc.returncode}): {err.strip()[-500:]}")
        fps.append(float(found.group(3)))
        latencies += [json.loads(line)["latency_ms"] for line in path.read_text().splitlines()]
    return {"total": sum(fps), "per_client": float(np.mean(fps)), "min_client": min(fps),
            "p50": float(np.percentile(latencies, 50)), "p95": float(np.percentile(latencies, 95))}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", default="1,2,4")
    ap.add_argument("--arch", default="squeezenet1_1")
    ap.add_argument("--size", type=int, default=96)
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--scheme", default="grpc", choices=["grpc", "http"])
    ap.add_argument("--max-seconds", type=float, default=600.0)
    args = ap.parse_args()
    why_not = missing()
    if why_not:
        raise SystemExit(f"no Triton server here: {why_not}")
    deadline = time.monotonic() + args.max_seconds
    root = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    repo = make_repo(root, args.arch, args.size)
    clip = synthetic.make_video(root / "clip.mp4", segments=[("up", 100), ("none", 100), ("down", 100)], seed=1,
                                width=320, height=240)
    local = str(repo / "bench" / "1" / "model.onnx")
    rows = []
    with TritonServer(repo, root / "triton") as server:
        served = server.url(args.scheme, "bench")
        for n in (int(c) for c in args.clients.split(",")):
            for mode, model in ((f"Triton {args.scheme}", served), ("local", local)):
                r = run_clients(model, clip, n, args.frames, root, deadline)
                rows.append(f"| {mode} | {n} | {r['total']:.0f} | {r['per_client']:.0f} (min {r['min_client']:.0f}) "
                            f"| {r['p50']:.1f} | {r['p95']:.1f} |")
                print(rows[-1], flush=True)
    print(f"\n{args.arch} at {args.size} px, {args.frames} frames a client, 320x240 clip\n")
    print("| model | clients | frames/s total | frames/s a client | latency p50 ms | p95 ms |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
