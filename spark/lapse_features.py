"""The point-in-time feature table of `lapse features`, built on a Spark cluster.

    python spark/lapse_features.py --lapse BIN --data DIR --as-of T [--every 1mo] --out DIR
        [--master URL] [--partitions N] [--horizon-days 30] [--grace-days 60] [--extract-date D]

`--as-of` is one date or a range FROM..TO stepped by `--every`, as for `lapse features`. The
output directory holds Parquet part files whose rows, read in part order, are row for row the
table `lapse features` writes for the same book (same columns, types and values, same order:
by snapshot date, then the policies file's order, then installment).

How (see docs/scale.md):

1. The extract (`DIR/<table>.csv` or `.parquet`, the contract's five tables) is read by Spark
   as text columns, and each policy, installment and event row is tagged with its customer.
2. A Spark stage computes what a customer's rows cannot know alone: each agent's and the whole
   book's lapse record over the 12 months before each snapshot date (the rule of
   `lapse_core::features::aggregates`), and the extract date (the latest date the extract
   records, as the binary computes it). Both are small and go to every task.
3. The rows are repartitioned by customer, so all of a customer's policies, installments and
   events land in one partition (household signals stay exact). Each task writes its
   customers' rows and the agents table as a small CSV extract in a local temp directory and
   runs the project's own binary on it (`lapse features --aggregates ... --extract-date ...`):
   one feature builder, the one the tests and the nightly job use, instead of a second
   implementation in Spark SQL that would drift from it. The task hands the binary's Parquet
   back to Spark as Arrow batches (`mapInArrow`), so the output is written by Spark wherever
   `--out` points (local disk, HDFS, S3).

The binary must exist at the same path on every executor (a container image, or
`spark-submit --files lapse` and `--lapse ./lapse`); see docs/scale.md for YARN and Kubernetes.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

TABLES = ["policies", "customers", "installments", "events", "agents"]
KEY = "_lapse_customer"
ORDINAL = "_lapse_policy_row"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lapse", required=True, help="the lapse binary (on every executor)")
    parser.add_argument("--data", required=True, help="extract directory: <table>.csv or .parquet")
    parser.add_argument("--as-of", required=True, help="T or FROM..TO")
    parser.add_argument("--every", default="1mo")
    parser.add_argument("--out", required=True, help="output directory (Parquet part files)")
    parser.add_argument("--master", default=None, help="Spark master URL (default: spark-submit's, else local[2])")
    parser.add_argument("--partitions", type=int, default=None, help="customer partitions (default: Spark's default parallelism)")
    parser.add_argument("--horizon-days", type=int, default=30)
    parser.add_argument("--grace-days", type=int, default=60)
    parser.add_argument("--extract-date", default=None, help="default: the latest date the extract records")
    parser.add_argument("--encoding", default="utf-8", help="the CSV extract's encoding: utf-8 or gb18030 (GBK), as lapse --encoding")
    return parser.parse_args(argv)


def add_months(day, months):
    """Calendar months with end-of-month clamping, as `lapse_core::dates::add_months`."""
    import calendar
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def snapshot_dates(as_of, every):
    """The dates `lapse features --as-of A[..B] --every S` builds (`dates::date_series`)."""
    if ".." not in as_of:
        return [date.fromisoformat(as_of)]
    start, end = (date.fromisoformat(x) for x in as_of.split("..", 1))
    number = int("".join(c for c in every if c.isdigit()) or "0")
    unit = every.lstrip("0123456789")
    if number < 1 or unit not in ("d", "w", "mo", "m", "y"):
        sys.exit(f"--every {every!r}: use 7d, 2w, 1mo, 1y")
    dates, k = [], 0
    while True:
        day = (start + timedelta(days=number * k * (7 if unit == "w" else 1)) if unit in ("d", "w")
               else add_months(start, number * k * (12 if unit == "y" else 1)))
        if day > end:
            return dates
        dates.append(day)
        k += 1


def read_table(spark, data, name, encoding="utf-8"):
    """A contract table as text columns (the binary reads the text), or None when absent.
    `data` is a local directory or a URL Spark reads (hdfs://, s3a://, ...)."""
    from pyspark.sql import functions as F
    from pyspark.errors import AnalysisException
    base = data.rstrip("/")
    csv, parquet = f"{base}/{name}.csv", f"{base}/{name}.parquet"
    as_text = lambda frame: frame.select([F.col(c).cast("string").alias(c) for c in frame.columns])
    if "://" not in base:
        if Path(csv).exists():
            return spark.read.option("header", True).option("inferSchema", False).option("multiLine", True).option("escape", '"').option("encoding", encoding).csv(csv)
        return as_text(spark.read.parquet(parquet)) if Path(parquet).exists() else None
    try:
        return spark.read.option("header", True).option("inferSchema", False).option("multiLine", True).option("escape", '"').option("encoding", encoding).csv(csv)
    except AnalysisException:
        try:
            return as_text(spark.read.parquet(parquet))
        except AnalysisException:
            return None


def resolve_binary(binary):
    """The binary on this machine: the path given, else a file shipped with
    `spark-submit --files` (made executable: shipped files may lose the bit)."""
    if not os.path.exists(binary):
        from pyspark import SparkFiles
        binary = SparkFiles.get(os.path.basename(binary))
    if not os.access(binary, os.X_OK):
        os.chmod(binary, 0o755)
    return binary


def main(argv=None):
    args = parse_args(argv)
    from pyspark.sql import SparkSession, Window
    from pyspark.sql import functions as F
    import pyarrow as pa
    import pyarrow.parquet as pq

    # Python workers run this interpreter (with pyarrow) unless the cluster says otherwise.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName("lapse-features")
    if args.master:
        builder = builder.master(args.master)
    elif "SPARK_MASTER" not in os.environ and not os.environ.get("PYSPARK_SUBMIT_ARGS"):
        builder = builder.master("local[2]")
    spark = builder.config("spark.sql.session.timeZone", "UTC").config("spark.ui.showConsoleProgress", "false").getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    data = args.data
    binary = str(Path(args.lapse).resolve()) if Path(args.lapse).exists() else args.lapse
    tables = {name: read_table(spark, data, name, "GB18030" if args.encoding.lower() in ("gb18030", "gbk") else "UTF-8") for name in TABLES}
    for name in ("policies", "customers", "installments"):
        if tables[name] is None:
            sys.exit(f"{data}: no {name}.csv or {name}.parquet")
    headers = {name: frame.columns for name, frame in tables.items() if frame is not None}
    dates = snapshot_dates(args.as_of, args.every)
    grace = args.grace_days

    # The policies file's order, kept to put the output in `lapse features`' order.
    policies = tables["policies"].withColumn(ORDINAL, F.monotonically_increasing_id())
    owner = policies.select("policy_id", F.col("customer_id").alias(KEY), ORDINAL)

    # Stage: the extract date, the rule of `Book::latest_observed`.
    if args.extract_date:
        extract_date = date.fromisoformat(args.extract_date)
    else:
        candidates = [(tables["installments"], "paid_date"), (tables["events"], "event_date"), (tables["policies"], "status_date"),
                      (tables["policies"], "issue_date"), (tables["agents"], "hire_date"), (tables["agents"], "leave_date")]
        found = [frame.select(F.max(F.to_date(F.col(column))).alias("d")).first()["d"]
                 for frame, column in candidates if frame is not None and column in frame.columns]
        found = [d for d in found if d is not None]
        extract_date = max(found) if found else dates[-1]

    # Stage: each agent's and the book's lapse record in the 12 months before each date
    # (renewals whose grace ended in [T - 365, T); lapsed when unpaid or paid after grace).
    renewals = (tables["installments"]
                .where(F.col("installment_no").cast("int") >= 2)
                .select("policy_id", F.to_date("due_date").alias("due"), F.to_date("paid_date").alias("paid"))
                .join(policies.select("policy_id", "agent_id"), "policy_id")
                .withColumn("deadline", F.date_add("due", grace))
                .withColumn("lapse", (F.col("paid").isNull() | (F.col("paid") > F.col("deadline"))).cast("long")))
    snapshot_days = spark.createDataFrame([(d,) for d in dates], "as_of date")
    in_window = (renewals.crossJoin(F.broadcast(snapshot_days))
                 .where((F.col("deadline") >= F.date_sub("as_of", 365)) & (F.col("deadline") < F.col("as_of"))))
    by_agent = (in_window.where(F.col("agent_id").isNotNull() & (F.col("agent_id") != ""))
                .groupBy("as_of", "agent_id").agg(F.count("*").alias("renewals"), F.sum("lapse").alias("lapses")))
    by_book = in_window.groupBy("as_of").agg(F.count("*").alias("renewals"), F.sum("lapse").alias("lapses"))
    lines = ["as_of,agent_id,renewals,lapses"]
    for row in sorted(by_book.collect(), key=lambda r: r["as_of"]):
        lines.append(f"{row['as_of'].isoformat()},,{row['renewals']},{row['lapses']}")
    for row in sorted(by_agent.collect(), key=lambda r: (r["as_of"], r["agent_id"])):
        agent = row["agent_id"]
        if any(c in agent for c in ',"\n\r'):
            agent = '"' + agent.replace('"', '""') + '"'
        lines.append(f"{row['as_of'].isoformat()},{agent},{row['renewals']},{row['lapses']}")
    for d in dates:  # a date with no renewal in its window still needs its (empty) book row
        if not any(l.startswith(d.isoformat() + ",,") for l in lines):
            lines.append(f"{d.isoformat()},,0,0")
    aggregates_csv = "\n".join(lines) + "\n"

    # Every row of a customer as (customer, table, CSV text), repartitioned by customer.
    # RFC 4180 as the binary reads it: quotes doubled (Spark escapes with a backslash by
    # default), spaces kept (Spark trims them on write by default).
    csv_options = {"escape": '"', "ignoreLeadingWhiteSpace": "false", "ignoreTrailingWhiteSpace": "false"}

    def as_text(frame, name, key_column):
        return frame.select(F.col(key_column).alias(KEY), F.lit(name).alias("table"),
                            F.to_csv(F.struct(*[F.col(c) for c in headers[name]]), csv_options).alias("line"))
    parts = [as_text(policies, "policies", "customer_id"), as_text(tables["customers"], "customers", "customer_id"),
             as_text(tables["installments"].join(owner.select("policy_id", KEY), "policy_id"), "installments", KEY)]
    if tables["events"] is not None:
        parts.append(as_text(tables["events"].join(owner.select("policy_id", KEY), "policy_id"), "events", KEY))
    rows = parts[0]
    for part in parts[1:]:
        rows = rows.unionByName(part)
    partitions = args.partitions or spark.sparkContext.defaultParallelism
    rows = rows.repartition(partitions, KEY)

    agents_text = None
    if tables["agents"] is not None:
        agents_text = "\n".join(r["line"] for r in tables["agents"].select(
            F.to_csv(F.struct(*[F.col(c) for c in headers["agents"]]), csv_options).alias("line")).collect())
    features_args = ["features", "--as-of", args.as_of, "--every", args.every, "--horizon-days", str(args.horizon_days),
                     "--grace-days", str(grace), "--extract-date", extract_date.isoformat()]

    def build(batches):
        """One task: its customers' rows as a CSV extract, the binary run on it, its Parquet out."""
        work = Path(tempfile.mkdtemp(prefix="lapse-part-"))
        try:
            files = {name: open(work / f"{name}.csv", "w", encoding="utf-8", newline="") for name in headers}
            for name, f in files.items():
                f.write(",".join(headers[name]) + "\n")
            if agents_text:
                files["agents"].write(agents_text + "\n")
            for batch in batches:
                for table, line in zip(batch.column("table").to_pylist(), batch.column("line").to_pylist()):
                    files[table].write(line + "\n")
            for f in files.values():
                f.close()
            (work / "aggregates.csv").write_text(aggregates_csv, encoding="utf-8")
            out = work / "features.parquet"
            result = subprocess.run([resolve_binary(binary), *features_args, "--data", str(work), "--aggregates", str(work / "aggregates.csv"),
                                     "--out", str(out)], capture_output=True, text=True, env={**os.environ, "LAPSE_LOG": "warn"})
            if result.returncode != 0:
                raise RuntimeError(f"lapse features failed on a partition (exit {result.returncode}):\n{result.stdout}\n{result.stderr}")
            table = pq.read_table(out)
            yield from to_spark_types(table).to_batches(max_chunksize=65536)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    # The output schema: the binary's own, from an empty extract on the driver.
    schema_dir = Path(tempfile.mkdtemp(prefix="lapse-schema-"))
    try:
        for name in headers:
            (schema_dir / f"{name}.csv").write_text(",".join(headers[name]) + "\n", encoding="utf-8")
        empty = schema_dir / "features.parquet"
        subprocess.run([resolve_binary(binary), *features_args, "--data", str(schema_dir), "--out", str(empty)], check=True, capture_output=True,
                       env={**os.environ, "LAPSE_LOG": "warn"})
        arrow_schema = to_spark_types(pq.read_table(empty)).schema
    finally:
        shutil.rmtree(schema_dir, ignore_errors=True)
    from pyspark.sql.pandas.types import from_arrow_schema
    features = rows.select("table", "line").mapInArrow(build, from_arrow_schema(arrow_schema))

    # `lapse features`' order: date, the policies file's order, installment.
    ordered = (features.join(owner.select("policy_id", ORDINAL), "policy_id")
               .orderBy("as_of", ORDINAL, "installment_no")
               .select(*arrow_schema.names))
    ordered.write.mode("overwrite").parquet(args.out)
    count = spark.read.parquet(args.out).count()
    print(f"wrote {count} renewal rows from {len(dates)} snapshot(s) (extract date {extract_date.isoformat()}) to {args.out} "
          f"in {partitions} customer partitions")
    spark.stop()


def to_spark_types(table):
    """The binary's Arrow types as Spark reads them (string views and large strings as strings)."""
    import pyarrow as pa
    fields = []
    for field in table.schema:
        kind = field.type
        if pa.types.is_large_string(kind) or str(kind) == "string_view":
            kind = pa.string()
        fields.append(pa.field(field.name, kind, nullable=True))
    return table.cast(pa.schema(fields))


if __name__ == "__main__":
    main()
