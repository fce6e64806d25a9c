"""Writes the breast-cancer holdout as NumPy arrays, for the .npy holdout reader's tests.

Run:  python3 scripts/models/holdout_npy.py   (needs numpy)
Reads assets/breast-cancer-holdout.csv (made by train_models.py) and writes, with numpy.save:
  test/fixtures/breast-cancer-holdout-f8.npy   float64, the 30 feature columns in order, then the label
  test/fixtures/breast-cancer-holdout-f4.npy   the same as float32
"""
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
rows = np.loadtxt(ROOT / "assets" / "breast-cancer-holdout.csv", delimiter=",", skiprows=1, dtype=np.float64)
np.save(ROOT / "test" / "fixtures" / "breast-cancer-holdout-f8.npy", rows)
np.save(ROOT / "test" / "fixtures" / "breast-cancer-holdout-f4.npy", rows.astype(np.float32))
print(rows.shape)
