//! Team-performance benchmark: the real binary's `lapse performance` on a 1,000,000-policy
//! Parquet book, twelve due months, by agent (and, as a second run, every level with the
//! risk adjustment: twelve month-start snapshots scored by a champion). Wall time and peak RSS
//! of the whole process, loading the extract included.
//!
//! Data (generated once, cached in `$CARGO_TARGET_DIR/bench-books/performance`): the book
//! (seed 7, `--agent-skill-sd 0.3`), and a gbdt champion trained on a 60,000-policy book's
//! monthly snapshots.
//!
//! Run: `cargo bench --bench performance`. Target: 12 months by agent < 10 s.

#[path = "common/mod.rs"]
mod common;

use std::path::Path;

use common::run_ok as run;

fn prepare(bin: &str, work: &Path) {
    let p = |name: &str| work.join(name).to_str().expect("utf-8 path").to_string();
    if !work.join("book/policies.parquet").exists() {
        let m = run(
            bin,
            &["generate", "--policies", "1000000", "--seed", "7", "--agent-skill-sd", "0.3", "--format", "parquet", "--out", &p("book")],
            "generate",
        );
        println!("generated the 1,000,000-policy book in {:.1} s", m.seconds);
    }
    common::small_champion(bin, work);
}

fn main() {
    let work = common::bench_root().join("performance");
    std::fs::create_dir_all(&work).expect("bench dir");
    let bin = env!("CARGO_BIN_EXE_lapse");
    prepare(bin, &work);
    let p = |name: &str| work.join(name).to_str().expect("utf-8 path").to_string();
    let months = "2025-08..2026-07";
    println!("| run | wall s | peak RSS MiB | target |\n|---|---|---|---|");
    let by_agent = run(
        bin,
        &[
            "performance",
            "--data",
            &p("book"),
            "--as-of",
            "2026-10-01",
            "--months",
            months,
            "--by",
            "agent",
            "--out",
            &p("agent.json"),
            "--csv",
            &p("agent.csv"),
        ],
        "performance",
    );
    println!("| `lapse performance`, 12 months by agent (+ incentive CSV) | {:.2} | {:.0} | < 10 s |", by_agent.seconds, by_agent.max_rss_mib);
    let all_levels = run(
        bin,
        &["performance", "--data", &p("book"), "--as-of", "2026-10-01", "--months", months, "--out", &p("all.json"), "--html", &p("all.html")],
        "performance",
    );
    println!("| `lapse performance`, 12 months, every level, JSON + HTML | {:.2} | {:.0} | |", all_levels.seconds, all_levels.max_rss_mib);
    let risk = run(
        bin,
        &["performance", "--data", &p("book"), "--as-of", "2026-10-01", "--months", months, "--models", &p("models"), "--out", &p("risk.json")],
        "performance",
    );
    println!(
        "| `lapse performance`, 12 months, every level, risk-adjusted (12 snapshots scored) | {:.2} | {:.0} | |",
        risk.seconds, risk.max_rss_mib
    );
}
