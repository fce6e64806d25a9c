"""Reference values for src/compare, computed with scipy and scikit-learn on fixed vectors.

Run:  python3 scripts/reference/compare_reference.py > test/fixtures/compare-reference.json
(needs numpy, scipy and scikit-learn; the JSON is committed so the tests need no Python).
"""
import json
import sys

import numpy as np
import scipy
import sklearn
from scipy import stats
from sklearn.metrics import accuracy_score, mean_absolute_error, mean_squared_error, roc_auc_score

rng = np.random.default_rng(20261122)

# Two samples of different sizes with a small shift: KS, Wasserstein, PSI.
a = rng.normal(0.0, 1.0, 500)
b = rng.normal(0.15, 1.1, 400)
ks = stats.ks_2samp(a, b, method="asymp")
ks_big_a = rng.normal(0.0, 1.0, 5000)
ks_big_b = rng.normal(0.02, 1.0, 6000)
ks_big = stats.ks_2samp(ks_big_a, ks_big_b, method="asymp")


def psi(reference, actual, bins=10, floor=1e-4):
    """Population stability index over deciles of the reference (the definition src/compare uses)."""
    edges = np.quantile(reference, np.linspace(0, 1, bins + 1))
    edges[0], edges[-1] = -np.inf, np.inf
    p = np.histogram(reference, edges)[0] / len(reference)
    q = np.histogram(actual, edges)[0] / len(actual)
    p, q = np.maximum(p, floor), np.maximum(q, floor)
    return float(np.sum((q - p) * np.log(q / p)))


# Binary classifier scores with ties, for AUC and accuracy at 0.5.
labels = rng.integers(0, 2, 300)
scores = np.round(np.clip(labels * 0.3 + rng.uniform(0, 0.7, 300), 0, 1), 2)

# Regression.
y = rng.normal(100, 15, 200)
yhat = y + rng.normal(0, 5, 200)

json.dump(
    {
        "generator": f"numpy {np.__version__}, scipy {scipy.__version__}, scikit-learn {sklearn.__version__}",
        "a": a.tolist(),
        "b": b.tolist(),
        "ks": {"statistic": float(ks.statistic), "pvalue": float(ks.pvalue)},
        "ksBig": {"a": ks_big_a.tolist(), "b": ks_big_b.tolist(), "statistic": float(ks_big.statistic), "pvalue": float(ks_big.pvalue)},
        "wasserstein": float(stats.wasserstein_distance(a, b)),
        "psi": psi(a, b),
        "labels": labels.tolist(),
        "scores": scores.tolist(),
        "auc": float(roc_auc_score(labels, scores)),
        "accuracy": float(accuracy_score(labels, (scores >= 0.5).astype(int))),
        "y": y.tolist(),
        "yhat": yhat.tolist(),
        "rmse": float(np.sqrt(mean_squared_error(y, yhat))),
        "mae": float(mean_absolute_error(y, yhat)),
    },
    sys.stdout,
)
