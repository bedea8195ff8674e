#!/usr/bin/env python3
"""The headroom left: a model's ROC AUC and log loss on renewals it never saw, beside those of
the generator's own lapse probabilities (the bound any model of the book can reach).

    python benches/bound.py --lapse target/release/lapse [--policies 50000] [--seed 42] [--exclude FEATURE ...]

Generates a book with `--truth`, trains the gbdt on 12 monthly snapshots to 2026-03-31 (refit on
every labelled row, and `--no-refit`) and `--model auto` (search and blend), scores the 2026-06-30 snapshot (outcomes known at the
2026-09-30 extract) and compares, for every renewal and for those not yet due at the snapshot.
Needs polars (notebooks/requirements.txt).

The generator draws a renewal's lapse with a probability fixed at its due date. For renewals not
yet due at the snapshot that probability is exactly what can be known: the bound. For renewals
already overdue it is not: still being unpaid weeks after the due date is information the draw's
probability does not hold, so a model can (and does) beat it there.
"""

import argparse
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import polars as pl


def run(*command):
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True, env={"LAPSE_LOG": "warn", "PATH": "/usr/bin:/bin"})
    if result.returncode != 0:
        sys.exit(f"{' '.join(map(str, command))}: {result.stderr}")


def auc(p, y):
    df = pl.DataFrame({"p": p, "y": y}).with_columns(pl.col("p").rank("average").alias("r"))
    n1 = df["y"].sum()
    n0 = len(df) - n1
    return (df.filter(pl.col("y") == 1)["r"].sum() - n1 * (n1 + 1) / 2) / (n1 * n0)


def log_loss(p, y):
    return -sum(math.log(min(max(q if t == 1 else 1 - q, 1e-15), 1.0)) for q, t in zip(p, y)) / len(y)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lapse", type=Path, required=True)
    parser.add_argument("--policies", type=int, default=50000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--exclude", action="append", default=[], help="a feature the models must not use (repeatable): the 'before' of a new feature")
    args = parser.parse_args()
    excluded = [a for name in args.exclude for a in ("--exclude", name)]
    work = Path(tempfile.mkdtemp(prefix="lapse-bound-"))
    lapse = args.lapse.resolve()
    run(lapse, "generate", "--policies", args.policies, "--seed", args.seed, "--truth", "--out", work / "book")
    run(lapse, "features", "--data", work / "book", "--as-of", "2025-04-30..2026-03-31", "--every", "1mo", "--out", work / "train.parquet")
    run(lapse, "features", "--data", work / "book", "--as-of", "2026-06-30", "--out", work / "later.parquet")
    held = pl.read_parquet(work / "later.parquet").select("policy_id", "installment_no", "due_date", "as_of", "lapsed").drop_nulls("lapsed")
    truth = pl.read_csv(work / "book" / "lapse_probabilities.csv", schema_overrides={"policy_id": pl.Utf8})
    table = held.join(truth, on=["policy_id", "installment_no"], how="left")
    scored = {"bound (the generator's probabilities)": "lapse_probability"}
    runs = [
        ("gbdt, refit on every labelled row", ["--model", "gbdt"]),
        ("gbdt, fitted on the earlier snapshots", ["--model", "gbdt", "--no-refit"]),
        ("auto: settings searched, families blended, refit", ["--model", "auto"]),
    ]
    for name, extra in runs:
        models = work / f"models-{len(scored)}"
        run(lapse, "train", "--features", work / "train.parquet", "--models", models, "--promote", *extra, *excluded)
        out = work / f"scores-{len(scored)}.csv"
        run(lapse, "queue", "--models", models, "--snapshot", work / "later.parquet", "--capacity", "100000000", "--include-no-action", "--out", out)
        column = f"p{len(scored)}"
        scores = pl.read_csv(out, schema_overrides={"policy_id": pl.Utf8}).select("policy_id", "installment_no", pl.col("probability").alias(column))
        table = table.join(scores, on=["policy_id", "installment_no"], how="left")
        scored[name] = column
    missing = table.filter(pl.any_horizontal([pl.col(c).is_null() for c in scored.values()])).height
    table = table.drop_nulls()
    print(f"{args.policies} policies (seed {args.seed}); held out: the 2026-06-30 snapshot, {table.height} renewals with known outcomes ({missing} without a score or a truth row left out)\n")
    print("| renewals | scores | ROC AUC | log loss |\n|---|---|---|---|")
    for label, part in [("all", table), ("not yet due", table.filter(pl.col("due_date") >= pl.col("as_of")))]:
        y = part["lapsed"].cast(pl.Int64).to_list()
        for name, column in scored.items():
            p = part[column].to_list()
            print(f"| {label} ({len(y)}) | {name} | {auc(p, y):.4f} | {log_loss(p, y):.4f} |")


if __name__ == "__main__":
    main()
