"""Tomorrow's extract for the audit benchmark: yesterday's (a generated Parquet book) with
changes a core system makes, in known numbers, written as Parquet beside links to the tables
that did not change.

    python benches/audit_changes.py YESTERDAY TODAY

- installments: every 2,000th paid row's amount_paid lowered by 1 (a change after the fact);
  every 3,000th unpaid renewal due on or before the extract date paid on its due date (a late
  entry); every 10,000th row removed (vanished);
- policies: every 5,000th lapsed policy shown in force (an inconsistent status when its renewal
  is past grace);
- customers, events, agents: the same files.
Prints the numbers injected.
"""
import os
import sys

import polars as pl

y, x = sys.argv[1], sys.argv[2]
os.makedirs(x, exist_ok=True)
for table in ["customers", "events", "agents"]:
    src = os.path.abspath(os.path.join(y, f"{table}.parquet"))
    dst = os.path.join(x, f"{table}.parquet")
    if os.path.exists(src) and not os.path.exists(dst):
        os.symlink(src, dst)

inst = pl.read_parquet(os.path.join(y, "installments.parquet")).with_row_index("row")
extract_date = inst["paid_date"].max()
changed = (inst["row"] % 2000 == 0) & inst["paid_date"].is_not_null()
late = (inst["row"] % 3000 == 1) & inst["paid_date"].is_null() & (inst["installment_no"] >= 2) & (inst["due_date"] <= extract_date)
vanished = (inst["row"] % 10000 == 2)
inst = inst.with_columns(
    pl.when(changed).then(pl.col("amount_paid") - 1.0).when(late).then(pl.col("amount_due")).otherwise(pl.col("amount_paid")).alias("amount_paid"),
    pl.when(late).then(pl.col("due_date")).otherwise(pl.col("paid_date")).alias("paid_date"),
)
inst.filter(~vanished).drop("row").write_parquet(os.path.join(x, "installments.parquet"))

pol = pl.read_parquet(os.path.join(y, "policies.parquet")).with_row_index("row")
lapsed = pol["status"] == "lapsed"
flip = lapsed & (lapsed.cum_sum() % 5000 == 1)
pol.with_columns(pl.when(flip).then(pl.lit("in_force")).otherwise(pl.col("status")).alias("status")).drop("row").write_parquet(
    os.path.join(x, "policies.parquet")
)
print(f"injected: {int(changed.sum())} changed, {int(late.sum())} late, {int(vanished.sum())} vanished installments, {int(flip.sum())} lapsed shown in force")
