//! The console over time (issue 27): six monthly nights on a generated book, with a score log
//! the way the server writes it, exported by `lapse history` as a site that opens from disk.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use lapse_core::extract::read::FileFormat;
use lapse_core::generate::{GenerateConfig, generate};
use polars::prelude::*;

const NIGHTS: [&str; 6] = ["2026-04-30", "2026-05-31", "2026-06-30", "2026-07-31", "2026-08-31", "2026-09-30"];

fn lapse(args: &[&str]) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_lapse")).args(args).env("LAPSE_LOG", "warn").output().unwrap();
    assert!(matches!(out.status.code(), Some(0 | 3)), "lapse {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

/// Score-log lines for the served snapshot's renewals, scored on the night (as `GET /v1/queue`
/// would log them).
fn log_scores(snapshot: &Path, night: &str, log: &Path) {
    let frame = ParquetReader::new(fs::File::open(snapshot).unwrap()).finish().unwrap();
    let ids = frame.column("policy_id").unwrap().str().unwrap().clone();
    let numbers = frame.column("installment_no").unwrap().i32().unwrap().clone();
    let due = frame.column("due_date").unwrap().cast(&DataType::String).unwrap().str().unwrap().clone();
    let mut lines = String::new();
    for r in 0..frame.height().min(300) {
        let p = 0.05 + (r % 17) as f64 / 40.0;
        lines += &format!(
            "{{\"time\":\"{night}T08:00:00Z\",\"request_id\":\"{night}-{r}\",\"endpoint\":\"queue\",\"model_version\":\"v0001\",\"policy_id\":\"{}\",\"installment_no\":{},\"due_date\":\"{}\",\"probability\":{p},\"value\":1000.0,\"action\":\"call\",\"expected_gain\":1.0,\"rank\":{r}}}\n",
            ids.get(r).unwrap(),
            numbers.get(r).unwrap(),
            due.get(r).unwrap()
        );
    }
    fs::write(log.join(format!("scores-{night}.jsonl")), lines).unwrap();
}

/// Every local link of every page under `site`, and whether its target exists.
fn broken_links(site: &Path) -> Vec<String> {
    let mut pages = Vec::new();
    let mut stack = vec![site.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "html") {
                pages.push(path);
            }
        }
    }
    let mut broken = Vec::new();
    for page in pages {
        let html = fs::read_to_string(&page).unwrap();
        for part in html.split("href=\"").skip(1) {
            let href = &part[..part.find('"').unwrap()];
            if href.contains(':') || href.starts_with('#') {
                continue;
            }
            if !page.parent().unwrap().join(href.split('#').next().unwrap()).exists() {
                broken.push(format!("{}: {href}", page.display()));
            }
        }
    }
    broken
}

#[test]
fn six_nights_make_a_console_whose_pages_show_every_month_and_night_and_whose_links_resolve() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| -> PathBuf { dir.path().join(name) };
    generate(&GenerateConfig::new(1500, 21)).write(&p("book"), FileFormat::Parquet).unwrap();
    fs::write(
        p("policy.json"),
        r#"{"min_train_rows": 300, "min_validation_rows": 150, "min_validation_lapses": 10, "min_compared_rows": 50, "min_compared_lapses": 5}"#,
    )
    .unwrap();
    fs::create_dir_all(p("score-log")).unwrap();
    let s = |path: PathBuf| path.to_str().unwrap().to_string();
    for night in NIGHTS {
        lapse(&[
            "nightly",
            "--data",
            &s(p("book")),
            "--models",
            &s(p("models")),
            "--out",
            &s(p("reports")),
            "--as-of",
            night,
            "--policy",
            &s(p("policy.json")),
            "--score-log",
            &s(p("score-log")),
        ]);
        log_scores(&p("reports").join("snapshot.parquet"), night, &p("score-log"));
    }
    lapse(&["history", "--reports", &s(p("reports")), "--out", &s(p("site"))]);
    lapse(&["history", "--reports", &s(p("reports")), "--out", &s(p("site-zh")), "--lang", "zh-CN"]);

    // The model page: one point per scored month (the months of the score log up to the last
    // night), each month in its table.
    let history = lapse_reports::history::History::open(&p("reports"));
    let months: Vec<&str> = history.model_months().iter().map(|m| m.month.as_str()).collect();
    assert_eq!(months, ["2026-04", "2026-05", "2026-06", "2026-07", "2026-08"], "the score log's months before the last night");
    let model = fs::read_to_string(p("site").join("model.html")).unwrap();
    for m in &months {
        assert!(model.contains(&format!("<td class=\"l\">{m}</td>")), "{m} in the model page's table");
    }
    assert!(model.matches("<circle").count() >= months.len(), "the AUC chart has its points");
    // The drift heat map: one column per night, each linking that night's drift page.
    let drift = fs::read_to_string(p("site").join("drift.html")).unwrap();
    let columns: BTreeSet<&str> = drift.split("href=\"nights/").skip(1).filter(|s| s.contains("/drift.html\"")).map(|s| &s[..10]).collect();
    assert_eq!(columns, NIGHTS.iter().copied().collect());
    // Every page of the site, the nights' own included, links only to what is there.
    for site in ["site", "site-zh"] {
        let broken = broken_links(&p(site));
        assert!(broken.is_empty(), "broken links: {broken:#?}");
    }
    console_is_served_under_ui_to_a_read_token_only(&p("reports"), dir.path());

    // In Chinese: Chinese headings, no English sentence.
    for page in ["index.html", "model.html", "drift.html", "book.html", "campaigns.html", "today.html"] {
        let html = fs::read_to_string(p("site-zh").join(page)).unwrap();
        let h1 = &html[html.find("<h1>").unwrap() + 4..html.find("</h1>").unwrap()];
        assert!(h1.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "{page}: {h1}");
        let english = lapse_reports::pages::zh::english_sentences(&html);
        assert!(english.is_empty(), "{page} prints English: {english:#?}");
    }
}

const READ_TOKEN: &str = "read-token-for-tests";

fn fetch(agent: &ureq::Agent, url: &str, headers: &[(&str, &str)]) -> (u16, String, Vec<String>) {
    let mut request = agent.get(url);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let mut response = request.call().expect("a response");
    let cookies = response.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect();
    (response.status().as_u16(), response.body_mut().read_to_string().unwrap_or_default(), cookies)
}

/// `lapse serve --reports`: every console page and every link on them answers 200 with the
/// read token (bearer or the login's cookie) and 401 without; the language follows `?lang=`
/// and `Accept-Language`; a reload reads a new night.
fn console_is_served_under_ui_to_a_read_token_only(reports: &Path, work: &Path) {
    let token_file = work.join("read.token");
    fs::write(&token_file, format!("{READ_TOKEN}\n")).unwrap();
    let server = crate::common::start_server(
        &crate::common::models_copy(&work.join("serve-models")),
        &work.join("serve-log"),
        &["--reports".as_ref(), reports.as_os_str(), "--read-token-file".as_ref(), token_file.as_os_str()],
    );
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build().into();
    let bearer = format!("Bearer {READ_TOKEN}");
    let with_token = [("Authorization", bearer.as_str())];
    let ui = |path: &str| format!("{}/ui/{path}", server.base);
    // Every page, and every link on them (the nights' pages included), with and without.
    let mut seen = BTreeSet::new();
    let mut queue: Vec<String> =
        ["", "today.html", "model.html", "drift.html", "book.html", "campaigns.html"].iter().map(|s| s.to_string()).collect();
    while let Some(path) = queue.pop() {
        if !seen.insert(path.clone()) {
            continue;
        }
        let (status, body, _) = fetch(&agent, &ui(&path), &with_token);
        assert_eq!(status, 200, "/ui/{path} with the token");
        assert_eq!(fetch(&agent, &ui(&path), &[]).0, 401, "/ui/{path} without a token");
        assert_eq!(fetch(&agent, &ui(&path), &[("Authorization", "Bearer wrong")]).0, 401, "/ui/{path} with a wrong token");
        if path.ends_with(".html") || path.is_empty() {
            let base = path.rsplit_once('/').map_or(String::new(), |(dir, _)| format!("{dir}/"));
            for part in body.split("href=\"").skip(1) {
                let href = &part[..part.find('"').unwrap()];
                if !href.contains(':') && !href.starts_with('#') && !href.starts_with('/') {
                    queue.push(format!("{base}{href}"));
                }
            }
        }
    }
    assert!(seen.len() > 5 + 6 * 5, "the console's pages and the nights' pages were walked: {}", seen.len());
    // A browser: the login form, then the cookie.
    let (status, form, _) = fetch(&agent, &ui("login"), &[]);
    assert!(status == 200 && form.contains("name=\"token\""), "{form}");
    let mut refused = agent.post(&ui("login")).content_type("application/x-www-form-urlencoded").send("token=nope").unwrap();
    assert_eq!(refused.status().as_u16(), 401);
    let _ = refused.body_mut().read_to_string();
    let response = agent.post(&ui("login")).content_type("application/x-www-form-urlencoded").send(format!("token={READ_TOKEN}")).unwrap();
    assert_eq!(response.status().as_u16(), 303);
    let cookie = response.headers().get("set-cookie").unwrap().to_str().unwrap().to_string();
    for attribute in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/ui"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    let pair = cookie.split(';').next().unwrap().to_string();
    assert_eq!(fetch(&agent, &ui("model.html"), &[("Cookie", pair.as_str())]).0, 200, "the cookie opens the pages");
    // Languages.
    let (_, zh, _) = fetch(&agent, &ui("drift.html?lang=zh-CN"), &with_token);
    assert!(zh.contains("<html lang=\"zh-CN\">") && zh.contains("数据漂移随时间变化"));
    let (_, zh, _) = fetch(&agent, &ui("book.html"), &[with_token[0], ("Accept-Language", "zh-CN,zh;q=0.9")]);
    assert!(zh.contains("<html lang=\"zh-CN\">"));
    // A new night appears after a reload.
    let (_, before, _) = fetch(&agent, &ui("drift.html"), &with_token);
    let columns = |html: &str| html.matches("/drift.html\" title=").count();
    let copy = reports.join("2026-10-31");
    fs::create_dir_all(&copy).unwrap();
    for entry in fs::read_dir(reports.join("2026-09-30")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            fs::copy(&path, copy.join(path.file_name().unwrap())).unwrap();
        }
    }
    let (status, _) = crate::common::post(&crate::common::client(), &format!("{}/v1/admin/reload", server.base), crate::common::ADMIN_TOKEN, "");
    assert_eq!(status, 200);
    let (_, after, _) = fetch(&agent, &ui("drift.html"), &with_token);
    assert_eq!(columns(&after), columns(&before) + 1, "the reload read the new night");
    fs::remove_dir_all(&copy).unwrap();
}

/// The text of the table cell after the row label `label` (its `column`-th cell after it) in the
/// first table after `heading`.
fn cell(html: &str, heading: &str, label: &str, column: usize) -> String {
    let from = html.find(&format!("<h2>{heading}</h2>")).unwrap_or_else(|| panic!("no heading {heading}"));
    let table = &html[from..];
    let table = &table[..table.find("</table>").unwrap()];
    let row = table.split("<tr>").find(|r| r.contains(&format!(">{label}</td>"))).unwrap_or_else(|| panic!("no row {label} under {heading}"));
    let cells: Vec<&str> = row.split("<td").skip(1).map(|c| &c[c.find('>').unwrap() + 1..c.find("</td>").unwrap()]).collect();
    cells[column + 1].to_string()
}

/// The Today page on a real server with its store: the list the team started the day with (a
/// refusal the day before keeps a customer off it), how much of it was contacted, by team, what
/// customers said (one outcome about a customer not on the list), what the rules hold back in
/// the morning and now; Chinese without an English sentence; 401 without the token.
#[test]
fn the_today_page_counts_the_days_work_from_the_outcome_store() {
    use crate::common::{SCORE_TOKEN, client, fixture, get, post};
    use serde_json::json;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("read.token");
    fs::write(&token_file, format!("{READ_TOKEN}\n")).unwrap();
    fs::create_dir_all(dir.path().join("reports")).unwrap();
    let reports = dir.path().join("reports");
    let server = crate::common::start_server(
        &crate::common::models_copy(&dir.path().join("models")),
        &dir.path().join("score-log"),
        &[
            "--reports".as_ref(),
            reports.as_os_str(),
            "--read-token-file".as_ref(),
            token_file.as_os_str(),
            "--agents".as_ref(),
            fixture().book.as_os_str(),
        ],
    );
    let agent = client();
    let (status, list) = get(&agent, &format!("{}/v1/queue?capacity=60&limit=60", server.base), SCORE_TOKEN);
    assert_eq!(status, 200, "{list}");
    let contacts = list["items"].as_array().unwrap();
    assert_eq!(contacts.len(), 60);
    let as_of = contacts[0]["renewals"][0]["as_of"].as_str().unwrap().to_string();
    let as_of_day = lapse_core::dates::parse_day(&as_of).unwrap();
    let day = lapse_core::dates::format_day(as_of_day + 1);
    let outcome = |id: &str, contact: usize, result: &str, on: &str, reason: Option<&str>| {
        let first = &contacts[contact]["renewals"][0];
        let mut o = json!({"id": id, "policy_id": first["policy_id"], "installment_no": first["installment_no"], "action": "call",
            "result": result, "at": format!("{on}T09:30:00+08:00"), "agent_id": "A1"});
        if let Some(r) = reason {
            o["reason"] = json!(r);
        }
        o
    };
    let batch = json!({"outcomes": [
        outcome("y4", 3, "refused", &as_of, Some("cannot_afford")),
        outcome("t1", 0, "reached", &day, None),
        outcome("t2", 1, "refused", &day, Some("dissatisfied")),
        outcome("t3", 2, "no_answer", &day, None),
        outcome("t50", 49, "no_answer", &day, None),
    ]});
    let (status, body) = post(&agent, &format!("{}/v1/outcomes", server.base), SCORE_TOKEN, &batch.to_string());
    assert_eq!(status, 200, "{body}");

    let bearer = format!("Bearer {READ_TOKEN}");
    let url = format!("{}/ui/today.html?day={day}&capacity=30", server.base);
    let (status, html, _) = fetch(&agent, &url, &[("Authorization", bearer.as_str())]);
    assert_eq!(status, 200, "{html}");
    let (status, unauthorised, _) = fetch(&agent, &url, &[]);
    assert!(status == 401 && unauthorised.contains("href=\"/ui/login\""), "a browser is shown the way to sign in: {unauthorised}");
    // The morning's list: 30 customers (the one who refused the day before is not on it); three
    // of them contacted; four outcomes, one about a customer beyond the list.
    assert!(html.contains("30 customers listed, 3 of them with an outcome recorded on the day (10.0%)"), "{html}");
    assert!(html.contains("4 outcomes were recorded on the day, 1 of them about customers not on the list"), "{html}");
    let heading = "Outcomes recorded on the day";
    assert_eq!(
        (cell(&html, heading, "reached", 0), cell(&html, heading, "refused", 0), cell(&html, heading, "no answer", 0)),
        ("1".into(), "1".into(), "2".into())
    );
    assert_eq!(cell(&html, "Refusal reasons", "dissatisfied", 0), "1", "today's refusal only");
    assert!(!html.contains(">cannot afford<"), "the day before's refusal is not today's");
    let held = |column: usize| cell(&html, "Held back by the contact rules", "refused recently", column).parse::<usize>().unwrap();
    assert!(held(0) >= 1 && held(1) > held(0), "the day before's refusal held in the morning, today's too now: {} then {}", held(0), held(1));
    assert_eq!(cell(&html, "By action", "all actions", 1), "30");
    assert_eq!(cell(&html, "By action", "all actions", 3), "3");
    // By team: the agents table's teams (T001...), every listed contact in one team's row.
    let teams = &html[html.find("<h2>By team</h2>").unwrap()..html.find(&format!("<h2>{heading}</h2>")).unwrap()];
    assert!(!teams.contains("Teams are not known"), "--agents gives the teams");
    let table = &teams[teams.find("<table").unwrap()..];
    let listed: usize = table
        .split("<tr>")
        .skip(2)
        .map(|row| {
            let cells: Vec<&str> = row.split("<td").skip(1).map(|c| &c[c.find('>').unwrap() + 1..c.find("</td>").unwrap()]).collect();
            assert!(cells[0].starts_with('T') || cells[0].starts_with("orphan"), "a team of the agents table: {}", cells[0]);
            cells[cells.len() - 3].parse::<usize>().unwrap()
        })
        .sum();
    assert_eq!(listed, 30, "each listed contact counted in one team");
    // In Chinese.
    let (_, zh, _) = fetch(&agent, &format!("{url}&lang=zh-CN"), &[("Authorization", bearer.as_str())]);
    assert!(zh.contains("<html lang=\"zh-CN\">") && zh.contains("<h1>今日工作</h1>"));
    let english = lapse_reports::pages::zh::english_sentences(&zh);
    assert!(english.is_empty(), "the zh-CN Today page prints English: {english:#?}");
    // A day that is not a date: the form again, with the reason.
    let (status, bad, _) = fetch(&agent, &format!("{}/ui/today.html?day=yesterday", server.base), &[("Authorization", bearer.as_str())]);
    assert_eq!(status, 422);
    assert!(bad.contains("give a date as YYYY-MM-DD"), "{bad}");
}
