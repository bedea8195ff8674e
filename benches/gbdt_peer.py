#!/usr/bin/env python3
"""LightGBM at lapse's boosting settings on the rows `lapse train --model gbdt` fits, for the
boosting-speed comparison in BENCHMARKS.md (issue 13, part 5).

    /usr/bin/time python benches/gbdt_peer.py TABLE.parquet [--validation-snapshots 3] [--grace 60]

Reads the feature table, takes the out-of-time training rows exactly as lapse plans them (snapshots
before the last 3 snapshot dates whose outcome was known before the first of them), encodes
categories as pandas categoricals, fits LightGBM (100 rounds, depth 4, learning rate 0.1, minimum
leaf hessian 20, L2 1, 255 bins; all threads) and prints the held-out ROC AUC and the seconds of
each step. Time the whole process from outside, as lapse's is.
"""
import argparse
import json
import time

t0 = time.perf_counter()
import lightgbm as lgb  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("table")
parser.add_argument("--validation-snapshots", type=int, default=3)
parser.add_argument("--grace", type=int, default=60)
args = parser.parse_args()
t_import = time.perf_counter()
table = pl.read_parquet(args.table).filter(pl.col("lapsed").is_not_null())
t_read = time.perf_counter()
dates = sorted(table["as_of"].unique().to_list())
start = dates[-args.validation_snapshots]
train = table.filter((pl.col("as_of") < start) & ((pl.col("due_date") + pl.duration(days=args.grace)) < start))
valid = table.filter(pl.col("as_of") >= start)
drop = {"policy_id", "customer_id", "installment_no", "as_of", "due_date", "lapsed", "value_at_risk"}
features = [c for c in table.columns if c not in drop]
categorical = [c for c in features if table.schema[c] == pl.Utf8 or table.schema[c] == pl.String]


def frame(part):
    df = part.select(features).to_pandas()
    for c in categorical:
        df[c] = df[c].astype("category")
    return df


x_train, y_train = frame(train), train["lapsed"].cast(pl.Int32).to_numpy()
x_valid, y_valid = frame(valid), valid["lapsed"].cast(pl.Int32).to_numpy()
for c in categorical:
    x_valid[c] = x_valid[c].cat.set_categories(x_train[c].cat.categories)
t_encode = time.perf_counter()
params = {
    "objective": "binary",
    "num_iterations": 100,
    "learning_rate": 0.1,
    "max_depth": 4,
    "num_leaves": 16,
    "min_sum_hessian_in_leaf": 20.0,
    "min_data_in_leaf": 1,
    "lambda_l2": 1.0,
    "max_bin": 255,
    "verbose": -1,
}
booster = lgb.train(params, lgb.Dataset(x_train, y_train, categorical_feature=categorical))
t_fit = time.perf_counter()
p = booster.predict(x_valid)
t_predict = time.perf_counter()
print(json.dumps({
    "train_rows": len(y_train), "valid_rows": len(y_valid), "features": len(features), "roc_auc": round(float(roc_auc_score(y_valid, p)), 4),
    "import_s": round(t_import - t0, 2), "read_s": round(t_read - t_import, 2), "encode_s": round(t_encode - t_read, 2),
    "fit_s": round(t_fit - t_encode, 2), "predict_s": round(t_predict - t_fit, 2),
}))
