"""Training speed and accuracy per architecture on the synthetic demo data, on this machine.

    python scripts/bench_train.py [--epochs 6] [--img-size 64] [--per-class 300] [--archs a,b]

Prints one row per architecture: device, images/s in the head-only stage (frozen backbone) and in the
full stage, seconds per full epoch, and the best validation accuracy trained from random initialisation
(pretrained weights cannot be downloaded here, so accuracy is from scratch)."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch

from thumbs import models, synthetic, train


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--img-size", type=int, default=64)
    ap.add_argument("--per-class", type=int, default=300)
    ap.add_argument("--archs", default=",".join(models.ARCHS))
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="thumbs-bench-"))
    data = tmp / "data"
    synthetic.make_dataset(data, per_class=args.per_class, seed=0, width=96, height=72)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, data {args.per_class}x3 images, "
          f"{args.img_size}px, {args.epochs} epochs from scratch")
    print(f"{'arch':<20}{'device':>7}{'head img/s':>12}{'full img/s':>12}{'s/epoch':>9}{'best val acc':>14}")
    for arch in args.archs.split(","):
        random_file = tmp / f"{arch}.pth"
        torch.save(models.ARCHS[arch].build(weights=None).state_dict(), random_file)
        quiet = {"log": lambda m: None}
        head = train.train(train.TrainConfig(data=str(data), arch=arch, weights=str(random_file), epochs=1,
                                             freeze_epochs=1, img_size=args.img_size, batch_size=32,
                                             device=args.device, out=str(tmp / f"{arch}-head")), **quiet)
        full = train.train(train.TrainConfig(data=str(data), arch=arch, weights="none", epochs=args.epochs,
                                             img_size=args.img_size, batch_size=16, device=args.device,
                                             out=str(tmp / arch)), **quiet)
        rates = [h["images_per_s"] for h in full.history[1:]] or [full.history[0]["images_per_s"]]
        seconds = [h["seconds"] for h in full.history[1:]] or [full.history[0]["seconds"]]
        device = train.resolve_device(args.device).type
        print(f"{arch:<20}{device:>7}{head.history[0]['images_per_s']:>12.0f}{sum(rates) / len(rates):>12.0f}"
              f"{sum(seconds) / len(seconds):>9.1f}{full.scores.accuracy:>14.3f}", flush=True)


if __name__ == "__main__":
    main()
