"""Python peers on the same k-fold task, for BENCHMARKS.md (run by benches/train.rs).

Usage: python3 benches/peers.py TABLE.csv LABEL
Prints one JSON line per model: mean ROC AUC and log loss over the table's `fold` column, and
the seconds spent fitting and predicting all folds (data loading and encoding excluded).
"""
import json
import sys
import time

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, SplineTransformer, StandardScaler

from peer_table import is_number, read

path, label = sys.argv[1], sys.argv[2]
rows, names, y, fold = read(path, label)


numeric = [c for c in names if all(is_number(r[c]) for r in rows)]
categorical = [c for c in names if c not in numeric]
X = np.empty((len(rows), len(names)), dtype=object)
for j, c in enumerate(numeric + categorical):
    X[:, j] = [float(r[c]) if c in numeric else r[c] for r in rows]
num_idx = list(range(len(numeric)))
cat_idx = list(range(len(numeric), len(names)))

models = {
    "sklearn_logistic": lambda: make_pipeline(
        ColumnTransformer([("n", StandardScaler(), num_idx), ("c", OneHotEncoder(handle_unknown="ignore"), cat_idx)]),
        LogisticRegression(max_iter=1000),
    ),
    # The spline family's peer: the same basis (cubic, 5 quantile knots), scikit-learn's solver.
    "sklearn_spline_logistic": lambda: make_pipeline(
        ColumnTransformer([("n", SplineTransformer(n_knots=5, knots="quantile"), num_idx), ("c", OneHotEncoder(handle_unknown="ignore"), cat_idx)]),
        LogisticRegression(max_iter=1000),
    ),
    "sklearn_hist_gradient_boosting": lambda: make_pipeline(
        ColumnTransformer([("n", "passthrough", num_idx), ("c", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), cat_idx)]),
        HistGradientBoostingClassifier(categorical_features=list(range(len(num_idx), len(names))), random_state=0),
    ),
    "sklearn_random_forest": lambda: make_pipeline(
        ColumnTransformer([("n", "passthrough", num_idx), ("c", OneHotEncoder(handle_unknown="ignore"), cat_idx)]),
        RandomForestClassifier(n_estimators=100, min_samples_leaf=20, n_jobs=-1, random_state=0),
    ),
}
for name, make in models.items():
    aucs, losses, seconds = [], [], 0.0
    for k in sorted(set(fold)):
        train, test = fold != k, fold == k
        model = make()
        start = time.perf_counter()
        model.fit(X[train], y[train])
        p = model.predict_proba(X[test])[:, 1]
        seconds += time.perf_counter() - start
        aucs.append(roc_auc_score(y[test], p))
        losses.append(log_loss(y[test], p))
    print(json.dumps({"model": name, "roc_auc": float(np.mean(aucs)), "log_loss": float(np.mean(losses)), "seconds": seconds}))
