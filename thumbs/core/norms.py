"""Input normalisations by name: the values a network's weights expect, kept in the model (models.Normalized)
and in its contract (checkpoint, ONNX metadata). No torch: names and numbers only."""

from __future__ import annotations

from thumbs.core.errors import ThumbsError

NORMS = {
    "imagenet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),  # torchvision's weights
    "inception": ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),  # inputs in [-1, 1]: Keras/TF MobileNet weights
    "none": ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0)),  # inputs as they come: the landmarks model's features
}


def norm_values(norm: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Mean and std of a normalisation: a name in NORMS, or an explicit one as custom_norm() names it."""
    if norm in NORMS:
        return NORMS[norm]
    if norm.startswith("mean="):
        try:
            mean, std = (tuple(float(v) for v in part.split("=")[1].split(",")) for part in norm.split(";"))
            if len(mean) == len(std) == 3 and all(v > 0 for v in std):
                return mean, std
        except (ValueError, IndexError):
            pass
    raise ThumbsError(f"unknown normalisation '{norm}': choose one of {', '.join(NORMS)}")


def custom_norm(mean, std) -> str:
    """A name for explicit mean/std: a known one's name when they match, else 'mean=a,b,c;std=d,e,f'."""
    try:
        mean, std = tuple(round(float(v), 6) for v in mean), tuple(round(float(v), 6) for v in std)
    except (TypeError, ValueError):
        raise ThumbsError(f"normalisation mean {mean!r} / std {std!r} is not three numbers each") from None
    for name, values in NORMS.items():
        if values == (mean, std):
            return name
    name = "mean=" + ",".join(map(str, mean)) + ";std=" + ",".join(map(str, std))
    norm_values(name)  # validates: three values each, positive std
    return name
