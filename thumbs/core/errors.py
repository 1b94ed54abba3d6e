"""One exception type for every failure a user can fix, so the CLI prints it as one clear line; and how a
file name that is not UTF-8 is shown in that line (or any text written for a person)."""

from __future__ import annotations

import codecs

SHOW_NAMES = "thumbs-names"  # errors= handler: text.encode("utf-8", SHOW_NAMES)


def _show_bytes(error: UnicodeError) -> tuple[str, int]:
    """File names that are not UTF-8 (Latin-1 from an old camera) reach Python as surrogate escapes; show
    each such byte as \\xNN, as `ls -b` does, instead of failing to print the name."""
    bad = error.object[error.start:error.end]
    return "".join(f"\\x{ord(c) - 0xDC00:02x}" if 0xDC80 <= ord(c) <= 0xDCFF else f"\\u{ord(c):04x}"
                   for c in bad), error.end


codecs.register_error(SHOW_NAMES, _show_bytes)


class ThumbsError(Exception):
    """A problem with the user's input or machine; the message names the thing and the fix."""


class SourceError(ThumbsError):
    """A frame source could not be opened or stopped delivering frames."""


class DataError(ThumbsError):
    """The data set cannot be used as it is."""


class Interrupted(KeyboardInterrupt):
    """A stop signal after what could be kept was kept; the message says what. The CLI prints it and exits
    with 128 + the signal (thumbs.core.signals)."""
