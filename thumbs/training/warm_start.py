"""`thumbs train --from RUN/best.pt`: retrain a model where it failed, in minutes.

It starts from the whole trained model and keeps its contract: architecture, input size, crop,
normalisation, flips and flip averaging, input (frame, hand crop or landmarks), and the head rows of every
class it already knows (mapped by class name, so a class folder added since, which sorts between the others,
gets fresh rows of its own and shifts none). The schedule is short (WARM_EPOCHS at the first run's rate
times WARM_LR_FACTOR): the network already knows the task and only needs the new frames folded in; the
decoded-image cache makes the unchanged photos free to load. The first run's rate travels down a chain of
retrains as the setting `first_lr`, so the tenth retrain runs at the rate of the first (a rate read from the
last retrain would halve each time).

Every option given with --from is placed: CONTRACT ones may not differ from the model's, APPLIED ones replace
the retrain's and are said, FROM_RUN_OPTIONS are taken as given; any other (--weights) is refused.

`--weights best.pt` differs: it takes only that network's backbone and starts a new head and a new
contract from the command line's settings (a new model that happens to start from a trained backbone)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from thumbs.core.errors import ThumbsError
from thumbs.train_config import FROM_RUN_OPTIONS, TrainConfig, flag, spelled
from thumbs.training import checkpoint, models

WARM_EPOCHS = 2
WARM_LR_FACTOR = 0.5
# what --from keeps; given, may not differ
CONTRACT = ("arch", "img_size", "norm", "crop", "flip", "flip_average", "input")
APPLIED = ("epochs", "lr", "augment", "freeze_epochs")  # given with --from, they replace the retrain's own, said


def contract(path: str | Path) -> dict:
    """The settings a warm start keeps, read from the checkpoint; `first_lr`: the rate of its chain's first run."""
    ckpt = checkpoint.load(path)
    info, settings = ckpt.info, ckpt.settings or {}
    lr = float(settings.get("lr", 1e-3))
    return {"arch": info.arch, "img_size": info.img_size, "norm": info.norm, "crop": info.crop,
            "flip": bool(settings.get("flip", info.flip_average)), "flip_average": info.flip_average,
            "input": info.input,
            "augment": settings.get("augment", "light"), "lr": lr, "first_lr": float(settings.get("first_lr") or lr),
            "label_smoothing": float(settings.get("label_smoothing", 0.0)), "classes": list(info.classes)}


def refuse_changes(path: str | Path, given: dict[str, object]) -> None:
    """Options given with --from that would change the contract are refused (None: not given)."""
    kept = contract(path)
    for name, value in given.items():
        if value is not None and value != kept[name]:
            raise ThumbsError(f"--{name.replace('_', '-')} {value}: --from keeps the model's {name} ({kept[name]}); "
                              "leave the option out, or train a new model without --from")


def settings(path: str | Path, epochs: int | None = None, lr: float | None = None) -> dict:
    """TrainConfig fields for a warm start from `path`: its contract and the short schedule, whose rate is the
    chain's first run's times WARM_LR_FACTOR (the one place it is computed)."""
    kept = contract(path)
    fields = {k: kept[k] for k in (*CONTRACT, "augment", "label_smoothing", "first_lr")}
    return {**fields, "weights": str(path), "start_from": str(path), "freeze_epochs": 0,
            "epochs": epochs or WARM_EPOCHS, "lr": lr or kept["first_lr"] * WARM_LR_FACTOR}


def config(path: str | Path, given: dict[str, object], log: Callable[[str], None] = print) -> TrainConfig:
    """The TrainConfig of `thumbs train --from PATH`, one rule for the command and the studio's job (job.py).
    `given`: the options written, by TrainConfig field; each is refused, applied (and said) or taken, never
    dropped: see the module docstring."""
    others = [name for name in given if name not in (*CONTRACT, *APPLIED, *FROM_RUN_OPTIONS)]
    if others:
        raise ThumbsError(f"{', '.join(flag(n) for n in others)} with --from: --from starts from the whole model "
                          f"'{path}' and does not take {'it' if len(others) == 1 else 'them'}; leave "
                          f"{'it' if len(others) == 1 else 'them'} out (--weights PATH instead takes only a "
                          "backbone, for a new model without --from)")
    refuse_changes(path, {name: given.get(name) for name in CONTRACT})
    fields = settings(path)
    for name in APPLIED:
        if name in given and given[name] != fields[name]:
            own = f"{fields[name]:g}" if isinstance(fields[name], float) else fields[name]
            log(f"{spelled(name, given[name])}: applied (the retrain's own is {own})")
            fields[name] = given[name]
    run = {name: given[name] for name in FROM_RUN_OPTIONS if name in given}
    return TrainConfig(**run, **fields)  # type: ignore[arg-type]


def map_head(old: dict[str, torch.Tensor], new: dict[str, torch.Tensor], old_classes: list[str],
             classes: list[str]) -> dict[str, torch.Tensor]:
    """Head tensors for `classes`: the old row of each class the model knew, the fresh row of a new one."""
    mapped = {}
    for key, fresh in new.items():
        rows = fresh.clone()
        for i, name in enumerate(classes):
            if name in old_classes:
                rows[i] = old[key][old_classes.index(name)]
        mapped[key] = rows
    return mapped


def build(path: str | Path, classes: list[str],
          log: Callable[[str], None] = print) -> tuple[models.Normalized, str, list[str]]:
    """The checkpoint's network with a head for `classes`; returns it, its normalisation and the classes
    it did not know (their head rows start fresh)."""
    ckpt = checkpoint.load(path)
    info = ckpt.info
    model, norm = models.build(info.arch, len(classes), weights="none", norm=info.norm, log=lambda m: None)
    head = f"net.{models.get_arch(info.arch).head}."
    state = model.state_dict()
    body = {k: v for k, v in ckpt.state_dict.items() if not k.startswith(head)}
    fresh = {k: v for k, v in state.items() if k.startswith(head)}
    old_head = {k: v for k, v in ckpt.state_dict.items() if k.startswith(head)}
    if set(body) != {k for k in state if not k.startswith(head)}:
        raise ThumbsError(f"'{path}' does not fit its own architecture {info.arch}: the checkpoint is damaged; "
                          "train it again")
    model.load_state_dict({**body, **map_head(old_head, fresh, info.classes, classes)})
    added = [c for c in classes if c not in info.classes]
    dropped = [c for c in info.classes if c not in classes]
    log(f"starting from {path} ({info.arch}, {info.img_size}px, {info.crop} crop, {norm} normalisation; "
        f"kept the head rows of {', '.join(c for c in classes if c in info.classes)}"
        + (f"; new rows for {', '.join(added)}" if added else "")
        + (f"; dropped {', '.join(dropped)} (no class folder)" if dropped else "") + ")")
    return model, norm, added
