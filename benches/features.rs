//! Feature-builder benchmark: generates books of 200,000 and 1,000,000 policies (CSV), then runs
//! the real `lapse features` binary on them and reports wall time and peak memory (max RSS of the
//! child process, from `wait4`).
//!
//! Run: `cargo bench --bench features` (release build). Books are cached under
//! `$CARGO_TARGET_DIR/bench-books` (or `target/bench-books`); delete it to regenerate.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use lapse::extract::read::FileFormat;
use lapse::generate::{generate, GenerateConfig};

struct Measured {
    seconds: f64,
    max_rss_mib: f64,
    stderr: String,
}

/// Runs the command and waits for it with `wait4`, which reports the child's peak RSS.
fn measure(command: &mut Command) -> Measured {
    let started = Instant::now();
    let child = command.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawn lapse");
    let pid = child.id() as libc::pid_t;
    let stderr_pipe = child.stderr;
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = stderr_pipe {
            std::io::Read::read_to_string(&mut pipe, &mut text).ok();
        }
        text
    });
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child; `usage` is a valid out-pointer.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4 failed");
    let seconds = started.elapsed().as_secs_f64();
    let stderr = reader.join().unwrap();
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "lapse failed:\n{stderr}");
    Measured { seconds, max_rss_mib: usage.ru_maxrss as f64 / 1024.0, stderr }
}

fn book(root: &Path, policies: usize) -> PathBuf {
    let dir = root.join(format!("book-{policies}"));
    if dir.join("installments.csv").exists() {
        return dir;
    }
    let started = Instant::now();
    let book = generate(&GenerateConfig::new(policies, 2026));
    book.write(&dir, FileFormat::Csv).expect("write book");
    let size: u64 = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().metadata().unwrap().len()).sum();
    println!(
        "generated {policies} policies: {} installments, {} events, {:.0} MiB of CSV in {:.1} s",
        book.installments.len(),
        book.events.len(),
        size as f64 / 1048576.0,
        started.elapsed().as_secs_f64()
    );
    dir
}

fn stage_lines(stderr: &str) -> String {
    stderr
        .lines()
        .filter(|l| l.contains("extract loaded") || l.contains(" done "))
        .map(|l| format!("    {}", l.split("INFO ").nth(1).unwrap_or(l)))
        .collect::<Vec<_>>()
        .join("\n")
}

fn main() {
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let root = PathBuf::from(target).join("bench-books");
    let bin = env!("CARGO_BIN_EXE_lapse");
    println!("| book | snapshots | rows | wall s | peak RSS MiB |\n|---|---|---|---|---|");
    let runs: [(usize, &str, &str); 3] = [
        (200_000, "2024-08-31..2026-06-30", "23 monthly"),
        (1_000_000, "2026-06-30", "1"),
        (1_000_000, "2024-07-31..2026-06-30", "24 monthly"),
    ];
    let mut notes = Vec::new();
    for (policies, as_of, label) in runs {
        let data = book(&root, policies);
        let out = root.join(format!("features-{policies}-{}.parquet", label.replace(' ', "-")));
        let m = measure(Command::new(bin).args(["features", "--data"]).arg(&data).args(["--as-of", as_of, "--every", "1mo", "--out"]).arg(&out));
        let rows = m.stderr.lines().filter(|l| l.contains("snapshot built")).filter_map(|l| l.split("rows=").nth(1)?.split(' ').next()?.parse::<usize>().ok()).sum::<usize>();
        println!("| {policies} policies | {label} | {rows} | {:.2} | {:.0} |", m.seconds, m.max_rss_mib);
        notes.push(format!("  {policies} policies, {label}:\n{}", stage_lines(&m.stderr)));
    }
    println!("\nstages (from the binary's logs):\n{}", notes.join("\n"));
}
