"""The live install's model side: one loader for every model file (`load_model`, suffix table `LOADERS`),
ONNX Runtime providers, the frame-to-tensor preprocessing, and `Classifier` for users' own scripts.

`from thumbs.runtime import Classifier` is the public entry point (docs/usage.md "Python API")."""

from thumbs.core.backend import Backend, Prediction
from thumbs.runtime.classifier import Classifier
from thumbs.runtime.loader import LOADERS, load_model

__all__ = ["LOADERS", "Backend", "Classifier", "Prediction", "load_model"]
