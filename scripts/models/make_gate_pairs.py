"""Makes model pairs the shadow gate must judge right, with the verdict decided from first principles.

Run:  python3 scripts/models/make_gate_pairs.py   (needs scikit-learn, skl2onnx, onnx, numpy)
Writes test/fixtures/gate-pairs/ (small, committed): models, holdouts, and pairs.json naming for
each pair the expected verdict, the failing criteria, and any tolerances the pair is judged under.

Binary (logistic regression, 6 features, a 2,000-row holdout; the default tolerance 0.1 % allows
2 changed rows):
  identical        the same model on both sides → passes
  rounding         every coefficient one float32 step up: rounding, not a new model → passes
  permuted         classlabels [1, 0], weights unchanged: every row is served the other class →
                   fails accuracy, agreement, the probability vector matched by class, and the
                   positive class's probability (AUC, paired scores)
  nan-weights      one coefficient NaN: every prediction NaN → fails finiteValues
  labels-1-2       holdout labels {1, 2}, model classes {0, 1} → refused (ShadowInputError)
  one-class        a holdout of class-1 rows only: AUC is undefined, not applicable → passes
  boundary-2       the intercept moved so exactly 2 rows change label, each right before and wrong
                   after: 2 ≤ ⌊0.001 · 2000⌋ → passes (continuous criteria loosened to 5 %)
  boundary-3       the same with exactly 3 rows → fails accuracyDelta and labelAgreement
  nan-npy-holdout  a .npy holdout with one NaN feature: a holdout problem, not the model's →
                   refused as such (HoldoutNonFinite) unless nonFinite: skip leaves the row out
  inf-csv-holdout  a CSV row with +inf in two features (z = inf − inf = NaN on both sides):
                   the same holdout rule, whatever the format
Multiclass (3 classes):
  mc-reordered     the same model with classes and weight rows in another order: the same
                   answers in other columns → passes
  mc-permuted      classlabels rotated, weights unchanged → fails accuracy, agreement, vector
Regression (ridge, the label in natural units, ×1e-7 and ×1e7):
  reg-<unit>-same  the same model → passes
  reg-<unit>-5e-3  coefficients and intercept × (1 + 5e-3): ‖b − a‖/‖a‖ = 5e-3 > 1e-3 in every
                   unit → fails relativeL2Diff (the RMSE/MAE deltas are judged at 100 % here, so
                   only the unit-free criterion decides)
"""
import json
from pathlib import Path

import numpy as np
import onnx
from skl2onnx import to_onnx
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import LogisticRegression, Ridge

OUT = Path(__file__).resolve().parents[2] / "test" / "fixtures" / "gate-pairs"
OUT.mkdir(parents=True, exist_ok=True)
pairs = []


def write(name, model):
    (OUT / name).write_bytes(model.SerializeToString())


def node(model, op):
    return next(n for n in model.graph.node if n.op_type == op)


def attr(model, op, name):
    return next(a for a in node(model, op).attribute if a.name == name)


def variant(base, change):
    model = onnx.ModelProto()
    model.CopyFrom(base)
    change(model)
    return model


def write_csv(name, features, x, y):
    with open(OUT / name, "w") as f:
        f.write(",".join(features + ["label"]) + "\n")
        for row, label in zip(x, y):
            # JavaScript's spelling of infinity, as a JS-written CSV would carry it.
            f.write(",".join("Infinity" if v == np.inf else repr(float(v)) for v in row) + f",{label!r}\n")


def pair(name, source, target, holdout, verdict, failed, task="binary", tolerances=None, fmt="csv", features=None):
    entry = {"name": name, "task": task, "source": source, "target": target, "holdout": holdout, "format": fmt, "verdict": verdict, "failed": sorted(failed)}
    if tolerances:
        entry["tolerances"] = tolerances
    if features:
        entry["features"] = features
    pairs.append(entry)


# ── binary ─────────────────────────────────────────────────────────────────────────────────────
x, y = make_classification(n_samples=4000, n_features=6, n_informative=4, random_state=3)
x = x.astype(np.float32)
x_train, y_train, x_test, y_test = x[:2000], y[:2000], x[2000:], y[2000:]
clf = LogisticRegression(max_iter=2000).fit(x_train, y_train)
base = to_onnx(clf, x_train[:1], options={id(clf): {"zipmap": False}}, target_opset=17)
features = [f"f{i}" for i in range(x.shape[1])]
write("base.onnx", base)
write_csv("holdout.csv", features, x_test, y_test.tolist())
write_csv("holdout-1-2.csv", features, x_test, (y_test + 1).tolist())
ones = y_test == 1
write_csv("holdout-one-class.csv", features, x_test[ones], y_test[ones].tolist())


def set_ints(model, op, name, values):
    a = attr(model, op, name)
    del a.ints[:]
    a.ints.extend(values)


def set_floats(model, op, name, values):
    a = attr(model, op, name)
    del a.floats[:]
    a.floats.extend([float(v) for v in values])


write("permuted.onnx", variant(base, lambda m: set_ints(m, "LinearClassifier", "classlabels_ints", [1, 0])))
coefficients = np.array(attr(base, "LinearClassifier", "coefficients").floats, dtype=np.float32)
nan_coefficients = coefficients.copy()
nan_coefficients[0] = np.nan
write("nan-weights.onnx", variant(base, lambda m: set_floats(m, "LinearClassifier", "coefficients", nan_coefficients)))
write("rounding.onnx", variant(base, lambda m: set_floats(m, "LinearClassifier", "coefficients", np.nextafter(coefficients, np.float32(np.inf)))))

pair("identical", "base.onnx", "base.onnx", "holdout.csv", "passed", [])
pair("rounding", "base.onnx", "rounding.onnx", "holdout.csv", "passed", [])
pair("permuted", "base.onnx", "permuted.onnx", "holdout.csv", "failed", ["accuracyDelta", "aucDelta", "labelAgreement", "meanRelativeDiff", "probabilityDelta"])
pair("nan-weights", "base.onnx", "nan-weights.onnx", "holdout.csv", "failed", ["finiteValues"])
pair("labels-1-2", "base.onnx", "base.onnx", "holdout-1-2.csv", "refused", [])
pair("one-class", "base.onnx", "base.onnx", "holdout-one-class.csv", "passed", [])

# Exact boundaries: move the intercept so exactly k rows change label, each right before and wrong
# after. The holdout keeps only rows whose margin is not between 0 and the shift, except those k.
margin = x_test.astype(np.float64) @ clf.coef_[0] + clf.intercept_[0]
right_positive = np.where((margin > 0) & (y_test == 1))[0]
order = right_positive[np.argsort(margin[right_positive])]
for k in (2, 3):
    flipped = order[:k]
    shift = (margin[order[k - 1]] + margin[order[k]]) / 2
    keep = np.array([i for i in range(len(y_test)) if not (0 < margin[i] < shift + 1e-3) or i in set(flipped.tolist())])
    assert len(keep) >= 2000 * 0.9
    chosen = keep[:2000] if len(keep) >= 2000 else keep
    assert set(flipped.tolist()) <= set(chosen.tolist())
    holdout = f"holdout-boundary-{k}.csv"
    write_csv(holdout, features, x_test[chosen], y_test[chosen].tolist())
    intercepts = np.array(attr(base, "LinearClassifier", "intercepts").floats, dtype=np.float64)
    # skl2onnx writes a binary classifier as two columns scored z and −z: both move, so the
    # decision z − shift > 0 flips exactly the rows with 0 < z < shift.
    moved = intercepts.copy()
    moved[1] -= shift
    moved[0] += shift
    write(f"boundary-{k}.onnx", variant(base, lambda m, v=moved: set_floats(m, "LinearClassifier", "intercepts", v)))
    n = len(chosen)
    allowed = int(np.floor(0.001 * n + 1e-9))
    loose = {"maxMeanRelativeDiff": 0.05, "maxProbabilityDelta": 0.05, "maxMetricDelta": 0.001, "minLabelAgreement": 0.999}
    pair(f"boundary-{k}", "base.onnx", f"boundary-{k}.onnx", holdout, "passed" if k <= allowed else "failed", [] if k <= allowed else ["accuracyDelta", "labelAgreement"], tolerances=loose)

# Non-finite values reaching the model through the holdout.
nan_x = x_test.astype(np.float32).copy()
nan_x[5, 2] = np.nan
np.save(OUT / "holdout-nan.npy", np.hstack([nan_x, y_test.reshape(-1, 1).astype(np.float32)]))
pair("nan-npy-holdout", "base.onnx", "base.onnx", "holdout-nan.npy", "holdoutNonFinite", [], fmt="npy")
signs = np.sign(clf.coef_[0])
a, b = int(np.argmax(signs > 0)), int(np.argmax(signs < 0))
inf_x = x_test.astype(np.float64).copy()
inf_x[7, a] = np.inf
inf_x[7, b] = np.inf
write_csv("holdout-inf.csv", features, inf_x, y_test.tolist())
pair("inf-csv-holdout", "base.onnx", "base.onnx", "holdout-inf.csv", "holdoutNonFinite", [])

# ── multiclass ─────────────────────────────────────────────────────────────────────────────────
xm, ym = make_classification(n_samples=6000, n_features=5, n_informative=4, n_redundant=0, n_classes=3, random_state=5)
xm = xm.astype(np.float32)
mc = LogisticRegression(max_iter=2000).fit(xm[:3000], ym[:3000])
mc_base = to_onnx(mc, xm[:1], options={id(mc): {"zipmap": False}}, target_opset=17)
mfeatures = [f"m{i}" for i in range(xm.shape[1])]
write("mc-base.onnx", mc_base)
write_csv("mc-holdout.csv", mfeatures, xm[3000:], ym[3000:].tolist())
order3 = [2, 0, 1]
mc_coef = np.array(attr(mc_base, "LinearClassifier", "coefficients").floats).reshape(3, -1)
mc_int = np.array(attr(mc_base, "LinearClassifier", "intercepts").floats)


def reorder(m):
    set_ints(m, "LinearClassifier", "classlabels_ints", order3)
    set_floats(m, "LinearClassifier", "coefficients", mc_coef[order3].reshape(-1))
    set_floats(m, "LinearClassifier", "intercepts", mc_int[order3])


write("mc-reordered.onnx", variant(mc_base, reorder))
write("mc-permuted.onnx", variant(mc_base, lambda m: set_ints(m, "LinearClassifier", "classlabels_ints", order3)))
pair("mc-reordered", "mc-base.onnx", "mc-reordered.onnx", "mc-holdout.csv", "passed", [], task="multiclass", features=mfeatures)
pair("mc-permuted", "mc-base.onnx", "mc-permuted.onnx", "mc-holdout.csv", "failed", ["accuracyDelta", "labelAgreement", "probabilityDelta"], task="multiclass", features=mfeatures)

# ── regression, in three units ─────────────────────────────────────────────────────────────────
xr, yr = make_regression(n_samples=4000, n_features=4, noise=5.0, random_state=9)
xr = xr.astype(np.float32)
rfeatures = [f"r{i}" for i in range(xr.shape[1])]
yr = yr + 300.0  # away from zero, as a price or a count would be
for unit, scale in (("natural", 1.0), ("tiny", 1e-7), ("huge", 1e7)):
    reg = Ridge(alpha=1.0).fit(xr[:2000], yr[:2000] * scale)
    onx = to_onnx(reg, xr[:1], target_opset=17)
    write(f"reg-{unit}.onnx", onx)
    lin = node(onx, "LinearRegressor")
    coef = np.array(next(a for a in lin.attribute if a.name == "coefficients").floats)
    icpt = np.array(next(a for a in lin.attribute if a.name == "intercepts").floats)

    def scaled(m, c=coef, i=icpt):
        set_floats(m, "LinearRegressor", "coefficients", c * (1 + 5e-3))
        set_floats(m, "LinearRegressor", "intercepts", i * (1 + 5e-3))

    write(f"reg-{unit}-5e-3.onnx", variant(onx, scaled))
    write_csv(f"reg-{unit}-holdout.csv", rfeatures, xr[2000:], (yr[2000:] * scale).tolist())
    relaxed = {"maxMetricDelta": 1.0}
    pair(f"reg-{unit}-same", f"reg-{unit}.onnx", f"reg-{unit}.onnx", f"reg-{unit}-holdout.csv", "passed", [], task="regression", tolerances=relaxed, features=rfeatures)
    pair(f"reg-{unit}-5e-3", f"reg-{unit}.onnx", f"reg-{unit}-5e-3.onnx", f"reg-{unit}-holdout.csv", "failed", ["relativeL2Diff"], task="regression", tolerances=relaxed, features=rfeatures)

(OUT / "pairs.json").write_text(json.dumps({"features": features, "pairs": pairs}, indent=2) + "\n")
print(f"wrote {len(pairs)} pairs to {OUT}")
