"""`HandFrontEnd`: a BGR frame -> the hands in it (MediaPipe's hand pipeline in ONNX Runtime, torch-free).

On video (`__call__`) it tracks as MediaPipe's hand_landmark_tracking_cpu.pbtxt does: each hand's landmarks give
the next frame's crop, and the palm detector runs only while fewer than max_hands hands are tracked; a hand
the landmark model no longer sees is dropped. `detect` is one still image with no state (training, eval)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Callable

import numpy as np

from thumbs.core.errors import ThumbsError
from thumbs.hands.hand import Hand
from thumbs.hands.landmarks import LandmarkModel
from thumbs.hands.palm import PalmDetector
from thumbs.hands.rect import RotatedRect, overlap, rect_from_landmarks, rect_from_palm

MODELS = Path(__file__).resolve().parent / "models"
PALM_MODEL, LANDMARK_MODEL = "palm_detection_lite.onnx", "hand_landmark_lite.onnx"
SAME_HAND = 0.5  # IoU above which a palm detection is a hand already tracked (min_similarity_threshold)
# Where the detector finds no palm it looks again with the frame inside a black border of this fraction of its
# longer side (not MediaPipe's: hands that fill the frame or are cut by its edge are found that way; on the
# shared photos it finds 21 of the 29 up/down hands the plain frame misses). Video alternates the two views,
# so an empty scene costs one detector run a frame.
PAD = 0.25
BEHAVIOUR = 2  # raise when the same models give other hands (the found-hands cache keys on `identity`)


def model_files(folder: Path | None = None) -> list[Path]:
    """The front end's two ONNX files, or one line naming what is missing and the fix."""
    folder = folder or MODELS
    paths = [folder / PALM_MODEL, folder / LANDMARK_MODEL]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise ThumbsError(f"the hand front end's model files are missing from {folder} ({', '.join(missing)}): "
                          "reinstall thumbs (pip install --force-reinstall thumbs), or run "
                          "scripts/convert_hand_models.py in a checkout")
    return paths


def open_session(path: Path, provider: str | None, log: Callable[[str], None]):
    """A warmed-up ONNX Runtime session on the same providers as the classifier, and why that one."""
    from thumbs.runtime.providers import choose_session

    return choose_session(path, provider, log=log)


class HandFrontEnd:
    """`HandFrontEnd()(bgr) -> [Hand, ...]`, best score first, at most max_hands."""

    def __init__(self, max_hands: int = 1, provider: str | None = None, track: bool = True,
                 log: Callable[[str], None] = print, models: Path | None = None) -> None:
        if max_hands < 1:
            raise ThumbsError(f"--max-hands {max_hands}: give 1 or more")
        palm, landmark = model_files(models)
        palm_session, self.why = open_session(palm, provider, log)
        landmark_session, _ = open_session(landmark, provider, log)
        self.provider = palm_session.get_providers()[0]
        self.palms, self.landmarks = PalmDetector(palm_session), LandmarkModel(landmark_session)
        self.max_hands, self.track = max_hands, track
        self.tracked: list[RotatedRect] = []
        self.detector_runs = 0  # how often the palm detector ran (tracking skips it)
        self.pad_next = False  # video: the next detector run looks at the padded frame
        digest = hashlib.blake2b(digest_size=16)
        for path in (palm, landmark):
            digest.update(path.read_bytes())
        # what makes its answers (caches of found hands key on it): the models, the settings, this code's rules
        self.identity = f"HandFrontEnd|{digest.hexdigest()}|max{max_hands}|pad{PAD}|v{BEHAVIOUR}"

    def detect(self, bgr: np.ndarray) -> list[Hand]:
        """The hands in one still image: palm detection (again on the padded frame when it finds none), then
        landmarks in each palm's crop; no tracking."""
        found = self._landmarks(bgr, self._palm_rects(bgr, []))
        if not found:
            found = self._landmarks(bgr, self._palm_rects(bgr, [], PAD))
        return self._best(found)[0]

    def __call__(self, bgr: np.ndarray) -> list[Hand]:
        """The hands in this video frame. The detector runs only when fewer than max_hands hands are tracked,
        before the landmarks, or after them when a tracked hand was lost in this frame (a cut in the video),
        so a lost hand is looked for at once rather than a frame later."""
        if not self.track:
            return self.detect(bgr)
        detected = len(self.tracked) < self.max_hands
        rects = self._video_rects(bgr, self.tracked) if detected else self.tracked
        found = self._landmarks(bgr, rects)
        if len(found) < self.max_hands and not detected:
            kept = [rect for _, rect in found]
            found += self._landmarks(bgr, self._video_rects(bgr, kept)[len(kept):])
        hands, self.tracked = self._best(found)
        return hands

    def reset(self) -> None:
        """Forget the tracked hands (a new video, a jump in the stream)."""
        self.tracked = []

    def _video_rects(self, bgr: np.ndarray, tracked: list[RotatedRect]) -> list[RotatedRect]:
        """The detector on video: the plain and the padded frame in turn while it finds nothing."""
        rects = self._palm_rects(bgr, tracked, PAD if self.pad_next else 0.0)
        self.pad_next = len(rects) == len(tracked) and not self.pad_next
        return rects

    def _palm_rects(self, bgr: np.ndarray, tracked: list[RotatedRect], pad: float = 0.0) -> list[RotatedRect]:
        """Tracked rects first, then each new palm's rect that is not one of them (AssociationNormRect: the
        tracked hand wins over a palm detection of it)."""
        self.detector_runs += 1
        rects = list(tracked)
        for palm in self.palms(bgr, self.max_hands, pad):
            rect = rect_from_palm(palm)
            if all(overlap(rect, kept) <= SAME_HAND for kept in rects):
                rects.append(rect)
        return rects

    def _landmarks(self, bgr: np.ndarray, rects: list[RotatedRect]) -> list[tuple[Hand, RotatedRect]]:
        """Each rect's hand, with the rect its landmarks give for the next frame; rects with no hand drop out,
        and two rects that became the same hand keep one."""
        found: list[tuple[Hand, RotatedRect]] = []
        for rect in rects:
            hand = self.landmarks(bgr, rect)
            if hand is None:
                continue
            following = rect_from_landmarks(hand.landmarks)
            if all(overlap(following, other) <= SAME_HAND for _, other in found):
                found.append((hand, following))
        return found

    def _best(self, found: list[tuple[Hand, RotatedRect]]) -> tuple[list[Hand], list[RotatedRect]]:
        found = sorted(found, key=lambda pair: -pair[0].score)[:self.max_hands]
        return [hand for hand, _ in found], [rect for _, rect in found]

