//! Console benchmark (issue 27): three years of nightly reports (1,095 nights: the reports of
//! a real night on a 20,000-policy book with a score log, hard-linked under every date), read
//! into the console's history once, refreshed, and each page rendered from memory.
//!
//! Run: `cargo bench --bench console`. Target: every page < 200 ms (exits 1 above it); a refresh
//! with nothing new reads no night.

#[path = "common/mod.rs"]
mod common;

use std::path::Path;
use std::time::Instant;

use common::run_ok as run;
use lapse_reports::history::History;
use lapse_reports::pages::Context;
use lapse_reports::pages::history::{book_page, campaigns_page, console_index, drift_over_time_page, model_page};

const NIGHTS: i32 = 1095;

fn prepare(bin: &str, work: &Path) {
    let p = |name: &str| work.join(name).to_str().expect("utf-8 path").to_string();
    if work.join("reports-3y").join("2026-09-30").join("nightly.json").exists() {
        return;
    }
    run(bin, &["generate", "--policies", "20000", "--seed", "9", "--out", &p("book")], "generate");
    std::fs::create_dir_all(work.join("score-log")).expect("score log dir");
    for night in ["2026-08-31", "2026-09-30"] {
        let m = common::measure(std::process::Command::new(bin).args([
            "nightly",
            "--data",
            &p("book"),
            "--models",
            &p("models"),
            "--out",
            &p("reports"),
            "--as-of",
            night,
            "--score-log",
            &p("score-log"),
        ]));
        assert!(matches!(m.exit_code, 0 | 3), "nightly {night}: {}", m.stderr);
    }
    // The last night, under every date of three years.
    let source = work.join("reports").join("2026-09-30");
    let last = lapse_core::dates::parse_day("2026-09-30").expect("a date");
    for k in 0..NIGHTS {
        let night = lapse_core::dates::format_day(last - k);
        let dir = work.join("reports-3y").join(&night);
        std::fs::create_dir_all(&dir).expect("night dir");
        for entry in std::fs::read_dir(&source).expect("the night") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "json") {
                let target = dir.join(path.file_name().expect("a name"));
                if !target.exists() {
                    std::fs::hard_link(&path, &target).or_else(|_| std::fs::copy(&path, &target).map(|_| ())).expect("link");
                }
            }
        }
    }
}

fn main() {
    let work = common::bench_root().join("console");
    std::fs::create_dir_all(&work).expect("bench dir");
    let bin = env!("CARGO_BIN_EXE_lapse");
    prepare(bin, &work);
    let reports = work.join("reports-3y");
    let started = Instant::now();
    let mut history = History::open(&reports);
    let open_s = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let read = history.refresh();
    let refresh_ms = started.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(read, 0, "a refresh with nothing new reads no night");
    println!("{} nights read in {open_s:.2} s; a refresh with nothing new: {refresh_ms:.1} ms", history.nights().len());
    let context = Context { night: "2026-09-30".into(), generated_at: "bench".into(), lang: Default::default() };
    let pages: [(&str, &dyn Fn() -> String); 5] = [
        ("index", &|| console_index(&context, &history).into_string()),
        ("model", &|| model_page(&context, &history).into_string()),
        ("drift", &|| drift_over_time_page(&context, &history).into_string()),
        ("book", &|| book_page(&context, &history).into_string()),
        ("campaigns", &|| campaigns_page(&context, &history).into_string()),
    ];
    println!("| page | bytes | slowest of 5 renders, ms | target |\n|---|---|---|---|");
    let mut over = false;
    for (name, render) in pages {
        let mut slowest = 0.0f64;
        let mut bytes = 0;
        for _ in 0..5 {
            let started = Instant::now();
            bytes = render().len();
            slowest = slowest.max(started.elapsed().as_secs_f64() * 1000.0);
        }
        over |= slowest >= 200.0;
        println!("| {name} | {bytes} | {slowest:.1} | < 200 |");
    }
    if over {
        eprintln!("a page took 200 ms or more");
        std::process::exit(1);
    }
}
