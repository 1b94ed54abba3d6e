"""The model registry: which torchvision networks, where their head is, what counts as backbone,
and how pretrained weights arrive (torchvision's cache online, a local file offline)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torchvision import models

from thumbs.core.errors import ThumbsError
from thumbs.core.norms import custom_norm, norm_values
from thumbs.hands.inputs import FEATURES
from thumbs.train_config import WEIGHTS_HINT
from thumbs.training import checkpoint
from thumbs.training.checkpoint import Checkpoint


@dataclass(frozen=True)
class Arch:
    name: str
    build: Callable[..., nn.Module]  # torchvision constructor, takes weights=
    head: str  # dotted path of the layer that is replaced for N classes
    torchvision_weights: bool = True  # whether torchvision can download ImageNet weights for it
    img_size: int = 224
    # On a CPU, training runs channels_last from this image size up (None: never), where oneDNN measured faster
    # that way (scripts/bench_first_step.py --device cpu, 224 px: MobileNets 1.4-1.6x, SqueezeNet 1.5x, ResNet-18
    # 1.1x but 0.93-0.98x at 40-64 px, AlexNet 1.0x). A CUDA GPU always trains channels_last (its tensor cores).
    cpu_channels_last_from: int | None = 0
    landmarks: bool = False  # fed hands.inputs.landmark_features (img_size: their length), not an image


class LandmarkMLP(nn.Module):
    """The landmarks model (`--arch landmarks`): a small MLP on hands.inputs.landmark_features, which are
    normalised already (wrist-relative, divided by the hand's size). Trains in seconds on a CPU."""

    def __init__(self, num_classes: int = 2, weights: object = None, width: int = 128, dropout: float = 0.1) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(FEATURES, width), nn.ReLU(), nn.Dropout(dropout),
                                  nn.Linear(width, width // 2), nn.ReLU(), nn.Dropout(dropout))
        self.head = nn.Linear(width // 2, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


ARCHS: dict[str, Arch] = {a.name: a for a in (
    Arch("alexnet", models.alexnet, "classifier.6", cpu_channels_last_from=None),
    Arch("squeezenet1_1", models.squeezenet1_1, "classifier.1"),
    Arch("resnet18", models.resnet18, "fc", cpu_channels_last_from=96),
    Arch("mobilenet_v3_small", models.mobilenet_v3_small, "classifier.3"),
    Arch("mobilenet_v2", models.mobilenet_v2, "classifier.1"),
    Arch("mobilenet_v2_x0_35", functools.partial(models.mobilenet_v2, width_mult=0.35), "classifier.1",
         torchvision_weights=False),
)}  # the image networks; --arch also takes LANDMARKS
LANDMARKS = Arch("landmarks", LandmarkMLP, "head", torchvision_weights=False, img_size=FEATURES,
                 cpu_channels_last_from=None, landmarks=True)
KNOWN = {**ARCHS, LANDMARKS.name: LANDMARKS}  # every --arch


class Normalized(nn.Module):
    """Normalisation inside the model, so every consumer (eval, ONNX, live) feeds plain [0, 1] RGB."""

    def __init__(self, net: nn.Module, mean: tuple[float, ...], std: tuple[float, ...]) -> None:
        super().__init__()
        self.net = net
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net((x - self.mean) / self.std)


class Features(Normalized):
    """The wrapper of a network on feature vectors (the landmarks model): they come normalised (norm "none"), so
    it passes them on; the same checkpoint layout as an image model's (net.*, mean, std)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class FlipAverage(nn.Module):
    """The mean of the class probabilities of a frame and of its mirror image, for classes a mirror does not
    change (trained with flips): the hand a person did not record is read like the one they did. Returns
    log-probabilities, so a softmax after it (the exported graph's) gives that mean back. Averaged in the log
    domain: a probability below float32's smallest (a confidently wrong model early in training) stays a finite
    log-probability instead of log(0) = -inf, which would read as a diverged loss. LogSoftmax, Max, Exp and Log:
    ops of every ONNX opset, which TensorRT 8.2 parses."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self.model(x).log_softmax(1), self.model(x.flip(3)).log_softmax(1)
        top = torch.maximum(a, b)
        return top + (((a - top).exp() + (b - top).exp()) / 2).log()


def get_arch(name: str) -> Arch:
    if name not in KNOWN:
        raise ThumbsError(f"unknown architecture '{name}': choose one of {', '.join(KNOWN)}")
    return KNOWN[name]


def memory_format(arch_name: str, img_size: int, device: torch.device) -> torch.memory_format:
    """The layout a network trains in on `device`: the one rule for the model's weights and its batches."""
    arch = get_arch(arch_name)
    start = arch.cpu_channels_last_from
    if arch.landmarks:
        return torch.contiguous_format  # vectors have no channels to lay out
    if device.type == "cuda" or (start is not None and img_size >= start):
        return torch.channels_last
    return torch.contiguous_format


def _replace_head(net: nn.Module, path: str, num_classes: int) -> nn.Module:
    parent_path, _, attr = path.rpartition(".")
    parent = net.get_submodule(parent_path) if parent_path else net
    old = parent[int(attr)] if attr.isdigit() else getattr(parent, attr)
    if isinstance(old, nn.Linear):
        new = nn.Linear(old.in_features, num_classes)
    elif isinstance(old, nn.Conv2d):
        new = nn.Conv2d(old.in_channels, num_classes, kernel_size=1)
    else:
        raise TypeError(f"head {path} is a {type(old).__name__}")
    # Small weights, zero bias (torchvision's own choice for SqueezeNet): with the default init the
    # pre-ReLU outputs of SqueezeNet's conv head start mostly negative and whole classes never learn.
    nn.init.normal_(new.weight, 0.0, 0.01)
    nn.init.zeros_(new.bias)
    if attr.isdigit():
        parent[int(attr)] = new
    else:
        setattr(parent, attr, new)
    return new


def is_head_key(arch: Arch, key: str) -> bool:
    return key.startswith(arch.head + ".")


def build(arch_name: str, num_classes: int, weights: str = "imagenet", norm: str | None = None,
          log: Callable[[str], None] = print) -> tuple[Normalized, str]:
    """A network with a fresh head for `num_classes`; weights: 'imagenet', 'none' or a file path.
    The normalisation: `norm` when given, else what the weights file says, else ImageNet's.
    Returns the model and the normalisation name used."""
    arch = get_arch(arch_name)
    file_norm = None
    if weights == "imagenet":
        net = _imagenet(arch)
    else:
        net = arch.build(weights=None)
        if weights != "none":
            file_norm = load_backbone(net, arch, Path(weights), log)
    if norm and file_norm and norm != file_norm:
        log(f"--norm {norm} overrides the weights file's normalisation ({file_norm})")
    norm = norm or file_norm or ("none" if arch.landmarks else "imagenet")
    values = norm_values(norm)
    _replace_head(net, arch.head, num_classes)
    return (Features if arch.landmarks else Normalized)(net, *values), norm


def example_input(arch_name: str, size: int, batch: int = 1) -> torch.Tensor:
    """A random input of the shape the network takes: (batch, FEATURES) landmark vectors, or RGB images."""
    shape = (batch, FEATURES) if get_arch(arch_name).landmarks else (batch, 3, size, size)
    return torch.rand(*shape, generator=torch.Generator().manual_seed(0))


def _imagenet(arch: Arch) -> nn.Module:
    if not arch.torchvision_weights:
        raise ThumbsError(f"torchvision has no ImageNet download for {arch.name}: pass --weights PATH to a "
                          "state dict file (or --weights none)")
    enum = models.get_model_weights(arch.build).DEFAULT
    try:
        return arch.build(weights=enum)
    except Exception as e:  # URLError, HTTPError, SSL errors: all mean "no file, no network"
        cache = Path(torch.hub.get_dir()) / "checkpoints" / Path(enum.url).name
        raise ThumbsError(
            f"could not download ImageNet weights for {arch.name} ({type(e).__name__}: {e}). Offline? "
            f"Download {enum.url} elsewhere and copy it to {cache}, or pass --weights PATH"
        ) from None


def _file_norm(content: dict) -> str | None:
    """The normalisation a weights file declares: {"norm": name}, {"norm": {"mean", "std"}} or mean/std."""
    norm = content.get("norm")
    if isinstance(norm, str):
        norm_values(norm)
        return norm
    source = norm if isinstance(norm, dict) else content
    if "mean" in source and "std" in source:
        return custom_norm(source["mean"], source["std"])
    return None


def _unwrap(content, arch: Arch, path: Path, log: Callable[[str], None]) -> tuple[object, str | None]:
    """The state dict inside a weights file and the normalisation it declares. A thumbs checkpoint of the
    same architecture counts: its network is taken (the Normalized wrapper's 'net.' prefix dropped)."""
    if checkpoint.is_checkpoint(content):
        ckpt = checkpoint.parse(content, path)
        info = ckpt.info
        if info.arch != arch.name:
            raise ThumbsError(f"weights file '{path}' is a thumbs checkpoint of {info.arch}, not "
                              f"{arch.name}: pass --arch {info.arch}, or other weights")
        state = {k.removeprefix("net."): v for k, v in ckpt.state_dict.items() if k not in ("mean", "std")}
        log(f"weights file '{path}' is a thumbs checkpoint ({arch.name}; classes {', '.join(info.classes)}): "
            f"starting from its network with a new head, normalisation {info.norm}")
        return state, info.norm or custom_norm(info.mean, info.std)
    if not isinstance(content, dict):
        return content, None
    norm = _file_norm(content)
    for key in ("state_dict", "model"):
        if isinstance(content.get(key), dict):
            return content[key], norm
    return content, norm


def load_backbone(net: nn.Module, arch: Arch, path: Path, log: Callable[[str], None] = print) -> str | None:
    """Load a state dict file into `net`: every backbone tensor must fit, head tensors are ignored.
    Returns the normalisation the file declares, if any."""
    content = checkpoint.read_torch_file(path, "weights file", WEIGHTS_HINT, "is not a PyTorch state dict")
    state, norm = _unwrap(content, arch, path, log)
    if not isinstance(state, dict):
        raise ThumbsError(f"weights file '{path}' holds a {type(state).__name__}, not a state dict")
    state = {k.removeprefix("module."): v for k, v in state.items()}
    own = net.state_dict()
    backbone = {k: v for k, v in state.items() if not is_head_key(arch, k)}
    ignored = len(state) - len(backbone)
    unexpected = [k for k in backbone if k not in own]
    missing = [k for k in own if not is_head_key(arch, k) and k not in backbone and "num_batches_tracked" not in k]
    wrong = [k for k in backbone if k in own and own[k].shape != backbone[k].shape]
    if unexpected or missing or wrong:
        example = (unexpected or missing or wrong)[0]
        raise ThumbsError(
            f"weights file '{path}' does not fit {arch.name}: {len(missing)} backbone tensors missing, "
            f"{len(unexpected)} unknown, {len(wrong)} of the wrong shape (e.g. '{example}'); "
            "is it for another architecture?"
        )
    net.load_state_dict(backbone, strict=False)
    said = f", normalisation {norm} (from the file)" if norm else ""
    log(f"loaded {len(backbone)} backbone tensors from {path}, ignored {ignored} head tensors{said}")
    return norm


def head_parameters(model: Normalized, arch_name: str) -> list[nn.Parameter]:
    return list(model.net.get_submodule(get_arch(arch_name).head).parameters())


def set_backbone_frozen(model: Normalized, arch_name: str, frozen: bool) -> None:
    """Frozen: no gradients for anything but the head (and no optimizer state for it)."""
    head = {id(p) for p in head_parameters(model, arch_name)}
    for p in model.parameters():
        p.requires_grad = (id(p) in head) or not frozen


def backbone_train_mode(model: Normalized, arch_name: str, frozen: bool) -> None:
    """model.train(), but a frozen backbone stays in eval mode so its BatchNorm statistics keep."""
    if frozen:
        model.eval()
        model.net.get_submodule(get_arch(arch_name).head).train()
    else:
        model.train()


def load_trained(model: Normalized, ckpt: Checkpoint) -> Normalized:
    """A checkpoint's weights into a network built for its contract; a head that does not match the class list
    (an edited or foreign checkpoint) or weights of another network are one line, not a tensor-shape dump."""
    info, arch = ckpt.info, get_arch(ckpt.info.arch)
    head = ckpt.state_dict.get(f"net.{arch.head}.weight")
    if head is not None and head.shape[0] != len(info.classes):
        raise ThumbsError(f"'{ckpt.path}' lists {len(info.classes)} classes ({', '.join(info.classes)}) but its "
                          f"head has {head.shape[0]} outputs: the checkpoint is broken or was edited; train it again")
    try:
        model.load_state_dict(ckpt.state_dict)
    except RuntimeError as e:
        first = str(e).splitlines()[1].strip() if "\n" in str(e) else str(e)
        raise ThumbsError(f"'{ckpt.path}' does not fit {arch.name} ({first}): the checkpoint is broken; train it "
                          "again") from None
    return model


def from_checkpoint(ckpt: Checkpoint) -> nn.Module:
    """The trained network as its contract says it runs (flip-averaged or not), on the CPU, in eval mode."""
    model, _ = build(ckpt.info.arch, len(ckpt.info.classes), weights="none", norm=ckpt.info.norm)
    load_trained(model, ckpt)
    return (FlipAverage(model) if ckpt.info.flip_average else model).eval()
