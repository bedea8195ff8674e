"""Replays a year of nights into a fresh registry and measures what the served model did.

For each night T (in order): `lapse nightly --as-of T` with the binary under test, the decision
it took (promoted or not, why, how many held-out renewals it compared and how many the champion
had been fitted on), the champion after it, and that champion judged on the renewals it served
that night: `lapse features --as-of T` on the whole book (every outcome known at the book's
extract date when T + 90 days is before it), then `lapse evaluate` (matured rows only, rows the
model was fitted on left out when its registry lists them).

    python benches/replay.py --lapse BIN [--evaluator BIN] --book DIR --work DIR \
        --nights 2025-07-31 2025-08-31 ... [--margin 0.005]

`--lapse` runs the nights (an older build can be replayed: its registry is read by
`--evaluator`, the current build, which has `lapse evaluate`). Prints one line per night and a
summary; writes WORK/replay.json. Numbers go to BENCHMARKS.md ("Honest judging").
"""

import argparse
import json
import math
import subprocess
import sys
from pathlib import Path


def run(args, check=True):
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, env={"LAPSE_LOG": "warn", "PATH": "/usr/bin:/bin"})
    if check and done.returncode not in (0, 3):
        sys.exit(f"{' '.join(map(str, args))} failed ({done.returncode}):\n{done.stderr}")
    return done


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lapse", required=True, help="the binary whose nights are replayed")
    parser.add_argument("--evaluator", help="a binary with `lapse evaluate` (default: --lapse)")
    parser.add_argument("--book", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--nights", nargs="+", required=True)
    parser.add_argument("--policy", help="a promotion policy file for every night")
    args = parser.parse_args()
    evaluator = args.evaluator or args.lapse
    work = Path(args.work)
    models, reports, tables = work / "models", work / "reports", work / "tables"
    for d in (models, reports, tables):
        d.mkdir(parents=True, exist_ok=True)
    results = []
    for night in args.nights:
        command = [args.lapse, "nightly", "--data", args.book, "--models", models, "--out", reports, "--as-of", night]
        if args.policy:
            command += ["--policy", args.policy]
        done = run(command)
        summary = json.loads((reports / night / "nightly.json").read_text())
        evaluation = json.loads((reports / night / "evaluation.json").read_text())
        comparison = evaluation.get("comparison") or {}
        champion = (models / "CHAMPION").read_text().strip()
        snapshot = tables / f"{night}.parquet"
        run([evaluator, "features", "--data", args.book, "--as-of", night, "--out", snapshot])
        judged = work / f"evaluate-{night}.json"
        done_eval = run([evaluator, "evaluate", "--models", models, "--model", champion, "--features", snapshot, "--out", judged], check=False)
        served = json.loads(judged.read_text()) if done_eval.returncode == 0 else None
        row = {
            "night": night,
            "exit": done.returncode,
            "promoted": summary["decision"]["promote"],
            "reason": summary["decision"]["reasons"][0],
            "held_out": evaluation["rows"],
            "compared": comparison.get("compared"),
            "champion_fitted": comparison.get("dropped_champion_fitted"),
            "champion_after": champion,
            "served_rows": served and served["evaluation"]["rows"],
            "served_fitted_rows": served and served["fitted_rows"],
            "served_log_loss": served and served["evaluation"]["log_loss"],
            "served_roc_auc": served and served["evaluation"]["roc_auc"],
            "served_mean_predicted": served and served["evaluation"]["mean_predicted"],
            "served_lapse_rate": served and served["evaluation"]["lapse_rate"],
        }
        results.append(row)
        fmt = lambda v, spec: "-" if v is None else format(v, spec)
        print(
            f"{night}  {'promoted ' if row['promoted'] else 'kept     '} champion {champion}  "
            f"compared {fmt(row['compared'], 'd')}/{row['held_out']} (champion-fitted {fmt(row['champion_fitted'], 'd')})  "
            f"served: {fmt(row['served_rows'], 'd')} renewals, log loss {fmt(row['served_log_loss'], '.4f')}, "
            f"AUC {fmt(row['served_roc_auc'], '.4f')}, predicted {fmt(row['served_mean_predicted'], '.4f')} vs observed {fmt(row['served_lapse_rate'], '.4f')}  | {row['reason'][:110]}",
            flush=True,
        )
    judged = [r for r in results if r["served_log_loss"] is not None]
    total = sum(r["served_rows"] for r in judged)
    pooled = sum(r["served_log_loss"] * r["served_rows"] for r in judged) / total if total else math.nan
    promotions = sum(r["promoted"] for r in results)
    print(f"promoted {promotions} of {len(results)} nights; served models' log loss on the renewals they served (pooled over {len(judged)} nights, {total} renewals): {pooled:.4f}")
    (work / "replay.json").write_text(json.dumps({"nights": results, "promotions": promotions, "pooled_served_log_loss": pooled}, indent=1))


if __name__ == "__main__":
    main()
