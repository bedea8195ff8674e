#!/usr/bin/env python3
"""Inputs for the load generator, taken from a running `lapse serve` (standard library only).

keys BASE TOKEN OUT
    Every renewal of the loaded snapshot, one JSON key per line, read through the API's own
    work list (`GET /v1/queue?include_no_action=true`, paged).

inline BOOK_DIR AS_OF CUSTOMERS N BASE TOKEN OUT
    N inline request bodies of CUSTOMERS customers each (all their policies, installments,
    events and agents, as the contract's rows) from a generated book; each body is sent once
    to count the renewals it scores, and bodies scoring none are dropped. Prints the mean
    renewals per body (the load run's renewals/s = requests/s x that mean).
"""

import csv
import json
import random
import sys
import urllib.request


def call(base, token, method, path, body=None):
    data = None if body is None else body.encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Authorization", "Bearer " + token)
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def keys(base, token, out):
    offset, written = 0, 0
    with open(out, "w") as f:
        while True:
            page = call(base, token, "GET", f"/v1/queue?include_no_action=true&capacity=100000000&limit=1000&offset={offset}")
            for item in (r for contact in page["items"] for r in contact["renewals"]):
                f.write(json.dumps({"policy_id": item["policy_id"], "installment_no": item["installment_no"]}, separators=(",", ":")) + "\n")
                written += 1
            if page["next_offset"] is None:
                break
            offset = page["next_offset"]
    print(f"{written} keys -> {out}")


def read_table(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


# The contract's numeric columns: the API takes them as JSON numbers.
NUMERIC = {"modal_premium", "sum_assured", "payment_term_years", "installment_no", "amount_due", "amount_paid", "failed_debits", "amount"}


def clean(row):
    def value(k, v):
        if v == "":
            return None
        if k in NUMERIC:
            number = float(v)
            return int(number) if number.is_integer() else number
        return v
    return {k: value(k, v) for k, v in row.items()}


def inline(book, as_of, per_request, n, base, token, out):
    customers = read_table(f"{book}/customers.csv")
    policies = read_table(f"{book}/policies.csv")
    by_customer, by_policy_inst, by_policy_evt = {}, {}, {}
    for p in policies:
        by_customer.setdefault(p["customer_id"], []).append(p)
    for i in read_table(f"{book}/installments.csv"):
        by_policy_inst.setdefault(i["policy_id"], []).append(i)
    for e in read_table(f"{book}/events.csv"):
        by_policy_evt.setdefault(e["policy_id"], []).append(e)
    agents = {a["agent_id"]: a for a in read_table(f"{book}/agents.csv")}
    rng = random.Random(11)
    kept, renewals = 0, 0
    with open(out, "w") as f:
        attempts = 0
        while kept < n and attempts < 10 * n:
            attempts += 1
            chosen = rng.sample(customers, per_request)
            pols = [p for c in chosen for p in by_customer.get(c["customer_id"], [])]
            ids = [p["policy_id"] for p in pols]
            records = {
                "as_of": as_of,
                "customers": [clean(c) for c in chosen],
                "policies": [clean(p) for p in pols],
                "installments": [clean(i) for pid in ids for i in by_policy_inst.get(pid, [])],
                "events": [clean(e) for pid in ids for e in by_policy_evt.get(pid, [])],
                "agents": [clean(agents[a]) for a in sorted({p["agent_id"] for p in pols if p["agent_id"]}) if a in agents],
            }
            body = json.dumps({"records": records}, separators=(",", ":"))
            scored = len(call(base, token, "POST", "/v1/score", body)["results"])
            if scored == 0:
                continue
            f.write(body + "\n")
            kept += 1
            renewals += scored
    print(f"{kept} bodies -> {out}; mean renewals per body {renewals / max(kept, 1):.3f}")


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    if command == "keys":
        keys(*args)
    elif command == "inline":
        book, as_of, per, n, base, token, out = args
        inline(book, as_of, int(per), int(n), base, token, out)
    else:
        sys.exit(__doc__)
