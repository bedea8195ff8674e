//! What the benchmarks that run the real binary share: cached generated books and a runner
//! that measures wall time and peak memory of the child process.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use lapse_core::extract::read::FileFormat;
use lapse_core::generate::{GenerateConfig, generate};

/// Where benchmark books and outputs are cached: `$CARGO_TARGET_DIR/bench-books`.
pub fn bench_root() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    PathBuf::from(target).join("bench-books")
}

/// A finished child process: wall time, peak RSS, its stderr and exit code.
pub struct Measured {
    pub seconds: f64,
    pub max_rss_mib: f64,
    pub stderr: String,
    pub exit_code: i32,
}

/// Runs the command and waits for it with `wait4`, which reports the child's peak RSS.
// The child is reaped by `wait4` below, which clippy does not see.
#[allow(clippy::zombie_processes)]
#[allow(unsafe_code)] // wait4: the only way to read a child's peak RSS (std gives none)
pub fn measure(command: &mut Command) -> Measured {
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
    // SAFETY: rusage is plain data; all-zero is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child; `usage` is a valid out-pointer.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4 failed");
    let seconds = started.elapsed().as_secs_f64();
    let stderr = reader.join().unwrap();
    assert!(libc::WIFEXITED(status), "lapse was killed:\n{stderr}");
    Measured { seconds, max_rss_mib: usage.ru_maxrss as f64 / 1024.0, stderr, exit_code: libc::WEXITSTATUS(status) }
}

/// The generated CSV book of `policies` policies (seed 2026), generated once and cached.
pub fn book(root: &Path, policies: usize) -> PathBuf {
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
