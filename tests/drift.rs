//! Drift on generated books: a deliberate shift is flagged, nothing else is.

use std::fs;
use std::path::Path;

use lapse_core::extract::read::FileFormat;
use lapse_core::extract::{OnError, load_book};
use lapse_core::features::BuildPlan;
use lapse_core::generate::{GenerateConfig, generate};
use lapse_core::table::read_features;
use lapse_model::drift::{Reference, Thresholds};

use crate::common::day;

/// Rewrites `column` of the policies table: each row where `pick` says so gets `to`.
fn rewrite_policies(dir: &Path, column: &str, mut pick: impl FnMut(usize, &str) -> bool, to: &str) -> usize {
    let path = dir.join("policies.csv");
    let text = fs::read_to_string(&path).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let at = header.split(',').position(|c| c == column).unwrap();
    let mut changed = 0;
    let mut out = vec![header.to_string()];
    for (i, line) in lines.enumerate() {
        let mut cells: Vec<String> = line.split(',').map(str::to_string).collect();
        if pick(i, &cells[at]) {
            cells[at] = to.to_string();
            changed += 1;
        }
        out.push(cells.join(","));
    }
    fs::write(&path, out.join("\n") + "\n").unwrap();
    changed
}

fn snapshot(book: &Path, out: &Path) {
    let loaded = load_book(book, OnError::Strict).unwrap();
    BuildPlan { as_of: vec![day("2026-06-30")], horizon_days: 30, grace_days: 60, extract_date: day("2026-09-30") }.write(&loaded.book, out).unwrap();
}

#[test]
fn a_shifted_payment_method_and_a_new_channel_are_flagged_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let generated = generate(&GenerateConfig::new(4000, 21));
    let (original, shifted) = (dir.path().join("original"), dir.path().join("shifted"));
    generated.write(&original, FileFormat::Csv).unwrap();
    generated.write(&shifted, FileFormat::Csv).unwrap();
    // 60% of auto-debit policies move to cash; a third of bancassurance is relabelled as a
    // channel the reference never saw.
    let moved = rewrite_policies(&shifted, "payment_method", |i, v| v == "auto_debit" && i % 5 < 3, "cash");
    let relabelled = rewrite_policies(&shifted, "channel", |i, v| v == "bancassurance" && i % 3 == 0, "livestream");
    assert!(moved > 300 && relabelled > 100, "{moved} {relabelled}");
    snapshot(&original, &dir.path().join("reference.parquet"));
    snapshot(&shifted, &dir.path().join("current.parquet"));

    let reference = Reference::fit(&read_features(&dir.path().join("reference.parquet")).unwrap());
    let report = reference.compare(&read_features(&dir.path().join("current.parquet")).unwrap(), Thresholds::default());
    assert!(report.missing_features.is_empty());
    assert_eq!(report.features.len(), lapse_core::features::catalog::FEATURES.len());
    let mut flagged = report.flagged.clone();
    flagged.sort();
    assert_eq!(flagged, ["channel", "payment_method"], "{:#?}", &report.features[..4]);
    let channel = report.features.iter().find(|f| f.feature == "channel").unwrap();
    assert!(channel.unseen_share.unwrap() > 0.02, "{channel:?}");
    assert_eq!(report.features[0].feature, "payment_method", "ranked by PSI");
    assert_eq!(report.features[0].status, lapse_model::drift::Status::Act);
    for f in report.features.iter().filter(|f| !flagged.contains(&f.feature)) {
        assert!(f.psi < 1e-9, "{} drifted without a shift: {f:?}", f.feature);
    }
}

#[test]
fn a_registered_model_carries_its_reference_and_drift_reports_the_score() {
    use std::process::Command;
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name).display().to_string();
    let lapse = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_lapse")).args(args).env("LAPSE_LOG", "warn").output().unwrap();
        assert!(out.status.success(), "lapse {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    lapse(&["generate", "--policies", "2500", "--seed", "4", "--out", &p("book")]);
    lapse(&["features", "--data", &p("book"), "--as-of", "2025-09-30..2026-02-28", "--every", "1mo", "--out", &p("train.parquet")]);
    lapse(&["features", "--data", &p("book"), "--as-of", "2026-06-30", "--out", &p("today.parquet")]);
    lapse(&["train", "--features", &p("train.parquet"), "--model", "gbdt", "--models", &p("models")]);
    assert!(dir.path().join("models/v0001/reference.json").exists());
    let printed = lapse(&[
        "drift",
        "--model",
        "champion",
        "--models",
        &p("models"),
        "--current",
        &p("today.parquet"),
        "--out",
        &p("drift.json"),
        "--html",
        &p("drift.html"),
    ]);
    assert!(printed.contains("features flagged"), "{printed}");
    let page = fs::read_to_string(dir.path().join("drift.html")).unwrap();
    assert!(page.contains("<svg") && page.contains("model score: PSI") && !page.contains("chart not drawn"), "the HTML page");
    // The persistency report as a page too.
    lapse(&["persistency", "--data", &p("book"), "--as-of", "2026-06-30", "--html", &p("persistency.html")]);
    let page = fs::read_to_string(dir.path().join("persistency.html")).unwrap();
    assert!(page.contains("persistency by issue year") && page.contains("<svg") && !page.contains("chart not drawn"));
    let report: serde_json::Value = serde_json::from_slice(&fs::read(dir.path().join("drift.json")).unwrap()).unwrap();
    let features = report["features"].as_array().unwrap();
    assert_eq!(features.len(), lapse_core::features::catalog::FEATURES.len() + 1, "every feature and the score");
    let score = features.iter().find(|f| f["feature"] == "score").expect("the score's drift");
    assert!(score["psi"].as_f64().unwrap() >= 0.0 && score["ks"].as_f64().unwrap() <= 1.0);
    let psis: Vec<f64> = features.iter().map(|f| f["psi"].as_f64().unwrap()).collect();
    assert!(psis.windows(2).all(|w| w[0] >= w[1]), "ranked by PSI");
    // Either a table or a model, not both.
    let both = Command::new(env!("CARGO_BIN_EXE_lapse"))
        .args(["drift", "--model", "champion", "--reference", &p("train.parquet"), "--current", &p("today.parquet")])
        .output()
        .unwrap();
    assert!(!both.status.success());
}
