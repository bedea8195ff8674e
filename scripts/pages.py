#!/usr/bin/env python3
"""The report pages in a real browser: headless Chromium driven through chromedriver's WebDriver
HTTP API (plain urllib, no client library), at a laptop's 1366 px.

Generates a small book, runs two nights in English and in Chinese (with a score log, so every
nightly page is drawn) and exports the console over them (`lapse history`), opens every page
and checks, per page:
- the browser logs no console error;
- every link to a file resolves (the pages are files: a link is a path beside the page);
- no table and no page is wider than the window (a table that needs a horizontal scroll bar at
  1366 px does not fit a laptop screen);
- a zh-CN page is marked `lang="zh-CN"`, has Chinese in its first heading and prints no run
  of three English words outside `<code>` (the same rule as the Rust tests, here on the text
  the browser shows);
- with `--axe axe.min.js` (axe-core, from npm), no WCAG 2 A/AA violation (labels, contrast,
  table headers, language...);
and writes a full-page screenshot of each into --shots (for review). Exits 1 on any failure.

    python3 scripts/pages.py --lapse target/debug/lapse --shots /tmp/shots
"""

import argparse
import base64
import csv
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

WIDTH = 1366
# Six monthly nights: the console's history (issue 27 asks for six months in the browser).
NIGHTS = ["2026-04-30", "2026-05-31", "2026-06-30", "2026-07-31", "2026-08-31", "2026-09-30"]
# The charts' data colours (pages/charts.rs): a chart with none of them drew no data.
PALETTE = ["#3665A0", "#DE781F", "#2E8B57", "#E6AA00", "#C82828", "#969696"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Browser:
    """One headless Chromium session through chromedriver."""

    def __init__(self, driver, binary):
        self.port = free_port()
        self.proc = subprocess.Popen([driver, f"--port={self.port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{self.port}"
        for _ in range(100):
            try:
                self.call("GET", "/status")
                break
            except OSError:
                time.sleep(0.1)
        caps = {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": binary,
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--window-size={WIDTH},900"],
            },
            "goog:loggingPrefs": {"browser": "ALL"},
        }
        self.session = self.call("POST", "/session", {"capabilities": {"alwaysMatch": caps}})["sessionId"]

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=120) as r:
            return json.loads(r.read())["value"] if method != "GET" or path != "/status" else None

    def s(self, method, path, body=None):
        return self.call(method, f"/session/{self.session}{path}", body)

    def open(self, url):
        self.s("POST", "/window/rect", {"width": WIDTH, "height": 900})
        self.s("POST", "/url", {"url": url})

    def run(self, script):
        return self.s("POST", "/execute/sync", {"script": script, "args": []})

    def console_errors(self):
        try:
            entries = self.s("POST", "/se/log", {"type": "browser"})
        except Exception:  # an older chromedriver without the log endpoint
            return []
        return [e["message"] for e in entries if e.get("level") == "SEVERE"]

    def run_async(self, script):
        return self.s("POST", "/execute/async", {"script": script, "args": []})

    def screenshot(self, path):
        height = self.run("return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)")
        self.s("POST", "/window/rect", {"width": WIDTH, "height": min(int(height) + 40, 16000)})
        Path(path).write_bytes(base64.b64decode(self.s("GET", "/screenshot")))

    def close(self):
        try:
            self.s("DELETE", "")
        finally:
            self.proc.terminate()


# Tables wider than their box, the page wider than the window, links, the text shown.
MEASURE = "const PALETTE = " + json.dumps(PALETTE) + """;
const tables = [...document.querySelectorAll('table')].filter(t => t.scrollWidth > t.clientWidth + 1)
  .map(t => (t.previousElementSibling ? t.previousElementSibling.textContent : '').slice(0, 60) + ` (${t.scrollWidth} > ${t.clientWidth})`);
const clone = document.body.cloneNode(true);
clone.querySelectorAll('code, style, script').forEach(e => e.remove());
return {
  tables: tables,
  pageWidth: document.documentElement.scrollWidth,
  windowWidth: window.innerWidth,
  lang: document.documentElement.lang,
  h1: (document.querySelector('h1') || {}).textContent || '',
  links: [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href')),
  charts: [...document.querySelectorAll('div.chart svg')].map(svg => [...svg.querySelectorAll('*')]
    .filter(e => PALETTE.includes((e.getAttribute('fill') || '').toUpperCase()) || PALETTE.includes((e.getAttribute('stroke') || '').toUpperCase())).length),
  notDrawn: [...document.querySelectorAll('p.note')].filter(p => p.textContent.includes('chart not drawn')).map(p => p.textContent.slice(0, 120)),
  text: [...clone.querySelectorAll('*')].flatMap(e => [...e.childNodes].filter(n => n.nodeType === 3).map(n => n.textContent)),
};
"""

WORD = re.compile(r"^[A-Za-z]{2,}$")


def english_runs(texts):
    found = []
    for text in texts:
        run = 0
        for token in re.split(r"[\s,;:()'\"/.!?\-]+", text):
            if not token:
                continue
            run = run + 1 if WORD.match(token) else 0
            if run == 3:
                found.append(text.strip()[:120])
                break
    return found


AXE_RUN = """
const done = arguments[arguments.length - 1];
axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa']}})
  .then(r => done(r.violations.map(v => `${v.id} (${v.nodes.length}): ${v.help}; e.g. ${v.nodes[0].target.join(' ')}`)))
  .catch(e => done(['axe failed: ' + e]));
"""


def check_page(browser, url, lang, axe=None, link_ok=None):
    """Opens `url` and returns its problems; `link_ok(href)` says whether a link resolves."""
    problems = []
    browser.open(url)
    m = browser.run(MEASURE)
    if axe:
        browser.run(axe + "; return true;")
        for violation in browser.run_async(AXE_RUN):
            problems.append(f"accessibility: {violation}")
    for error in browser.console_errors():
        problems.append(f"console error: {error}")
    for href in m["links"]:
        if re.match(r"^[a-z]+:", href) or href.startswith("#"):
            continue
        if not link_ok(href):
            problems.append(f"broken link: {href}")
    for i, marks in enumerate(m["charts"]):
        if marks == 0:
            problems.append(f"chart {i + 1} has no data point")
    for note in m["notDrawn"]:
        problems.append(f"a chart was not drawn: {note}")
    for t in m["tables"]:
        problems.append(f"table wider than the page at {WIDTH} px: {t}")
    if m["pageWidth"] > m["windowWidth"] + 1:
        problems.append(f"page {m['pageWidth']} px wide in a {m['windowWidth']} px window")
    if lang == "zh-CN":
        if m["lang"] != "zh-CN":
            problems.append(f"lang={m['lang']!r}")
        if not re.search(r"[\u4e00-\u9fff]", m["h1"]):
            problems.append(f"English heading: {m['h1']!r}")
        for text in english_runs(m["text"]):
            problems.append(f"English sentence: {text!r}")
    return problems


def log_scores(lapse, work, reports, night, log, lang):
    """The night's work list scored into the score log, as `GET /v1/queue` logs it (so the
    realised-performance and model pages have months to draw)."""
    listed = work / f"list-{lang}-{night}.csv"
    r = subprocess.run([lapse, "queue", "--models", str(work / f"models-{lang}"), "--snapshot", str(reports / "snapshot.parquet"),
                        "--capacity", "300", "--holdout", "0", "--out", str(listed)], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"queue {night} ({lang}) exited {r.returncode}: {r.stderr[-2000:]}")
    with open(listed, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    with open(log / f"scores-{night}.jsonl", "w") as f:
        for i, row in enumerate(rows):
            f.write(json.dumps({"time": f"{night}T08:00:00Z", "request_id": f"{night}-{i}", "endpoint": "queue",
                                "model_version": row.get("model_version") or "v0001", "policy_id": row["policy_id"],
                                "installment_no": int(row["installment_no"]), "due_date": row["due_date"],
                                "probability": float(row["probability"]), "value": float(row["value_at_risk"]),
                                "action": row["action"], "expected_gain": float(row["expected_gain"]), "rank": i + 1}) + "\n")


def nights(lapse, work, lang):
    book = work / "book"
    if not book.exists():
        subprocess.run([lapse, "generate", "--policies", "3000", "--seed", "11", "--out", str(book)], check=True, capture_output=True)
    log = work / f"score-log-{lang}"
    log.mkdir(exist_ok=True)
    out = work / f"reports-{lang}"
    for night in NIGHTS:
        r = subprocess.run([lapse, "nightly", "--data", str(book), "--models", str(work / f"models-{lang}"), "--out", str(out),
                            "--as-of", night, "--lang", lang, "--score-log", str(log)], capture_output=True, text=True)
        if r.returncode not in (0, 3):
            sys.exit(f"nightly {night} ({lang}) exited {r.returncode}: {r.stderr[-2000:]}")
        log_scores(lapse, work, out, night, log, lang)
    site = work / f"site-{lang}"
    r = subprocess.run([lapse, "history", "--reports", str(out), "--out", str(site), "--lang", lang], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"history ({lang}) exited {r.returncode}: {r.stderr[-2000:]}")
    return sorted((out / "2026-09-30").glob("*.html")) + sorted(site.glob("*.html"))


READ_TOKEN = "pages-read-token"
SCORE_TOKEN = "pages-score-token"


def http(url, token=None, body=None):
    """(status, text) of a GET, or of a POST of `body` (JSON)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, headers=headers, method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def live_console(browser, lapse, work, axe, shots):
    """`lapse serve --reports` over the English nights with a store and the agents' teams: a few
    outcomes recorded today through the API, the read token entered in the login form, then every
    console page (Today included) checked in both languages, its links fetched with the token."""
    (work / "read.token").write_text(READ_TOKEN + "\n")
    reports = work / "reports-en"
    env = dict(os.environ, LAPSE_SCORE_TOKEN=SCORE_TOKEN, LAPSE_ADMIN_TOKEN="pages-admin-token", LAPSE_LOG="warn")
    server = subprocess.Popen([lapse, "serve", "--addr", "127.0.0.1:0", "--workers", "2", "--models", str(work / "models-en"),
                               "--snapshot", str(reports / "snapshot.parquet"), "--reports", str(reports),
                               "--read-token-file", str(work / "read.token"), "--agents", str(work / "book"),
                               "--store", f"sqlite://{work / 'store.sqlite'}", "--score-log", str(work / "serve-log")],
                              stdout=subprocess.PIPE, env=env, text=True)
    try:
        line = server.stdout.readline()
        if not line.startswith("listening on "):
            sys.exit(f"lapse serve did not start: {line!r}")
        base = line.split()[-1]
        status, text = http(f"{base}/v1/queue?capacity=40&limit=40", SCORE_TOKEN)
        if status != 200:
            sys.exit(f"GET /v1/queue: {status} {text[:500]}")
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        results = ["reached", "refused", "no_answer", "promised", "wrong_number", "reached"]
        outcomes = []
        for i, contact in enumerate(json.loads(text)["items"][:12]):
            renewal = contact["renewals"][0]
            result = results[i % len(results)]
            o = {"id": f"pages-{i}", "policy_id": renewal["policy_id"], "installment_no": renewal["installment_no"],
                 "action": contact["action"], "result": result, "at": now}
            if result == "refused":
                o["reason"] = "cannot_afford"
            if result == "promised":
                o["promised_date"] = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 7 * 86400))
            outcomes.append(o)
        status, text = http(f"{base}/v1/outcomes", SCORE_TOKEN, {"outcomes": outcomes})
        if status != 200:
            sys.exit(f"POST /v1/outcomes: {status} {text[:500]}")
        # Signed in as a person would: the form, the token typed, the button.
        browser.open(f"{base}/ui/login")
        field = browser.s("POST", "/element", {"using": "css selector", "value": "#token"})
        browser.s("POST", f"/element/{next(iter(field.values()))}/value", {"text": READ_TOKEN})
        button = browser.s("POST", "/element", {"using": "css selector", "value": "button[type=submit]"})
        browser.s("POST", f"/element/{next(iter(button.values()))}/click", {})
        results = []
        for lang in ["en", "zh-CN"]:
            for name in ["", "today.html", "model.html", "drift.html", "book.html", "campaigns.html"]:
                url = f"{base}/ui/{name}" + (f"?lang={lang}" if lang != "en" else "")
                ok = lambda href, url=url: http(urllib.parse.urljoin(url, href), READ_TOKEN)[0] == 200  # noqa: E731
                problems = check_page(browser, url, lang, axe, ok)
                if browser.run("return document.querySelector('h1') ? document.querySelector('h1').textContent : ''") in ("", "lapse console"):
                    problems.append("not signed in: the login cookie was not kept")
                browser.screenshot(shots / f"{lang}-live-{(name or 'index.html').removesuffix('.html')}.png")
                results.append((lang, name or "index.html", problems))
        return results
    finally:
        server.terminate()
        server.wait(timeout=30)


def report(lang, where, name, problems):
    """Prints a page's line and its problems; 1 when it has any."""
    print(f"{'ok' if not problems else 'FAIL':4} {lang:5} {where:7} {name}")
    for p in problems:
        print(f"       {p}")
    return int(bool(problems))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lapse", required=True)
    ap.add_argument("--shots", default=None, help="directory for the screenshots (default: a temp dir, removed)")
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    ap.add_argument("--driver", default=shutil.which("chromedriver") or "/usr/bin/chromedriver")
    ap.add_argument("--axe", default=None, help="axe-core's axe.min.js: also check labels, contrast and the rest of WCAG 2 A/AA")
    args = ap.parse_args()
    lapse = os.path.abspath(args.lapse)
    work = Path(tempfile.mkdtemp(prefix="lapse-pages-"))
    shots = Path(args.shots) if args.shots else work / "shots"
    shots.mkdir(parents=True, exist_ok=True)
    axe = Path(args.axe).read_text() if args.axe else None
    browser = Browser(args.driver, args.chromium)
    failures = 0
    checked = 0
    try:
        for lang in ["en", "zh-CN"]:
            for page in nights(lapse, work, lang):
                exists = lambda href, page=page: (page.parent / href.split("#")[0]).exists()  # noqa: E731
                problems = check_page(browser, page.as_uri(), lang, axe, exists)
                where = "console" if page.parent.name.startswith("site-") else "night"
                browser.screenshot(shots / f"{lang}-{where}-{page.stem}.png")
                checked += 1
                failures += report(lang, where, page.name, problems)
        # The console served live, signed in through its login form, with outcomes in its store.
        for lang, name, problems in live_console(browser, lapse, work, axe, shots):
            checked += 1
            failures += report(lang, "live", name, problems)
    finally:
        browser.close()
        if not args.shots:
            shutil.rmtree(work, ignore_errors=True)
    print(f"{checked} pages checked in Chromium at {WIDTH} px, {failures} with problems; screenshots in {shots}")
    if checked < 40:
        sys.exit("too few pages were drawn to check")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
