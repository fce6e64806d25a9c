"""Triton Python-backend model that runs one ONNX model in ONNX Runtime: what cloudshift's Triton
deployer puts beside model.onnx in the model repository it writes, where the Triton build has no
ONNX Runtime backend (the tritonserver of PyPI's nvidia-pytriton carries the Python backend only).
A build with the ONNX Runtime backend serves the same repository without this file (config
`backend: "onnxruntime"`). The outputs served are the ones config.pbtxt names, in its order."""

import json
import os

import numpy as np
import onnxruntime as ort
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        path = os.path.join(args["model_repository"], args["model_version"], "model.onnx")
        providers = ["CUDAExecutionProvider", "CPUExecutionProvider"] if args.get("model_instance_kind") == "GPU" else ["CPUExecutionProvider"]
        self.session = ort.InferenceSession(path, providers=providers)
        # Each input by name, fed as the type the model declares (a V2 client may send FP64 or INT64).
        types = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(int64)": np.int64, "tensor(int32)": np.int32, "tensor(bool)": np.bool_}
        declared = {i.name: types.get(i.type, np.float32) for i in self.session.get_inputs()}
        self.inputs = [(i["name"], declared.get(i["name"], np.float32)) for i in config["input"]]
        self.outputs = [o["name"] for o in config["output"]]

    def execute(self, requests):
        responses = []
        for request in requests:
            try:
                feeds = {name: pb_utils.get_input_tensor_by_name(request, name).as_numpy().astype(dtype) for name, dtype in self.inputs}
                values = self.session.run(self.outputs, feeds)
                tensors = [pb_utils.Tensor(name, as_triton(value)) for name, value in zip(self.outputs, values)]
                responses.append(pb_utils.InferenceResponse(output_tensors=tensors))
            except Exception as error:  # the request fails, the model stays loaded
                responses.append(pb_utils.InferenceResponse(error=pb_utils.TritonError(str(error))))
        return responses


def as_triton(value):
    """A string tensor (class labels) as Triton's BYTES take it: bytes in an object array."""
    value = np.asarray(value)
    if value.dtype == object or value.dtype.kind == "U":
        return np.array([str(v).encode("utf-8") for v in value.ravel()], dtype=object).reshape(value.shape)
    return np.ascontiguousarray(value)
