"""Makes model pairs the shadow gate must judge right, with the verdict decided from first principles.

Run:  python3 scripts/models/make_gate_pairs.py   (needs scikit-learn, skl2onnx, onnx, numpy)
Writes test/fixtures/gate-pairs/ (small, committed): for each pair a source and a target model,
a holdout (.csv, label last) and pairs.json naming the expected verdict and failing criteria.
  permuted      the target's classlabels are [1, 0] with the same weights: it serves the other
                class for every row, while the probability columns stay in place → fails on
                accuracyDelta, labelAgreement, the probability vector matched by class, and the
                positive class's probability (AUC, paired scores)
  nan-weights   one target coefficient is NaN: every prediction is NaN → fails on finiteValues
  rounding      the target's weights rounded to float32 and back: float rounding only → passes
  labels-1-2    the holdout's labels are {1, 2}, the model's classes {0, 1} → refused (ShadowInputError)
"""
import json
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper
from skl2onnx import to_onnx
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression

OUT = Path(__file__).resolve().parents[2] / "test" / "fixtures" / "gate-pairs"
OUT.mkdir(parents=True, exist_ok=True)
x, y = make_classification(n_samples=4000, n_features=6, n_informative=4, random_state=3)
x = x.astype(np.float32)
x_train, y_train, x_test, y_test = x[:2000], y[:2000], x[2000:], y[2000:]
clf = LogisticRegression(max_iter=2000).fit(x_train, y_train)
base = to_onnx(clf, x_train[:1], options={id(clf): {"zipmap": False}}, target_opset=17)


def write(name, model):
    (OUT / name).write_bytes(model.SerializeToString())


def classifier_node(model):
    return next(n for n in model.graph.node if n.op_type == "LinearClassifier")


write("base.onnx", base)

permuted = onnx.ModelProto()
permuted.CopyFrom(base)
for attr in classifier_node(permuted).attribute:
    if attr.name == "classlabels_ints":
        del attr.ints[:]
        attr.ints.extend([1, 0])
write("permuted.onnx", permuted)

nan = onnx.ModelProto()
nan.CopyFrom(base)
for attr in classifier_node(nan).attribute:
    if attr.name == "coefficients":
        attr.floats[0] = float("nan")
write("nan-weights.onnx", nan)

rounded = onnx.ModelProto()
rounded.CopyFrom(base)
for attr in classifier_node(rounded).attribute:
    if attr.name == "coefficients":
        values = np.array(attr.floats, dtype=np.float32)
        values = np.nextafter(values, np.float32(np.inf))  # one float32 step: rounding, not a new model
        del attr.floats[:]
        attr.floats.extend(values.tolist())
write("rounding.onnx", rounded)

features = [f"f{i}" for i in range(x.shape[1])]


def holdout(name, labels):
    with open(OUT / name, "w") as f:
        f.write(",".join(features + ["label"]) + "\n")
        for row, label in zip(x_test, labels):
            f.write(",".join(repr(float(v)) for v in row) + f",{int(label)}\n")


holdout("holdout.csv", y_test)
holdout("holdout-1-2.csv", y_test + 1)
pairs = [
    {"name": "identical", "source": "base.onnx", "target": "base.onnx", "holdout": "holdout.csv", "verdict": "passed", "failed": []},
    {"name": "permuted", "source": "base.onnx", "target": "permuted.onnx", "holdout": "holdout.csv", "verdict": "failed", "failed": ["accuracyDelta", "aucDelta", "labelAgreement", "meanRelativeDiff", "probabilityDelta"]},
    {"name": "nan-weights", "source": "base.onnx", "target": "nan-weights.onnx", "holdout": "holdout.csv", "verdict": "failed", "failed": ["finiteValues"]},
    {"name": "rounding", "source": "base.onnx", "target": "rounding.onnx", "holdout": "holdout.csv", "verdict": "passed", "failed": []},
    {"name": "labels-1-2", "source": "base.onnx", "target": "base.onnx", "holdout": "holdout-1-2.csv", "verdict": "refused", "failed": []},
]
(OUT / "pairs.json").write_text(json.dumps({"features": features, "pairs": pairs}, indent=2) + "\n")
print(f"wrote {len(pairs)} pairs to {OUT}")
