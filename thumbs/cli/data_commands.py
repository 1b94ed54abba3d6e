"""`thumbs collect` and `thumbs data`: record a data set, then count it and say what will hurt training."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from thumbs.cli.common import MAX_FPS, PATH, err, friendly, out
from thumbs.core.errors import Interrupted


@friendly
def collect(
    label: str = typer.Option(..., "--label", "-l", help="Class to record, e.g. up, down, none."),
    source: str = typer.Option("0", "--source", "-s", help="Camera index, video file, image folder/glob, URL "
                               "or GStreamer pipeline."),
    data: Path = typer.Option(Path("dataset"), "--data", "-d", help="Data folder (one sub-folder per class).", **PATH),
    count: Optional[int] = typer.Option(None, "--count", "-n", min=1, help="Stop after saving N frames."),
    interval: Optional[float] = typer.Option(None, "--interval", min=0.0,
                                             help="Save automatically every SEC seconds."),
    headless: bool = typer.Option(False, "--headless", help="No window: saves automatically."),
    size: Optional[str] = typer.Option(None, "--size", help="Save frames resized to WxH, e.g. 320x240."),
    width: Optional[int] = typer.Option(None, "--width", min=1, help="Camera width to request."),
    height: Optional[int] = typer.Option(None, "--height", min=1, help="Camera height to request."),
    fps: Optional[float] = typer.Option(None, "--fps", min=0.0, max=MAX_FPS, help="Camera frame rate to request."),
) -> None:
    """Record labelled frames into DATA/LABEL/ (SPACE saves, a toggles auto burst, q quits)."""
    from thumbs.data.dataset import validate_label
    from thumbs.live.collect import collect as run_collect
    from thumbs.live.collect import parse_size
    from thumbs.sources.readers import open_source

    validate_label(label)
    frame_size = parse_size(size)
    with open_source(source, width, height, fps) as src:
        result = run_collect(src, label, data, count=count, interval=interval, headless=headless,
                             size=frame_size)
        skipped, dropped, what = src.skipped, src.dropped, src.spec.describe()
    for p in skipped:
        err.print(f"[yellow]skipped unreadable image[/] {p}")
    if dropped:  # a live source (camera, stream, GStreamer) runs on while a frame is saved
        err.print(f"note: {dropped} frame(s) of {what} came while saving and were not kept (the newest is the one "
                  "saved; --interval spaces the saves)", highlight=False)
    note = " (interrupted; everything saved so far is kept)" if result.interrupted else ""
    out.print(f"saved {len(result.saved)} frame(s) to {data / label} as session {result.session}{note}")
    out.print("  ".join(f"{k}: {v} ({result.sessions.get(k, 0)} session(s))"
                        for k, v in sorted(result.counts.items())), highlight=False)
    out.print(f"next: {result.hint()}", highlight=False)
    if result.interrupted:
        raise Interrupted("everything saved so far is kept")


@friendly
def data(
    data: Path = typer.Option(Path("dataset"), "--data", "-d", help="Data folder (one sub-folder per class).", **PATH),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
    hands: bool = typer.Option(False, "--hands", help="Run the hand front end on every image (kept in the cache "
                               "for training) and count per class the images with no hand found: a hand model "
                               "answers them with the no-gesture class."),
) -> None:
    """Count images per class, show the train/val split, and warn about what will hurt training."""
    from thumbs.data.datacheck import check

    found = None
    if hands:
        from thumbs.data.handcheck import open_cache

        found = open_cache(log=lambda m: err.print(m, highlight=False, markup=False))
    report = check(data, hands=found)
    if as_json:
        print(json.dumps(report.to_dict(), indent=2))
        return
    table = Table(title=f"data set: {data}", caption="val new: images of whole sessions training never sees "
                  "(with capture-* sessions: their later frames)")
    for col in ("class", "images", "sessions", "share", "train", "val", "val new") + (("no hand",) if hands else ()):
        table.add_column(col, justify="left" if col == "class" else "right")
    for c in report.classes:
        table.add_row(c.name, str(c.count), str(c.sessions), f"{c.share:.0%}", str(c.train), str(c.val),
                      str(c.val_new), *([str(c.no_hand)] if hands else []))
    table.add_row("[bold]total", f"[bold]{report.total}", "", "", str(report.train), str(report.val),
                  str(sum(c.val_new for c in report.classes)),
                  *([str(sum(c.no_hand or 0 for c in report.classes))] if hands else []))
    out.print(table)
    for w in report.warnings:
        err.print(f"[yellow]warning[/] ({w.code}): {w.message}", highlight=False)
        for p in w.paths[:10]:
            err.print(f"    {p}", highlight=False)
        if len(w.paths) > 10:
            err.print(f"    ... and {len(w.paths) - 10} more")
    if not report.warnings:
        out.print("[green]no problems found[/]")
