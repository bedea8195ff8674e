//! The nightly job, run as the real binary on generated books: its outcomes and exit codes,
//! idempotence, the lock, input rejection, the reports, crash safety (killed at every step,
//! then run again) and the reload of a running server.

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use lapse_core::extract::read::FileFormat;
use lapse_core::generate::{GenerateConfig, generate};
use lapse_nightly::{DECISION_LOG, STEPS, SUMMARY};
use polars::prelude::{DataFrame, ParquetReader, SerReader};
use serde_json::Value;

const FIRST: &str = "2026-06-30";
const SECOND: &str = "2026-07-31";

/// A generated book (Parquet, fast to read), shared by the tests of this module.
fn book() -> &'static Path {
    static BOOK: OnceLock<PathBuf> = OnceLock::new();
    BOOK.get_or_init(|| {
        crate::common::built_once_here("nightly-book", |dir| generate(&GenerateConfig::new(1500, 7)).write(dir, FileFormat::Parquet).unwrap())
    })
}

/// Small-book guard rails (the defaults ask for more held-out rows than 1,500 policies give).
const POLICY: &str =
    r#"{"min_train_rows": 300, "min_validation_rows": 150, "min_validation_lapses": 10, "min_compared_rows": 50, "min_compared_lapses": 5}"#;

/// A workspace: models, reports and the policy file.
struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("policy.json"), POLICY).unwrap();
        Workspace { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn models(&self) -> PathBuf {
        self.path().join("models")
    }

    fn reports(&self) -> PathBuf {
        self.path().join("reports")
    }

    fn command(&self, night: &str) -> Command {
        self.command_on(book(), night)
    }

    fn command_on(&self, data: &Path, night: &str) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_lapse"));
        command
            .args(["nightly", "--as-of", night])
            .arg("--data")
            .arg(data)
            .arg("--models")
            .arg(self.models())
            .arg("--out")
            .arg(self.reports())
            .arg("--policy")
            .arg(self.path().join("policy.json"))
            .env("LAPSE_LOG", "warn")
            .env_remove(lapse_nightly::CRASH_AT_ENV);
        command
    }

    fn night(&self, night: &str) -> Output {
        self.command(night).output().unwrap()
    }

    fn crash(&self, night: &str, step: &str) -> Output {
        self.command(night).env(lapse_nightly::CRASH_AT_ENV, step).output().unwrap()
    }

    /// A copy of this workspace (state after some nights).
    fn copy(&self) -> Workspace {
        let copy = Workspace::new();
        copy_dir(self.path(), copy.path());
        copy
    }

    fn state(&self) -> State {
        let read = |p: PathBuf| fs::read(p).ok();
        let mut versions: Vec<String> = fs::read_dir(self.models())
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).filter(|n| n.starts_with('v')).collect())
            .unwrap_or_default();
        versions.sort();
        let mut nights: Vec<String> = fs::read_dir(self.reports())
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .filter(|e| e.path().is_dir())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    // Published nights only (not fingerprints/ or rejected/).
                    .filter(|n| lapse_core::dates::parse_day(n).is_some())
                    .collect()
            })
            .unwrap_or_default();
        nights.sort();
        // Decision lines without their timestamps.
        let decisions = fs::read_to_string(self.reports().join(DECISION_LOG))
            .unwrap_or_default()
            .lines()
            .map(|l| {
                let mut v: Value = serde_json::from_str(l).unwrap();
                v.as_object_mut().unwrap().remove("decided_at");
                v
            })
            .collect();
        State {
            champion: read(self.models().join("CHAMPION")).map(|b| String::from_utf8(b).unwrap().trim().to_string()),
            snapshot: read(self.reports().join("snapshot.parquet")),
            versions,
            nights,
            decisions,
        }
    }

    fn summary(&self, night: &str) -> Value {
        serde_json::from_slice(&fs::read(self.reports().join(night).join(SUMMARY)).unwrap()).unwrap()
    }
}

/// What a night changes.
#[derive(Debug, PartialEq)]
struct State {
    champion: Option<String>,
    snapshot: Option<Vec<u8>>,
    versions: Vec<String>,
    nights: Vec<String>,
    decisions: Vec<Value>,
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The state after the first night (a champion exists), shared: each test copies it.
fn after_first_night() -> &'static Workspace {
    static FIRST_NIGHT: OnceLock<Workspace> = OnceLock::new();
    FIRST_NIGHT.get_or_init(|| {
        let ws = Workspace::new();
        let out = ws.night(FIRST);
        assert_eq!(out.status.code(), Some(0), "first night: {}", stderr(&out));
        ws
    })
}

#[test]
fn first_night_promotes_then_a_night_is_judged_against_the_champion_and_logged() {
    let ws = after_first_night().copy();
    let first = ws.summary(FIRST);
    assert_eq!(first["decision"]["promote"], true);
    assert_eq!(first["decision"]["reasons"][0], "no champion yet");
    assert_eq!(ws.state().champion.as_deref(), Some("v0001"));

    let out = ws.night(SECOND);
    let code = out.status.code();
    assert!(code == Some(0) || code == Some(3), "{}", stderr(&out));
    let second = ws.summary(SECOND);
    // Both models judged on the same held-out rows of the latest fully labelled snapshots.
    assert_eq!(second["champion"]["version"], "v0001");
    assert_eq!(second["challenger"]["version"], "v0002");
    let evaluation: Value = serde_json::from_slice(&fs::read(ws.reports().join(SECOND).join("evaluation.json")).unwrap()).unwrap();
    assert_eq!(evaluation["challenger"]["evaluation"]["rows"], evaluation["champion"]["evaluation"]["rows"]);
    assert_eq!(evaluation["challenger"]["evaluation"]["lapse_rate"], evaluation["champion"]["evaluation"]["lapse_rate"]);
    // Compared only on renewals neither model was fitted on: the champion, refit a month ago on
    // every labelled row of its window, knows most of tonight's held-out outcomes.
    let comparison = &evaluation["comparison"];
    let count = |key: &str| comparison[key].as_u64().unwrap();
    assert_eq!(evaluation["champion"]["evaluation"]["rows"].as_u64().unwrap(), count("compared"));
    assert_eq!(count("compared") + count("dropped_champion_fitted"), count("held_out"), "{comparison}");
    assert!(count("dropped_champion_fitted") > 0, "the champion was fitted on part of the window: {comparison}");
    assert_eq!(count("dropped_challenger_fitted"), 0, "the out-of-time gap keeps the challenger's own rows out");
    assert!(count("compared") >= 50, "{comparison}");
    let rows = ParquetReader::new(fs::File::open(ws.reports().join(SECOND).join("evaluation.parquet")).unwrap()).finish().unwrap();
    let compared = rows.column("compared").unwrap().bool().unwrap().clone();
    let fitted = rows.column("champion_fitted").unwrap().bool().unwrap().clone();
    assert_eq!(compared.sum().unwrap() as u64, count("compared"));
    assert!(compared.iter().zip(fitted.iter()).all(|(c, f)| !(c.unwrap() && f.unwrap())), "a compared row the champion was fitted on");
    // The champion's fitted renewals are the registry's list, checksummed.
    let manifest: Value = serde_json::from_slice(&fs::read(ws.models().join("v0001").join("manifest.json")).unwrap()).unwrap();
    assert!(manifest["fitted_renewals"].as_u64().unwrap() > 0 && manifest["fitted_sha256"].is_string(), "{manifest}");
    assert!(ws.models().join("v0001").join("fitted.keys").is_file());
    assert!(comparison["basis"].as_str().unwrap().contains("the registry lists"), "{comparison}");
    // What the challenger learnt, on the page an analyst reads.
    assert!(!evaluation["importance"][1].as_array().unwrap().is_empty(), "{}", evaluation["importance"]);
    let curves = evaluation["partial_dependence"].as_array().unwrap();
    assert!(!curves.is_empty() && curves.len() <= 5);
    let page = fs::read_to_string(ws.reports().join(SECOND).join("evaluation.html")).unwrap();
    assert!(page.contains("What the challenger learnt"));
    assert_eq!(page.matches("partial dependence: ").count(), curves.len(), "one chart per curve");
    let promoted = second["decision"]["promote"].as_bool().unwrap();
    assert_eq!(code, Some(if promoted { 0 } else { 3 }));
    // The decision follows the margin rule on the recorded figures (or the champion failed its
    // own guard rails on the renewals it never saw and the challenger is no worse).
    let (chall, champ) = (second["challenger"]["log_loss"].as_f64().unwrap(), second["champion"]["log_loss"].as_f64().unwrap());
    let champion_failed = evaluation["champion_guard_rails"].as_array().unwrap().iter().any(|r| r["passed"] == false);
    let gain = (champ - chall) / champ;
    let challenger_passes = second["guard_rails"].as_array().unwrap().iter().all(|r| r["passed"] == true);
    let auc = |who: &str| evaluation[who]["evaluation"]["roc_auc"].as_f64().unwrap();
    if !champion_failed {
        assert_eq!(promoted, gain >= 0.005 && auc("champion") - auc("challenger") <= 0.005 && challenger_passes, "{}", second["decision"]);
    }
    let state = ws.state();
    assert_eq!(state.champion.as_deref(), Some(if promoted { "v0002" } else { "v0001" }));
    assert_eq!(state.nights, vec![FIRST, SECOND]);
    assert_eq!(state.decisions.len(), 2);
    assert_eq!(state.decisions[1]["promoted"], promoted);
    assert_eq!(state.decisions[1]["compared_rows"], comparison["compared"]);
    assert_eq!(state.decisions[1]["champion_fitted_rows"], comparison["dropped_champion_fitted"]);
    assert_eq!(state.decisions[1]["champion_after"], second["champion_after"]);

    // The same night again changes nothing and answers the same.
    let again = ws.night(SECOND);
    assert_eq!(again.status.code(), code);
    assert!(String::from_utf8_lossy(&again.stdout).contains("done before"));
    assert_eq!(ws.state(), state);

    // A margin no challenger can reach keeps the champion (exit 3), unless the champion fails its
    // own guard rails on the renewals it never saw.
    let strict = ws.command("2026-08-31").args(["--margin", "0.9"]).output().unwrap();
    let third = ws.summary("2026-08-31");
    let reason = third["decision"]["reasons"][0].as_str().unwrap();
    if reason.starts_with("the champion fails its guard rails") {
        assert_eq!(strict.status.code(), Some(0), "{}", stderr(&strict));
    } else {
        assert_eq!(strict.status.code(), Some(3), "{}", stderr(&strict));
        assert_eq!(third["decision"]["promote"], false);
        assert!(reason.starts_with("not better by the margin"), "{third}");
        assert_eq!(ws.state().champion, state.champion);
    }
}

#[test]
fn the_reports_are_written_as_json_and_self_contained_html() {
    let ws = after_first_night().copy();
    // A score log as the server writes it: three renewals of the served snapshot scored in July.
    // Three renewals still at risk on the second night (so tonight's snapshot shows their
    // recorded outcomes as features): the first of the served snapshot that are in a
    // snapshot built for that night.
    let served = ParquetReader::new(fs::File::open(ws.reports().join("snapshot.parquet")).unwrap()).finish().unwrap();
    let next = ws.path().join("next.parquet");
    let built = Command::new(env!("CARGO_BIN_EXE_lapse"))
        .args(["features", "--data"])
        .arg(book())
        .args(["--as-of", SECOND, "--out"])
        .arg(&next)
        .env("LAPSE_LOG", "warn")
        .output()
        .unwrap();
    assert!(built.status.success(), "{}", stderr(&built));
    let next = ParquetReader::new(fs::File::open(&next).unwrap()).finish().unwrap();
    let keys = |frame: &DataFrame| -> Vec<(String, i32)> {
        let p = frame.column("policy_id").unwrap().str().unwrap().clone();
        let n = frame.column("installment_no").unwrap().i32().unwrap().clone();
        (0..frame.height()).map(|r| (p.get(r).unwrap().to_string(), n.get(r).unwrap())).collect()
    };
    let at_risk_next: std::collections::HashSet<(String, i32)> = keys(&next).into_iter().collect();
    let picked: Vec<(String, i32)> = keys(&served).into_iter().filter(|k| at_risk_next.contains(k)).take(3).collect();
    assert_eq!(picked.len(), 3);
    let ids: Vec<&str> = picked.iter().map(|(p, _)| p.as_str()).collect();
    let numbers: Vec<i32> = picked.iter().map(|(_, n)| *n).collect();
    let log_dir = ws.path().join("score-log");
    fs::create_dir_all(&log_dir).unwrap();
    let lines: String = (0..3)
        .map(|i| {
            format!(
                "{{\"time\":\"2026-07-15T08:00:00Z\",\"request_id\":\"r{i}\",\"endpoint\":\"score\",\"model_version\":\"v0001\",\"policy_id\":\"{}\",\"installment_no\":{},\"due_date\":\"2026-08-01\",\"probability\":0.2,\"value\":1000.0,\"action\":\"call\",\"expected_gain\":1.0,\"rank\":1}}\n",
                ids[i], numbers[i]
            )
        })
        .collect();
    fs::write(log_dir.join("scores-2026-07-15.jsonl"), lines).unwrap();
    // Outcomes recorded in the store for the same three renewals (one promise, one refusal, one
    // no-answer), imported as a call centre would.
    let store = format!("sqlite://{}", ws.path().join("outcomes.sqlite").display());
    let calls: String = ["promised,,2026-07-25", "refused,cannot_afford,", "no_answer,,"]
        .iter()
        .enumerate()
        .map(|(i, fields)| {
            let mut f = fields.split(',');
            let (result, reason, promised) = (f.next().unwrap(), f.next().unwrap(), f.next().unwrap());
            format!("n{i},{},{},call,{result},2026-07-16T10:00:00+08:00,{reason},{promised}\n", ids[i], numbers[i])
        })
        .collect();
    let calls_file = ws.path().join("calls.csv");
    fs::write(&calls_file, format!("id,policy_id,installment_no,action,result,at,reason,promised_date\n{calls}")).unwrap();
    let import = Command::new(env!("CARGO_BIN_EXE_lapse"))
        .args(["outcomes", "import"])
        .arg(&calls_file)
        .args(["--store", &store, "--snapshot"])
        .arg(ws.reports().join("snapshot.parquet"))
        .env("LAPSE_LOG", "warn")
        .output()
        .unwrap();
    assert!(import.status.success(), "{}", stderr(&import));
    let out = ws.command(SECOND).arg("--score-log").arg(&log_dir).args(["--store", &store]).output().unwrap();
    assert!(matches!(out.status.code(), Some(0 | 3)), "{}", stderr(&out));
    let dir = ws.reports().join(SECOND);
    let summary = ws.summary(SECOND);
    let files: Vec<&str> = summary["reports"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
    for name in [
        "index.html",
        "drift.json",
        "drift.html",
        "evaluation.json",
        "evaluation.html",
        "why.json",
        "why.html",
        "winback.parquet",
        "funnel.json",
        "funnel.html",
        "evaluation.parquet",
        "persistency.json",
        "persistency.html",
        "realised.json",
        "realised.html",
        "performance.json",
        "performance.html",
    ] {
        assert!(files.contains(&name), "{name} not listed in {files:?}");
        assert!(dir.join(name).is_file(), "{name} missing");
    }
    for name in files.iter().filter(|f| f.ends_with(".html")) {
        let html = fs::read_to_string(dir.join(name)).unwrap();
        assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"), "{name}");
        // Self-contained: no scripts, no external resources.
        assert!(!html.contains("<script") && !html.contains("src=\"http") && !html.contains("href=\"http"), "{name}");
        if *name != "index.html" {
            assert!(html.contains("<svg"), "{name} has no chart");
            assert!(!html.contains("chart not drawn"), "{name}: a chart failed");
        }
    }
    // The night's win-back list is published beside the served snapshot (lapse serve --winback).
    assert_eq!(fs::read(ws.reports().join("winback.parquet")).unwrap(), fs::read(dir.join("winback.parquet")).unwrap());
    // The funnel read the score log: three scores by key, none of them a work list.
    let funnel: Value = serde_json::from_slice(&fs::read(dir.join("funnel.json")).unwrap()).unwrap();
    assert_eq!(funnel["score_log_lines"], 3);
    assert_eq!(funnel["renewals_with_outcomes"], 3, "the store's outcomes before the night");
    // The outcomes are features of tonight's snapshot: the promise (for 2026-07-25) broken, the
    // refusal's reason, the attempt that reached no one.
    let served = ParquetReader::new(fs::File::open(ws.reports().join("snapshot.parquet")).unwrap()).finish().unwrap();
    let row_of = |i: usize| {
        let (policy, number) = (ids[i], numbers[i]);
        let p = served.column("policy_id").unwrap().str().unwrap().clone();
        let n = served.column("installment_no").unwrap().i32().unwrap().clone();
        (0..served.height()).find(|&r| p.get(r) == Some(policy) && n.get(r) == Some(number)).expect("still at risk")
    };
    let text = |name: &str, r: usize| served.column(name).unwrap().str().unwrap().get(r).map(str::to_string);
    assert_eq!(text("promise_to_pay", row_of(0)).as_deref(), Some("broken"));
    assert_eq!(text("refusal_reason_90d", row_of(1)).as_deref(), Some("cannot_afford"));
    assert_eq!(served.column("unreached_attempts_30d").unwrap().f64().unwrap().get(row_of(2)), Some(1.0));
    // The challenger's report says whether the family was kept, on held-out log loss.
    let challenger = summary["challenger"]["version"].as_str().expect("a challenger version");
    let metrics: Value = serde_json::from_slice(&fs::read(ws.models().join(challenger).join("metrics.json")).unwrap()).unwrap();
    let decision = &metrics["feature_groups"][0];
    assert_eq!(decision["family"], "recorded contact outcomes", "{metrics}");
    assert!(decision["log_loss_with"].is_number() && decision["log_loss_without"].is_number(), "{decision}");
    assert!(fs::read_to_string(dir.join("funnel.html")).unwrap().contains("Promise kept"));
    assert!(funnel["rows"].as_array().unwrap().iter().filter(|r| r["dimension"] == "all").all(|r| r["listed"] == 0), "{funnel}");
    let drift: Value = serde_json::from_slice(&fs::read(dir.join("drift.json")).unwrap()).unwrap();
    let features = drift["features"].as_array().unwrap();
    assert_eq!(features.len(), lapse_core::features::FEATURES.len() + 1, "every feature and the score");
    for f in features {
        let bins = f["bins"].as_array().unwrap();
        let total = |side: &str| bins.iter().map(|b| b[side].as_f64().unwrap()).sum::<f64>();
        assert!((total("reference") - 1.0).abs() < 1e-6 && (total("current") - 1.0).abs() < 1e-6, "{}", f["feature"]);
    }
    // The evaluation rows: one per held-out renewal, both models' scores.
    let evaluation: Value = serde_json::from_slice(&fs::read(dir.join("evaluation.json")).unwrap()).unwrap();
    let frame = ParquetReader::new(fs::File::open(dir.join("evaluation.parquet")).unwrap()).finish().unwrap();
    assert_eq!(frame.height() as u64, evaluation["rows"].as_u64().unwrap());
    let names: Vec<String> = frame.get_column_names().iter().map(|n| n.to_string()).collect();
    assert_eq!(names, ["as_of", "policy_id", "installment_no", "lapsed", "compared", "champion_fitted", "value", "challenger", "champion"]);
    // Team performance: the last three closed due months and the month to date, risk-adjusted
    // with the champion of the first night; the month of the night is in progress.
    let performance: Value = serde_json::from_slice(&fs::read(dir.join("performance.json")).unwrap()).unwrap();
    assert!(fs::read_to_string(dir.join("index.html")).unwrap().contains("href=\"performance.html\""), "the index links it");
    let months: Vec<&str> = performance["months"].as_array().unwrap().iter().map(|m| m.as_str().unwrap()).collect();
    assert_eq!(months, ["2026-03", "2026-04", "2026-05", "2026-06", "2026-07"], "{performance}");
    assert_eq!(performance["risk_model"]["version"], "v0001");
    let all = |month: &str| performance["groups"].as_array().unwrap().iter().find(|g| g["level"] == "all" && g["month"] == month).unwrap().clone();
    assert_eq!((all("2026-03")["open"].as_bool(), all("2026-07")["open"].as_bool()), (Some(false), Some(true)));
    assert!(all("2026-03")["observed_to_expected"].is_number(), "{}", all("2026-03"));
    assert!(performance["groups"].as_array().unwrap().iter().any(|g| g["level"] == "team"), "the generated agents have teams");
    let persistency: Value = serde_json::from_slice(&fs::read(dir.join("persistency.json")).unwrap()).unwrap();
    assert_eq!(persistency["as_of"], SECOND);
    // The score log joined with the outcomes known at the night: the three renewals in July.
    let realised: Value = serde_json::from_slice(&fs::read(dir.join("realised.json")).unwrap()).unwrap();
    assert_eq!(realised["log_lines"], 3);
    let july = realised["months"].as_array().unwrap().iter().find(|m| m["dimension"] == "all").unwrap();
    assert_eq!((july["month"].as_str(), july["scored"].as_u64()), (Some("2026-07"), Some(3)));
    // Due on 2026-08-01, their grace ends in September: none has matured on 2026-07-31, so no
    // realised figure is given for them (paid or not), only the expected AUC.
    assert_eq!((july["labelled"].as_u64(), july["maturing"].as_u64(), july["matured"].as_bool()), (Some(0), Some(3), Some(false)));
    assert!(july["roc_auc"].is_null() && july["observed_lapse_rate"].is_null() && july["expected_auc"].is_number(), "{july}");
}

#[test]
fn a_night_killed_at_any_step_leaves_champion_and_snapshot_alone_and_a_rerun_completes() {
    let base = after_first_night();
    let before = base.state();
    // The same night run straight through, for comparison.
    let straight = base.copy();
    let straight_out = straight.night(SECOND);
    let code = straight_out.status.code();
    assert!(matches!(code, Some(0 | 3)), "{}", stderr(&straight_out));
    let expected = straight.state();
    let promoted = code == Some(0);

    let position = |step: &str| STEPS.iter().position(|s| *s == step).unwrap();
    for step in STEPS {
        let ws = base.copy();
        let killed = ws.crash(SECOND, step);
        assert!(!killed.status.success() && killed.status.code().is_none(), "{step}: expected a kill, got {:?}: {}", killed.status, stderr(&killed));
        let after = ws.state();
        if !promoted || position(step) <= position("promote") {
            assert_eq!(after.champion, before.champion, "killed at {step}: the champion changed");
        }
        if position(step) <= position("publish-snapshot") {
            assert!(after.snapshot == before.snapshot, "killed at {step}: the served snapshot changed");
        }
        if position(step) <= position("decision-log") {
            assert_eq!(after.decisions, before.decisions, "killed at {step}: the decision log changed");
        }
        assert_eq!(after.nights, before.nights, "killed at {step}: the night's reports were published");

        let rerun = ws.night(SECOND);
        assert_eq!(rerun.status.code(), code, "rerun after a kill at {step}: {}", stderr(&rerun));
        let finished = ws.state();
        assert_eq!(finished.champion, expected.champion, "after a kill at {step}");
        assert!(finished.snapshot == expected.snapshot, "after a kill at {step}: another snapshot");
        assert_eq!(finished.versions, expected.versions, "after a kill at {step}: the challenger was registered twice");
        assert_eq!(finished.nights, expected.nights, "after a kill at {step}");
        assert_eq!(finished.decisions, expected.decisions, "after a kill at {step}");
        assert!(!ws.reports().join(".staging").join(SECOND).exists(), "after a kill at {step}: staging left behind");
        let replayed = ws.summary(SECOND)["replayed"].as_bool().unwrap();
        assert_eq!(replayed, position(step) > position("plan"), "after a kill at {step}: replay");
    }
}

#[test]
fn two_runs_never_overlap_and_bad_input_is_rejected_with_nothing_written() {
    let ws = after_first_night().copy();
    let before = ws.state();
    // Another run holds the lock.
    let lock = fs::OpenOptions::new().write(true).open(ws.models().join(".nightly.lock")).unwrap();
    lock.lock().unwrap();
    let blocked = ws.night(SECOND);
    assert_eq!(blocked.status.code(), Some(1));
    assert!(stderr(&blocked).contains("another nightly run holds"), "{}", stderr(&blocked));
    drop(lock);
    assert_eq!(ws.state(), before);

    // An extract that stops long before the night: stale, rejected (exit 2).
    let stale = ws.night("2027-06-30");
    assert_eq!(stale.status.code(), Some(2), "{}", stderr(&stale));
    assert!(stderr(&stale).contains("looks stale"), "{}", stderr(&stale));
    assert_eq!(ws.state(), before);

    // A row that breaks the contract: rejected (exit 2), naming file, row and field.
    let broken = ws.path().join("broken");
    generate(&GenerateConfig::new(200, 3)).write(&broken, FileFormat::Csv).unwrap();
    let path = broken.join("installments.csv");
    let text = fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let due = header.iter().position(|h| *h == "due_date").unwrap();
    let mut cells: Vec<String> = lines[5].split(',').map(str::to_string).collect();
    cells[due] = "2026-02-30".into();
    lines[5] = cells.join(",");
    fs::write(&path, lines.join("\n") + "\n").unwrap();
    let rejected = ws.command_on(&broken, SECOND).output().unwrap();
    assert_eq!(rejected.status.code(), Some(2), "{}", stderr(&rejected));
    let message = stderr(&rejected);
    assert!(message.contains("installments.csv") && message.contains("due_date") && message.contains("2026-02-30"), "{message}");
    assert_eq!(ws.state(), before);
    assert!(!ws.reports().join(".staging").exists(), "a failed night leaves no staging area");

    // A quote that never closes: said in a few lines with the row, not the rest of the file
    // repeated (1 MB of stderr before, six times over in the nightly).
    let quoted = ws.path().join("quoted");
    generate(&GenerateConfig::new(3000, 4)).write(&quoted, FileFormat::Csv).unwrap();
    let path = quoted.join("policies.csv");
    let text = fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[7] = lines[7].replacen(',', ",\"", 1);
    fs::write(&path, lines.join("\n") + "\n").unwrap();
    let rejected = ws.command_on(&quoted, SECOND).output().unwrap();
    assert_eq!(rejected.status.code(), Some(2), "{}", stderr(&rejected));
    let message = stderr(&rejected);
    assert!(message.len() < 10_000, "{} bytes on stderr", message.len());
    assert!(message.contains("policies.csv") && message.contains("row 7") && message.contains("never closed"), "{message}");
    assert_eq!(ws.state(), before);
    assert!(!ws.reports().join(".staging").exists());
}

#[test]
fn a_night_tells_the_running_server_to_reload() {
    let ws = after_first_night().copy();
    let token = "nightly-admin-token-0123456789";
    let mut server = Command::new(env!("CARGO_BIN_EXE_lapse"))
        .args(["serve", "--addr", "127.0.0.1:0", "--workers", "1", "--no-score-log", "--no-store"])
        .arg("--models")
        .arg(ws.models())
        .arg("--snapshot")
        .arg(ws.reports().join("snapshot.parquet"))
        .env("LAPSE_SCORE_TOKEN", "score-token-0123456789")
        .env("LAPSE_ADMIN_TOKEN", token)
        .env("LAPSE_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let base = line.trim().strip_prefix("listening on ").unwrap().to_string();
    let current = || -> Value {
        let mut response = ureq::get(&format!("{base}/v1/models/current")).header("Authorization", "Bearer score-token-0123456789").call().unwrap();
        serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap()
    };
    assert_eq!(current()["snapshot"]["as_of"], FIRST);

    let out = ws.command(SECOND).args(["--reload-url", &base]).env("LAPSE_ADMIN_TOKEN", token).output().unwrap();
    let after = current();
    let _ = server.kill();
    let _ = server.wait();
    assert!(matches!(out.status.code(), Some(0 | 3)), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("server reloaded"), "{}", String::from_utf8_lossy(&out.stdout));
    // The server now serves tonight's snapshot with tonight's champion.
    let summary = ws.summary(SECOND);
    assert_eq!(after["snapshot"]["as_of"], SECOND);
    assert_eq!(after["snapshot"]["renewals"], summary["snapshot"]["rows"]);
    assert_eq!(after["version"], summary["champion_after"]);
    let record: Value = serde_json::from_slice(&std::fs::read(ws.reports().join(SECOND).join("reload.json")).unwrap()).unwrap();
    assert_eq!((record["reloaded"].as_bool(), record["attempts"].as_u64()), (Some(true), Some(1)));
}

#[test]
fn a_server_that_does_not_reload_is_reported_not_a_failed_night() {
    let ws = after_first_night().copy();
    // Nothing listens there: every attempt fails to connect.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = ws
        .command(SECOND)
        .args(["--reload-url", &format!("http://127.0.0.1:{port}"), "--reload-attempts", "2", "--reload-timeout-seconds", "2"])
        .env("LAPSE_ADMIN_TOKEN", "nightly-admin-token-0123456789")
        .output()
        .unwrap();
    assert!(matches!(out.status.code(), Some(0 | 3)), "the night succeeds: {}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("server NOT reloaded after 2 attempt(s)"), "{}", String::from_utf8_lossy(&out.stdout));
    let record: Value = serde_json::from_slice(&std::fs::read(ws.reports().join(SECOND).join("reload.json")).unwrap()).unwrap();
    assert_eq!((record["reloaded"].as_bool(), record["attempts"].as_u64()), (Some(false), Some(2)));
    assert!(record["seconds"].as_f64().unwrap() >= 1.0, "backed off a second between attempts: {record}");
}

#[test]
fn an_extract_the_audit_refuses_stops_the_night_with_nothing_published_and_a_looser_limit_lets_it_through() {
    let ws = after_first_night().copy();
    let before = ws.state();
    assert!(ws.reports().join("fingerprints").join(format!("{FIRST}.fp")).is_file(), "the first night kept its extract's fingerprint");
    // Tonight's extract: the same book with 1 in 40 of its renewals gone (2.5%, above the
    // default stop of 1% for vanished rows).
    let data = ws.path().join("thinned");
    generate(&GenerateConfig::new(1500, 7)).write(&data, FileFormat::Csv).unwrap();
    let path = data.join("installments.csv");
    let text = fs::read_to_string(&path).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let number = header.split(',').position(|h| h == "installment_no").unwrap();
    let (mut kept, mut dropped) = (vec![header.to_string()], 0usize);
    for (i, line) in lines.enumerate() {
        if i % 40 == 7 && line.split(',').nth(number) != Some("1") {
            dropped += 1;
        } else {
            kept.push(line.to_string());
        }
    }
    fs::write(&path, kept.join("\n") + "\n").unwrap();
    let refused = ws.command_on(&data, SECOND).output().unwrap();
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    let message = stderr(&refused);
    assert!(message.contains("data-quality audit") && message.contains("vanished on installments"), "{message}");
    assert_eq!(ws.state(), before, "champion, snapshot, registry, decisions and nights untouched");
    assert!(!ws.reports().join("fingerprints").join(format!("{SECOND}.fp")).exists(), "a refused extract is not tomorrow's reference");
    let audit: Value = serde_json::from_slice(&fs::read(ws.reports().join("rejected").join(SECOND).join("audit.json")).unwrap()).unwrap();
    let vanished = audit["checks"].as_array().unwrap().iter().find(|c| c["check"] == "vanished" && c["table"] == "installments").unwrap();
    assert_eq!(vanished["rows"].as_u64(), Some(dropped as u64));
    assert!(!vanished["examples"].as_array().unwrap().is_empty(), "the report names rows");
    assert!(audit["verdict"]["stops"][0].as_str().unwrap().starts_with("vanished on installments"), "{audit}");

    // A looser limit in [audit] of lapse.toml: the night goes on and says so.
    let config = ws.path().join("lapse.toml");
    fs::write(&config, "[audit]\nvanished = { warn = 0.0, stop = 0.5 }\n").unwrap();
    let accepted = ws.command_on(&data, SECOND).args(["--config"]).arg(&config).output().unwrap();
    assert!(matches!(accepted.status.code(), Some(0 | 3)), "{}", stderr(&accepted));
    let summary = ws.summary(SECOND);
    assert_eq!(summary["audit"]["previous_night"], FIRST);
    assert!(summary["audit"]["warnings"][0].as_str().unwrap().starts_with("vanished on installments"), "{summary}");
    let night = ws.reports().join(SECOND);
    assert!(night.join("audit.json").is_file() && night.join("audit.html").is_file());
    assert!(fs::read_to_string(night.join("index.html")).unwrap().contains("href=\"audit.html\""), "the index links the audit");
    assert!(ws.reports().join("fingerprints").join(format!("{SECOND}.fp")).is_file(), "tonight's fingerprint kept for tomorrow");
}

#[test]
fn reports_come_in_chinese_with_lang_zh_cn() {
    let ws = after_first_night().copy();
    // A score log too, so the realised-performance page and the funnel's "listed" step are drawn.
    let log_dir = ws.path().join("score-log");
    fs::create_dir_all(&log_dir).unwrap();
    fs::write(
        log_dir.join("scores-2026-07-15.jsonl"),
        "{\"time\":\"2026-07-15T08:00:00Z\",\"request_id\":\"r0\",\"endpoint\":\"score\",\"model_version\":\"v0001\",\"policy_id\":\"P-none\",\"installment_no\":2,\"due_date\":\"2026-08-01\",\"probability\":0.2,\"value\":1000.0,\"action\":\"call\",\"expected_gain\":1.0,\"rank\":1}\n",
    )
    .unwrap();
    let out = ws.command(SECOND).args(["--lang", "zh-CN"]).arg("--score-log").arg(&log_dir).output().unwrap();
    assert!(matches!(out.status.code(), Some(0 | 3)), "{}", stderr(&out));
    let night = ws.reports().join(SECOND);
    assert!(night.join("realised.html").exists(), "the realised page is drawn");
    let index = std::fs::read_to_string(night.join("index.html")).unwrap();
    assert!(index.contains("<html lang=\"zh-CN\">"), "index is marked Chinese");
    let drift = std::fs::read_to_string(night.join("drift.html")).unwrap();
    assert!(drift.contains(">特征<") && drift.contains(">数据漂移报告<"), "drift headings in Chinese");
    // No page of the night prints an English sentence: paragraphs, decision reasons, guard
    // rails, reasons and charts are written in Chinese.
    let mut pages = 0;
    for entry in std::fs::read_dir(&night).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "html") {
            pages += 1;
            let html = std::fs::read_to_string(&path).unwrap();
            let english = lapse_reports::pages::zh::english_sentences(&html);
            assert!(english.is_empty(), "{} prints English: {english:#?}", path.display());
        }
    }
    assert!(pages >= 7, "the night's pages were checked ({pages})");
}

/// `--model auto` (the default) searches the grid on the first night, trains that pick on the
/// nights within `--search-every-days` (refitted on each night's window), searches again once
/// the search is that old, and says which settings and why in the decision log and the model's
/// report.
#[test]
fn auto_searches_on_a_schedule_and_reuses_its_pick_between() {
    let ws = Workspace::new();
    let run = |night: &str| {
        let out = ws.command(night).args(["--search-every-days", "7", "--act", "1000", "--watch", "999"]).output().unwrap();
        assert!(matches!(out.status.code(), Some(0 | 3)), "{night}: {}", stderr(&out));
    };
    for night in ["2026-06-30", "2026-07-03", "2026-07-07"] {
        run(night);
    }
    let log: Vec<Value> =
        fs::read_to_string(ws.reports().join("decisions.jsonl")).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let training: Vec<&str> = log.iter().map(|l| l["training"].as_str().unwrap()).collect();
    assert!(training[0].starts_with("searched (no earlier search"), "{training:?}");
    assert!(training[1].starts_with("reused the pick of the search on 2026-06-30 (3 days before"), "{training:?}");
    assert!(training[2].starts_with("searched (the last search ran on 2026-06-30 (7 days before"), "{training:?}");
    let report = |version: &str| -> Value { serde_json::from_slice(&fs::read(ws.models().join(version).join("metrics.json")).unwrap()).unwrap() };
    let (first, second) = (report("v0001"), report("v0002"));
    assert_eq!(first["search"]["searched"], true);
    assert_eq!(second["search"]["searched"], false);
    assert_eq!(second["search"]["night"], "2026-06-30");
    assert_eq!(second["picked"], first["picked"], "the reused night trains the searched pick");
    assert!(!first["picked"].as_array().unwrap().is_empty());
    let tried = |r: &Value| r["families"].as_array().unwrap().len();
    assert!(tried(&second) < tried(&first), "the reused night fits only the pick: {} vs {} settings", tried(&second), tried(&first));
}
