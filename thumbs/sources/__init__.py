"""Sources of frames: a camera index, file, folder, glob, URL or GStreamer pipeline becomes BGR frames.

`from thumbs.sources import open_source` is the public entry point (docs/usage.md "Python API")."""

from thumbs.sources.readers import IMAGE_EXTS, Frame, FrameSource, SourceSpec, open_source, parse_source

__all__ = ["IMAGE_EXTS", "Frame", "FrameSource", "SourceSpec", "open_source", "parse_source"]
