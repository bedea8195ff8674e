"""The k-fold table both peer scripts read (benches/peers.py, benches/small_peers.py): its rows,
feature names, 0/1 labels and `fold` column, and which columns are numbers."""
import csv

import numpy as np


def read(path, label):
    """(rows, feature names, labels, folds) of the CSV at `path`."""
    rows = list(csv.DictReader(open(path)))
    names = [c for c in rows[0] if c not in (label, "fold")]
    y = np.array([int(float(r[label])) for r in rows])
    fold = np.array([int(r["fold"]) for r in rows])
    return rows, names, y, fold


def is_number(v):
    try:
        float(v)
        return True
    except ValueError:
        return False
