//! The steps of a night: their names in order (each a point the crash-safety tests kill the job
//! at), the files a night writes, how it ended, and the runner that times each step.

use std::time::Instant;

use crate::error::{NightlyError, Result};

/// The environment variable that makes the job abort itself when it reaches a step (the
/// crash-safety tests kill the real binary at every step this way).
pub const CRASH_AT_ENV: &str = "LAPSE_NIGHTLY_CRASH_AT";

/// The steps, in order; each one is a point the job can be killed at.
pub const STEPS: [&str; 16] = [
    "audit",
    "load",
    "snapshot",
    "training-table",
    "book-reports",
    "train",
    "evaluate",
    "register",
    "reports",
    "plan",
    "promote",
    "publish-snapshot",
    "publish-winback",
    "fingerprint",
    "decision-log",
    "publish-reports",
];

/// The summary file's name, in the staging report directory (as the plan) and in `REPORTS/T/`.
pub const SUMMARY: &str = "nightly.json";
/// The decision log: one JSON line per night.
pub const DECISION_LOG: &str = "decisions.jsonl";

/// How a night ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The challenger was promoted (exit code 0).
    Promoted,
    /// The champion stays (exit code 3).
    ChampionKept,
}

impl Verdict {
    /// The process exit code the scheduler sees.
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Promoted => 0,
            Verdict::ChampionKept => 3,
        }
    }

    pub(crate) fn of(promote: bool) -> Self {
        if promote { Verdict::Promoted } else { Verdict::ChampionKept }
    }
}

/// Aborts the process when [`CRASH_AT_ENV`] names `step` (crash-safety tests).
pub(crate) fn crash_point(step: &str) {
    if std::env::var(CRASH_AT_ENV).is_ok_and(|s| s == step) {
        eprintln!("{CRASH_AT_ENV}={step}: aborting here");
        std::process::abort();
    }
}

/// Runs the steps and records their times.
#[derive(Default)]
pub(crate) struct Steps {
    pub(crate) times: Vec<lapse_reports::night::StepTime>,
}

impl Steps {
    pub(crate) fn run<T>(&mut self, step: &'static str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        crash_point(step);
        let started = Instant::now();
        tracing::info!(step, "step started");
        let result = f().map_err(|e| NightlyError::Step { step, source: Box::new(e) });
        let seconds = started.elapsed().as_secs_f64();
        tracing::info!(step, seconds, ok = result.is_ok(), "step finished");
        self.times.push(lapse_reports::night::StepTime { step: step.to_string(), seconds });
        result
    }
}
