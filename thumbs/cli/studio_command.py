"""`thumbs studio`: collect, train and try in one window (the studio itself is thumbs/studio/)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from thumbs.cli.common import MAX_FPS, MAX_SMOOTH, PATH, err, friendly, out, say_cpu
from thumbs.cli.train_command import (
    ARCH_OPTION,
    AUGMENT_OPTION,
    BATCH_SIZE_OPTION,
    CACHE_OPTION,
    CROP_OPTION,
    DEVICE_OPTION,
    EPOCHS_OPTION,
    FLIP_AVERAGE_OPTION,
    FLIP_OPTION,
    FREEZE_EPOCHS_OPTION,
    IMG_SIZE_OPTION,
    LR_OPTION,
    NORM_OPTION,
    SEED_OPTION,
    WEIGHTS_OPTION,
)
from thumbs.core.errors import Interrupted


@friendly
def studio(
    classes: str = typer.Option(..., "--classes", help="The classes, in key order (1-9), e.g. up,down,none."),
    source: str = typer.Option("0", "--source", "-s", help="Camera index, video file or image folder (played "
                               "over and over, as a camera), URL or GStreamer pipeline."),
    data: Path = typer.Option(Path("dataset"), "--data", "-d", help="Data folder (one sub-folder per class).", **PATH),
    start_from: Optional[Path] = typer.Option(None, "--from", help="Start with this model live: a run's best.pt "
                                              "(t retrains it on the grown data) or an .onnx.", **PATH),
    events: Optional[str] = typer.Option(None, "--events", help="Write JSON Lines events to PATH, or - for stdout."),
    interval: float = typer.Option(0.2, "--interval", min=0.01, help="Seconds between the saves of an automatic "
                                   "burst (a)."),
    capture_dir: Path = typer.Option(Path("captures"), "--captures", help="The review queue that c fills with the "
                                     "frames the live model is unsure of, and r labels.", **PATH),
    threshold: float = typer.Option(0.6, "--threshold", "-t", min=0.0, max=1.0),
    smooth: int = typer.Option(5, "--smooth", min=1, max=MAX_SMOOTH),
    provider: str = typer.Option("auto", "--provider", "-p", help="auto, tensorrt, cuda or cpu."),
    width: Optional[int] = typer.Option(None, "--width", min=1),
    height: Optional[int] = typer.Option(None, "--height", min=1),
    fps: Optional[float] = typer.Option(None, "--fps", min=0.0, max=MAX_FPS),
    arch: str = ARCH_OPTION,
    weights: str = WEIGHTS_OPTION,
    norm: Optional[str] = NORM_OPTION,
    img_size: Optional[int] = IMG_SIZE_OPTION,
    epochs: int = EPOCHS_OPTION,
    freeze_epochs: int = FREEZE_EPOCHS_OPTION,
    batch_size: int = BATCH_SIZE_OPTION,
    lr: float = LR_OPTION,
    device: str = DEVICE_OPTION,
    seed: int = SEED_OPTION,
    crop: str = CROP_OPTION,
    augment: str = AUGMENT_OPTION,
    flip: bool = FLIP_OPTION,
    flip_average: bool = FLIP_AVERAGE_OPTION,
    cache: bool = CACHE_OPTION,
) -> None:
    """Collect, train and try in one window (1-9 class, SPACE save, a burst, t train, c capture, r review,
    e export, q quit)."""
    from thumbs.live.window import Window
    from thumbs.sources.readers import open_source, parse_source
    from thumbs.studio.app import TITLE, Studio, StudioOptions, check_classes, check_paths

    train_settings = {"arch": arch, "weights": weights, "norm": norm, "img_size": img_size, "epochs": epochs,
                      "freeze_epochs": freeze_epochs, "batch_size": batch_size, "lr": lr, "device": device,
                      "seed": seed, "crop": crop, "augment": augment, "flip": flip, "flip_average": flip_average,
                      "cache": cache}
    opts = StudioOptions(check_classes(classes.split(",")), data, train_settings, start_from, events, interval,
                         capture_dir, threshold, smooth, provider)
    check_paths(opts, parse_source(source))
    with open_source(source, width, height, fps) as src:
        window = Window(TITLE, instead="record without a window with `thumbs collect --headless`")
        say_cpu(lambda m: err.print(m, highlight=False, markup=False))  # once it opened: no display is one line
        try:
            summary = Studio(src, opts, window, log=lambda m: err.print(m, highlight=False, markup=False)).run()
        finally:
            window.close()
    for line in summary.lines(data):
        out.print(line, highlight=False)
    if summary.interrupted:
        raise Interrupted("every frame saved is kept")
