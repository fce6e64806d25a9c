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
        self.input = config["input"][0]["name"]
        self.outputs = [o["name"] for o in config["output"]]

    def execute(self, requests):
        responses = []
        for request in requests:
            try:
                features = pb_utils.get_input_tensor_by_name(request, self.input).as_numpy().astype(np.float32)
                values = self.session.run(self.outputs, {self.input: features})
                tensors = [pb_utils.Tensor(name, np.ascontiguousarray(value)) for name, value in zip(self.outputs, values)]
                responses.append(pb_utils.InferenceResponse(output_tensors=tensors))
            except Exception as error:  # the request fails, the model stays loaded
                responses.append(pb_utils.InferenceResponse(error=pb_utils.TritonError(str(error))))
        return responses
