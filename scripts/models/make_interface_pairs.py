"""Makes the model pairs whose *interfaces* the shadow gate must take, each with its verdict decided
from first principles (labels and probabilities computed here with ONNX Runtime's Python API).

Run:  python3 scripts/models/make_interface_pairs.py   (needs scikit-learn, skl2onnx, onnx, onnxruntime, numpy)
Writes test/fixtures/interface-pairs/ (small, committed) and its pairs.json.

Binary logistic regressions on 6 features, a 600-row holdout, judged at tolerances of 0.5 % (3 rows
may change; at the default 0.1 % one row of 600 is more than the tolerance, which is inconclusive):
  zipmap-identical       skl2onnx's default export (ZipMap: a sequence of maps) on both sides → passes
  zipmap-vs-plain        the same model with and without ZipMap → passes
  strings-identical      classes ["fraud", "ok"], the holdout's label column those words → passes
  strings-zipmap-vs-plain  the string-class model with ZipMap (string keys) against without → passes
  strings-swapped        the target trained on the words swapped: every row served the other word → fails
  two-inputs-identical   inputs num_a (f0-f2) and num_b (f3-f5), mapped by workload.holdout.inputs → passes
  two-inputs-vs-one      the same regression with one input of six → passes
  int64-vs-float         an int64 input (integer features) against the float export of the same model → passes
  label-only-identical   a classifier with no probability output → passes on labels, the rest not computed
  label-only-retrained   retrained on half the rows: labels change → fails labelAgreement (and accuracy if it moved)
"failed" lists the criteria decided here from the labels; a failing pair may fail more (its probabilities).
Refused before the first batch (the test asserts the message):
  two-inputs-unmapped    two inputs, no workload.holdout.inputs
  width-mismatch         six features expected, five named
"""
import json
import os

import numpy as np
import onnx
import onnxruntime as ort
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType, Int64TensorType
from sklearn.compose import ColumnTransformer
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "test", "fixtures", "interface-pairs")
FEATURES = [f"f{i}" for i in range(6)]
ROWS = 600
TOLERANCE = 0.005
TOLERANCES = {"maxMetricDelta": TOLERANCE, "minLabelAgreement": 1 - TOLERANCE}


def save(model, name):
    onnx.save(model, os.path.join(OUT, name))


def write_csv(name, X, y, fmt="%.6f"):
    with open(os.path.join(OUT, name), "w") as f:
        f.write(",".join(FEATURES + ["label"]) + "\n")
        for row, label in zip(X, y):
            f.write(",".join(fmt % v for v in row) + f",{label}\n")


def run(name, X, inputs=None):
    session = ort.InferenceSession(os.path.join(OUT, name), providers=["CPUExecutionProvider"])
    feeds = {}
    for meta in session.get_inputs():
        cols = inputs[meta.name] if inputs else list(range(X.shape[1]))
        dtype = np.int64 if "int64" in meta.type else np.float32
        feeds[meta.name] = X[:, cols].astype(dtype)
    names = [o.name for o in session.get_outputs()]
    out = dict(zip(names, session.run(None, feeds)))
    return out


def labels_of(out):
    return np.array(out["label"] if "label" in out else out["output_label"]).ravel()


def main():
    os.makedirs(OUT, exist_ok=True)
    X, y = make_classification(n_samples=2 * ROWS, n_features=6, n_informative=4, random_state=7)
    X = X.astype(np.float32)
    train, test = slice(0, ROWS), slice(ROWS, 2 * ROWS)
    Xh, yh = X[test], y[test]
    types = [("X", FloatTensorType([None, 6]))]

    base = LogisticRegression(max_iter=1000).fit(X[train], y[train])
    save(convert_sklearn(base, initial_types=types, target_opset=15), "zipmap.onnx")
    save(convert_sklearn(base, initial_types=types, target_opset=15, options={id(base): {"zipmap": False}}), "plain.onnx")
    write_csv("holdout.csv", Xh, yh)

    words = np.array(["fraud", "ok"])
    strings = LogisticRegression(max_iter=1000).fit(X[train], words[y[train]])
    save(convert_sklearn(strings, initial_types=types, target_opset=15, options={id(strings): {"zipmap": False}}), "strings.onnx")
    save(convert_sklearn(strings, initial_types=types, target_opset=15), "strings-zipmap.onnx")
    swapped = LogisticRegression(max_iter=1000).fit(X[train], words[1 - y[train]])
    save(convert_sklearn(swapped, initial_types=types, target_opset=15, options={id(swapped): {"zipmap": False}}), "strings-swapped.onnx")
    write_csv("holdout-strings.csv", Xh, words[yh])

    two = Pipeline([("join", ColumnTransformer([("a", "passthrough", [0, 1, 2]), ("b", "passthrough", [3, 4, 5])])), ("lr", LogisticRegression(max_iter=1000))])
    # ColumnTransformer over a DataFrame-free array: skl2onnx maps each of its inputs by position.
    two.fit(X[train], y[train])
    two_model = convert_sklearn(two, initial_types=[("num_a", FloatTensorType([None, 3])), ("num_b", FloatTensorType([None, 3]))], target_opset=15, options={id(two): {"zipmap": False}})
    save(two_model, "two-inputs.onnx")

    Xi = np.round(X * 3).astype(np.int64)
    integer = LogisticRegression(max_iter=1000).fit(Xi[train], y[train])
    save(convert_sklearn(integer, initial_types=[("X", Int64TensorType([None, 6]))], target_opset=15, options={id(integer): {"zipmap": False}}), "int64.onnx")
    save(convert_sklearn(integer, initial_types=types, target_opset=15, options={id(integer): {"zipmap": False}}), "int-as-float.onnx")
    write_csv("holdout-int.csv", Xi[test], yh, fmt="%d")

    def label_only(model, name):
        graph = model.graph
        keep = [o for o in graph.output if o.name == "label"]
        del graph.output[:]
        graph.output.extend(keep)
        save(model, name)

    label_only(convert_sklearn(base, initial_types=types, target_opset=15, options={id(base): {"zipmap": False}}), "label-only.onnx")
    half = LogisticRegression(max_iter=1000, C=0.05).fit(X[train][: ROWS // 2], y[train][: ROWS // 2])
    label_only(convert_sklearn(half, initial_types=types, target_opset=15, options={id(half): {"zipmap": False}}), "label-only-retrained.onnx")

    allowed = int(np.floor(TOLERANCE * ROWS + 1e-9))
    mapping = {"num_a": ["f0", "f1", "f2"], "num_b": ["f3", "f4", "f5"]}
    index = {"num_a": [0, 1, 2], "num_b": [3, 4, 5]}

    def verdict(a, b, holdout_X, truth, inputs=(None, None)):
        la, lb = labels_of(run(a, holdout_X, inputs[0])), labels_of(run(b, holdout_X, inputs[1]))
        changed = int(np.sum(la != lb))
        acc = abs(int(np.sum(la == truth)) - int(np.sum(lb == truth)))
        failed = []
        if acc > allowed:
            failed.append("accuracyDelta")
        if changed > allowed:
            failed.append("labelAgreement")
        return ("failed" if failed else "passed"), failed, changed

    pairs = []

    def pair(name, source, target, holdout, X_, truth, **extra):
        inputs = extra.pop("inputs_index", (None, None))
        v, failed, changed = verdict(source, target, X_, truth, inputs)
        pairs.append({"name": name, "task": "binary", "source": source, "target": target, "holdout": holdout, "format": "csv", "tolerances": TOLERANCES, "verdict": v, "failed": failed, "changedLabels": changed, **extra})

    pair("zipmap-identical", "zipmap.onnx", "zipmap.onnx", "holdout.csv", Xh, yh)
    pair("zipmap-vs-plain", "zipmap.onnx", "plain.onnx", "holdout.csv", Xh, yh)
    pair("strings-identical", "strings.onnx", "strings.onnx", "holdout-strings.csv", Xh, words[yh])
    pair("strings-zipmap-vs-plain", "strings-zipmap.onnx", "strings.onnx", "holdout-strings.csv", Xh, words[yh])
    pair("strings-swapped", "strings.onnx", "strings-swapped.onnx", "holdout-strings.csv", Xh, words[yh])
    pair("two-inputs-identical", "two-inputs.onnx", "two-inputs.onnx", "holdout.csv", Xh, yh, inputs=mapping, inputs_index=(index, index))
    pair("two-inputs-vs-one", "two-inputs.onnx", "plain.onnx", "holdout.csv", Xh, yh, inputs=mapping, inputs_index=(index, None))
    pair("int64-vs-float", "int64.onnx", "int-as-float.onnx", "holdout-int.csv", Xi[test].astype(np.float32), yh)
    pair("label-only-identical", "label-only.onnx", "label-only.onnx", "holdout.csv", Xh, yh, labelOnly=True)
    pair("label-only-retrained", "label-only.onnx", "label-only-retrained.onnx", "holdout.csv", Xh, yh, labelOnly=True)
    refused = [
        {"name": "two-inputs-unmapped", "model": "two-inputs.onnx", "holdout": "holdout.csv", "features": FEATURES, "error": "has 2 inputs"},
        {"name": "width-mismatch", "model": "plain.onnx", "holdout": "holdout.csv", "features": FEATURES[:5], "error": "takes 6 values a row"},
    ]
    with open(os.path.join(OUT, "pairs.json"), "w") as f:
        json.dump({"features": FEATURES, "pairs": pairs, "refused": refused}, f, indent=1)
    for p in pairs:
        print(p["name"], p["verdict"], p["failed"], p["changedLabels"])


main()
