"""`thumbs demo-data` and `thumbs demo`: the synthetic data set, and the whole product run on it."""

from __future__ import annotations

from pathlib import Path

import typer

from thumbs.cli.common import MAX_SEED, PATH, cpu_first, friendly, log_line, out
from thumbs.train_config import DEMO_IMG_SIZE, DEMO_PER_CLASS, TrainConfig


@friendly
def demo_data(
    out_dir: Path = typer.Option(Path("demo-run"), "--out", "-o", help="Where to write dataset/ and videos.", **PATH),
    per_class: int = typer.Option(DEMO_PER_CLASS, "--per-class", min=1, help="Images per class."),
    seed: int = typer.Option(0, "--seed", min=0, max=MAX_SEED, help="Random seed (0 to 2^32-1): the same seed "
                             "gives the same data."),
) -> None:
    """Generate the synthetic demo data set (up/down/none) and demo videos with ground truth."""
    from thumbs.demo import make_demo_data

    paths = make_demo_data(out_dir, per_class=per_class, seed=seed)
    for name, path in paths.items():
        out.print(f"{name:<12} {path}")



@friendly
def demo_cmd(
    out_dir: Path = typer.Option(Path("demo-run"), "--out", "-o", **PATH,
                                 help="Folder for everything the demo writes."),
    arch: str = typer.Option(TrainConfig.arch, "--arch", "-a", help="Architecture to train."),
    epochs: int = typer.Option(TrainConfig.epochs, "--epochs", "-e", min=1),
    img_size: int = typer.Option(DEMO_IMG_SIZE, "--img-size", min=32, max=1024),
) -> None:
    """Run the whole product on synthetic data: generate, collect, train, export, live (headless)."""
    from thumbs.demo import run_demo

    result = run_demo(out_dir, arch=arch, epochs=epochs, img_size=img_size, log=cpu_first(log_line))
    out.print(f"[bold green]demo done[/]: validation accuracy {result.val_accuracy:.1%}, "
              f"live frame accuracy {result.frame_accuracy:.1%} against the clip's ground truth "
              f"at {result.fps:.0f} fps")
    out.print(f"  report {result.run_dir / 'report.md'}\n  model {result.onnx}\n  video {result.record}\n"
              f"  events {result.events}")
