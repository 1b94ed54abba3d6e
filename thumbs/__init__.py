"""thumbs: collect hand-gesture frames, train a classifier by transfer learning, run it live.

The package root stays light: the live path (runtime, sources, overlay) needs only numpy, OpenCV
and ONNX Runtime, so nothing here imports torch.
"""

__version__ = "0.1.0"
