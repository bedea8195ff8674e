//! Campaign benchmark: the real binary's `lapse queue` on a 1,000,000-renewal snapshot (a
//! campaign with a 20% holdout, every renewal listed; and a per-action list) and `lapse effect`
//! for that million-row campaign against its extract. Wall time and peak RSS per run.
//!
//! Data (generated once, cached in `$CARGO_TARGET_DIR/bench-books/campaign`): a 2,500,000-policy
//! Parquet book (seed 1), its snapshot at 2026-09-01 with a 365-day horizon (about a million
//! renewals at risk, as `benches/serve/run.sh` builds it), and a gbdt champion trained on a
//! 60,000-policy book's 12 monthly snapshots. The effect runs against the 2,500,000-policy
//! extract the campaign was drawn from (the target names a 1,000,000-policy extract: a bigger
//! one only costs more).
//!
//! Run: `cargo bench --bench campaign`. Targets: queue < 10 s, effect < 20 s.

#[path = "common/mod.rs"]
mod common;

use std::path::Path;

use common::run_ok as run;

fn prepare(bin: &str, work: &Path) {
    let p = |name: &str| work.join(name).to_str().expect("utf-8 path").to_string();
    if !work.join("book/policies.parquet").exists() {
        let m = run(bin, &["generate", "--policies", "2500000", "--seed", "1", "--format", "parquet", "--out", &p("book")], "generate");
        println!("generated the 2,500,000-policy book in {:.1} s", m.seconds);
    }
    if !work.join("snapshot-1m.parquet").exists() {
        let m = run(
            bin,
            &["features", "--data", &p("book"), "--as-of", "2026-09-01", "--horizon-days", "365", "--out", &p("snapshot-1m.parquet")],
            "features",
        );
        println!("built the snapshot in {:.1} s", m.seconds);
    }
    common::small_champion(bin, work);
}

fn main() {
    let work = common::bench_root().join("campaign");
    std::fs::create_dir_all(&work).expect("bench dir");
    let bin = env!("CARGO_BIN_EXE_lapse");
    prepare(bin, &work);
    let p = |name: &str| work.join(name).to_str().expect("utf-8 path").to_string();
    let _ = std::fs::remove_dir_all(work.join("campaigns"));
    let renewals = lapse_core::table::read_frame(&work.join("snapshot-1m.parquet")).map(|(df, _)| df.height()).unwrap_or(0);
    println!("snapshot: {renewals} renewals\n");
    println!("| run | wall s | peak RSS MiB | target |\n|---|---|---|---|");
    let queue_all = run(
        bin,
        &[
            "queue",
            "--models",
            &p("models"),
            "--snapshot",
            &p("snapshot-1m.parquet"),
            "--capacity",
            "100000000",
            "--include-no-action",
            "--holdout",
            "0.2",
            "--campaign",
            "bench",
            "--campaigns",
            &p("campaigns"),
            "--out",
            &p("campaign.parquet"),
        ],
        "queue",
    );
    println!(
        "| `lapse queue`, every renewal listed, 20% holdout -> campaign.parquet | {:.2} | {:.0} | < 10 s |",
        queue_all.seconds, queue_all.max_rss_mib
    );
    let queue_capacity = run(
        bin,
        &[
            "queue",
            "--models",
            &p("models"),
            "--snapshot",
            &p("snapshot-1m.parquet"),
            "--capacity",
            "visit=5000,call=20000,sms=100000",
            "--out",
            &p("worklist.csv"),
        ],
        "queue",
    );
    println!(
        "| `lapse queue`, visit=5000,call=20000,sms=100000 -> worklist.csv | {:.2} | {:.0} | < 10 s |",
        queue_capacity.seconds, queue_capacity.max_rss_mib
    );
    let rows = lapse_core::table::read_frame(&work.join("campaign.parquet")).map(|(df, _)| df.height()).unwrap_or(0);
    let effect = run(bin, &["effect", "--campaign", &p("campaign.parquet"), "--data", &p("book"), "--out", &p("effect.json")], "effect");
    println!("| `lapse effect`, {rows} campaign rows vs the 2,500,000-policy extract | {:.2} | {:.0} | < 20 s |", effect.seconds, effect.max_rss_mib);
}
