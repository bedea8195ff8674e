//! Feature-builder benchmark: generates books of 200,000 and 1,000,000 policies (CSV), then runs
//! the real `lapse features` binary on them and reports wall time and peak memory (max RSS of the
//! child process, from `wait4`).
//!
//! Run: `cargo bench --bench features` (release build). Books are cached under
//! `$CARGO_TARGET_DIR/bench-books` (or `target/bench-books`); delete it to regenerate.

#[path = "common/mod.rs"]
mod common;

use std::process::Command;

use common::{book, measure};

fn stage_lines(stderr: &str) -> String {
    stderr
        .lines()
        .filter(|l| l.contains("extract loaded") || l.contains(" done "))
        .map(|l| format!("    {}", l.split("INFO ").nth(1).unwrap_or(l)))
        .collect::<Vec<_>>()
        .join("\n")
}

fn main() {
    let root = common::bench_root();
    let bin = env!("CARGO_BIN_EXE_lapse");
    println!("| book | snapshots | rows | wall s | peak RSS MiB |\n|---|---|---|---|---|");
    let runs: [(usize, &str, &str); 3] =
        [(200_000, "2024-08-31..2026-06-30", "23 monthly"), (1_000_000, "2026-06-30", "1"), (1_000_000, "2024-07-31..2026-06-30", "24 monthly")];
    let mut notes = Vec::new();
    for (policies, as_of, label) in runs {
        let data = book(&root, policies);
        let out = root.join(format!("features-{policies}-{}.parquet", label.replace(' ', "-")));
        let m = measure(Command::new(bin).args(["features", "--data"]).arg(&data).args(["--as-of", as_of, "--every", "1mo", "--out"]).arg(&out));
        assert_eq!(m.exit_code, 0, "lapse features failed:\n{}", m.stderr);
        let rows = m
            .stderr
            .lines()
            .filter(|l| l.contains("snapshot built"))
            .filter_map(|l| l.split("rows=").nth(1)?.split(' ').next()?.parse::<usize>().ok())
            .sum::<usize>();
        println!("| {policies} policies | {label} | {rows} | {:.2} | {:.0} |", m.seconds, m.max_rss_mib);
        notes.push(format!("  {policies} policies, {label}:\n{}", stage_lines(&m.stderr)));
    }
    println!("\nstages (from the binary's logs):\n{}", notes.join("\n"));
}
