"""The training install (needs torch, Python 3.9+): models, data on the training device, the trainer,
checkpoints, reports, ONNX export, the PyTorch backend and the demo. Nothing outside this package imports it at
module level: the live install (everything else under thumbs/) stays torch-free, and Python 3.8 code."""
