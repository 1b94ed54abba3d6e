"""Test-side stand-in for Triton's onnxruntime backend, which is not on PyPI: a Python-based backend that Triton's
core loads for every `platform: "onnxruntime_onnx"` model of an unchanged repository, and that runs the model's
1/model.onnx with ONNX Runtime on the CPU. Test code, not product: a GPU server runs Triton's real backend."""

import json
import os
import sys

# The stub's Python starts without the test run's environment: tests/serve/server.py lists its import paths here.
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "sys_path.txt"), encoding="utf-8") as _f:
    sys.path.extend(p for p in _f.read().splitlines() if p and p not in sys.path)

import numpy as np  # noqa: E402
import onnxruntime as ort  # noqa: E402
import triton_python_backend_utils as pb_utils  # noqa: E402


def _tensor(name, array):
    """Through DLPack (a legacy capsule), not pb_utils.Tensor(name, array) and .as_numpy(): the stub is built
    against numpy 1, and with numpy 2 those send an empty tensor and read a wrong one. The stub leaves a stale
    ValueError (PyCapsule_GetPointer) from this call that it prints into the server's log for each response;
    the tensor it sends is right (the tests compare it with ONNX Runtime's)."""
    return pb_utils.Tensor.from_dlpack(name, np.ascontiguousarray(array).__dlpack__())


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        filename = config.get("default_model_filename") or "model.onnx"
        path = os.path.join(args["model_repository"], args["model_version"], filename)
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        self.session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        self.inputs = [i["name"] for i in config["input"]]
        self.outputs = [o["name"] for o in config["output"]]

    def execute(self, requests):
        """The dynamic batcher hands over several requests at once: one run for all of them, split again."""
        feeds = {name: [np.from_dlpack(pb_utils.get_input_tensor_by_name(r, name)) for r in requests]
                 for name in self.inputs}
        sizes = [len(x) for x in feeds[self.inputs[0]]]
        results = self.session.run(self.outputs, {name: np.concatenate(parts) for name, parts in feeds.items()})
        responses, start = [], 0
        for n in sizes:
            tensors = [_tensor(name, result[start:start + n]) for name, result in zip(self.outputs, results)]
            responses.append(pb_utils.InferenceResponse(output_tensors=tensors))
            start += n
        return responses
