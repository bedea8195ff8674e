"""Checks `spark/lapse_features.py` against `lapse features`, row for row (CI runs it).

    python spark/check.py --lapse BIN [--policies 3000] [--seed 77] [--partitions 3]

Generates a book the project's tests do not use (CSV, and the same book as Parquet), builds a
stacked table (three month-ends) and a one-date snapshot with the binary on the whole book and
with the Spark job in local[2] mode, and compares: same columns, same types (as Spark reads
them), same rows in the same order, the same values (NaN where NaN).
"""

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run(*args):
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, env={**os.environ, "LAPSE_LOG": "warn"})
    if result.returncode != 0:
        sys.exit(f"{' '.join(map(str, args))} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def compare(expected_path, actual_dir, what):
    import pyarrow as pa
    import pyarrow.parquet as pq
    sys.path.insert(0, str(HERE))
    from lapse_features import to_spark_types
    expected = to_spark_types(pq.read_table(expected_path))
    parts = sorted(p for p in Path(actual_dir).glob("part-*.parquet"))
    actual = pa.concat_tables([pq.read_table(p) for p in parts]) if parts else None
    if actual is None:
        sys.exit(f"{what}: the Spark job wrote no part file in {actual_dir}")
    if actual.schema.names != expected.schema.names:
        sys.exit(f"{what}: columns differ:\n spark {actual.schema.names}\n lapse {expected.schema.names}")
    actual = actual.cast(expected.schema)
    if actual.num_rows != expected.num_rows:
        sys.exit(f"{what}: {actual.num_rows} rows from Spark, {expected.num_rows} from lapse features")
    for name in expected.schema.names:
        a, e = actual.column(name).to_pylist(), expected.column(name).to_pylist()
        for row, (x, y) in enumerate(zip(a, e)):
            same = x == y or (isinstance(x, float) and isinstance(y, float) and x != x and y != y)
            if not same:
                sys.exit(f"{what}: row {row + 1}, column {name}: Spark {x!r}, lapse features {y!r}")
    print(f"{what}: {expected.num_rows} rows x {len(expected.schema.names)} columns identical, in the same order ({len(parts)} part files)")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lapse", type=Path, required=True)
    parser.add_argument("--policies", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=77)
    parser.add_argument("--partitions", type=int, default=3)
    args = parser.parse_args()
    binary = args.lapse.resolve()
    work = Path(tempfile.mkdtemp(prefix="lapse-spark-check-"))
    run(binary, "generate", "--policies", args.policies, "--seed", args.seed, "--out", work / "book")
    run(binary, "generate", "--policies", args.policies, "--seed", args.seed, "--format", "parquet", "--out", work / "book-parquet")
    # Text the CSV rules make awkward: a comma, doubled quotes and edge spaces in a region, in
    # both the policies and the customers tables.
    import csv
    for table in ("policies", "customers"):
        path = work / "book" / f"{table}.csv"
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        region = rows[0].index("region")
        for row in rows[1::7]:
            row[region] = f' {row[region]}, "north" '
        with open(path, "w", newline="", encoding="utf-8") as f:
            csv.writer(f, lineterminator="\n").writerows(rows)
    cases = [("book", "2026-03-31..2026-05-31", "stacked table (CSV extract)"), ("book-parquet", "2026-09-30", "snapshot (Parquet extract)")]
    for book, as_of, what in cases:
        expected = work / f"{book}-expected.parquet"
        run(binary, "features", "--data", work / book, "--as-of", as_of, "--out", expected)
        actual = work / f"{book}-spark"
        out = run(sys.executable, HERE / "lapse_features.py", "--lapse", binary, "--data", work / book, "--as-of", as_of,
                  "--out", actual, "--master", "local[2]", "--partitions", args.partitions)
        print(out.strip().splitlines()[-1])
        compare(expected, actual, what)


if __name__ == "__main__":
    main()
