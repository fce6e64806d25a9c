"""Trains the small real models cloudshift's demo and tests use, and writes their holdout sets.

Run:  python3 scripts/models/train_models.py   (needs scikit-learn, skl2onnx, onnx, numpy)
Writes assets/ (committed, so tests and the demo need no Python):
  breast-cancer.onnx            logistic regression on scikit-learn's breast cancer set (binary)
  breast-cancer-copy.onnx       a byte-identical copy
  breast-cancer-slight.onnx     weights scaled by 1 + 1e-6·N(0,1): must pass the 0.1 % gate
  breast-cancer-strong.onnx     weights plus 30 % noise: must fail it
  breast-cancer-holdout.csv     the held-out rows: 30 feature columns and `label`
  diabetes.onnx                 ridge regression on scikit-learn's diabetes set
  diabetes-slight.onnx, diabetes-strong.onnx
  diabetes-holdout.jsonl        the held-out rows as JSON lines
"""
import copy
import json
import shutil
from pathlib import Path

import numpy as np
from skl2onnx import to_onnx
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

OUT = Path(__file__).resolve().parents[2] / "assets"
OUT.mkdir(exist_ok=True)
rng = np.random.default_rng(7)


def perturb(pipeline, step, scale_noise=0.0, add_noise=0.0):
    model = copy.deepcopy(pipeline)
    est = model.steps[-1][1]
    coef = est.coef_
    est.coef_ = coef * (1 + scale_noise * rng.standard_normal(coef.shape)) + add_noise * np.abs(coef).mean() * rng.standard_normal(coef.shape)
    return model


def save(model, sample, name, classifier):
    options = {id(model.steps[-1][1]): {"zipmap": False}} if classifier else None
    onx = to_onnx(model, sample[:1].astype(np.float32), options=options, target_opset=17)
    (OUT / name).write_bytes(onx.SerializeToString())


# Binary classifier.
cancer = load_breast_cancer()
features = [f"f{i}" for i in range(cancer.data.shape[1])]
x_train, x_test, y_train, y_test = train_test_split(cancer.data, cancer.target, test_size=0.35, random_state=0, stratify=cancer.target)
scores = {}
clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)).fit(x_train, y_train)
save(clf, x_train, "breast-cancer.onnx", True)
shutil.copyfile(OUT / "breast-cancer.onnx", OUT / "breast-cancer-copy.onnx")
save(perturb(clf, "logisticregression", scale_noise=1e-6), x_train, "breast-cancer-slight.onnx", True)
save(perturb(clf, "logisticregression", add_noise=0.3), x_train, "breast-cancer-strong.onnx", True)
with open(OUT / "breast-cancer-holdout.csv", "w") as f:
    f.write(",".join(features + ["label"]) + "\n")
    for row, label in zip(x_test, y_test):
        f.write(",".join(repr(float(v)) for v in row) + f",{int(label)}\n")
scores["classifier_holdout_accuracy"] = float(clf.score(x_test, y_test))

# Regressor.
diabetes = load_diabetes()
dfeatures = list(diabetes.feature_names)
x_train, x_test, y_train, y_test = train_test_split(diabetes.data, diabetes.target, test_size=0.3, random_state=0)
reg = make_pipeline(StandardScaler(), Ridge(alpha=1.0)).fit(x_train, y_train)
save(reg, x_train, "diabetes.onnx", False)
save(perturb(reg, "ridge", scale_noise=1e-6), x_train, "diabetes-slight.onnx", False)
save(perturb(reg, "ridge", add_noise=0.3), x_train, "diabetes-strong.onnx", False)
with open(OUT / "diabetes-holdout.jsonl", "w") as f:
    for row, target in zip(x_test, y_test):
        f.write(json.dumps({**{n: float(v) for n, v in zip(dfeatures, row)}, "target": float(target)}) + "\n")

scores["regressor_holdout_r2"] = float(reg.score(x_test, y_test))
print(json.dumps(scores))
