"""Writes the provenance of the shipped classifier, assets/breast-cancer.provenance.json.

Run:  python3 scripts/models/write_provenance.py   (needs scikit-learn, skl2onnx, onnx, numpy)

It trains the classifier again exactly as train_models.py does and writes the provenance only
if the result is byte for byte the committed assets/breast-cancer.onnx: then the library versions
it records are ones that really make this model. The statement is in-toto v1 with cloudshift's
predicate (https://cloudshift.dev/model-provenance/v1); its subject is the model by the name it
has in the demo's artifact folder.
"""
import hashlib
import importlib.metadata as metadata
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import sklearn
from skl2onnx import to_onnx
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

ROOT = Path(__file__).resolve().parents[2]
ASSETS = ROOT / "assets"
TRAINER = "scripts/models/train_models.py"

cancer = load_breast_cancer()
x_train, x_test, y_train, y_test = train_test_split(cancer.data, cancer.target, test_size=0.35, random_state=0, stratify=cancer.target)
clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)).fit(x_train, y_train)
onx = to_onnx(clf, x_train[:1].astype(np.float32), options={id(clf.steps[-1][1]): {"zipmap": False}}, target_opset=17).SerializeToString()
model = (ASSETS / "breast-cancer.onnx").read_bytes()
if onx != model:
    sys.exit("retrained model differs from assets/breast-cancer.onnx: these library versions do not reproduce it; install the ones that do")

sha256 = lambda data: hashlib.sha256(data).hexdigest()
dataset = Path(sklearn.__file__).parent / "datasets" / "data" / "breast_cancer.csv"
revision = subprocess.run(["git", "log", "-1", "--format=%H", "--", TRAINER], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
ort = json.loads((ROOT / "package.json").read_text())["dependencies"]["onnxruntime-node"]
statement = {
    "_type": "https://in-toto.io/Statement/v1",
    "subject": [{"name": "breast-cancer.onnx", "digest": {"sha256": sha256(model)}}],
    "predicateType": "https://cloudshift.dev/model-provenance/v1",
    "predicate": {
        "trainingData": [
            {
                "name": "Wisconsin breast cancer (diagnostic), training split",
                "uri": f"scikit-learn {sklearn.__version__}: sklearn/datasets/data/breast_cancer.csv",
                "digest": {"sha256": sha256(dataset.read_bytes())},
                "rows": int(len(x_train)),
            },
        ],
        "evaluationData": [
            {
                "name": "held-out split (the shadow holdout)",
                "uri": "assets/breast-cancer-holdout.csv",
                "digest": {"sha256": sha256((ASSETS / "breast-cancer-holdout.csv").read_bytes())},
                "rows": int(len(x_test)),
            },
        ],
        "hyperparameters": {
            "pipeline": "StandardScaler → LogisticRegression",
            "max_iter": 5000,
            "C": 1.0,
            "split.test_size": 0.35,
            "split.random_state": 0,
            "split.stratify": True,
            "onnx.target_opset": 17,
            "onnx.zipmap": False,
        },
        "code": {"repository": "cloudshift", "revision": revision, "entryPoint": TRAINER},
        "libraries": {name: metadata.version(name) for name in ["scikit-learn", "skl2onnx", "onnx", "numpy"]},
        "runtime": {"onnxruntime": ort, "opset": 17, "executionProviders": ["cpu", "cuda"]},
        "metrics": {"holdout_accuracy": float(clf.score(x_test, y_test)), "train_accuracy": float(clf.score(x_train, y_train))},
    },
}
(ASSETS / "breast-cancer.provenance.json").write_text(json.dumps(statement, indent=2, ensure_ascii=False) + "\n")
print(json.dumps(statement["predicate"]["metrics"]))
