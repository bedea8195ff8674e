//! Accuracy is guarded: `lapse train --model auto --validation kfold` on the committed sample
//! book's monthly snapshots must keep its out-of-fold ROC AUC and log loss (judged on rows that
//! chose nothing) within a small tolerance of the figures pinned here, so a speed change in
//! the learners that quietly loses accuracy fails the suite. The public-data guard, with every
//! family and `auto` on eudirectlapse and small interacting tables, is `cargo bench --bench
//! accuracy` (BENCHMARKS.md).

use serde_json::Value;

/// Measured on this code (2026-12-06): 5 folds, 5,029 renewal rows from 11 snapshots.
const PINNED_ROC_AUC: f64 = 0.8722;
const PINNED_LOG_LOSS: f64 = 0.2850;
/// Room for floating-point differences between machines (the fit is deterministic on one).
const TOLERANCE_AUC: f64 = 0.002;
const TOLERANCE_LOG_LOSS: f64 = 0.002;

fn run(args: &[&str]) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lapse")).args(args).env("LAPSE_LOG", "warn").output().unwrap();
    assert!(out.status.success(), "lapse {args:?}:\n{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn auto_keeps_its_out_of_fold_accuracy_on_the_committed_sample() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let book = concat!(env!("CARGO_MANIFEST_DIR"), "/training-data-samples/book");
    run(&["features", "--data", book, "--as-of", "2025-08-31..2026-06-30", "--every", "1mo", "--out", &p("train.parquet")]);
    run(&["train", "--features", &p("train.parquet"), "--model", "auto", "--validation", "kfold", "--models", &p("models")]);
    let metrics: Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("models/v0001/metrics.json")).unwrap()).unwrap();
    assert_eq!(metrics["rows_labelled"], 5029, "the committed sample changed: measure and pin again");
    let (auc, log_loss) = (metrics["roc_auc"].as_f64().unwrap(), metrics["log_loss"].as_f64().unwrap());
    assert!(auc >= PINNED_ROC_AUC - TOLERANCE_AUC, "out-of-fold ROC AUC {auc:.4} fell below the pinned {PINNED_ROC_AUC} - {TOLERANCE_AUC}");
    assert!(
        log_loss <= PINNED_LOG_LOSS + TOLERANCE_LOG_LOSS,
        "out-of-fold log loss {log_loss:.4} rose above the pinned {PINNED_LOG_LOSS} + {TOLERANCE_LOG_LOSS}"
    );
    // A gain is welcome, and is pinned by hand: a figure far above the pin means the pin is old.
    assert!(auc < PINNED_ROC_AUC + 0.02, "ROC AUC {auc:.4}: better than pinned by a lot; pin the new figure");
}
