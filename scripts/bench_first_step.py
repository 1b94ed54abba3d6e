"""What the first training steps cost per architecture, precision and memory layout (a GPU's kernel choice
and compilation show up there, not in steady-state figures).

    python scripts/bench_first_step.py [--archs a,b] [--img-size 224] [--batch-size 32] [--device cuda]

Each combination runs in a fresh process (so no kernel cache from an earlier one is reused) and prints the
seconds of step 1, step 2 and the median of steps 3-20, with the steady img/s. On a CPU only float32 runs."""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

import torch
from torch import nn

from thumbs.training import engine, models

PRECISIONS = ("bf16", "fp16", "fp32")
LAYOUTS = ("channels_last", "contiguous")


def measure(arch: str, precision: str, layout: str, size: int, batch: int, device: str, steps: int) -> dict:
    """Whole-network training steps on random images, timed one by one."""
    dev = torch.device(device)
    model = models.ARCHS[arch].build(weights=None).to(dev)
    fmt = torch.channels_last if layout == "channels_last" else torch.contiguous_format
    model = model.to(memory_format=fmt).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": None}[precision]
    scaler = torch.amp.GradScaler(dev.type) if precision == "fp16" else None
    x = torch.rand(batch, 3, size, size, device=dev).contiguous(memory_format=fmt)
    y = torch.randint(0, 3, (batch,), device=dev)
    loss_fn, times = nn.CrossEntropyLoss(), []
    for _ in range(steps):
        start = time.perf_counter()
        engine.train_step(model, loss_fn, optimizer, x, y, torch.autocast(dev.type, dtype=dtype,
                                                                          enabled=dtype is not None), scaler)
        if dev.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    steady = statistics.median(times[2:])
    return {"first": times[0], "second": times[1], "steady": steady, "img_s": batch / steady}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--archs", default=",".join(models.ARCHS))
    ap.add_argument("--img-size", type=int, default=224)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--one", nargs=3, metavar=("ARCH", "PRECISION", "LAYOUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(measure(*args.one, args.img_size, args.batch_size, args.device, args.steps)))
        return
    precisions = PRECISIONS if args.device.startswith("cuda") else ("fp32",)
    print(f"torch {torch.__version__}, device {args.device}, {args.img_size}px, batch {args.batch_size}")
    print(f"{'arch':<20}{'precision':>10}{'layout':>15}{'step 1 s':>10}{'step 2 s':>10}{'steady ms':>11}"
          f"{'img/s':>8}")
    for arch in args.archs.split(","):
        for precision in precisions:
            for layout in LAYOUTS:
                cmd = [sys.executable, __file__, "--one", arch, precision, layout, "--img-size", str(args.img_size),
                       "--batch-size", str(args.batch_size), "--device", args.device, "--steps", str(args.steps)]
                done = subprocess.run(cmd, capture_output=True, text=True)
                if done.returncode:
                    print(f"{arch:<20}{precision:>10}{layout:>15}  failed: {done.stderr.strip().splitlines()[-1]}")
                    continue
                r = json.loads(done.stdout.strip().splitlines()[-1])
                print(f"{arch:<20}{precision:>10}{layout:>15}{r['first']:>10.2f}{r['second']:>10.2f}"
                      f"{r['steady'] * 1000:>11.1f}{r['img_s']:>8.0f}", flush=True)


if __name__ == "__main__":
    main()
