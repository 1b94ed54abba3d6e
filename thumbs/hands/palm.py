"""Palm detection: MediaPipe's palm detector (an SSD on a 192x192 letterboxed frame) and its post-processing,
ported from MediaPipe's own calculators with the options of modules/palm_detection/palm_detection_cpu.pbtxt:
ssd_anchors_calculator.cc (the anchors), tensors_to_detections_calculator.cc (decoding, sigmoid scores) and
non_max_suppression_calculator.cc (weighted NMS). Torch-free: numpy, OpenCV and an ONNX Runtime session."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

SIZE = 192  # the detector's input side
STRIDES = (8, 16, 16, 16)  # SsdAnchorsCalculatorOptions: 4 layers, min_scale 0.1484375, max_scale 0.75,
ANCHOR_OFFSET = 0.5  # aspect ratio 1 plus the interpolated scale (also aspect 1), fixed_anchor_size: w = h = 1
KEYPOINTS = 7  # wrist centre, then the index, middle, ring and little finger MCPs, then two thumb joints
WRIST, MIDDLE = 0, 2  # the keypoints that give the palm's rotation (palm_detection_detection_to_roi.pbtxt)
MIN_SCORE = 0.5  # min_score_thresh
SCORE_CLIP = 100.0  # score_clipping_thresh, on the logits before the sigmoid
NMS_IOU = 0.3  # min_suppression_threshold, INTERSECTION_OVER_UNION, WEIGHTED


def ssd_anchors(size: int = SIZE, strides: tuple[int, ...] = STRIDES) -> np.ndarray:
    """The detector's anchor centres (N, 2) as x, y in [0, 1], in the model's output order: per layer group of
    one stride, row by row, cell by cell, two anchors per layer of the group (2016 for the palm model)."""
    centres = []
    layer = 0
    while layer < len(strides):
        same = layer
        while same < len(strides) and strides[same] == strides[layer]:
            same += 1
        cells = int(np.ceil(size / strides[layer]))
        y, x = np.mgrid[0:cells, 0:cells]
        grid = np.stack([(x.ravel() + ANCHOR_OFFSET) / cells, (y.ravel() + ANCHOR_OFFSET) / cells], axis=1)
        centres.append(np.repeat(grid, 2 * (same - layer), axis=0))
        layer = same
    return np.concatenate(centres).astype(np.float32)


ANCHORS = ssd_anchors()


@dataclass(frozen=True)
class Palm:
    """One palm found: in frame pixels."""

    box: tuple[float, float, float, float]  # x0, y0, x1, y1
    keypoints: np.ndarray  # (KEYPOINTS, 2) x, y
    score: float


def decode(regressors: np.ndarray, logits: np.ndarray, anchors: np.ndarray = ANCHORS,
           min_score: float = MIN_SCORE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The model's raw outputs ([N, 18] and [N, 1], reverse_output_order: x, y, w, h then keypoints x, y, in
    input pixels relative to the anchor) -> (boxes (M, 4) x0 y0 x1 y1, keypoints (M, 7, 2), scores (M,)) in
    [0, 1] of the letterboxed input, for the anchors whose score is at least min_score."""
    scores = 1 / (1 + np.exp(-np.clip(logits.reshape(-1), -SCORE_CLIP, SCORE_CLIP)))
    keep = np.flatnonzero(scores >= min_score)
    raw = regressors.reshape(len(anchors), -1)[keep] / SIZE
    centre = raw[:, :2] + anchors[keep]
    half = raw[:, 2:4] / 2
    boxes = np.concatenate([centre - half, centre + half], axis=1)
    keypoints = raw[:, 4:4 + 2 * KEYPOINTS].reshape(-1, KEYPOINTS, 2) + anchors[keep][:, None, :]
    return boxes, keypoints, scores[keep]


def iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Intersection over union of one x0 y0 x1 y1 box with each of boxes."""
    lo = np.maximum(box[:2], boxes[:, :2])
    hi = np.minimum(box[2:], boxes[:, 2:])
    inter = np.prod(np.clip(hi - lo, 0, None), axis=1)
    area = np.prod(box[2:] - box[:2])
    areas = np.prod(boxes[:, 2:] - boxes[:, :2], axis=1)
    union = area + areas - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def weighted_nms(boxes: np.ndarray, keypoints: np.ndarray, scores: np.ndarray,
                 threshold: float = NMS_IOU) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """MediaPipe's WEIGHTED non-max suppression: the best remaining detection takes every one overlapping it by
    more than `threshold` IoU (itself included) and becomes their score-weighted mean box and keypoints; its
    score stays its own. Best first."""
    order = np.argsort(-scores, kind="stable")
    out = []
    while len(order):
        top = order[0]
        overlap = iou(boxes[top], boxes[order]) > threshold
        members = order[overlap]
        weights = scores[members][:, None]
        total = weights.sum()
        box = (boxes[members] * weights).sum(axis=0) / total
        points = (keypoints[members] * weights[:, :, None]).sum(axis=0) / total
        out.append((box, points, float(scores[top])))
        order = order[~overlap]
    return out


@dataclass(frozen=True)
class Letterbox:
    """How a frame sits in the detector's square input: scaled by sx, sy, then shifted by left, top."""

    sx: float
    sy: float
    left: int
    top: int

    def to_frame(self, xy: np.ndarray) -> np.ndarray:
        """[0, 1] coordinates of the input square -> frame pixels (DetectionLetterboxRemovalCalculator)."""
        return (xy * SIZE - np.array([self.left, self.top], np.float32)) / np.array([self.sx, self.sy], np.float32)


def letterbox(bgr: np.ndarray, size: int = SIZE, pad: float = 0.0) -> tuple[np.ndarray, Letterbox]:
    """The frame as the detector's input: aspect kept, centred, zeros around (BORDER_ZERO), RGB float32 NCHW
    in [0, 1]. `pad` adds that fraction of the longer side in zeros on every side first: a hand that fills
    the frame or is cut by its edge then looks like the hands the detector learnt."""
    h, w = bgr.shape[:2]
    margin = pad * max(h, w)
    scale = size / (max(h, w) + 2 * margin)
    rw, rh = max(1, round(w * scale)), max(1, round(h * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.cvtColor(cv2.resize(bgr, (rw, rh), interpolation=interp), cv2.COLOR_BGR2RGB)
    left, top = (size - rw) // 2, (size - rh) // 2
    canvas = np.zeros((size, size, 3), np.uint8)
    canvas[top:top + rh, left:left + rw] = resized
    tensor = np.ascontiguousarray(canvas.transpose(2, 0, 1)[None], dtype=np.float32)
    tensor *= np.float32(1 / 255)
    return tensor, Letterbox(rw / w, rh / h, left, top)


class PalmDetector:
    """Frame -> palms, best first: letterbox, the ONNX model, decoding, weighted NMS, back to frame pixels."""

    def __init__(self, session) -> None:
        self.session = session
        self.input_name = session.get_inputs()[0].name
        outputs = session.get_outputs()
        # regressors [1, 2016, 18] and logits [1, 2016, 1], told apart by their last dimension
        self.order = (0, 1) if outputs[0].shape[-1] == 18 else (1, 0)

    def __call__(self, bgr: np.ndarray, max_palms: int | None = None, pad: float = 0.0) -> list[Palm]:
        tensor, box = letterbox(bgr, pad=pad)
        outputs = self.session.run(None, {self.input_name: tensor})
        regressors, logits = outputs[self.order[0]][0], outputs[self.order[1]][0]
        found = weighted_nms(*decode(regressors, logits))
        palms = []
        for corners, points, score in found[:max_palms]:
            xy = box.to_frame(corners.reshape(2, 2))
            palms.append(Palm(tuple(float(v) for v in xy.ravel()), box.to_frame(points), score))
        return palms
