"""Training speed per architecture: the product's `thumbs train` against a plain PyTorch loop, on this machine.

    python scripts/bench_train.py [--data DIR] [--weights FILE] [--archs a,b] [--img-size 224]
        [--epochs 6] [--batch-size 32] [--device auto]

For each architecture it runs the product's training (train.train: decoding, the decoded-image cache, batched
augmentation, validation and checkpoints every epoch) and then, in the same process, a plain loop over the
same in-memory images (the model's centre view, no augmentation), same model, size, batch, optimizer and
precision. It prints:
- wall s: seconds from TrainConfig to a trained model on disk (start-up, every epoch, report),
- head / full img/s: the product's training throughput in the frozen-backbone stage and the steady full stage
  (median of the full epochs after the first; no head stage with --weights none),
- 1st full s: seconds of the first full-network epoch (where kernel choice and warm-up show),
- max/median: the slowest epoch after the first against the median epoch (a stall shows here),
- plain img/s and ratio: the plain loop's steady throughput and the product's full-stage share of it.
Without --data it trains on generated thumbs; without --weights from random initialisation (the weights
cannot be downloaded here)."""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

from thumbs.runtime.preprocess import canvas_size
from thumbs.training import engine, models, synthetic, train
from thumbs.training.start import initial_model, load_images
from thumbs.training.training_data import TensorSet


def plain_rate(cfg: train.TrainConfig, steps: int) -> float:
    """Images/s of a bare loop: the trainer's own parts (images, model, precision, `train_one_epoch`) fed plain
    batches of the model's centre view drawn at random, without augmentation or the trainer's bookkeeping."""
    quiet = lambda m: None  # noqa: E731
    device, size = engine.resolve_device(cfg.device), cfg.img_size or models.get_arch(cfg.arch).img_size
    prepared = load_images(cfg, size, quiet)
    model, _ = initial_model(cfg, prepared.classes, quiet)
    layout = models.memory_format(cfg.arch, size, device)
    model.to(device, memory_format=layout)
    margin = (canvas_size(size) - size) // 2
    data = TensorSet(prepared.train.images[:, :, margin:margin + size, margin:margin + size].contiguous(),
                     prepared.train.targets).to(device)
    autocast, scaler = engine.autocast_for(device)
    optimizer = engine.make_optimizer(model)

    def plain(n: int):
        for _ in range(n):
            idx = torch.randint(0, len(data), (cfg.batch_size,), device=data.images.device)
            x = data.images[idx].to(device, non_blocking=True).float().div_(255)
            yield x.contiguous(memory_format=layout), data.targets[idx].to(device, non_blocking=True)

    model.train()
    engine.train_one_epoch(model, nn.CrossEntropyLoss(), optimizer, plain(2), autocast, scaler)  # warm-up, untimed
    return engine.train_one_epoch(model, nn.CrossEntropyLoss(), optimizer, plain(steps), autocast, scaler).images_per_s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=None, help="class folders (default: generated thumbs)")
    ap.add_argument("--weights", default="none", help="a local weights file, or none")
    ap.add_argument("--norm", default=None)
    ap.add_argument("--archs", default=",".join(models.ARCHS))
    ap.add_argument("--img-size", type=int, default=224)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--per-class", type=int, default=200, help="generated images per class (without --data)")
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="thumbs-bench-"))
    data = args.data
    if data is None:
        data = tmp / "data"
        synthetic.make_dataset(data, per_class=args.per_class, seed=0, width=160, height=120)
    device = engine.resolve_device(args.device)
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"torch {torch.__version__} on {where}; data {data}; {args.img_size}px, batch {args.batch_size}, "
          f"{args.epochs} epochs (1 head-only), weights {args.weights}")
    print(f"{'arch':<20}{'wall s':>8}{'head img/s':>12}{'full img/s':>12}{'1st full s':>12}{'max/median':>12}"
          f"{'plain img/s':>13}{'ratio':>7}")
    for arch in args.archs.split(","):
        cfg = train.TrainConfig(data=str(data), arch=arch, weights=args.weights, norm=args.norm, epochs=args.epochs,
                                freeze_epochs=1, img_size=args.img_size, batch_size=args.batch_size,
                                device=args.device, out=str(tmp / arch))
        start = time.perf_counter()
        result = train.train(cfg, log=lambda m: None)
        wall = time.perf_counter() - start
        epochs = result.history
        full = [h for h in epochs if h["stage"] == "full"]
        steady = [h["images_per_s"] for h in full[1:]] or [full[0]["images_per_s"]]
        seconds = [h["seconds"] for h in epochs[1:]]
        full_rate = statistics.median(steady)
        plain = plain_rate(cfg, steps=max(10, sum(h["images"] for h in epochs[:1]) // args.batch_size))
        head = [f"{h['images_per_s']:.0f}" for h in epochs if h["stage"] == "head"] or ["-"]  # none: weights none
        print(f"{arch:<20}{wall:>8.1f}{head[0]:>12}{full_rate:>12.0f}{full[0]['seconds']:>12.1f}"
              f"{max(seconds[1:] or seconds) / statistics.median(seconds):>12.2f}{plain:>13.0f}"
              f"{full_rate / plain:>7.2f}", flush=True)


if __name__ == "__main__":
    main()
