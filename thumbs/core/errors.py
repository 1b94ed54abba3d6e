"""One exception type for every failure a user can fix, so the CLI prints it as one clear line."""


class ThumbsError(Exception):
    """A problem with the user's input or machine; the message names the thing and the fix."""


class SourceError(ThumbsError):
    """A frame source could not be opened or stopped delivering frames."""


class DataError(ThumbsError):
    """The data set cannot be used as it is."""


class Interrupted(KeyboardInterrupt):
    """A stop signal after what could be kept was kept; the message says what. The CLI prints it and exits
    with 128 + the signal (thumbs.core.signals)."""
