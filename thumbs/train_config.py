"""The settings of a training run and their defaults, written once: the trainer runs them, `thumbs train` and
`thumbs demo` show them as their options' defaults. Torch-free and light, so `thumbs --help` stays instant."""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, fields, replace
from pathlib import Path

from thumbs.core.errors import ThumbsError

WEIGHTS_HINT = " (use --weights imagenet, none, or a .pth path)"  # after a --weights file that is not there
AUGMENTS = ("light", "strong")  # training augmentation strengths: training/augment.py's recipes
MAX_LR = 1.0  # AdamW moves every weight by about lr a step: above 1, more than a trained weight's size
MIN_IMG_SIZE, MAX_IMG_SIZE = 32, 1024  # above 1024 px a batch no longer fits in memory on common machines
LANDMARKS = "landmarks"  # the architecture fed hand landmarks (training/models.py), and that input's name
INPUTS = ("frame", "hand", LANDMARKS)  # core/model_info.py's INPUTS: --input frame or hand; landmarks by --arch
# every --arch, in the order --help lists them: training/models.py builds each (its KNOWN has these names)
ARCH_NAMES = ("alexnet", "squeezenet1_1", "resnet18", "mobilenet_v3_small", "mobilenet_v2", "mobilenet_v2_x0_35",
              LANDMARKS)
DEVICE_PATTERN = r"auto|cpu|cuda(:\d+)?"  # --device, as PyTorch takes it
# Files a GPU driver makes (NVIDIA, Jetson, WSL, ROCm): with none of them no CUDA device can be usable
GPU_DRIVER_FILES = ("/dev/nvidiactl", "/proc/driver/nvidia", "/dev/nvhost-ctrl", "/dev/dxg", "/dev/kfd")


@dataclass
class TrainConfig:
    data: str = "dataset"
    arch: str = "resnet18"
    weights: str = "imagenet"  # imagenet | none | path to a state dict
    norm: str | None = None  # imagenet | inception; default: what the weights expect
    epochs: int = 10
    freeze_epochs: int = 0  # head-only epochs first; 0 measured best (scripts/sweep_recipe.py, docs/results.md)
    batch_size: int = 32
    lr: float = 1e-3
    finetune_lr_factor: float = 0.1
    img_size: int | None = None  # default: the architecture's (224)
    device: str = "auto"
    out: str | None = None  # default runs/<timestamp>
    seed: int = 0
    val_fraction: float = 0.2
    crop: str = "center"  # preprocess.CROPS: which part of the frame the model sees, in training and live
    augment: str = "light"  # training augmentation strength (AUGMENTS)
    flip: bool = True  # mirror images left-right (off for gestures whose side matters: point left / right)
    flip_average: bool = True  # with flip: validation and live average each frame with its mirror image
    cache: bool = True  # keep decoded images for the next run (image_cache.py)
    label_smoothing: float = 0.0  # soft targets: less over-confidence on frames unlike the training ones
    start_from: str | None = None  # --from: a checkpoint whose model and contract this run continues (warm_start.py)
    first_lr: float | None = None  # --from: the rate of the chain's first run, the short schedule's base (warm_start)
    input: str | None = None  # INPUTS: frame, or hand (hand crops); default frame, landmarks for --arch landmarks


# What `--from` takes as given, where and how the retrain runs (warm_start.py; the studio's t sends only these)
FROM_RUN_OPTIONS = ("data", "batch_size", "device", "out", "seed", "cache")


def field_names() -> list[str]:
    return [f.name for f in fields(TrainConfig)]


def flag(name: str, value: object = None) -> str:
    """The command-line spelling of a setting: `img_size` -> `--img-size`, `flip` False -> `--no-flip`."""
    spelled = name.replace("_", "-")
    return f"--no-{spelled}" if value is False else f"--{spelled}"


def spelled(name: str, value: object) -> str:
    """An option as it is written with its value: `--lr 0.001`, `--no-flip`."""
    return flag(name, value) if isinstance(value, bool) else f"{flag(name)} {value}"


def model_input(cfg: TrainConfig) -> str:
    """What the model is fed (ModelInfo.input): --input, landmarks for the landmarks architecture, else frame."""
    return LANDMARKS if cfg.arch == LANDMARKS else (cfg.input or "frame")


def resolved(cfg: TrainConfig) -> TrainConfig:
    """The settings as the run uses them: its input named; the landmarks model (fed FEATURES numbers, not an
    image) takes no ImageNet weights, no normalisation and no mirror averaging, and its img_size is FEATURES."""
    if cfg.arch != LANDMARKS:
        return replace(cfg, input=model_input(cfg))
    from thumbs.hands.inputs import FEATURES

    return replace(cfg, input=LANDMARKS, weights="none" if cfg.weights == "imagenet" else cfg.weights, norm="none",
                   img_size=FEATURES, flip_average=False)


def check_input(cfg: TrainConfig) -> None:
    """--input and --arch landmarks agree; the landmarks model takes no image options."""
    from thumbs.hands.inputs import FEATURES

    if cfg.input is not None and cfg.input not in INPUTS:
        raise ThumbsError(f"--input {cfg.input}: use frame or hand (or --arch landmarks for a landmarks model)")
    if cfg.arch != LANDMARKS:
        if cfg.input == LANDMARKS:
            raise ThumbsError("--input landmarks: a landmarks model is --arch landmarks (no --input)")
        return
    if cfg.input not in (None, LANDMARKS):
        raise ThumbsError(f"--input {cfg.input} with --arch landmarks: the landmarks model is fed the hand's "
                          "landmarks; leave --input out, or use --input hand with an image --arch (e.g. resnet18)")
    if cfg.img_size not in (None, FEATURES):
        raise ThumbsError(f"--img-size {cfg.img_size} with --arch landmarks: the landmarks model takes {FEATURES} "
                          "numbers, not an image; leave --img-size out")
    if cfg.norm not in (None, "none"):
        raise ThumbsError(f"--norm {cfg.norm} with --arch landmarks: its landmarks come normalised; leave --norm out")


def check_arch(name: str) -> None:
    if name not in ARCH_NAMES:
        raise ThumbsError(f"unknown architecture '{name}': choose one of {', '.join(ARCH_NAMES)}")


def check_device(name: str) -> None:
    """--device as written, and a GPU asked for where no GPU driver is: told without PyTorch (a GPU number that
    is out of range needs PyTorch to tell; the trainer does)."""
    if not re.fullmatch(DEVICE_PATTERN, name):
        raise ThumbsError(f"--device '{name}': use auto, cpu, cuda or cuda:N (N a GPU number, e.g. cuda:0)")
    if name.startswith("cuda") and not any(os.path.exists(p) for p in GPU_DRIVER_FILES):
        raise ThumbsError(f"--device {name}: no GPU driver on this machine (no NVIDIA device); use --device cpu "
                          "or auto")


def check_settings(cfg: TrainConfig) -> None:
    """Refuse settings that cannot work before any image is decoded."""
    from thumbs.core.norms import norm_values
    from thumbs.core.torch_file import check_torch_file
    from thumbs.runtime.preprocess import CROPS

    check_arch(cfg.arch)
    check_device(cfg.device)
    if cfg.norm is not None:
        try:
            norm_values(cfg.norm)
        except ThumbsError:
            raise ThumbsError(f"--norm '{cfg.norm}': use imagenet or inception (or leave it out: what the weights "
                              "say)") from None
    if not (math.isfinite(cfg.lr) and cfg.lr > 0):
        raise ThumbsError(f"--lr {cfg.lr}: the learning rate must be a positive number, e.g. 1e-3")
    if cfg.lr > MAX_LR:
        raise ThumbsError(f"--lr {cfg.lr:g}: too large to train (each step would move every weight by about that "
                          f"much): use at most {MAX_LR:g}; 1e-3 is usual")
    check_input(cfg)
    if cfg.arch != LANDMARKS and cfg.img_size is not None and not MIN_IMG_SIZE <= cfg.img_size <= MAX_IMG_SIZE:
        raise ThumbsError(f"--img-size {cfg.img_size}: use {MIN_IMG_SIZE} to {MAX_IMG_SIZE} pixels (224 is usual)")
    for name, value, low in (("--epochs", cfg.epochs, 1), ("--batch-size", cfg.batch_size, 1),
                             ("--freeze-epochs", cfg.freeze_epochs, 0)):
        if value is not None and value < low:
            raise ThumbsError(f"{name} {value}: use {low} or more")
    if cfg.batch_size == 1:
        raise ThumbsError("--batch-size 1 trains nothing (batch norm learns from 2 images or more per batch, and "
                          "a batch of one is left out): use 2 or more, e.g. 32")
    for name, value, allowed in (("--crop", cfg.crop, CROPS), ("--augment", cfg.augment, AUGMENTS)):
        if value not in allowed:
            raise ThumbsError(f"{name} {value}: use one of {', '.join(allowed)}")
    if cfg.weights not in ("imagenet", "none"):
        check_torch_file(cfg.weights, "weights file", WEIGHTS_HINT)


def check_out(cfg: TrainConfig) -> None:
    """A run folder inside the data folder would become a class of images (its report pictures included)."""
    if cfg.out is None:
        return
    out, data = Path(cfg.out).resolve(), Path(cfg.data).resolve()
    if out == data or data in out.parents:
        raise ThumbsError(f"--out '{cfg.out}' is inside the data folder '{cfg.data}': the next training would read "
                          "the run's files as images of a class; choose a folder outside it")


def refuse_used_run_dir(path: Path) -> None:
    """A new run never goes into a folder that holds files, so no run is ever replaced."""
    if path.is_dir() and any(path.iterdir()):
        hint = f"`thumbs train --resume {path / 'last.pt'}`" if (path / "last.pt").exists() else "another --out"
        raise ThumbsError(f"run folder '{path}' is not empty: a new run would replace its files; continue that run "
                          f"with {hint}, or choose another --out (an empty or new folder)")


def check(cfg: TrainConfig) -> None:
    """Everything a new run can refuse from its settings alone, torch-free: `thumbs train` runs it before PyTorch
    is imported (which takes seconds), and the trainer runs it again for library callers."""
    from thumbs.core.files import check_writable_dir
    from thumbs.data.dataset import check_class_count, check_class_name, class_images, class_names, no_images

    check_settings(cfg)
    check_out(cfg)
    if cfg.out is not None:
        refuse_used_run_dir(Path(cfg.out))
        check_writable_dir(cfg.out, "--out", create=False)
    names = class_names(cfg.data)
    check_class_count(cfg.data, names)
    for name in names:  # the data folder exists, is a folder, and each class has a name and images
        check_class_name(cfg.data, name)
        if not class_images(cfg.data, name):
            raise no_images(cfg.data, name)
    check_no_gesture(model_input(cfg), names, cfg.data)


def check_no_gesture(kind: str, classes: list[str], data: str | Path) -> None:
    """A hand model answers a frame with no hand with the no-gesture class (hands.inputs.no_hand_class): the
    classes must have one."""
    from thumbs.hands.inputs import NO_GESTURE, no_hand_class

    if kind != "frame" and no_hand_class(classes) is None:
        option = "--arch landmarks" if kind == LANDMARKS else "--input hand"
        raise ThumbsError(f"{option}: '{data}' has no no-gesture class ({', '.join(classes)}) for frames where no "
                          f"hand is found: add a folder `none` (or {', '.join(NO_GESTURE[1:])}) of frames without "
                          "the gestures (empty scenes, other hand shapes)")


# `thumbs demo`: the whole product on generated data (thumbs/demo.py), small enough for a laptop CPU
DEMO_PER_CLASS = 300  # generated images per class
DEMO_IMG_SIZE = 48  # pixels: the generated thumbs are simple shapes
DEMO_BATCH_SIZE = 16
