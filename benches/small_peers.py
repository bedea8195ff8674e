"""Tuned Python peers on the accuracy guard's small tables (issue 28, item 2), for BENCHMARKS.md.

Usage: python3 benches/small_peers.py TABLE.csv [LABEL]

Each outer fold of the table's `fold` column is held out in turn; every peer is tuned on the
other folds only (an inner 80/20 split of them, by row, picks its setting and its number of
rounds by early stopping on log loss), refitted on all of them with that setting, and scored on
the held-out fold. Prints one JSON line per peer (mean held-out ROC AUC over the folds) and the
best. Peers: scikit-learn's logistic regression (one-hot, standardised; C tuned) and
HistGradientBoosting (tuned), LightGBM and XGBoost (tuned over leaves/depth, learning rate and
minimum leaf size).
"""
import itertools
import json
import sys

import numpy as np
import lightgbm as lgb
import xgboost as xgb
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from peer_table import is_number, read

path = sys.argv[1]
label = sys.argv[2] if len(sys.argv) > 2 else "lapse"
rows, names, y, fold = read(path, label)


numeric = [c for c in names if all(is_number(r[c]) or r[c] == "" for r in rows)]
categorical = [c for c in names if c not in numeric]
num = np.array([[float(r[c]) if r[c] != "" else np.nan for c in numeric] for r in rows]).reshape(len(rows), len(numeric))
cat_text = np.array([[r[c] for c in categorical] for r in rows], dtype=object).reshape(len(rows), len(categorical))
codes = OrdinalEncoder().fit_transform(cat_text) if categorical else np.empty((len(rows), 0))
X_trees = np.hstack([num, codes])
cat_idx = list(range(len(numeric), len(numeric) + len(categorical)))
rng = np.random.default_rng(0)


def inner_split(train_rows):
    mask = rng.random(len(train_rows)) < 0.8
    return train_rows[mask], train_rows[~mask]


def lightgbm_peer(tr, te):
    fit, val = inner_split(tr)
    best = None
    for leaves, lr, leaf in itertools.product([4, 8, 16, 31], [0.02, 0.05, 0.1], [20, 50, 100]):
        params = dict(objective="binary", num_leaves=leaves, learning_rate=lr, min_child_samples=leaf, verbose=-1,
                      seed=0, num_threads=2, feature_pre_filter=False)
        d_fit = lgb.Dataset(X_trees[fit], y[fit], categorical_feature=cat_idx or "auto")
        d_val = lgb.Dataset(X_trees[val], y[val], reference=d_fit)
        booster = lgb.train(params, d_fit, 3000, valid_sets=[d_val], callbacks=[lgb.early_stopping(100, verbose=False)])
        loss = log_loss(y[val], booster.predict(X_trees[val], num_iteration=booster.best_iteration))
        if best is None or loss < best[0]:
            best = (loss, params, booster.best_iteration)
    _, params, rounds = best
    booster = lgb.train(params, lgb.Dataset(X_trees[tr], y[tr], categorical_feature=cat_idx or "auto"), max(rounds, 1))
    return booster.predict(X_trees[te])


def xgboost_peer(tr, te):
    fit, val = inner_split(tr)
    best = None
    for depth, lr, child in itertools.product([2, 3, 4, 6], [0.02, 0.05, 0.1], [1, 5, 20]):
        params = dict(objective="binary:logistic", max_depth=depth, eta=lr, min_child_weight=child, eval_metric="logloss",
                      nthread=2, seed=0, tree_method="hist")
        d_fit, d_val = xgb.DMatrix(X_trees[fit], y[fit]), xgb.DMatrix(X_trees[val], y[val])
        booster = xgb.train(params, d_fit, 3000, evals=[(d_val, "v")], early_stopping_rounds=100, verbose_eval=False)
        loss = log_loss(y[val], booster.predict(d_val, iteration_range=(0, booster.best_iteration + 1)))
        if best is None or loss < best[0]:
            best = (loss, params, booster.best_iteration + 1)
    _, params, rounds = best
    booster = xgb.train(params, xgb.DMatrix(X_trees[tr], y[tr]), rounds)
    return booster.predict(xgb.DMatrix(X_trees[te]))


def hist_gbm_peer(tr, te):
    fit, val = inner_split(tr)
    best = None
    for leaves, lr in itertools.product([7, 15, 31], [0.05, 0.1]):
        model = HistGradientBoostingClassifier(max_leaf_nodes=leaves, learning_rate=lr, max_iter=2000, early_stopping=True,
                                               validation_fraction=0.2, n_iter_no_change=50, random_state=0,
                                               categorical_features=cat_idx or None)
        model.fit(X_trees[fit], y[fit])
        loss = log_loss(y[val], model.predict_proba(X_trees[val])[:, 1])
        if best is None or loss < best[0]:
            best = (loss, leaves, lr)
    _, leaves, lr = best
    model = HistGradientBoostingClassifier(max_leaf_nodes=leaves, learning_rate=lr, max_iter=2000, early_stopping=True,
                                           validation_fraction=0.2, n_iter_no_change=50, random_state=0,
                                           categorical_features=cat_idx or None)
    model.fit(X_trees[tr], y[tr])
    return model.predict_proba(X_trees[te])[:, 1]


def logistic_peer(tr, te):
    def make(c):
        return make_pipeline(
            ColumnTransformer([("n", StandardScaler(), list(range(len(numeric)))),
                               ("c", OneHotEncoder(handle_unknown="ignore"), list(range(len(numeric), len(names))))]),
            LogisticRegression(C=c, max_iter=2000))
    X_lin = np.empty((len(rows), len(names)), dtype=object)
    X_lin[:, :len(numeric)] = np.nan_to_num(num)
    X_lin[:, len(numeric):] = cat_text
    fit, val = inner_split(tr)
    best = min([0.01, 0.1, 1.0, 10.0], key=lambda c: log_loss(y[val], make(c).fit(X_lin[fit], y[fit]).predict_proba(X_lin[val])[:, 1]))
    return make(best).fit(X_lin[tr], y[tr]).predict_proba(X_lin[te])[:, 1]


results = {}
for name, peer in [("sklearn_logistic", logistic_peer), ("sklearn_hist_gradient_boosting", hist_gbm_peer),
                   ("lightgbm_tuned", lightgbm_peer), ("xgboost_tuned", xgboost_peer)]:
    aucs = []
    for k in sorted(set(fold)):
        tr, te = np.where(fold != k)[0], np.where(fold == k)[0]
        aucs.append(roc_auc_score(y[te], peer(tr, te)))
    results[name] = float(np.mean(aucs))
    print(json.dumps({"table": path, "peer": name, "roc_auc": results[name]}), flush=True)
best = max(results, key=results.get)
print(json.dumps({"table": path, "best_peer": best, "roc_auc": results[best]}))
