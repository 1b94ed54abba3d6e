"""`thumbs train`, and its model options, which `thumbs studio` takes for its first training too.

A new run's settings are refused before PyTorch is imported (tests/test_cli.py runs it without PyTorch)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

import typer

from thumbs.cli.common import MAX_SEED, PATH, cpu_first, friendly, log_line, out
from thumbs.core.errors import Interrupted, ThumbsError
from thumbs.train_config import TrainConfig


def _positive(value: float) -> float:
    """A range check that also refuses NaN (which passes min=/max= comparisons)."""
    if not (math.isfinite(value) and value > 0):
        raise typer.BadParameter(f"{value} is not a positive number; use e.g. 1e-3")
    return value



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

    log = cpu_first(log_line)
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
