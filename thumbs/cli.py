"""The `thumbs` command: parses options and calls library functions; no logic of its own.

Heavy imports (torch, onnxruntime) happen inside the commands that need them, so `thumbs live`
on a Jetson never loads the training stack and `thumbs --help` is instant."""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import signal
import sys
from pathlib import Path
from typing import Callable, Optional, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from thumbs import export_config
from thumbs.core.errors import SHOW_NAMES, Interrupted, ThumbsError
from thumbs.export_config import BATCHES, DEFAULT_OPSET, FORMATS, MAX_OPSET, MIN_OPSET, SERVED
from thumbs.train_config import DEMO_IMG_SIZE, DEMO_PER_CLASS, TrainConfig

app = typer.Typer(
    name="thumbs",
    help="Train a hand-gesture classifier on your camera in minutes and run it live.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
F = TypeVar("F", bound=Callable)
T = TypeVar("T")
MAX_SEED = 2**32 - 1  # what NumPy's and PyTorch's generators take
MAX_FPS = 1000.0  # a camera frame rate to request; more is a typo
MAX_SMOOTH = 1000  # frames averaged for the stable label; more would never change it


def friendly(fn: F) -> F:
    """The one place that ends a command: a ThumbsError is one red line and exit code 1; a stop (Ctrl-C, SIGTERM,
    SIGHUP; thumbs.core.signals) is "interrupted" and exit code 128 + the signal number: 130, 143 or 129.

    A command that was stopped but kept something prints its summary, then raises
    `thumbs.core.errors.Interrupted("what was kept")`: this prints "interrupted: what was kept"."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from thumbs.core import signals

        with signals.stop_signals(hand_on=False):
            try:
                result = fn(*args, **kwargs)
            except ThumbsError as e:
                err.print(f"[bold red]error:[/] {escape(str(e))}", highlight=False, soft_wrap=True)
                raise typer.Exit(1) from None
            except KeyboardInterrupt as e:
                _stopped(signals.requested() or getattr(e, "signum", None), str(e))
            except BrokenPipeError:
                raise  # the reader of stdout went away: main() ends quietly
            except OSError as e:  # what no command words itself: a name too long, a full disk, /dev/full
                from thumbs.core.files import os_error_line

                err.print(f"[bold red]error:[/] {escape(os_error_line(e))}", highlight=False, soft_wrap=True)
                raise typer.Exit(1) from None
            except RuntimeError as e:  # Path.resolve() before Python 3.13 says a link loop so, not as an OSError
                if not str(e).startswith("Symlink loop"):
                    raise
                err.print(f"[bold red]error:[/] {escape(str(e))}: a link leads back to itself; give the real path",
                          highlight=False, soft_wrap=True)
                raise typer.Exit(1) from None
            if signals.requested():  # it came during the last write: all is written, still say it
                _stopped(signals.requested(), "after the work was finished and saved")
        return result

    return wrapper  # type: ignore[return-value]


def _stopped(signum: Optional[int], note: str) -> None:
    from thumbs.core import signals

    what = "interrupted" if signum in (None, signal.SIGINT) else f"stopped by {signals.name(signum)}"
    err.print(f"[yellow]{what}[/]" + (f": {escape(note)}" if note else ""), highlight=False)
    raise typer.Exit(signals.exit_code(signum))


def _path(value: str) -> Path:
    """A path as typed. Typer would read an empty one as '.', and a command would write into the current folder."""
    if not value:
        raise typer.BadParameter("an empty path: give a file or folder name")
    return Path(value)


def _path_or_url(value: str) -> str:
    """A model path as typed, or a URL kept as text (a Path would turn grpc://host into grpc:/host)."""
    _path(value)  # '' is refused
    return value


PATH = {"parser": _path, "metavar": "<path>"}  # every path option (arguments take parser=_path): '' is refused


@app.command()
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


@app.command()
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


@app.command("demo-data")
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


def _positive(value: float) -> float:
    """A range check that also refuses NaN (which passes min=/max= comparisons)."""
    if not (math.isfinite(value) and value > 0):
        raise typer.BadParameter(f"{value} is not a positive number; use e.g. 1e-3")
    return value


def _log(message: str) -> None:
    out.print(message, highlight=False, markup=False)  # library text, printed as written: 'thumbs[train]' stays


def _cpu(log: Callable[[str], None] = _log) -> None:
    """The thread policy (thumbs/core/threads.py), said first: how this command will use the cores."""
    from thumbs.core import threads

    log(threads.current().line())


def _cpu_first(log: Callable[[str], None]) -> Callable[[str], None]:
    """`log`, saying the thread policy before its first line: a command that refuses its input before it says
    anything still prints only the one error line."""
    said = []

    def first(message: str) -> None:
        if not said:
            said.append(True)
            _cpu(log)
        log(message)

    return first


# `train` option -> TrainConfig field, where the names differ
TRAIN_FIELDS = {"out_dir": "out", "input_": "input"}


def _given(ctx: typer.Context, values: dict) -> dict:
    """The options the user wrote (command line or environment), by TrainConfig field: what --resume checks.
    (click's ParameterSource by name: typer vendors click in newer versions, older ones use click itself.)"""
    written = {}
    for name, value in values.items():
        source = ctx.get_parameter_source(name)
        if source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP"):
            written[TRAIN_FIELDS.get(name, name)] = value
    return written


# The model options of `train`, which the studio's first training takes too: one definition, one default.
ARCH_OPTION = typer.Option(TrainConfig.arch, "--arch", "-a", help="alexnet, squeezenet1_1, resnet18, "
    "mobilenet_v3_small, mobilenet_v2, mobilenet_v2_x0_35, or landmarks (a small model on the hand's "
    "landmarks, from the hand front end; trains in seconds on a CPU).")
INPUT_OPTION = typer.Option(TrainConfig.input, "--input", help="What the model sees: frame (default) or hand "
    "(the square around the hand the front end finds). A hand model answers a frame with no hand with the "
    "no-gesture class (none).")
WEIGHTS_OPTION = typer.Option(TrainConfig.weights, "--weights", "-w", help="imagenet (torchvision download/cache), "
    "none (random init), or PATH to a state dict file or a thumbs checkpoint.")
NORM_OPTION = typer.Option(TrainConfig.norm, "--norm", help="Input normalisation of the weights: "
    "imagenet or inception ([-1, 1], Keras/TF weights). Default: what the weights "
    "file says, else imagenet.")
EPOCHS_OPTION = typer.Option(TrainConfig.epochs, "--epochs", "-e", min=1, help="Epochs in all (with --resume: "
    "the run's own count unless given).")
FREEZE_EPOCHS_OPTION = typer.Option(TrainConfig.freeze_epochs, "--freeze-epochs", min=0, help="First epochs "
    "train the head only on a frozen backbone (then all at lr/10); 0: all from "
    "the start.")
BATCH_SIZE_OPTION = typer.Option(TrainConfig.batch_size, "--batch-size", "-b", min=1)
LR_OPTION = typer.Option(TrainConfig.lr, "--lr", callback=_positive, help="Learning rate (AdamW, cosine decay); "
    "after --freeze-epochs the whole network continues at lr/10.")
IMG_SIZE_OPTION = typer.Option(TrainConfig.img_size, "--img-size", min=32, max=1024, help="Input size "
    "in pixels, 32 to 1024 (default: the architecture's, 224).")
DEVICE_OPTION = typer.Option(TrainConfig.device, "--device", help="auto, cpu, cuda or cuda:N.")
SEED_OPTION = typer.Option(TrainConfig.seed, "--seed", min=0, max=MAX_SEED, help="Random seed, 0 to 2^32-1.")
CROP_OPTION = typer.Option(TrainConfig.crop, "--crop", help="What the model sees of a frame: center (the centre "
    "square) or full (the whole frame squeezed to a square); live uses the same.")
AUGMENT_OPTION = typer.Option(TrainConfig.augment, "--augment", help="Training augmentation: light or strong "
    "(more zoom, perspective, blur, grey, occlusion).")
FLIP_OPTION = typer.Option(TrainConfig.flip, "--flip/--no-flip", help="Mirror training images left-right; "
    "--no-flip for gestures whose side matters (point left / point right).")
FLIP_AVERAGE_OPTION = typer.Option(TrainConfig.flip_average, "--flip-average/--no-flip-average", help="With "
    "--flip, the model averages each frame with its mirror image (validation, "
    "export and live): steadier on the other hand, half the frame rate.")
CACHE_OPTION = typer.Option(TrainConfig.cache, "--cache/--no-cache", help="Keep decoded images for the next run "
    "($THUMBS_CACHE/images, default ~/.cache/thumbs/images; THUMBS_CACHE=off: none).")


@app.command()
@friendly
def train(
    ctx: typer.Context,
    data: Path = typer.Option(Path(TrainConfig.data), "--data", "-d", **PATH,
                              help="Data folder (one sub-folder per class)."),
    arch: str = ARCH_OPTION,
    weights: str = WEIGHTS_OPTION,
    norm: Optional[str] = NORM_OPTION,
    epochs: int = EPOCHS_OPTION,
    freeze_epochs: int = FREEZE_EPOCHS_OPTION,
    batch_size: int = BATCH_SIZE_OPTION,
    lr: float = LR_OPTION,
    img_size: Optional[int] = IMG_SIZE_OPTION,
    device: str = DEVICE_OPTION,
    out_dir: Optional[Path] = typer.Option(TrainConfig.out, "--out", "-o", help="Run folder (default "
                                           "runs/<timestamp>).", **PATH),
    seed: int = SEED_OPTION,
    crop: str = CROP_OPTION,
    augment: str = AUGMENT_OPTION,
    flip: bool = FLIP_OPTION,
    flip_average: bool = FLIP_AVERAGE_OPTION,
    cache: bool = CACHE_OPTION,
    input_: Optional[str] = INPUT_OPTION,
    resume: Optional[Path] = typer.Option(None, "--resume", help="Continue a run from its last.pt, with its own "
                                          "settings (--epochs, --device and --cache may change).", **PATH),
    start_from: Optional[Path] = typer.Option(None, "--from", help="Retrain a model (RUN/best.pt) on the grown "
                                              "data set: keeps its architecture, size, crop, normalisation, flips "
                                              "and class rows; a short schedule (2 epochs at half its first run's lr). "
                                              "Unlike --weights, which takes only the backbone for a new model.",
                                              **PATH),
) -> None:
    """Fine-tune a pretrained network on the class folders; writes best.pt, last.pt, report.md, curves.png."""
    import warnings

    from thumbs import train_config
    from thumbs.core.torch_file import check_torch_file

    settings = {"data": str(data), "arch": arch, "weights": weights, "norm": norm, "epochs": epochs,
                "freeze_epochs": freeze_epochs, "batch_size": batch_size, "lr": lr, "img_size": img_size,
                "device": device, "out_dir": str(out_dir) if out_dir else None, "seed": seed, "crop": crop,
                "augment": augment, "flip": flip, "flip_average": flip_average, "cache": cache, "input_": input_}
    if resume and start_from:
        raise ThumbsError("--resume and --from: --resume continues an unfinished run, --from retrains a finished "
                          "model on new data; give one of them")
    if not (resume or start_from):  # a new run's settings are refused before PyTorch is imported (seconds)
        train_config.check(TrainConfig(**{TRAIN_FIELDS.get(k, k): v for k, v in settings.items()}))
    else:  # so are a checkpoint that is no PyTorch file and a device that cannot be
        check_torch_file(resume or start_from)
        train_config.check_device(device)

    log = _cpu_first(_log)
    from thumbs.core import metrics
    from thumbs.training import resume as resuming
    from thumbs.training import train as training

    warnings.filterwarnings("ignore", category=UserWarning, module="torch")  # the error line says what matters
    given = _given(ctx, settings)
    if resume:
        result = resuming.resume(resume, given, log=log)
    elif start_from:
        from thumbs.training import warm_start

        # options not written have TrainConfig's defaults, as warm_start.config takes them
        result = training.train(warm_start.config(start_from, given, log=log), log=log)
    else:
        cfg = TrainConfig(**{TRAIN_FIELDS.get(k, k): v for k, v in settings.items()})
        result = training.train(cfg, log=log)
    for note in result.notes:
        out.print(f"note: {note}", highlight=False)
    out.print(metrics.markdown(result.scores), highlight=False)
    v = result.validation
    same = f"  (same-session {v.same.accuracy:.1%}, optimistic)" if v and v.new_decides and v.same else ""
    out.print(f"[bold green]{v.headline_name if v else 'validation accuracy'} {result.scores.accuracy:.1%}[/]{same}"
              f"  model: {result.best}  report: {result.run_dir / 'report.md'}")
    if result.interrupted:
        raise Interrupted(f"kept {result.last}; continue with `thumbs train --resume {result.last}`"
                          if result.last.exists() else "nothing was saved")


@app.command("eval")
@friendly
def eval_(
    model: Path = typer.Argument(..., help="A .pt checkpoint or an .onnx model.", parser=_path),
    data: Path = typer.Option(Path("dataset"), "--data", "-d", help="Class-folder data set to score on.", **PATH),
    provider: str = typer.Option("auto", "--provider", "-p", help="auto, tensorrt, cuda or cpu (a .pt runs in "
                                 "PyTorch: auto, cuda or cpu)."),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
) -> None:
    """Accuracy, per-class precision/recall/F1 and the confusion matrix of a model on a data set."""
    from thumbs.core import metrics
    from thumbs.evaluate import evaluate

    log = _cpu_first((lambda m: err.print(m, highlight=False, markup=False)) if as_json else _log)  # --json: JSON
    result = evaluate(model, data, provider, log=log)
    if as_json:
        print(json.dumps(result.to_dict(), indent=2))
        return
    out.print(f"accuracy [bold]{result.scores.accuracy:.1%}[/] on {result.scores.count} images of {data}")
    out.print(metrics.markdown(result.scores), highlight=False)
    for name, n in result.unknown_classes.items():
        err.print(f"[yellow]warning:[/] class '{name}' ({n} images) is unknown to the model: not scored")
    for p in result.skipped:
        err.print(f"[yellow]skipped unreadable image[/] {p}")


@app.command()
@friendly
def export(
    checkpoint: Path = typer.Argument(..., parser=_path,
                                      help="A .pt checkpoint from `thumbs train` (e.g. runs/X/best.pt)."),
    out_path: Optional[Path] = typer.Option(None, "--out", "-o", help="Output .onnx or a folder (default: "
                                            "best.onnx beside best.pt); NAME.labels.txt is written beside it.", **PATH),
    opset: int = typer.Option(DEFAULT_OPSET, "--opset", help=f"ONNX opset, {MIN_OPSET}-{MAX_OPSET}. Default "
                              f"{DEFAULT_OPSET}: the newest that JetPack 4.6's TensorRT 8.2 parses (its ONNX Runtime "
                              "1.11 takes 16); every architecture exports at it."),
    fp16: bool = typer.Option(False, "--fp16", help="Half-precision weights (smaller; float32 input/output)."),
    batch: str = typer.Option(BATCHES[0], "--batch", help=f"{' or '.join(BATCHES)}."),
    fmt: str = typer.Option("onnx", "--format", help="; ".join(f"{k}: {v}" for k, v in FORMATS.items()) + "."),
    name: Optional[str] = typer.Option(None, "--name", help="triton/deepstream: the model's name (default: the "
                                       "run's)."),
    instance: str = typer.Option("gpu", "--instance", help="triton: where the server runs it, gpu or cpu."),
) -> None:
    """Write NAME.onnx + NAME.labels.txt (or a Triton/DeepStream layout) and check ONNX Runtime agrees with PyTorch."""
    from thumbs.core.torch_file import check_torch_file

    export_config.check(opset, batch, fmt, instance)  # these before PyTorch loads: a mistake is refused at once
    check_torch_file(checkpoint)
    if fmt not in SERVED:
        from thumbs.training.export_target import checked_target

        checked_target(checkpoint, out_path)
    _cpu()
    if fmt in SERVED:
        return _export_served(checkpoint, out_path, fmt, name, instance, opset, fp16)
    from thumbs.training.export import export as run_export

    result = run_export(checkpoint, out_path, opset=opset, fp16=fp16, dynamic_batch=batch == "dynamic")
    out.print(f"wrote {result.onnx_path} and {result.labels_path} (opset {result.opset}); "
              f"max difference to PyTorch {result.max_diff:.1e}: [green]ok[/]")


def _export_served(checkpoint: Path, out_path: Optional[Path], fmt: str, name: Optional[str], instance: str,
                   opset: int, fp16: bool) -> None:
    if out_path is None:
        raise ThumbsError(f"--format {fmt} writes a folder: give it with --out, e.g. --out models")
    from thumbs.training import serve_export

    if fmt == "triton":
        result = serve_export.export_triton(checkpoint, out_path, name, instance, opset, fp16, log=_log)
    else:
        result = serve_export.export_deepstream(checkpoint, out_path, name, opset, fp16, log=_log)
    for path in result.written:
        out.print(f"wrote {escape(str(path))}", highlight=False)
    out.print(f"{fmt}: {escape(str(result.model_dir))} (opset {result.opset}); max difference to PyTorch "
              f"{result.max_diff:.1e}: [green]ok[/]")


def _exported_once(checkpoint: Path, log: Callable[[str], None]) -> Path:
    """Live runs ONNX: a .pt is exported once to its .onnx beside it (needs the training extra)."""
    try:
        from thumbs.training.export import export_once
    except ImportError:
        raise ThumbsError(f"'{checkpoint}' is a PyTorch checkpoint: export it to .onnx on a machine with "
                          "`pip install 'thumbs[train]'` (thumbs export), then pass the .onnx to --model") from None
    return export_once(checkpoint, log)


@app.command()
@friendly
def live(
    model: Optional[str] = typer.Option(None, "--model", "-m", help="An .onnx model or .pt checkpoint (default: "
                                        "the newest run's), or a model in a Triton server: grpc://HOST:PORT/NAME or "
                                        "http://HOST:PORT/NAME (docs/serving.md).", parser=_path_or_url,
                                        metavar="<path|url>"),
    source: str = typer.Option("0", "--source", "-s", help="Camera index, video file, image folder, URL or "
                               "GStreamer pipeline (the frames; --model names the model)."),
    provider: str = typer.Option("auto", "--provider", "-p", help="auto, tensorrt, cuda or cpu."),
    threshold: float = typer.Option(0.6, "--threshold", "-t", min=0.0, max=1.0,
                                    help="Below this the overlay says 'no confident gesture'."),
    smooth: int = typer.Option(5, "--smooth", min=1, max=MAX_SMOOTH, help="Frames averaged for the stable label."),
    headless: bool = typer.Option(False, "--headless", help="No window."),
    events: Optional[str] = typer.Option(None, "--events", help="Write JSON Lines events to PATH, or - for stdout."),
    record: Optional[Path] = typer.Option(None, "--record", help="Write the annotated video to PATH "
                                          "(.mp4/.avi; small frames are recorded scaled up, as shown).", **PATH),
    max_frames: Optional[int] = typer.Option(None, "--max-frames", min=1, help="Stop after N frames."),
    data: Path = typer.Option(Path("dataset"), "--data", "-d", help="Where digit keys save hard examples.", **PATH),
    fp32: bool = typer.Option(False, "--fp32", help="TensorRT in FP32 instead of FP16."),
    width: Optional[int] = typer.Option(None, "--width", min=1),
    height: Optional[int] = typer.Option(None, "--height", min=1),
    fps: Optional[float] = typer.Option(None, "--fps", min=0.0, max=MAX_FPS, help="Camera frame rate to request "
                                        "(0: the camera's own)."),
    capture: Optional[Path] = typer.Option(None, "--capture", help="Keep the frames the model is unsure of "
                                           "(below --threshold, top two close, or a label flicker) and a sample "
                                           "spread over time in DIR, to label with `thumbs review DIR`.", **PATH),
    capture_every: float = typer.Option(1.0, "--capture-every", min=0.0, help="Seconds of video between kept "
                                        "frames; 0 keeps every frame that qualifies."),
    capture_sample: float = typer.Option(1.0, "--capture-sample", min=0.0, help="Also keep a frame of each "
                                         "predicted class per SECONDS of video whatever its confidence (the gap "
                                         "grows to a tenth of the time elapsed), so a model that is sure and "
                                         "wrong is caught too; 0 keeps only unsure frames."),
    capture_max: int = typer.Option(500, "--capture-max", min=1, help="At most N frames waiting in DIR."),
    max_hands: int = typer.Option(1, "--max-hands", min=1, help="Hand models: classify up to N hands a frame "
                                  "(the events list each; the frame's label is the surest hand's)."),
) -> None:
    """Classify a camera or video live with an overlay (keys: q quits, 1-9 save a hard example)."""
    from thumbs.live.loop import LiveOptions, check_outputs
    from thumbs.live.loop import run as run_live
    from thumbs.runtime.classifier import Classifier
    from thumbs.runtime.loader import TORCH_SUFFIXES, existing_model, newest_model, served_scheme
    from thumbs.sources.readers import open_source, parse_source

    log = (lambda m: err.print(m, highlight=False)) if events == "-" else _log
    served = model is not None and served_scheme(model) is not None  # the server has the file, not us
    path = model if served else (existing_model(model) if model else newest_model())
    opts = LiveOptions(threshold, smooth, headless, events, str(record) if record else None, max_frames, str(data))
    if capture:
        from thumbs.live.capture import CaptureOptions

        opts.capture = CaptureOptions(capture, capture_every, capture_max, capture_sample)
    check_outputs(opts, parse_source(source), None if served else path)  # before the model is loaded or built
    log = _cpu_first(log)
    if not served and path.suffix.lower() in TORCH_SUFFIXES:
        from thumbs.core.torch_file import check_torch_file

        path = _exported_once(check_torch_file(path), log)
    clf = Classifier.load(path, provider, fp16=not fp32, log=log, max_hands=max_hands)
    log(f"model {clf.path} ({', '.join(clf.classes)}; {clf.sees}) on {clf.provider}")
    with open_source(source, width, height, fps) as src:
        summary = run_live(src, clf, opts)
        what = src.spec.describe()
    if not summary.frames and not summary.interrupted:
        skipped = f" ({len(summary.skipped)} unreadable image(s) skipped)" if summary.skipped else ""
        raise ThumbsError(f"nothing was classified: {what} gave no frame{skipped}; check that it plays "
                          "(e.g. with ffplay) or give another --source")
    for line in summary.lines():
        log(line)
    if summary.record:
        log(f"annotated video: {summary.record}")
    for p in summary.saved:
        log(f"saved hard example {p}")
    if summary.interrupted:
        raise Interrupted("every output was closed complete")


@app.command()
@friendly
def review(
    folder: Path = typer.Argument(..., help="The folder `thumbs live --capture` kept frames in.", parser=_path),
    data: Path = typer.Option(Path("dataset"), "--data", "-d", help="Data folder the labelled frames move into "
                              "(DATA/<class>/capture-<session>/).", **PATH),
    labels: Optional[Path] = typer.Option(None, "--labels", help="Label from a CSV with a `file,label` header "
                                          "(- discards) instead of the window; every row is checked first.", **PATH),
    list_only: bool = typer.Option(False, "--list", help="Print the frames waiting for a label."),
) -> None:
    """Label the frames live --capture kept (1-9 class, Enter/space accept the guess, x discard, u undo, q quit)."""
    from thumbs.data import captures

    if list_only:
        for line in captures.waiting_lines(folder):
            out.print(line, highlight=False)
        return
    if labels:
        decisions = captures.apply_labels(folder, data, labels)
    else:
        from thumbs.live.review import review as run_review

        decisions = run_review(folder, data)
    for line in captures.summary_lines(decisions, folder, data):
        out.print(line, highlight=False)


@app.command()
@friendly
def doctor(
    cameras: bool = typer.Option(True, "--cameras/--no-cameras", help="Try to open cameras 0-3."),
    model: Optional[Path] = typer.Option(None, "--model", "-m", help="An .onnx model: does its opset suit this "
                                         "ONNX Runtime/TensorRT, and which provider would live use?", **PATH),
) -> None:
    """Show what this machine can do: OpenCV build, display, ONNX Runtime providers, GPU, Jetson, cameras."""
    from thumbs.doctor import check_model_file, report, unusable_model
    from thumbs.runtime.loader import existing_model

    if model is not None:  # a model that is not there or no model is a mistake to say, not a row to report
        check_model_file(existing_model(model))
    rows = report(cameras, model)
    table = Table(show_header=False, box=None)
    for key, value in rows:
        table.add_row(f"[bold]{key}", escape(value))  # values hold [brackets], e.g. pip install 'thumbs[train]'
    out.print(table)
    problem = unusable_model(rows)
    if problem:
        raise ThumbsError(f"--model: {problem.splitlines()[0]}; live cannot run it")


@app.command("demo")
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

    result = run_demo(out_dir, arch=arch, epochs=epochs, img_size=img_size, log=_cpu_first(_log))
    out.print(f"[bold green]demo done[/]: validation accuracy {result.val_accuracy:.1%}, "
              f"live frame accuracy {result.frame_accuracy:.1%} against the clip's ground truth "
              f"at {result.fps:.0f} fps")
    out.print(f"  report {result.run_dir / 'report.md'}\n  model {result.onnx}\n  video {result.record}\n"
              f"  events {result.events}")


@app.command()
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
        _cpu(lambda m: err.print(m, highlight=False, markup=False))  # once it opened: no display is one line
        try:
            summary = Studio(src, opts, window, log=lambda m: err.print(m, highlight=False, markup=False)).run()
        finally:
            window.close()
    for line in summary.lines(data):
        out.print(line, highlight=False)
    if summary.interrupted:
        raise Interrupted("every frame saved is kept")


class _Stdout:
    """sys.stdout that notes when its reader went away (`thumbs ... | head -1`): a closed pipe is the reader's
    choice, so main() exits 0 and quietly, wherever the write happened (a command, --help, the final flush)."""

    def __init__(self, stream) -> None:
        self.stream, self.reader_gone = stream, False

    def _guard(self, call, *args):
        try:
            return call(*args)
        except BrokenPipeError:
            self.reader_gone = True
            devnull = os.open(os.devnull, os.O_WRONLY)  # Python's recipe: later writes and the exit flush go nowhere
            os.dup2(devnull, self.stream.fileno())
            os.close(devnull)
            raise

    def write(self, text: str) -> int:
        return self._guard(self.stream.write, text)

    def flush(self) -> None:
        self._guard(self.stream.flush)

    def __getattr__(self, name: str):
        return getattr(self.stream, name)


def main() -> None:
    """The entry point: where the process's own streams fail (a closed pipe, a full disk, names that are not
    UTF-8), once for every command."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors=SHOW_NAMES)
    stdout = sys.stdout = _Stdout(sys.stdout)
    try:
        try:
            app(prog_name="thumbs")
            code = 0
        except SystemExit as e:
            code = e.code
        sys.stdout.flush()
    except BrokenPipeError:
        code = 0
    except OSError as e:  # typer's own output (--help) or the last flush, e.g. `thumbs data > /dev/full`
        from thumbs.core.files import os_error_line

        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), stdout.stream.fileno())
        what = "cannot write to standard output" if e.filename is None else None
        err.print(f"[bold red]error:[/] {os_error_line(e, what)}", highlight=False, soft_wrap=True)
        code = 1
    sys.exit(0 if stdout.reader_gone else code)


if __name__ == "__main__":
    sys.exit(main())
