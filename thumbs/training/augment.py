"""Training augmentation of a whole batch at once, on the training device, each image with its own random
geometry and colour. torchvision's v2 transforms draw one set of parameters per call, so a batch would move
as one; per-image calls keep the CPU busy while a GPU waits. Here one sampling grid and one colour matrix per
image do it in a few batched operations.

Input: uint8 canvases from preprocess.training_view (the model's view in the centre, context around it).
Output: float images in [0, 1] of the model's size. With every parameter at zero the output is exactly the
model's view, so training and live see the same geometry; the random part only moves around it."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import torch
from torch.nn import functional as F

from thumbs.train_config import AUGMENTS

LUMA = (0.299, 0.587, 0.114)
# RGB <-> YIQ: a hue shift is a rotation of the I/Q plane
_YIQ = ((0.299, 0.587, 0.114), (0.596, -0.274, -0.322), (0.211, -0.523, 0.312))


@dataclass(frozen=True)
class Recipe:
    """Ranges of the random changes. Never a vertical flip nor a large rotation: either turns thumbs up
    into thumbs down."""

    zoom: tuple[float, float] = (1.0, 1.0)  # side of the region seen, relative to the model's view (<1 zooms in)
    stretch: float = 0.0  # up to this much longer on one axis than the other (0.1 = 10 %)
    shift: float = 0.0  # centre moved up to this fraction of the view's side
    rotate: float = 0.0  # degrees, either way
    flip: bool = False  # mirror left-right half of the time (the other hand)
    perspective: float = 0.0  # keystone strength, on a perspective_p share of images
    perspective_p: float = 0.0
    brightness: float = 0.0  # factor in 1 +- this
    contrast: float = 0.0
    saturation: float = 0.0
    hue: float = 0.0  # fraction of a turn, either way
    grayscale_p: float = 0.0
    blur_p: float = 0.0  # Gaussian blur, sigma 0.1-2 px
    erase_p: float = 0.0  # a rectangle of 2-15 % of the image replaced by noise


RECIPES = {
    "none": Recipe(),
    "light": Recipe(zoom=(0.84, 1.08), stretch=0.1, shift=0.08, rotate=15, flip=True, brightness=0.35,
                    contrast=0.35, saturation=0.3, hue=0.04),
    # what changes between rooms and cameras: distance, perspective, blur, colour, occlusion
    "strong": Recipe(zoom=(0.65, 1.2), stretch=0.15, shift=0.15, rotate=15, flip=True, perspective=0.25,
                     perspective_p=0.3, brightness=0.4, contrast=0.4, saturation=0.4, hue=0.05, grayscale_p=0.1,
                     blur_p=0.2, erase_p=0.25),
}


def recipe(name: str, flip: bool = True) -> Recipe:
    if name not in RECIPES:
        raise ValueError(f"unknown augmentation {name!r}: one of {', '.join(AUGMENTS)}")
    chosen = RECIPES[name]
    return chosen if flip else replace(chosen, flip=False)


class BatchAugment:
    """(N, 3, C, C) uint8 canvases -> (N, 3, size, size) float32 in [0, 1], on the canvases' device."""

    def __init__(self, size: int, canvas: int, chosen: Recipe, generator: torch.Generator) -> None:
        self.size, self.ratio, self.recipe, self.gen = size, size / canvas, chosen, generator
        device = generator.device  # what stays the same for every batch is made once, where the batches live
        steps = (torch.arange(size, device=device, dtype=torch.float32) * 2 + 1) / size - 1
        ys, xs = torch.meshgrid(steps, steps, indexing="ij")
        self.base = torch.stack([xs, ys, torch.ones_like(xs)], -1).view(1, -1, 3)  # output pixel centres
        self.luma = torch.tensor(LUMA, device=device)
        self.grey = self.luma.view(1, 3).expand(3, 3)
        self.yiq = torch.tensor(_YIQ, device=device)
        self.yiq_inv = torch.linalg.inv(self.yiq)

    def __call__(self, canvases: torch.Tensor) -> torch.Tensor:
        x = canvases.float().div_(255)
        x = F.grid_sample(x, self._grid(len(x), x.device), mode="bilinear", padding_mode="reflection",
                          align_corners=False)
        x = self._colour(x)
        if self.recipe.blur_p:
            x = self._blur(x)
        if self.recipe.erase_p:
            x = self._erase(x)
        return x

    def _uniform(self, n: int, device: torch.device, low: float, high: float) -> torch.Tensor:
        return torch.rand(n, device=device, generator=self.gen) * (high - low) + low

    def _chance(self, n: int, device: torch.device, p: float) -> torch.Tensor:
        return torch.rand(n, device=device, generator=self.gen) < p

    def _grid(self, n: int, device: torch.device) -> torch.Tensor:
        """Output pixel -> canvas position, through one 3x3 projective matrix per image."""
        r = self.recipe
        u = lambda low, high: self._uniform(n, device, low, high)  # noqa: E731
        zoom = torch.exp(u(math.log(r.zoom[0]), math.log(r.zoom[1])))
        aspect = torch.exp(u(-math.log1p(r.stretch), math.log1p(r.stretch)) / 2)
        angle = u(-r.rotate, r.rotate) * math.pi / 180
        flip = torch.where(self._chance(n, device, 0.5 if r.flip else 0.0), -1.0, 1.0)
        sx, sy = zoom * aspect * flip, zoom / aspect
        cos, sin = torch.cos(angle), torch.sin(angle)
        m = torch.zeros(n, 3, 3, device=device)
        m[:, 0, 0], m[:, 0, 1], m[:, 0, 2] = cos * sx, -sin * sy, u(-r.shift, r.shift) * 2
        m[:, 1, 0], m[:, 1, 1], m[:, 1, 2] = sin * sx, cos * sy, u(-r.shift, r.shift) * 2
        keystone = self._chance(n, device, r.perspective_p).float() * r.perspective
        m[:, 2, 0], m[:, 2, 1], m[:, 2, 2] = u(-1, 1) * keystone, u(-1, 1) * keystone, 1.0
        m[:, :2] *= self.ratio  # output units -> canvas units: the view is the canvas' centre
        points = self.base @ m.transpose(1, 2)
        return (points[..., :2] / points[..., 2:]).view(n, self.size, self.size, 2)

    def _colour(self, x: torch.Tensor) -> torch.Tensor:
        """Brightness, contrast, then one matrix for saturation, grey and hue; clamped like a real image."""
        r, n, device = self.recipe, len(x), x.device
        if not (r.brightness or r.contrast or r.saturation or r.hue or r.grayscale_p):
            return x
        x = (x * self._uniform(n, device, 1 - r.brightness, 1 + r.brightness).view(n, 1, 1, 1)).clamp_(0, 1)
        mean = torch.einsum("nchw,c->n", x, self.luma).view(n, 1, 1, 1) / (x.shape[2] * x.shape[3])
        contrast = self._uniform(n, device, 1 - r.contrast, 1 + r.contrast).view(n, 1, 1, 1)
        x = ((x - mean) * contrast + mean).clamp_(0, 1)
        saturation = self._uniform(n, device, 1 - r.saturation, 1 + r.saturation)
        saturation = torch.where(self._chance(n, device, r.grayscale_p), 0.0, saturation).view(n, 1, 1)
        mix = saturation * torch.eye(3, device=device) + (1 - saturation) * self.grey  # (n, 3, 3)
        angle = self._uniform(n, device, -r.hue, r.hue) * 2 * math.pi
        turn = torch.zeros(n, 3, 3, device=device)
        turn[:, 0, 0], turn[:, 1, 1], turn[:, 2, 2] = 1.0, torch.cos(angle), torch.cos(angle)
        turn[:, 1, 2], turn[:, 2, 1] = -torch.sin(angle), torch.sin(angle)
        matrix = self.yiq_inv @ turn @ self.yiq @ mix
        return torch.einsum("nij,njhw->nihw", matrix, x).clamp_(0, 1)

    def _blur(self, x: torch.Tensor) -> torch.Tensor:
        """A Gaussian of its own width per image (width ~0 for the images not chosen), one grouped conv."""
        n, c, h, w = x.shape
        sigma = self._uniform(n, x.device, 0.1, 2.0)
        sigma = torch.where(self._chance(n, x.device, self.recipe.blur_p), sigma, 1e-3)
        taps = torch.arange(-2, 3, device=x.device, dtype=x.dtype)
        kernel = torch.exp(-(taps.view(1, -1) ** 2) / (2 * sigma.view(-1, 1) ** 2))
        kernel = (kernel / kernel.sum(1, keepdim=True)).repeat_interleave(c, 0)  # (n*c, 5)
        y = F.pad(x.reshape(1, n * c, h, w), (2, 2, 2, 2), mode="reflect")
        y = F.conv2d(y, kernel.view(n * c, 1, 1, 5), groups=n * c)
        y = F.conv2d(y, kernel.view(n * c, 1, 5, 1), groups=n * c)
        return y.view(n, c, h, w)

    def _erase(self, x: torch.Tensor) -> torch.Tensor:
        """A rectangle of noise on some images: the model must not rely on one patch of the hand."""
        n, _, h, w = x.shape
        area = self._uniform(n, x.device, 0.02, 0.15)
        aspect = torch.exp(self._uniform(n, x.device, math.log(0.3), math.log(3.3)))
        eh, ew = (area / aspect).sqrt().clamp(max=1), (area * aspect).sqrt().clamp(max=1)
        top, left = self._uniform(n, x.device, 0, 1) * (1 - eh), self._uniform(n, x.device, 0, 1) * (1 - ew)
        ys = (torch.arange(h, device=x.device) + 0.5).view(1, h, 1) / h
        xs = (torch.arange(w, device=x.device) + 0.5).view(1, 1, w) / w
        inside = ((ys >= top.view(n, 1, 1)) & (ys < (top + eh).view(n, 1, 1))
                  & (xs >= left.view(n, 1, 1)) & (xs < (left + ew).view(n, 1, 1)))
        inside &= self._chance(n, x.device, self.recipe.erase_p).view(n, 1, 1)
        noise = torch.rand(x.shape, device=x.device, generator=self.gen)
        return torch.where(inside.unsqueeze(1), noise, x)
