"""An MLServer runtime that serves one ONNX model with ONNX Runtime, over the Open Inference
Protocol: the second real serving stack cloudshift's tests adopt as a migration's source (MLServer
ships no ONNX runtime of its own). The model's inputs and outputs are read from the model itself,
as Triton's ONNX backend reports them; numeric tensors only (a ZipMap output is left out)."""

import numpy as np
import onnxruntime as ort
from mlserver import MLModel
from mlserver.codecs import NumpyCodec
from mlserver.errors import MLServerError
from mlserver.types import InferenceRequest, InferenceResponse, MetadataTensor, ResponseOutput
from mlserver.utils import get_model_uri

_V2 = {
    "tensor(float)": "FP32",
    "tensor(double)": "FP64",
    "tensor(int64)": "INT64",
    "tensor(int32)": "INT32",
    "tensor(bool)": "BOOL",
    "tensor(string)": "BYTES",
}


def _shape(shape):
    return [d if isinstance(d, int) and d >= 0 else -1 for d in shape]


class OnnxModel(MLModel):
    async def load(self) -> bool:
        uri = await get_model_uri(self.settings)
        self._session = ort.InferenceSession(uri, providers=["CPUExecutionProvider"])
        self._input = self._session.get_inputs()[0]
        self._outputs = [o for o in self._session.get_outputs() if o.type in _V2]
        self.inputs = [MetadataTensor(name=i.name, datatype=_V2.get(i.type, "FP32"), shape=_shape(i.shape)) for i in self._session.get_inputs()]
        self.outputs = [MetadataTensor(name=o.name, datatype=_V2[o.type], shape=_shape(o.shape)) for o in self._outputs]
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        request = payload.inputs[0]
        if request.name != self._input.name:
            raise MLServerError(f'inputs[0].name: expected "{self._input.name}", got "{request.name}"', status_code=400)
        features = NumpyCodec.decode_input(request).astype(np.float32).reshape(request.shape)
        wanted = [o.name for o in payload.outputs] if payload.outputs else [o.name for o in self._outputs]
        values = self._session.run(wanted, {self._input.name: features})
        outputs = []
        for name, value in zip(wanted, values):
            array = np.asarray(value)
            datatype = _V2[next(o.type for o in self._outputs if o.name == name)]
            outputs.append(ResponseOutput(name=name, shape=list(array.shape), datatype=datatype, data=array.flatten().tolist()))
        return InferenceResponse(model_name=self.name, model_version=self.version, outputs=outputs)
