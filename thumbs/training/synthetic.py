"""Synthetic demo data: a drawn fist with the thumb up or down (or no gesture) on cluttered
backgrounds, as a class-folder data set and as a video with per-frame ground truth.

It exists so the whole product can be run and tested on a machine with no camera and no data.
Everything is seeded: the same seed gives the same pixels."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from thumbs.core.errors import ThumbsError
from thumbs.core.files import encode_jpeg, ensure_dir, is_utf8, write_atomic, write_error, write_new

CLASSES = ("up", "down", "none")
SKIN = np.array([[224, 172, 105], [198, 134, 66], [141, 85, 36], [255, 219, 172], [241, 194, 125],
                 [120, 70, 40]], dtype=np.float32)  # RGB
DEFAULT_SEGMENTS = (("up", 45), ("none", 30), ("down", 45), ("up", 30), ("none", 20), ("down", 30))


@dataclass
class HandPose:
    """Where and how a hand is drawn; `label` decides the thumb (up, down) or none."""

    label: str
    cx: float
    cy: float
    size: float  # fist width in pixels
    angle: float  # degrees, within +-30 of upright (or of upside down for 'down')
    mirror: bool
    skin: np.ndarray  # BGR float
    arm_angle: float  # forearm direction, degrees from straight down
    variant: int  # for 'none': 0 empty scene, 1 open palm, 2 fist without thumb


def _rounded_rect(x0: float, y0: float, x1: float, y1: float, r: float, n: int = 6) -> np.ndarray:
    """Corners of a rounded rectangle as a polygon, in hand-local units."""
    pts = []
    for cx, cy, a0 in ((x1 - r, y0 + r, -90), (x1 - r, y1 - r, 0), (x0 + r, y1 - r, 90), (x0 + r, y0 + r, 180)):
        for t in np.linspace(a0, a0 + 90, n):
            pts.append((cx + r * np.cos(np.radians(t)), cy + r * np.sin(np.radians(t))))
    return np.array(pts, dtype=np.float32)


def _hand_parts(pose: HandPose) -> list[np.ndarray]:
    """Polygons of the hand in local units (fist width 1, y down), upright thumbs-up orientation."""
    if pose.label == "none" and pose.variant == 1:  # open palm, fingers spread upwards
        parts = [_rounded_rect(-0.5, -0.3, 0.5, 0.6, 0.2)]
        for i, x in enumerate((-0.42, -0.2, 0.02, 0.24)):
            length = (0.75, 0.9, 0.85, 0.65)[i]
            parts.append(_rounded_rect(x, -0.3 - length, x + 0.19, -0.1, 0.09))
        parts.append(_rounded_rect(0.45, -0.1, 0.95, 0.12, 0.1))  # thumb sideways
        return parts
    parts = [_rounded_rect(-0.5, -0.45, 0.5, 0.45, 0.22)]  # fist
    for k in range(4):  # curled fingers seen from the side
        y = -0.38 + k * 0.2
        parts.append(_rounded_rect(0.1, y, 0.62, y + 0.19, 0.09))
    if not (pose.label == "none" and pose.variant == 2):
        parts.append(_rounded_rect(-0.38, -1.15, -0.05, -0.25, 0.16))  # the thumb, pointing up
    return parts


def _to_image(points: np.ndarray, pose: HandPose) -> np.ndarray:
    pts = points.copy()
    if pose.mirror:
        pts[:, 0] = -pts[:, 0]
    angle = pose.angle + (180.0 if pose.label == "down" else 0.0)
    a = np.radians(angle)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]], dtype=np.float32)
    pts = pts @ rot.T * pose.size + np.array([pose.cx, pose.cy], dtype=np.float32)
    return np.round(pts * 16).astype(np.int32)  # 4 bits of sub-pixel precision for smooth edges


def draw_hand(canvas: np.ndarray, pose: HandPose) -> None:
    """Draw forearm then hand, with a darker outline and creases so edges look like a hand, not a blob."""
    if pose.label == "none" and pose.variant == 0:
        return
    skin = tuple(float(c) for c in pose.skin)
    shade = tuple(float(c) * 0.6 for c in pose.skin)
    a = np.radians(pose.arm_angle)
    wrist = np.array([pose.cx, pose.cy])
    far = wrist + np.array([np.sin(a), np.cos(a)]) * pose.size * 3.0
    cv2.line(canvas, tuple(int(v) for v in wrist), tuple(int(v) for v in far), shade, int(pose.size * 0.75) + 2,
             cv2.LINE_AA)
    cv2.line(canvas, tuple(int(v) for v in wrist), tuple(int(v) for v in far), skin, int(pose.size * 0.7),
             cv2.LINE_AA)
    for part in _hand_parts(pose):
        poly = _to_image(part, pose)
        cv2.fillPoly(canvas, [poly], skin, cv2.LINE_AA, shift=4)
        cv2.polylines(canvas, [poly], True, shade, max(1, int(pose.size / 40)), cv2.LINE_AA, shift=4)


def background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A gradient wall with random clutter: boxes, discs and lines in random colours."""
    c0, c1 = rng.uniform(20, 235, 3), rng.uniform(20, 235, 3)
    t = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    img = (c0 * (1 - t) + c1 * t) * np.ones((1, width, 1), np.float32)
    img = img.astype(np.uint8).copy()
    for _ in range(rng.integers(2, 7)):
        color = tuple(int(v) for v in rng.integers(0, 256, 3))
        kind = rng.integers(3)
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        if kind == 0:
            cv2.rectangle(img, (x, y), (x + int(rng.integers(5, width // 3)), y + int(rng.integers(5, height // 3))),
                          color, -1)
        elif kind == 1:
            cv2.circle(img, (x, y), int(rng.integers(3, height // 5)), color, -1, cv2.LINE_AA)
        else:
            cv2.line(img, (x, y), (int(rng.integers(0, width)), int(rng.integers(0, height))), color,
                     int(rng.integers(1, 5)), cv2.LINE_AA)
    return img


def random_pose(rng: np.random.Generator, label: str, width: int, height: int) -> HandPose:
    size = rng.uniform(0.26, 0.4) * min(width, height)
    skin = SKIN[rng.integers(len(SKIN))][::-1] * rng.uniform(0.8, 1.15)
    return HandPose(
        label=label,
        cx=rng.uniform(0.38, 0.62) * width,
        cy=rng.uniform(0.4, 0.6) * height,
        size=size,
        angle=rng.uniform(-30, 30),
        mirror=bool(rng.integers(2)),
        skin=np.clip(skin, 0, 255),
        arm_angle=float(rng.choice([-1, 1]) * rng.uniform(30, 80)),  # never along the thumb
        variant=int(rng.integers(3)),
    )


def finish(rng: np.random.Generator, img: np.ndarray, light: float | None = None) -> np.ndarray:
    """Camera effects: global lighting, a lighting gradient, blur and sensor noise."""
    h, w = img.shape[:2]
    light = rng.uniform(0.55, 1.35) if light is None else light
    ramp = np.linspace(rng.uniform(0.8, 1.0), rng.uniform(1.0, 1.2), w, dtype=np.float32)[None, :, None]
    out = img.astype(np.float32) * light * ramp
    k = int(rng.choice([1, 1, 3, 5]))
    if k > 1:
        out = cv2.GaussianBlur(out, (k, k), 0)
    out += rng.normal(0, rng.uniform(1, 6), out.shape).astype(np.float32)
    return np.clip(out, 0, 255).astype(np.uint8)


def render(rng: np.random.Generator, label: str, width: int = 160, height: int = 120) -> np.ndarray:
    """One random BGR image of class `label`."""
    img = background(rng, width, height)
    draw_hand(img, random_pose(rng, label, width, height))
    return finish(rng, img)


def check_out(path: str | Path) -> None:
    """Refuse a place whose name is not UTF-8 before anything is written: OpenCV crashes the process (a
    segmentation fault) on such a video path, which would leave a half-written demo folder behind. The same
    rule and words as `live --record`; names the folder to rename (the --out of demo and demo-data)."""
    path = Path(path)
    for part in reversed((path, *path.parents)):  # from the top down: the first name that is not UTF-8
        if not is_utf8(part.name):
            raise ThumbsError(f"--out '{part}': its name is not UTF-8 text, which OpenCV cannot write (the demo "
                              "videos go there); choose a name of plain letters and digits")


def make_dataset(root: str | Path, per_class: int = 120, seed: int = 0, width: int = 160, height: int = 120,
                 classes: Sequence[str] = CLASSES) -> dict[str, int]:
    """Write `per_class` images into root/<class>/ (existing files are left alone); returns counts. A root
    OpenCV cannot write videos beside is refused first (check_out), so the demo never leaves half its data."""
    check_out(root)
    rng = np.random.default_rng(seed)
    root = Path(root)
    counts = {}
    for label in classes:
        folder = root / label
        ensure_dir(folder)
        for i in range(per_class):
            name = folder / f"syn{seed}_{i:05d}.jpg"
            image = render(rng, label, width, height)
            if not name.exists():
                write_new(name, encode_jpeg(image))
        counts[label] = per_class
    return counts


def video_frames(segments: Sequence[tuple[str, int]] = DEFAULT_SEGMENTS, seed: int = 1, width: int = 320,
                 height: int = 240) -> Iterator[tuple[np.ndarray, str]]:
    """Frames of a steady scene where the hand moves slowly within each (label, frames) segment."""
    rng = np.random.default_rng(seed)
    scene = background(rng, width, height)
    light = rng.uniform(0.8, 1.2)
    for label, n in segments:
        pose = random_pose(rng, label, width, height)
        drift = rng.uniform(-0.6, 0.6, 2)
        for i in range(n):
            step = HandPose(**{**pose.__dict__, "cx": pose.cx + drift[0] * i,
                               "cy": pose.cy + drift[1] * i,
                               "angle": pose.angle + 6 * np.sin(i / 9)})
            img = scene.copy()
            draw_hand(img, step)
            yield finish(rng, img, light), label


def make_video(path: str | Path, segments: Sequence[tuple[str, int]] = DEFAULT_SEGMENTS, seed: int = 1,
               width: int = 320, height: int = 240, fps: float = 15.0) -> Path:
    """Write an mp4 and `<stem>.truth.json` beside it (the label of every frame, in order)."""
    path = Path(path)
    check_out(path)
    ensure_dir(path.parent)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    labels = []
    try:
        if not writer.isOpened():
            raise ThumbsError(f"cannot write video '{path}': choose a writable folder with free space")
        for frame, label in video_frames(segments, seed, width, height):
            writer.write(frame)
            labels.append(label)
        writer.release()
        tmp.replace(path)
    except OSError as e:
        raise write_error(path, e) from None
    finally:
        writer.release()
        tmp.unlink(missing_ok=True)
    truth = {"video": path.name, "fps": fps, "classes": sorted({s[0] for s in segments}), "labels": labels}
    write_atomic(truth_path(path), json.dumps(truth).encode())
    return path


def truth_path(video: str | Path) -> Path:
    video = Path(video)
    return video.with_name(f"{video.stem}.truth.json")


def load_truth(video: str | Path) -> list[str]:
    return json.loads(truth_path(video).read_text())["labels"]
