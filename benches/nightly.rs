//! Nightly-job benchmark: the real `lapse nightly` binary on a 1,000,000-policy CSV book (the
//! feature benchmark's book, seed 2026, extract date 2026-09-30): a first night (no champion
//! yet), the next month's night (a challenger judged against that champion), and the second
//! night run again (idempotent: reports it is done). Wall time and peak RSS of each run, and the
//! second night's steps from its `nightly.json`.
//!
//! Run: `cargo bench --bench nightly` (release build). Target: a night under 15 minutes.
//! `LAPSE_BENCH_POLICIES` changes the book size (default 1,000,000).

#[path = "common/mod.rs"]
mod common;

use std::process::Command;

use common::{book, measure};

fn main() {
    let policies: usize = std::env::var("LAPSE_BENCH_POLICIES").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let root = common::bench_root();
    let data = book(&root, policies);
    let work = root.join(format!("nightly-{policies}"));
    let _ = std::fs::remove_dir_all(&work);
    let bin = env!("CARGO_BIN_EXE_lapse");
    let night = |as_of: &str| {
        let m = measure(
            Command::new(bin)
                .args(["nightly", "--as-of", as_of, "--data"])
                .arg(&data)
                .arg("--models")
                .arg(work.join("models"))
                .arg("--out")
                .arg(work.join("reports"))
                .env("LAPSE_LOG", "info"),
        );
        assert!(m.exit_code == 0 || m.exit_code == 3, "lapse nightly {as_of} failed ({}):\n{}", m.exit_code, m.stderr);
        m
    };
    println!("| night | outcome | wall s | peak RSS MiB |\n|---|---|---|---|");
    for (as_of, label) in
        [("2026-08-31", "first night (no champion)"), ("2026-09-30", "next night (challenger vs champion)"), ("2026-09-30", "same night again")]
    {
        let m = night(as_of);
        let outcome = if m.exit_code == 0 { "promoted" } else { "champion kept" };
        println!("| {as_of}: {label} | {outcome} (exit {}) | {:.1} | {:.0} |", m.exit_code, m.seconds, m.max_rss_mib);
    }
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(work.join("reports/2026-09-30/nightly.json")).expect("summary")).expect("json");
    println!("\nsteps of the 2026-09-30 night (nightly.json):\n\n| step | s |\n|---|---|");
    for step in summary["steps"].as_array().expect("steps") {
        println!("| {} | {:.1} |", step["step"].as_str().unwrap_or("?"), step["seconds"].as_f64().unwrap_or(f64::NAN));
    }
    let t = &summary["training"];
    println!(
        "\nsnapshot {} renewals; training {} labelled rows ({} train, {} held out) from {} snapshots; challenger {} AUC {:.4} log loss {:.4}; champion {}; decision: {}",
        summary["snapshot"]["rows"],
        t["rows_labelled"],
        t["rows_train"],
        t["rows_validation"],
        t["snapshots"].as_array().map_or(0, Vec::len),
        summary["challenger"]["version"],
        summary["challenger"]["roc_auc"].as_f64().unwrap_or(f64::NAN),
        summary["challenger"]["log_loss"].as_f64().unwrap_or(f64::NAN),
        summary["champion"]["version"],
        summary["decision"]["reasons"][0]
    );
}
