"""Runs the analysts' notebooks headless on the committed sample book, so they cannot rot.

1. `lapse nightly` for five month-end nights on `training-data-samples/book` (the nights are
   replayed as of past dates: features and labels only use what was known at each night);
2. `lapse serve` on the fourth night's champion and snapshot, asked for a call list and a few
   scores, with a few call outcomes recorded, so there is a real score log and outcome store;
   the fifth night reads them (realised performance, the work behind team performance);
3. a campaign world: a 30,000-policy book, a June campaign with a holdout planned on its
   snapshot, the same book again with the campaign's contacts answered (`generate
   --campaign`), the campaign's effect (`lapse effect`) and an uplift learner (`lapse uplift`);
4. every notebook in this directory executed with nbclient; the executed copies (with their
   outputs and charts) are written to WORK/executed/. Any failing cell fails the run.

    python notebooks/run.py [--lapse PATH] [--work DIR]

The lapse binary defaults to $CARGO_TARGET_DIR/debug/lapse (built by `cargo build` or the tests).
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
NIGHTS = ["2026-05-31", "2026-06-30", "2026-07-31", "2026-08-31"]
LAST_NIGHT = "2026-09-30"


def lapse(binary, *args):
    result = subprocess.run([str(binary), *args], env={**os.environ, "LAPSE_LOG": "warn"}, capture_output=True, text=True)
    # 0 = promoted, 3 = champion kept: both are a completed night.
    if result.returncode not in (0, 3):
        sys.exit(f"lapse {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    print(result.stdout.strip())


def night(binary, work, as_of, *extra):
    lapse(binary, "nightly", "--data", str(ROOT / "training-data-samples" / "book"), "--models", str(work / "models"),
          "--out", str(work / "reports"), "--as-of", as_of, *extra)


def serve_a_little(binary, work):
    """Starts the real server, fills the score log with a call list and a few scores, stops it."""
    server = subprocess.Popen(
        [str(binary), "serve", "--no-auth", "--addr", "127.0.0.1:0", "--models", str(work / "models"),
         "--snapshot", str(work / "reports" / "snapshot.parquet"), "--score-log", str(work / "score-log"),
         "--store", f"sqlite://{work / 'store.sqlite'}"],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "LAPSE_LOG": "warn"})
    try:
        base = server.stdout.readline().strip().removeprefix("listening on ")
        with urllib.request.urlopen(f"{base}/v1/queue?capacity=200&limit=200", timeout=30) as response:
            queue = json.load(response)
        renewals = [r for contact in queue["items"] for r in contact["renewals"]]
        keys = [{"policy_id": r["policy_id"]} for r in renewals[:20]]
        request = urllib.request.Request(f"{base}/v1/score", data=json.dumps({"renewals": keys}).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            scored = json.load(response)
        # Agents record what happened on the first calls of the list (the last night reads them
        # from the store: the team-performance report's work behind the figures).
        results = ["no_answer", "reached", "promised", "refused"]
        outcomes = []
        for i, r in enumerate(renewals[:40]):
            result = results[i % len(results)]
            outcome = {"id": f"nb-{i}", "policy_id": r["policy_id"], "installment_no": r["installment_no"], "action": "call",
                       "result": result, "at": "2026-09-05T10:00:00+08:00", "agent_id": "A-notebook"}
            if result == "promised":
                outcome["promised_date"] = "2026-09-12"
            if result == "refused":
                outcome["reason"] = "cannot_afford"
            outcomes.append(outcome)
        request = urllib.request.Request(f"{base}/v1/outcomes", data=json.dumps({"outcomes": outcomes}).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            recorded = json.load(response)
        print(f"served {len(queue['items'])} contacts ({len(renewals)} renewals) and {len(scored['results'])} scores from {base}; "
              f"{recorded['recorded']} outcomes recorded")
    finally:
        server.send_signal(signal.SIGTERM)  # graceful: drains and syncs the score log
        if server.wait(timeout=60) != 0:
            sys.exit("lapse serve did not stop cleanly")


def campaign_world(binary, work):
    """A campaign with a holdout on a generated book whose customers answer contacts, and what
    it saved (LAPSE_CAMPAIGN_DIR for the campaign_effects notebook)."""
    world = work / "campaign-world"
    world.mkdir()
    book, models = world / "book", world / "models"
    lapse(binary, "generate", "--policies", "30000", "--seed", "5", "--out", str(book))
    lapse(binary, "nightly", "--data", str(book), "--models", str(models), "--out", str(world / "reports"), "--as-of", "2026-06-30")
    snapshot = world / "june-snapshot.parquet"
    shutil.copy(world / "reports" / "snapshot.parquet", snapshot)
    lapse(binary, "queue", "--models", str(models), "--snapshot", str(snapshot), "--capacity", "1000000", "--holdout", "0.5",
          "--campaign", "june", "--campaigns", str(world / "campaigns"), "--out", str(world / "june.parquet"))
    lapse(binary, "generate", "--policies", "30000", "--seed", "5", "--out", str(world / "book-after"), "--campaign", str(world / "june.parquet"))
    lapse(binary, "effect", "--campaign", str(world / "june.parquet"), "--data", str(world / "book-after"), "--out", str(world / "effect.json"),
          "--economics-out", str(world / "measured-economics.json"))
    lapse(binary, "uplift", "--campaign", str(world / "june.parquet"), "--snapshot", str(snapshot), "--data", str(world / "book-after"),
          "--models", str(models), "--out", str(world / "uplift.json"), "--rows-out", str(world / "uplift-rows.csv"))
    return world


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    parser.add_argument("--lapse", type=Path, default=target / "debug" / "lapse")
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    if not args.lapse.exists():
        sys.exit(f"no lapse binary at {args.lapse} (cargo build, or --lapse PATH)")
    work = args.work or Path(tempfile.mkdtemp(prefix="lapse-notebooks-"))
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)

    for as_of in NIGHTS:
        night(args.lapse, work, as_of)
    serve_a_little(args.lapse, work)
    # A reinstatement model for the last night's win-back list (models/winback).
    book = str(ROOT / "training-data-samples" / "book")
    lapse(args.lapse, "winback-table", "--data", book, "--out", str(work / "winback_table.parquet"))
    lapse(args.lapse, "train", "--features", str(work / "winback_table.parquet"), "--model", "logistic", "--models", str(work / "models" / "winback"))
    night(args.lapse, work, LAST_NIGHT, "--score-log", str(work / "score-log"), "--store", f"sqlite://{work / 'store.sqlite'}")

    os.environ["LAPSE_CAMPAIGN_DIR"] = str(campaign_world(args.lapse, work))
    os.environ["LAPSE_REPORTS"] = str(work / "reports")
    os.environ["LAPSE_SCORE_LOG"] = str(work / "score-log")
    os.environ["LAPSE_SNAPSHOT"] = str(work / "reports" / "snapshot.parquet")
    executed = work / "executed"
    executed.mkdir()
    notebooks = sorted(HERE.glob("*.ipynb"))
    for path in notebooks:
        notebook = nbformat.read(path, as_version=4)
        NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}).execute()
        nbformat.write(notebook, executed / path.name)
        images = sum(1 for cell in notebook.cells for out in cell.get("outputs", []) if "image/png" in out.get("data", {}))
        print(f"executed {path.name}: {len(notebook.cells)} cells, {images} charts -> {executed / path.name}")
        if images == 0:
            sys.exit(f"{path.name} drew no chart")
    print(f"{len(notebooks)} notebooks ran; work directory {work}")


if __name__ == "__main__":
    main()
