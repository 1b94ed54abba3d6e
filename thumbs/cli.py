"""The `thumbs` command: parses options and calls library functions; no logic of its own.

Heavy imports (torch, onnxruntime) happen inside the commands that need them, so `thumbs live`
on a Jetson never loads the training stack and `thumbs --help` is instant."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Callable, Optional, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from thumbs.errors import ThumbsError

app = typer.Typer(
    name="thumbs",
    help="Train a hand-gesture classifier on your camera in minutes and run it live.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)
F = TypeVar("F", bound=Callable)


def friendly(fn: F) -> F:
    """Turn a ThumbsError into one red line and exit code 1; Ctrl-C into exit code 130."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ThumbsError as e:
            err.print(f"[bold red]error:[/] {e}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            err.print("[yellow]interrupted[/]")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


@app.command()
@friendly
def collect(
    label: str = typer.Option(..., "--label", "-l", help="Class to record, e.g. up, down, none."),
    source: str = typer.Option("0", "--source", "-s", help="Camera index, video file, image folder/glob, URL "
                               "or GStreamer pipeline."),
    data: Path = typer.Option(Path("dataset"), "--data", "-d", help="Data folder (one sub-folder per class)."),
    count: Optional[int] = typer.Option(None, "--count", "-n", help="Stop after saving N frames."),
    interval: Optional[float] = typer.Option(None, "--interval", help="Save automatically every SEC seconds."),
    headless: bool = typer.Option(False, "--headless", help="No window: saves automatically."),
    size: Optional[str] = typer.Option(None, "--size", help="Save frames resized to WxH, e.g. 320x240."),
    width: Optional[int] = typer.Option(None, "--width", help="Camera width to request."),
    height: Optional[int] = typer.Option(None, "--height", help="Camera height to request."),
    fps: Optional[float] = typer.Option(None, "--fps", help="Camera frame rate to request."),
) -> None:
    """Record labelled frames into DATA/LABEL/ (SPACE saves, a toggles auto burst, q quits)."""
    from thumbs.collect import collect as run_collect
    from thumbs.collect import parse_size
    from thumbs.dataset import validate_label
    from thumbs.sources import open_source

    validate_label(label)
    frame_size = parse_size(size)
    with open_source(source, width, height, fps) as src:
        result = run_collect(src, label, data, count=count, interval=interval, headless=headless,
                             size=frame_size)
        skipped = src.skipped
    for p in skipped:
        err.print(f"[yellow]skipped unreadable image[/] {p}")
    note = " (interrupted; everything saved so far is kept)" if result.interrupted else ""
    out.print(f"saved {len(result.saved)} frame(s) to {data / label} as session {result.session}{note}")
    out.print("  ".join(f"{k}: {v}" for k, v in sorted(result.counts.items())))


@app.command()
@friendly
def data(
    data: Path = typer.Option(Path("dataset"), "--data", "-d", help="Data folder (one sub-folder per class)."),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
) -> None:
    """Count images per class, show the train/val split, and warn about what will hurt training."""
    from thumbs.datacheck import check

    report = check(data)
    if as_json:
        print(json.dumps(report.to_dict(), indent=2))
        return
    table = Table(title=f"data set: {data}")
    for col in ("class", "images", "share", "train", "val"):
        table.add_column(col, justify="left" if col == "class" else "right")
    for c in report.classes:
        table.add_row(c.name, str(c.count), f"{c.share:.0%}", str(c.train), str(c.val))
    table.add_row("[bold]total", f"[bold]{report.total}", "", str(report.train), str(report.val))
    out.print(table)
    for w in report.warnings:
        err.print(f"[yellow]warning[/] ({w.code}): {w.message}", highlight=False)
        for p in w.paths[:10]:
            err.print(f"    {p}", highlight=False)
        if len(w.paths) > 10:
            err.print(f"    ... and {len(w.paths) - 10} more")
    if not report.warnings:
        out.print("[green]no problems found[/]")


@app.command("demo-data")
@friendly
def demo_data(
    out_dir: Path = typer.Option(Path("demo-run"), "--out", "-o", help="Where to write dataset/ and videos."),
    per_class: int = typer.Option(150, "--per-class", help="Images per class."),
    seed: int = typer.Option(0, "--seed", help="Random seed: the same seed gives the same data."),
) -> None:
    """Generate the synthetic demo data set (up/down/none) and demo videos with ground truth."""
    from thumbs.quickstart import make_demo_data

    paths = make_demo_data(out_dir, per_class=per_class, seed=seed)
    for name, path in paths.items():
        out.print(f"{name:<12} {path}")


def main() -> None:
    app(prog_name="thumbs")


if __name__ == "__main__":
    sys.exit(main())
