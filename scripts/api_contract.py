#!/usr/bin/env python3
"""The API contract, checked against the real server (issue 12):

1. the document the server serves is the committed `docs/openapi.json` (default economics);
2. schemathesis, every check, a bounded number of examples per operation
   (`schemathesis.toml` holds the one allowance: records that pass the schema but break
   cross-table rules are answered 422);
3. a typed Python client generated from `docs/openapi.json` with openapi-python-client (the
   usual way a Python team gets one) scores renewals by key and pages the queue, in English and
   in Chinese.

    python scripts/api_contract.py --lapse BIN [--examples N]

Builds its own small world (a generated book, a trained champion, a snapshot) in a temp dir.
"""

import argparse
import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCORE, ADMIN = "contract-score-token", "contract-admin-token"


def run(*command):
    result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "LAPSE_LOG": "warn"})
    if result.returncode != 0:
        sys.exit(f"{' '.join(map(str, command))} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lapse", type=Path, required=True)
    parser.add_argument("--examples", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1, help="schemathesis seed (CI uses 1)")
    args = parser.parse_args()
    binary = str(args.lapse.resolve())
    bin_dir = Path(sys.executable).parent
    work = Path(tempfile.mkdtemp(prefix="lapse-contract-"))
    run(binary, "generate", "--policies", "2000", "--seed", "8", "--out", str(work / "book"))
    run(binary, "features", "--data", str(work / "book"), "--as-of", "2025-06-30..2026-03-31", "--out", str(work / "train.parquet"))
    run(binary, "train", "--features", str(work / "train.parquet"), "--model", "gbdt", "--models", str(work / "models"), "--promote")
    run(binary, "features", "--data", str(work / "book"), "--as-of", "2026-09-01", "--out", str(work / "snapshot.parquet"))
    run(binary, "winback-table", "--data", str(work / "book"), "--out", str(work / "winback_table.parquet"))
    run(binary, "train", "--features", str(work / "winback_table.parquet"), "--model", "logistic", "--models", str(work / "models" / "winback"))
    run(binary, "winback", "--data", str(work / "book"), "--as-of", "2026-09-01", "--models", str(work / "models" / "winback"),
        "--out", str(work / "winback.parquet"))
    server = subprocess.Popen(
        [binary, "serve", "--addr", "127.0.0.1:0", "--models", str(work / "models"), "--snapshot", str(work / "snapshot.parquet"),
         "--winback", str(work / "winback.parquet"), "--no-score-log", "--campaigns", str(work / "campaigns"),
         "--store", f"sqlite://{work / 'store.sqlite'}"],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "LAPSE_LOG": "warn", "LAPSE_SCORE_TOKEN": SCORE, "LAPSE_ADMIN_TOKEN": ADMIN})
    try:
        base = server.stdout.readline().strip().removeprefix("listening on ")
        served = urllib.request.urlopen(f"{base}/openapi.json", timeout=30).read().decode()
        committed = (ROOT / "docs" / "openapi.json").read_text()
        if json.loads(served) != json.loads(committed):
            sys.exit("the served OpenAPI document differs from docs/openapi.json: run `lapse openapi > docs/openapi.json`")
        print("served document = docs/openapi.json")

        # Schemathesis, every check, against the running server.
        result = subprocess.run(
            [str(bin_dir / "schemathesis"), "--config-file", str(ROOT / "schemathesis.toml"), "run", f"{base}/openapi.json", "--checks", "all",
             "--max-examples", str(args.examples), "--seed", str(args.seed), "-H", f"Authorization: Bearer {ADMIN}"],
            capture_output=True, text=True)
        print("\n".join(result.stdout.strip().splitlines()[-6:]))
        if result.returncode != 0:
            sys.exit(f"schemathesis found failures:\n{result.stdout}\n{result.stderr}")

        # A typed client generated from the committed document, used against the server.
        client_dir = work / "client"
        client_dir.mkdir()
        result = subprocess.run([str(bin_dir / "openapi-python-client"), "generate", "--path", str(ROOT / "docs" / "openapi.json"), "--meta", "none"],
                                cwd=client_dir, capture_output=True, text=True)
        package = next((p for p in client_dir.iterdir() if p.is_dir()), None)
        if result.returncode != 0 or package is None:
            sys.exit(f"openapi-python-client refused the document:\n{result.stdout}\n{result.stderr}")
        sys.path.insert(0, str(client_dir))
        pkg = importlib.import_module(package.name)
        queue_api = importlib.import_module(f"{package.name}.api.default.queue")
        score_api = importlib.import_module(f"{package.name}.api.default.score")
        models = importlib.import_module(f"{package.name}.models")
        client = pkg.AuthenticatedClient(base_url=base, token=SCORE)
        page = queue_api.sync(client=client, capacity="visit:20,call:50,sms:200", limit=25)
        assert page is not None and len(page.items) == 25, page
        assert page.items[0].rank == 1 and page.items[0].renewals[0].reasons, page.items[0]
        customers = [item.customer_id for item in page.items]
        assert len(set(customers)) == len(customers), "one contact per customer"
        zh = queue_api.sync(client=client, capacity="visit:20,call:50,sms:200", limit=5, lang="zh-CN")
        assert any("\u4e00" <= ch <= "\u9fff" for ch in zh.items[0].action_label), zh.items[0].action_label
        renewals = [r for item in page.items for r in item.renewals]
        keys = [models.RenewalKey(policy_id=r.policy_id, installment_no=r.installment_no) for r in renewals[:10]]
        scored = score_api.sync(client=client, body=models.ScoreRequest(renewals=keys))
        assert scored is not None and len(scored.results) == 10, scored
        assert {(r.policy_id, r.installment_no) for r in scored.results} == {(k.policy_id, k.installment_no) for k in keys}
        winback_api = importlib.import_module(f"{package.name}.api.default.winback")
        wb = winback_api.sync(client=client, limit=10, action="call")
        assert wb is not None and 0 < len(wb.items) <= 10 and all(i.action == "call" for i in wb.items), wb
        assert all(0 < i.reinstatement_probability < 1 for i in wb.items), wb.items[0]
        # Outcomes: a refusal recorded through the generated client keeps its customer off the next
        # page, and the case history reads it back.
        record_api = importlib.import_module(f"{package.name}.api.default.record_outcomes")
        history_api = importlib.import_module(f"{package.name}.api.default.outcome_history")
        first = page.items[0].renewals[0]
        outcome = models.OutcomeIn.from_dict({"id": "contract-1", "policy_id": first.policy_id, "installment_no": first.installment_no,
                                              "action": "call", "result": "refused", "reason": "cannot_afford",
                                              "at": f"{first.as_of}T10:00:00+08:00"})
        recorded = record_api.sync(client=client, body=models.OutcomesRequest(outcomes=[outcome]))
        assert recorded is not None and recorded.recorded == 1, recorded
        again = queue_api.sync(client=client, capacity="visit:20,call:50,sms:200", limit=25)
        assert all(item.customer_id != page.items[0].customer_id for item in again.items), "the refusal holds the customer"
        history = history_api.sync(client=client, policy_id=first.policy_id)
        assert history is not None and history.outcomes[0].id == "contract-1", history
        print(f"generated client ({package.name}): queue page of {len(page.items)} contacts, {len(scored.results)} renewals scored by key, "
              f"Chinese labels, win-back page of {len(wb.items)} of {wb.matching}, an outcome recorded and applied")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
