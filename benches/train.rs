//! Trainer benchmark (release): model quality and fit time.
//!
//! Run: `cargo bench --bench train`. Parts:
//! 1. eudirectlapse (`../shared/data/eudirectlapse.csv`, or `$LAPSE_EUDIRECT`), 5 folds on its
//!    `fold` column: every family, and the Python peers (`benches/peers.py`, scikit-learn) on
//!    the same folds in the same run when python3 with scikit-learn is available.
//! 2. A generated book (60,000 policies, 24 monthly snapshots): out-of-time AUC of each family
//!    and the calibrated ECE of gradient boosting.
//! 3. Fit time on over 1,000,000 feature rows (1,000,000-policy book, 8 monthly snapshots):
//!    boosting and the forest fitted once on every labelled row. The logistic model is left out
//!    here: linfa-logistic needs minutes at this size (see BENCHMARKS.md).
//!
//! `LAPSE_BENCH_PARTS=3` (or `1,2`) runs only some parts.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use lapse_core::dates::{Step, date_series, parse_day};
use lapse_core::extract::read::FileFormat;
use lapse_core::extract::{OnError, load_book};
use lapse_core::features::BuildPlan;
use lapse_core::generate::{GenerateConfig, generate};
use lapse_model::train::{Dataset, DatasetOptions, Family, TrainConfig, train};

fn print_families(title: &str, outcome: &lapse_model::train::TrainOutcome, seconds: f64) {
    println!("\n{title} ({}; {} rows, total {seconds:.1} s)", outcome.report.validation_detail, outcome.report.rows_labelled);
    println!(
        "| family | ROC AUC | log loss | ECE (raw) | ECE (calibrated) | calibration | fit+predict s (all folds) |\n|---|---|---|---|---|---|---|"
    );
    for f in &outcome.report.families {
        println!(
            "| {} {}{} | {:.4} | {:.4} | {:.4} | {:.4} | {:?} | {:.2} |",
            f.family.as_str(),
            if f.family == lapse_model::train::Family::Blend { "" } else { &f.setting },
            if f.family == outcome.report.chosen && (f.family == lapse_model::train::Family::Blend || f.setting == outcome.report.chosen_setting) {
                " (kept)"
            } else {
                ""
            },
            f.roc_auc.unwrap_or(f64::NAN),
            f.log_loss,
            f.raw_ece,
            f.ece,
            f.calibration,
            f.fit_seconds
        );
    }
}

fn stacked_table(root: &Path, policies: usize, from: &str, to: &str) -> PathBuf {
    let out = root.join(format!("train-{policies}-{from}-{to}.parquet"));
    if out.exists() {
        return out;
    }
    let book_dir = root.join(format!("book-{policies}"));
    if !book_dir.join("installments.csv").exists() {
        generate(&GenerateConfig::new(policies, 2026)).write(&book_dir, FileFormat::Csv).expect("write book");
    }
    let loaded = load_book(&book_dir, OnError::Strict).expect("valid book");
    let dates = date_series(parse_day(from).unwrap(), parse_day(to).unwrap(), Step::Months(1));
    BuildPlan { as_of: dates, horizon_days: 30, grace_days: 60, extract_date: parse_day("2026-09-30").unwrap() }
        .write(&loaded.book, &out)
        .expect("write training table");
    out
}

fn main() {
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let root = PathBuf::from(target).join("bench-books");
    std::fs::create_dir_all(&root).unwrap();

    let parts = std::env::var("LAPSE_BENCH_PARTS").unwrap_or_else(|_| "1,2,3".into());
    let part = |n: &str| parts.split(',').any(|p| p.trim() == n);

    // 1. eudirectlapse.
    let eudirect = std::env::var("LAPSE_EUDIRECT")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/eudirectlapse.csv"));
    if !part("1") {
    } else if eudirect.exists() {
        let options = DatasetOptions { label: Some("lapse".into()), ..Default::default() };
        // The logistic family as `lapse train --model logistic` runs it: read the CSV, 5 folds,
        // calibration, the refit on every row (all but process start and registering).
        let started = Instant::now();
        let data = Dataset::read(&eudirect, &options).unwrap();
        let logistic = train(&data, &TrainConfig { families: vec![Family::Logistic], ..TrainConfig::default() }).unwrap();
        println!(
            "eudirectlapse, logistic: read + 5 folds + refit {:.2} s, ROC AUC {:.4}, log loss {:.5}",
            started.elapsed().as_secs_f64(),
            logistic.report.roc_auc.unwrap_or(f64::NAN),
            logistic.report.log_loss
        );
        let started = Instant::now();
        let outcome = train(&data, &TrainConfig { search: true, blend: true, ..TrainConfig::default() }).unwrap();
        print_families("eudirectlapse, --model auto (search and blend)", &outcome, started.elapsed().as_secs_f64());
        if let Some(selection) = &outcome.report.selection {
            println!(
                "\nkept: {}; judged on rows that did not choose it: ROC AUC {:.4}, log loss {:.4}",
                outcome.report.chosen_setting,
                selection.roc_auc.unwrap_or(f64::NAN),
                selection.log_loss
            );
        }
        let peers = Command::new("python3").arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/peers.py")).arg(&eudirect).arg("lapse").output();
        match peers {
            Ok(out) if out.status.success() => {
                println!("\nPython peers, same folds, same run:\n| model | ROC AUC | log loss | fit+predict s (all folds) |\n|---|---|---|---|");
                for line in String::from_utf8_lossy(&out.stdout).lines() {
                    let v: serde_json::Value = serde_json::from_str(line).unwrap();
                    println!(
                        "| {} | {:.4} | {:.4} | {:.2} |",
                        v["model"].as_str().unwrap(),
                        v["roc_auc"].as_f64().unwrap(),
                        v["log_loss"].as_f64().unwrap(),
                        v["seconds"].as_f64().unwrap()
                    );
                }
            }
            Ok(out) => println!("\n(python peers failed: {})", String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or_default()),
            Err(e) => println!("\n(python peers not run: {e})"),
        }
    } else {
        println!("eudirectlapse not found at {}: part 1 skipped", eudirect.display());
    }

    // 2. A generated book, out-of-time.
    if part("2") {
        let table = stacked_table(&root, 60_000, "2024-07-31", "2026-06-30");
        let data = Dataset::read(&table, &DatasetOptions::default()).unwrap();
        let started = Instant::now();
        let outcome = train(&data, &TrainConfig::default()).unwrap();
        print_families("generated book, 60,000 policies, 24 monthly snapshots, --model auto", &outcome, started.elapsed().as_secs_f64());
    }
    if !part("3") {
        return;
    }

    // 3. About a million feature rows.
    let table = stacked_table(&root, 1_000_000, "2025-11-30", "2026-06-30");
    let started = Instant::now();
    let data = Dataset::read(&table, &DatasetOptions::default()).unwrap();
    let read = started.elapsed().as_secs_f64();
    println!("\n1M-row table: {} labelled rows x {} features, read in {read:.1} s", data.len(), data.features.len());
    let rows: Vec<usize> = (0..data.len()).collect();
    let params = lapse_model::train::Params::default();
    for family in [Family::Gbdt, Family::Forest] {
        let started = Instant::now();
        let schema = lapse_model::encode::FeatureSchema::fit(&data, &rows, params.min_level_count);
        let design = schema.design(&data, &rows, family.style());
        let prepared = started.elapsed().as_secs_f64();
        let estimator = lapse_model::train::Estimator::fit(family, &params, &design, &data.labels).unwrap();
        let fitted = started.elapsed().as_secs_f64();
        let p = estimator.predict(&design);
        println!(
            "| {} | {} rows x {} columns | schema + design {:.1} s | fit {:.1} s | predict all rows {:.1} s | in-sample AUC {:.4} (not a quality figure) |",
            family.as_str(),
            design.rows,
            design.cols(),
            prepared,
            fitted - prepared,
            started.elapsed().as_secs_f64() - fitted,
            lapse_model::metrics::roc_auc(&data.labels, &p).unwrap_or(f64::NAN)
        );
    }
}
