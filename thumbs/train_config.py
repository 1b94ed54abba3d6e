"""The settings of a training run and their defaults, written once: the trainer runs them, `thumbs train` and
`thumbs demo` show them as their options' defaults. Torch-free and light, so `thumbs --help` stays instant."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass
class TrainConfig:
    data: str = "dataset"
    arch: str = "resnet18"
    weights: str = "imagenet"  # imagenet | none | path to a state dict
    norm: str | None = None  # imagenet | inception; default: what the weights expect
    epochs: int = 10
    freeze_epochs: int = 0  # head-only epochs first; 0 measured best (scripts/sweep_recipe.py, README)
    batch_size: int = 32
    lr: float = 1e-3
    finetune_lr_factor: float = 0.1
    img_size: int | None = None  # default: the architecture's (224)
    device: str = "auto"
    out: str | None = None  # default runs/<timestamp>
    seed: int = 0
    val_fraction: float = 0.2
    crop: str = "center"  # preprocess.CROPS: which part of the frame the model sees, in training and live
    augment: str = "light"  # training augmentation strength (augment.AUGMENTS)
    flip: bool = True  # mirror images left-right (off for gestures whose side matters: point left / right)
    flip_average: bool = True  # with flip: validation and live average each frame with its mirror image
    cache: bool = True  # keep decoded images for the next run (image_cache.py)
    label_smoothing: float = 0.0  # soft targets: less over-confidence on frames unlike the training ones
    start_from: str | None = None  # --from: a checkpoint whose model and contract this run continues (warm_start.py)


def field_names() -> list[str]:
    return [f.name for f in fields(TrainConfig)]


def flag(name: str, value: object = None) -> str:
    """The command-line spelling of a setting: `img_size` -> `--img-size`, `flip` False -> `--no-flip`."""
    spelled = name.replace("_", "-")
    return f"--no-{spelled}" if value is False else f"--{spelled}"


# `thumbs demo`: the whole product on generated data (training/demo.py), small enough for a laptop CPU
DEMO_PER_CLASS = 300  # generated images per class
DEMO_IMG_SIZE = 48  # pixels: the generated thumbs are simple shapes
DEMO_BATCH_SIZE = 16
