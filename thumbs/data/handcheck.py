"""`thumbs data --hands`: per class, the photos where the hand front end finds no hand. A hand model answers
those with the no-gesture class (the no-hand rule, hands.inputs.no_hand_class): right for that class, wrong
for a gesture; a gesture class that is mostly such photos is warned about. Torch-free (the live install)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from thumbs.hands.found import HandCache, default_dir
from thumbs.hands.inputs import NO_GESTURE, no_hand_class

MOSTLY_MISSED = 0.5  # a gesture class with more than this share of photos without a hand found gets a warning


def open_cache(log: Callable[[str], None] = print) -> HandCache:
    """The found-hands cache over the front end (one still image at a time), as training and eval use it."""
    from thumbs.hands import HandFrontEnd

    return HandCache(default_dir(), HandFrontEnd(max_hands=1, track=False, log=log))


def no_hand_counts(readable: dict[str, list[Path]], found: HandCache) -> dict[str, int]:
    """Class -> photos (readable ones) where no hand is found."""
    return {name: sum(1 for p in paths if found.hands(p) == []) for name, paths in readable.items()}


def mostly_missed(name: str, missed: int, total: int, none: str | None) -> bool:
    return name != none and total > 0 and missed / total > MOSTLY_MISSED


def hand_warnings(counts: dict[str, int], totals: dict[str, int]) -> list[tuple[str, str]]:
    """(code, message) of `thumbs data`'s warnings: a gesture class that is mostly photos without a hand found;
    classes without a no-gesture class."""
    none = no_hand_class(list(counts))
    warnings = [("no_hand", f"class '{name}': no hand found in {counts[name]} of its {totals[name]} photos: a hand "
                 "model answers them with the no-gesture class (and leaves them out of training); record the hand "
                 "whole and nearer, or train a frame model")
                for name in counts if mostly_missed(name, counts[name], totals[name], none)]
    if none is None:
        warnings.append(("no_gesture_class", "no no-gesture class: a hand model (--input hand, --arch landmarks) "
                         f"needs one for frames without a hand: add a folder `none` (or {', '.join(NO_GESTURE[1:])})"))
    return warnings
