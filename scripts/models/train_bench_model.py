"""Trains the heavier model the shadow benchmark also measures, where inference costs something.

Run:  python3 scripts/models/train_bench_model.py   (needs scikit-learn, skl2onnx, onnx, numpy)
Writes assets/breast-cancer-mlp.onnx: a multi-layer perceptron (30 → 256 → 256 → 2) on
scikit-learn's breast cancer set, the same split and features as train_models.py. The shipped
logistic regression costs ONNX Runtime next to nothing a row, so against it the benchmark's ratio
measures only cloudshift's reading, writing and comparing; against this one it measures them
beside real inference work.
"""
import json
from pathlib import Path

import numpy as np
from skl2onnx import to_onnx
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

OUT = Path(__file__).resolve().parents[2] / "assets"
cancer = load_breast_cancer()
x_train, x_test, y_train, y_test = train_test_split(cancer.data, cancer.target, test_size=0.35, random_state=0, stratify=cancer.target)
mlp = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(256, 256), max_iter=500, random_state=0)).fit(x_train, y_train)
onx = to_onnx(mlp, x_train[:1].astype(np.float32), options={id(mlp.steps[-1][1]): {"zipmap": False}}, target_opset=17)
(OUT / "breast-cancer-mlp.onnx").write_bytes(onx.SerializeToString())
print(json.dumps({"mlp_holdout_accuracy": float(mlp.score(x_test, y_test))}))
