"""The model contract: what a consumer must know to feed a trained model and read its output.

One dataclass, written and read here for the checkpoint, the ONNX metadata and the labels file, so the
keys live in one place. Torch-free and Python 3.8 syntax: the live path (a Jetson) reads it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from thumbs.core.errors import ThumbsError
from thumbs.core.files import read_regular

FORMAT_VERSION = 2  # 1: flat keys, no crop policy (read as "center")
META_KEY = "thumbs.info"  # ONNX metadata: the whole ModelInfo as JSON
INPUT = "float32 NCHW RGB in [0, 1]; normalisation and softmax are inside the graph"
LANDMARKS_INPUT = "float32 [N, 63]: hands.inputs.landmark_features of each hand; softmax is inside the graph"
# What the model is fed, and so which front end live must run before it (thumbs/hands for the last two):
# "frame": the frame's crop (`crop`); "hand": the square crop around each hand found (hands.inputs.hand_crop);
# "landmarks": each hand's normalised landmarks (hands.inputs.landmark_features), a float32 vector per hand.
INPUTS = ("frame", "hand", "landmarks")


@dataclass(frozen=True)
class ModelInfo:
    classes: list[str]
    img_size: int
    norm: str  # the name; mean and std are the values the network normalises with
    mean: tuple[float, ...]
    std: tuple[float, ...]
    crop: str = "center"  # preprocess.CROPS: which part of a frame the model sees
    arch: str = ""
    flip_average: bool = False  # the graph averages each frame with its mirror image (models.FlipAverage)
    input: str = "frame"  # INPUTS: what the model is fed (a hand model needs the hand front end)
    version: int = field(default=FORMAT_VERSION)

    def to_dict(self) -> dict:
        return {**asdict(self), "mean": list(self.mean), "std": list(self.std), "version": FORMAT_VERSION}

    @classmethod
    def from_dict(cls, d: dict) -> ModelInfo:
        """Reads this version and the flat keys of version-1 checkpoints and ONNX files."""
        try:
            info = cls(classes=[str(c) for c in d["classes"]], img_size=int(d["img_size"]),
                       norm=str(d.get("norm", "")), mean=tuple(float(v) for v in d["mean"]),
                       std=tuple(float(v) for v in d["std"]), crop=str(d.get("crop") or "center"),
                       arch=str(d.get("arch", "")), flip_average=bool(d.get("flip_average", False)),
                       input=str((d.get("input") if int(d.get("version", 1)) >= 2 else None) or "frame"),
                       version=int(d.get("version", 1)))  # version 1's flat "input" was INPUT's description
            if info.input not in INPUTS:
                raise ValueError(f"input '{info.input}' is not one this thumbs knows ({', '.join(INPUTS)}): "
                                 "update thumbs")
            return info
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"incomplete model description ({type(e).__name__}: {e})") from None

    def to_metadata(self) -> dict[str, str]:
        """ONNX metadata_props: the contract as one JSON value, plus readable keys for other tools."""
        return {META_KEY: json.dumps(self.to_dict()), "thumbs.classes": json.dumps(self.classes),
                "thumbs.img_size": str(self.img_size), "thumbs.crop": self.crop,
                "thumbs.input": LANDMARKS_INPUT if self.input == "landmarks" else INPUT}

    @classmethod
    def from_metadata(cls, meta: dict[str, str], path: Path) -> ModelInfo:
        try:
            if META_KEY in meta:
                return cls.from_dict(json.loads(meta[META_KEY]))
            if "thumbs.classes" in meta:  # version 1: flat keys, normalisation by value only
                return cls.from_dict({"classes": json.loads(meta["thumbs.classes"]), **{
                    k: json.loads(meta[f"thumbs.{k}"]) for k in ("img_size", "mean", "std") if f"thumbs.{k}" in meta},
                    "arch": meta.get("thumbs.arch", ""), "version": 1})
        except ValueError as e:
            raise ThumbsError(f"'{path}' has broken thumbs metadata ({e}): export it again (thumbs export)") from None
        raise ThumbsError(f"'{path}' has no thumbs metadata (class names, input size): export it with `thumbs export`")

    def labels_text(self) -> str:
        return "\n".join(self.classes) + "\n"


def labels_path(model_path: Path) -> Path:
    """model.onnx -> model.labels.txt: each model its own labels file, so two exports share a folder."""
    return model_path.with_name(f"{model_path.stem}.labels.txt")


def read_labels(path: Path) -> list[str]:
    """The class names of a labels file, one a line."""
    try:
        text = read_regular(path).decode("utf-8")
    except IsADirectoryError:
        raise ThumbsError(f"labels file '{path}' is a folder: remove it or re-export the model") from None
    except UnicodeDecodeError:
        raise ThumbsError(f"labels file '{path}' is not UTF-8 text: delete it and re-export the model") from None
    except OSError as e:
        raise ThumbsError(f"labels file '{path}' cannot be read ({e.strerror}): fix its permissions, or delete "
                          "it and re-export the model") from None
    return [line.strip() for line in text.splitlines() if line.strip()]


def check_labels(info: ModelInfo, model_path: Path) -> None:
    """A labels file beside the model must agree with the classes inside it."""
    labels = labels_path(model_path)
    if not labels.exists() and not labels.is_symlink():
        return
    listed = read_labels(labels)
    if listed != info.classes:
        raise ThumbsError(f"{labels} ({', '.join(listed)}) disagrees with the classes inside {model_path.name} "
                          f"({', '.join(info.classes)}): re-export, or delete the stale labels file")


def file_sha256(path: Path) -> str:
    """Identifies the checkpoint an ONNX file came from (file times lie after a copy or a restore)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
