#!/usr/bin/env python3
"""The lead on a book lapse's own generator did not make (issue 28, item 3).

    python benches/independent_book.py --lapse $CARGO_TARGET_DIR/release/lapse [--policies 50000] [--seed 7]

1. Writes a book in the data contract's tables with a generator of its own (below), built on
   other mechanics than `lapse generate`: each customer's liquidity is a monthly AR(1) process
   with regional shocks, shared by all their policies; each customer has a payment-day habit
   (some pay weeks early, some late) that drifts when money is short; loans, complaints and
   address changes follow liquidity; agents leave; a lapse is drawn at each renewal's due date.
2. lapse: `features` on 12 monthly snapshots to 2026-03-31, `train --model auto` (what the
   nightly trains on a search night), `queue` on the 2026-06-30 snapshot (outcomes known at the
   2026-09-30 extract).
3. The peer: a pandas + LightGBM pipeline building its own point-in-time features from the raw
   tables (payment history, payment-day habit, household, events, agent, policy and customer
   fields) for the same snapshots, LightGBM with its rounds chosen by early stopping on the
   last two training snapshots, then refitted on all twelve.
4. Prints ROC AUC on every held-out renewal and on those not yet due at the snapshot.

Needs pandas, numpy, lightgbm, scikit-learn (the peers' venv).
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

GRACE = 60
HORIZON = 30
EXTRACT = pd.Timestamp("2026-09-30")
TRAIN_DATES = pd.date_range("2025-04-30", "2026-03-31", freq="ME")
TEST_DATE = pd.Timestamp("2026-06-30")
MONTHS = {"monthly": 1, "quarterly": 3, "semiannual": 6, "annual": 12}


def generate(policies: int, seed: int, out: Path) -> None:
    rng = np.random.default_rng(seed)
    regions = [f"R{i:02d}" for i in range(10)]
    n_customers = int(policies / 1.45)
    # Customers: age, region, occupation; latent liquidity level and payment habit.
    birth = pd.Timestamp("1950-01-01") + pd.to_timedelta(rng.integers(0, 365 * 50, n_customers), unit="D")
    region_of = rng.integers(0, len(regions), n_customers)
    habit_mu = np.clip(rng.normal(-4, 8, n_customers), -25, 25)
    habit_sd = rng.uniform(1, 6, n_customers)
    wealth = rng.normal(0, 1, n_customers)
    customers = pd.DataFrame(
        {
            "customer_id": [f"C{i:06d}" for i in range(n_customers)],
            "birth_date": birth.strftime("%Y-%m-%d"),
            "gender": rng.choice(["F", "M"], n_customers),
            "region": [regions[r] for r in region_of],
            "occupation_class": rng.choice(["1", "2", "3", "4"], n_customers, p=[0.4, 0.3, 0.2, 0.1]),
        }
    )
    # Monthly liquidity per customer, 2015-01 .. 2026-12: AR(1) plus regional shocks.
    months = pd.period_range("2015-01", "2026-12", freq="M")
    m = len(months)
    shocks = np.zeros((len(regions), m))
    for r in range(len(regions)):
        for _ in range(2):
            start = rng.integers(60, m - 6)
            shocks[r, start : start + rng.integers(4, 12)] -= rng.uniform(0.6, 1.4)
    liquidity = np.empty((n_customers, m), dtype=np.float32)
    level = wealth * 0.8
    state = rng.normal(0, 1, n_customers)
    for t in range(m):
        state = 0.85 * state + 0.55 * rng.normal(0, 1, n_customers)
        liquidity[:, t] = level + state + shocks[region_of, t]

    # Agents.
    n_agents = 400
    hire = pd.Timestamp("2010-01-01") + pd.to_timedelta(rng.integers(0, 365 * 14, n_agents), unit="D")
    leaves = rng.random(n_agents) < 0.3
    leave = [h + pd.Timedelta(days=int(rng.integers(200, 4000))) if l else pd.NaT for h, l in zip(hire, leaves)]
    agents = pd.DataFrame(
        {
            "agent_id": [f"A{i:04d}" for i in range(n_agents)],
            "hire_date": hire.strftime("%Y-%m-%d"),
            "leave_date": [d.strftime("%Y-%m-%d") if pd.notna(d) and d <= EXTRACT else "" for d in leave],
            "team": [f"T{i % 20:02d}" for i in range(n_agents)],
            "branch": [f"B{i % 5}" for i in range(n_agents)],
        }
    )
    agent_quality = rng.normal(0, 0.4, n_agents)

    products = {"whole_life": -0.3, "term_life": 0.2, "endowment": -0.1, "critical_illness": 0.0, "health": 0.35, "unit_linked": 0.5}
    channels = {"agent": 0.0, "bancassurance": 0.35, "telemarketing": 0.6, "online": 0.45}
    pol_rows, inst_rows, event_rows = [], [], []
    owner = np.concatenate([np.arange(n_customers), rng.integers(0, n_customers, policies - n_customers)])
    rng.shuffle(owner)
    for p in range(policies):
        c = int(owner[p])
        pid = f"P{p:07d}"
        issue = pd.Timestamp("2015-06-01") + pd.Timedelta(days=int(rng.integers(0, 365 * 11)))
        product = rng.choice(list(products))
        channel = rng.choice(list(channels), p=[0.55, 0.2, 0.1, 0.15])
        frequency = rng.choice(list(MONTHS), p=[0.3, 0.1, 0.1, 0.5])
        method = rng.choice(["auto_debit", "bank_transfer", "cash", "mobile_wallet"], p=[0.45, 0.25, 0.15, 0.15])
        agent = int(rng.integers(0, n_agents)) if channel == "agent" or rng.random() < 0.3 else None
        annual = float(np.exp(rng.normal(8.0 + 0.4 * wealth[c], 0.6)))
        per_year = 12 // MONTHS[frequency]
        modal = round(annual / per_year, 2)
        term = int(rng.choice([5, 10, 15, 20]))
        burden = np.log(annual) - 8.0 - 0.4 * wealth[c]  # premium against means
        pol_rows.append(
            (pid, f"C{c:06d}", f"{product[:3].upper()}{rng.integers(1, 4)}", product, channel, "" if agent is None else f"A{agent:04d}",
             issue.strftime("%Y-%m-%d"), frequency, modal, round(annual * rng.uniform(8, 40), 2), term, method, regions[region_of[c]])
        )
        inst_rows.append((pid, 1, issue, modal, issue, method, 0))
        n_due = term * per_year
        late_count = 0
        recent_loan_month = -99
        status, status_date = "in_force", ""
        for k in range(2, n_due + 1):
            due = issue + pd.DateOffset(months=(k - 1) * MONTHS[frequency])
            if due > EXTRACT:
                break
            t = (due.year - 2015) * 12 + due.month - 1
            liq = float(liquidity[c, t])
            # Events of the month before the due date follow liquidity.
            if liq < -1.0 and rng.random() < 0.12:
                event_rows.append((pid, (due - pd.Timedelta(days=int(rng.integers(5, 60)))).strftime("%Y-%m-%d"), "policy_loan", round(modal * 2, 2)))
                recent_loan_month = t
            if rng.random() < 0.01 + 0.02 * (liq < -1.5):
                event_rows.append((pid, (due - pd.Timedelta(days=int(rng.integers(1, 90)))).strftime("%Y-%m-%d"), "complaint", ""))
            if rng.random() < 0.015:
                event_rows.append((pid, (due - pd.Timedelta(days=int(rng.integers(1, 200)))).strftime("%Y-%m-%d"), "address_change", ""))
            year = 1 + (k - 1) // per_year
            orphan = agent is not None and pd.notna(leave[agent]) and leave[agent] < due
            z = (
                -3.4
                - 1.0 * liq
                + 0.7 * (year == 2)
                + 0.35 * (year == 3)
                - 0.015 * year
                + 0.45 * burden
                + products[product]
                + channels[channel]
                - 0.5 * (method == "auto_debit")
                + 0.4 * (method == "cash" and frequency == "monthly")
                + 0.6 * orphan
                + (0.0 if agent is None else agent_quality[agent])
                + 0.35 * min(late_count, 3)
                + 0.5 * (t - recent_loan_month <= 3)
                - 0.02 * (habit_mu[c] < -10) * 10  # habitual early payers rarely lapse
            )
            lapse = rng.random() < 1 / (1 + np.exp(-z))
            if lapse:
                failed = int(rng.integers(1, 4)) if method == "auto_debit" else 0
                inst_rows.append((pid, k, due, modal, None, None, failed))
                deadline = due + pd.Timedelta(days=GRACE)
                if deadline <= EXTRACT:
                    status, status_date = "lapsed", deadline.strftime("%Y-%m-%d")
                event_rows.append((pid, (due + pd.Timedelta(days=int(rng.integers(8, 20)))).strftime("%Y-%m-%d"), "contact_sms", ""))
                event_rows.append((pid, (due + pd.Timedelta(days=int(rng.integers(25, 45)))).strftime("%Y-%m-%d"), "contact_call", ""))
                # The policy keeps falling due inside the lapsed renewal's grace (unpaid too).
                for j in range(k + 1, n_due + 1):
                    later = issue + pd.DateOffset(months=(j - 1) * MONTHS[frequency])
                    if later >= deadline or later > EXTRACT:
                        break
                    inst_rows.append((pid, j, later, modal, None, None, 0))
                break
            # Paid: the customer's habit, pushed later when money is short.
            offset = habit_mu[c] + habit_sd[c] * rng.normal()
            if method == "auto_debit" and liq > -0.8:
                offset = 0
            if liq < -0.7:
                offset += rng.exponential(12)
            offset = int(np.clip(round(offset), -30, GRACE))
            paid = due + pd.Timedelta(days=offset)
            if paid > EXTRACT:
                inst_rows.append((pid, k, due, modal, None, None, 0))
                break
            late_count += int(offset > 0)
            failed = int(offset > 0) * int(rng.integers(1, 3)) if method == "auto_debit" else 0
            inst_rows.append((pid, k, due, modal, paid, "bank_transfer" if failed else method, failed))
            if offset > 15:
                event_rows.append((pid, (due + pd.Timedelta(days=int(rng.integers(8, 15)))).strftime("%Y-%m-%d"), "contact_sms", ""))
        else:
            if n_due and issue + pd.DateOffset(months=n_due * MONTHS[frequency]) <= EXTRACT:
                status = "matured"
        pol_rows[-1] = pol_rows[-1] + (status, status_date)
    out.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(
        pol_rows,
        columns=["policy_id", "customer_id", "product_code", "product_type", "channel", "agent_id", "issue_date", "premium_frequency",
                 "modal_premium", "sum_assured", "payment_term_years", "payment_method", "region", "status", "status_date"],
    ).to_csv(out / "policies.csv", index=False)
    customers.to_csv(out / "customers.csv", index=False)
    agents.to_csv(out / "agents.csv", index=False)
    inst = pd.DataFrame(inst_rows, columns=["policy_id", "installment_no", "due_date", "amount_due", "paid_date", "payment_method", "failed_debits"])
    inst["amount_paid"] = np.where(inst["paid_date"].notna(), inst["amount_due"], np.nan)
    for col in ["due_date", "paid_date"]:
        inst[col] = pd.to_datetime(inst[col]).dt.strftime("%Y-%m-%d")
    inst = inst.sort_values(["policy_id", "installment_no"])
    inst[["policy_id", "installment_no", "due_date", "amount_due", "paid_date", "amount_paid", "payment_method", "failed_debits"]].to_csv(
        out / "installments.csv", index=False
    )
    events = pd.DataFrame(event_rows, columns=["policy_id", "event_date", "event_type", "amount"])
    events = events[pd.to_datetime(events["event_date"]) <= EXTRACT]
    events.to_csv(out / "events.csv", index=False)


def peer_features(book: Path, dates) -> pd.DataFrame:
    """The pandas pipeline's point-in-time rows: one per renewal a snapshot scores."""
    pol = pd.read_csv(book / "policies.csv", dtype={"agent_id": str}, parse_dates=["issue_date"])
    cus = pd.read_csv(book / "customers.csv", parse_dates=["birth_date"], dtype={"occupation_class": str})
    agt = pd.read_csv(book / "agents.csv", parse_dates=["hire_date", "leave_date"])
    ins = pd.read_csv(book / "installments.csv", parse_dates=["due_date", "paid_date"])
    evt = pd.read_csv(book / "events.csv", parse_dates=["event_date"])
    pol = pol.merge(cus, on="customer_id", how="left", suffixes=("", "_customer")).merge(agt[["agent_id", "leave_date"]], on="agent_id", how="left")
    ins = ins.merge(pol[["policy_id", "customer_id"]], on="policy_id")
    rows = []
    for t in dates:
        t = pd.Timestamp(t)
        renew = ins[(ins.installment_no >= 2) & ~(ins.paid_date < t) & (ins.due_date >= t - pd.Timedelta(days=GRACE))
                    & (ins.due_date <= t + pd.Timedelta(days=HORIZON)) & (ins.due_date < t + pd.Timedelta(days=HORIZON + 1))]
        renew = renew[pol.set_index("policy_id").loc[renew.policy_id, "issue_date"].values < t]
        past = ins[(ins.installment_no >= 2) & (ins.due_date < t)].copy()
        paid = past[past.paid_date < t].copy()
        paid["offset"] = (paid.paid_date - paid.due_date).dt.days.clip(-30, GRACE)
        paid = paid.sort_values(["policy_id", "due_date"])
        paid["is_late"] = (paid.offset > 0).astype(float)
        paid["is_early"] = (paid.offset < 0).astype(float)
        paid["late_days"] = paid.offset.clip(lower=0)
        hist = paid.groupby("policy_id").agg(
            paid_n=("offset", "size"), late_n=("is_late", "sum"), early_share=("is_early", "mean"),
            mean_late=("late_days", "mean"), last_offset=("offset", "last"), max_late=("offset", "max"),
        )
        hist["usual_offset"] = paid.groupby("policy_id").tail(6).groupby("policy_id")["offset"].median()
        lapsed_before = past[(past.due_date + pd.Timedelta(days=GRACE) < t) & ~(past.paid_date < past.due_date + pd.Timedelta(days=GRACE + 1))]
        lapses = lapsed_before.groupby("customer_id").size().rename("household_lapses")
        recent = evt[(evt.event_date < t) & (evt.event_date >= t - pd.Timedelta(days=365))]
        ev = recent.pivot_table(index="policy_id", columns="event_type", values="event_date", aggfunc="count").add_prefix("n12_")
        cust_pol = pol[pol.issue_date < t].groupby("customer_id").size().rename("household_policies")
        x = renew[["policy_id", "customer_id", "installment_no", "due_date", "paid_date"]].merge(pol, on=["policy_id", "customer_id"], how="left").merge(hist, left_on="policy_id", right_index=True, how="left")
        x = x.merge(ev, left_on="policy_id", right_index=True, how="left").merge(cust_pol, left_on="customer_id", right_index=True, how="left")
        x = x.merge(lapses, left_on="customer_id", right_index=True, how="left")
        # Recency and 90-day counts of events, the last loan and contact.
        seen = evt[evt.event_date < t]
        last = seen.pivot_table(index="policy_id", columns="event_type", values="event_date", aggfunc="max")
        last = (t - last).apply(lambda col: col.dt.days).add_prefix("days_since_")
        near = seen[seen.event_date >= t - pd.Timedelta(days=90)]
        n90 = near.pivot_table(index="policy_id", columns="event_type", values="event_date", aggfunc="count").add_prefix("n90_")
        x = x.merge(last, left_on="policy_id", right_index=True, how="left").merge(n90, left_on="policy_id", right_index=True, how="left")
        # Payments: recency, failed debits, installments overdue in grace.
        all_paid = ins[ins.paid_date < t]
        x = x.merge((t - all_paid.groupby("policy_id").paid_date.max()).dt.days.rename("days_since_payment"), left_on="policy_id", right_index=True, how="left")
        year = all_paid[all_paid.due_date >= t - pd.Timedelta(days=365)]
        x = x.merge(year.groupby("policy_id").failed_debits.sum().rename("failed_12m"), left_on="policy_id", right_index=True, how="left")
        open_ = ins[(ins.due_date < t) & ~(ins.paid_date < t) & (ins.due_date + pd.Timedelta(days=GRACE) >= t)]
        x = x.merge(open_.groupby("policy_id").size().rename("overdue_n"), left_on="policy_id", right_index=True, how="left")
        # The agent's lapse rate over renewals whose grace ended in the last year (shrunk to the book's).
        ended = past[(past.due_date + pd.Timedelta(days=GRACE) < t) & (past.due_date + pd.Timedelta(days=GRACE) >= t - pd.Timedelta(days=365))].copy()
        ended["lapsed_then"] = (~(ended.paid_date <= ended.due_date + pd.Timedelta(days=GRACE))).astype(float)
        ended = ended.merge(pol[["policy_id", "agent_id"]], on="policy_id")
        book_rate = ended.lapsed_then.mean()
        by_agent = ended.groupby("agent_id").lapsed_then.agg(["sum", "size"])
        x = x.merge(((by_agent["sum"] + 20 * book_rate) / (by_agent["size"] + 20)).rename("agent_lapse_rate"), left_on="agent_id", right_index=True, how="left")
        # The customer's other policies that visibly ended before T.
        ended_pol = pol[(pol.status != "in_force") & (pd.to_datetime(pol.status_date) < t)].groupby("customer_id").size().rename("household_ended")
        x = x.merge(ended_pol, left_on="customer_id", right_index=True, how="left")
        x["annualized_premium"] = x.modal_premium * x.premium_frequency.map({k: 12 // v for k, v in MONTHS.items()}).astype(float)
        x["premium_to_sum_assured"] = x.annualized_premium / x.sum_assured
        x["as_of"] = t
        x["days_to_due"] = (x.due_date - t).dt.days
        x["days_past_usual"] = -x.days_to_due - x.usual_offset
        x["age"] = (t - x.birth_date).dt.days / 365.25
        x["months_since_issue"] = (t - x.issue_date).dt.days / 30.44
        x["orphan"] = (x.leave_date < t).astype(float)
        x["deadline"] = x.due_date + pd.Timedelta(days=GRACE)
        x["lapsed"] = np.where(x.deadline >= EXTRACT, np.nan, (~(x.paid_date <= x.deadline)).astype(float))
        rows.append(x)
    out = pd.concat(rows, ignore_index=True)
    for c in ["product_code", "product_type", "channel", "premium_frequency", "payment_method", "region", "gender", "occupation_class", "agent_id"]:
        out[c] = out[c].astype("category")
    return out


PEER_COLUMNS = [
    "product_code", "product_type", "channel", "premium_frequency", "payment_method", "region", "gender", "occupation_class",
    "modal_premium", "sum_assured", "payment_term_years", "installment_no", "days_to_due", "age", "months_since_issue", "orphan",
    "paid_n", "late_n", "early_share", "mean_late", "last_offset", "max_late", "usual_offset", "days_past_usual",
    "household_policies", "household_lapses", "household_ended", "days_since_payment", "failed_12m", "overdue_n", "agent_lapse_rate",
    "annualized_premium", "premium_to_sum_assured",
]


def peer_scores(train: pd.DataFrame, test: pd.DataFrame) -> np.ndarray:
    columns = PEER_COLUMNS + sorted(c for c in train.columns if c.startswith(("n12_", "n90_", "days_since_")) and c != "days_since_payment")
    for c in columns:
        if c not in test:
            test[c] = np.nan
    train = train.dropna(subset=["lapsed"])
    last_two = train.as_of >= sorted(train.as_of.unique())[-2]
    best = None
    for leaves, leaf in [(7, 50), (15, 50), (31, 50), (63, 100)]:
        params = dict(objective="binary", learning_rate=0.03, num_leaves=leaves, min_child_samples=leaf, feature_fraction=0.8,
                      bagging_fraction=0.8, bagging_freq=1, verbose=-1, seed=0, num_threads=2)
        d_fit = lgb.Dataset(train.loc[~last_two, columns], train.loc[~last_two, "lapsed"])
        d_val = lgb.Dataset(train.loc[last_two, columns], train.loc[last_two, "lapsed"], reference=d_fit)
        probe = lgb.train(params, d_fit, 5000, valid_sets=[d_val], callbacks=[lgb.early_stopping(200, verbose=False)])
        loss = probe.best_score["valid_0"]["binary_logloss"]
        if best is None or loss < best[0]:
            best = (loss, params, probe.best_iteration)
    _, params, rounds = best
    print(f"peer: LightGBM num_leaves={params['num_leaves']} min_child_samples={params['min_child_samples']}, {rounds} rounds at 0.03")
    final = lgb.train(params, lgb.Dataset(train[columns], train["lapsed"]), max(rounds, 1))
    return final.predict(test[columns])


def run(*command):
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True, env={"LAPSE_LOG": "warn", "PATH": "/usr/bin:/bin"})
    if result.returncode != 0:
        sys.exit(f"{' '.join(map(str, command))}: {result.stderr}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lapse", type=Path, required=True)
    parser.add_argument("--policies", type=int, default=50000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--work", type=Path, help="keep the book and tables here (default: a temporary directory)")
    parser.add_argument("--exclude", action="append", default=[], help="a feature lapse's model must not use (repeatable): the 'before' of a new feature")
    parser.add_argument("--reuse-book", action="store_true", help="keep the book already in --work (same policies and seed)")
    args = parser.parse_args()
    excluded = [a for name in args.exclude for a in ("--exclude", name)]
    work = args.work or Path(tempfile.mkdtemp(prefix="lapse-independent-"))
    lapse = args.lapse.resolve()
    book = work / "book"
    if not (args.reuse_book and (book / "policies.csv").exists()):
        generate(args.policies, args.seed, book)
    first, last = TRAIN_DATES[0].strftime("%Y-%m-%d"), TRAIN_DATES[-1].strftime("%Y-%m-%d")
    run(lapse, "features", "--data", book, "--as-of", f"{first}..{last}", "--every", "1mo", "--out", work / "train.parquet")
    run(lapse, "features", "--data", book, "--as-of", TEST_DATE.strftime("%Y-%m-%d"), "--out", work / "test.parquet")
    run(lapse, "train", "--features", work / "train.parquet", "--models", work / "models", "--promote", "--model", "auto", *excluded)
    run(lapse, "queue", "--models", work / "models", "--snapshot", work / "test.parquet", "--capacity", "100000000", "--include-no-action",
        "--out", work / "scores.csv")
    metrics = json.loads(next((work / "models").glob("v*/metrics.json")).read_text())
    print(f"lapse auto kept: {metrics.get('chosen')} {metrics.get('chosen_setting')} (held-out ROC AUC {metrics.get('roc_auc'):.4f} in training)")
    held = pd.read_parquet(work / "test.parquet", columns=["policy_id", "installment_no", "due_date", "as_of", "lapsed"]).dropna(subset=["lapsed"])
    ours = pd.read_csv(work / "scores.csv", dtype={"policy_id": str})[["policy_id", "installment_no", "probability"]]
    train = peer_features(book, TRAIN_DATES)
    test = peer_features(book, [TEST_DATE])
    test["peer"] = peer_scores(train, test)
    table = held.merge(ours, on=["policy_id", "installment_no"], how="left").merge(
        test[["policy_id", "installment_no", "peer"]], on=["policy_id", "installment_no"], how="inner")
    missing = int(table.probability.isna().sum())
    table = table.dropna(subset=["probability"])
    print(f"{args.policies} policies (seed {args.seed}); held out: the {TEST_DATE.date()} snapshot, {len(table)} renewals with known outcomes"
          f" in both pipelines ({len(held)} in lapse's snapshot, {len(test.dropna(subset=['lapsed']))} in the peer's; {missing} unscored)\n")
    print("| renewals | lapse auto | pandas + LightGBM | lead |\n|---|---|---|---|")
    not_due = pd.to_datetime(table.due_date) >= pd.to_datetime(table.as_of)
    for label, part in [("all", table), ("not yet due", table[not_due])]:
        a, b = roc_auc_score(part.lapsed, part.probability), roc_auc_score(part.lapsed, part.peer)
        print(f"| {label} ({len(part)}, {int(part.lapsed.sum())} lapsed) | {a:.4f} | {b:.4f} | {a - b:+.4f} |")


if __name__ == "__main__":
    main()
