//! The nightly job (`lapse nightly`): from the core system's extract as of night T, build the
//! scoring snapshot the server loads and a training table from a rolling window of past
//! snapshots whose outcomes are known; train a challenger; judge it against the champion on the
//! same latest fully labelled out-of-time rows; promote it or not (guard rails, margin; the
//! reasons go to the decision log); write the drift, evaluation, realised-performance and
//! persistency reports (JSON and HTML); optionally tell a running server to reload.
//!
//! Crash safety is two-phase. The *compute* phase ([`compute`]) writes only into a staging
//! directory (`REPORTS/.staging/T/`, plus the staged snapshot beside the served one) and
//! registers the challenger as a new, non-champion version (a registry version appears whole or
//! not at all). It ends by writing the run's plan (`nightly.json`, atomically): from then on
//! the night is decided. The *commit* phase ([`commit`]) applies the plan (promote, rename the
//! snapshot into place, update the decision log, rename the reports into `REPORTS/T/`); every
//! commit step can be repeated, so a run killed anywhere is finished by running it again: a
//! compute phase without a plan is thrown away and redone, a plan is replayed.
//! `REPORTS/T/nightly.json` marks a night done; running T again reports it and changes nothing.
//! A lock file in the models directory keeps two runs from overlapping. `docs/nightly.md` is
//! the operator's guide.

mod commit;
mod compute;
mod config;
mod decision_log;
mod error;
mod judge;
mod reload;

use std::fs;
use std::path::Path;
use std::time::Instant;

pub use config::{DEFAULT_MAX_TRAIN_ROWS, NightlyConfig};
pub use error::NightlyError;
use error::Result;
pub use lapse_reports::night::RunSummary;
pub use reload::{ReloadOptions, ReloadOutcome, record_reload, reload_server};

/// The environment variable that makes the job abort itself when it reaches a step (the
/// crash-safety tests kill the real binary at every step this way).
pub const CRASH_AT_ENV: &str = "LAPSE_NIGHTLY_CRASH_AT";

/// The steps, in order; each one is a point the job can be killed at.
pub const STEPS: [&str; 14] = [
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

    fn of(promote: bool) -> Self {
        if promote { Verdict::Promoted } else { Verdict::ChampionKept }
    }
}

/// How a run ended.
#[derive(Debug, Clone)]
pub struct NightlyOutcome {
    pub summary: RunSummary,
    pub verdict: Verdict,
    /// The night had been done before: nothing was changed.
    pub already_done: bool,
    /// A killed run's plan was found and applied.
    pub replayed: bool,
}

/// Aborts the process when [`CRASH_AT_ENV`] names `step` (crash-safety tests).
fn crash_point(step: &str) {
    if std::env::var(CRASH_AT_ENV).is_ok_and(|s| s == step) {
        eprintln!("{CRASH_AT_ENV}={step}: aborting here");
        std::process::abort();
    }
}

/// Runs the steps and records their times.
#[derive(Default)]
struct Steps {
    times: Vec<lapse_reports::night::StepTime>,
}

impl Steps {
    fn run<T>(&mut self, step: &'static str, f: impl FnOnce() -> Result<T>) -> Result<T> {
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

/// The lock that keeps two runs apart: an advisory lock on `MODELS/.nightly.lock`, released
/// when the process ends, however it ends.
fn lock(models: &Path) -> Result<fs::File> {
    fs::create_dir_all(models).map_err(|e| NightlyError::file(models, e))?;
    let path = models.join(".nightly.lock");
    let file = fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).map_err(|e| NightlyError::file(&path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => Err(NightlyError::Locked { path }),
        Err(fs::TryLockError::Error(e)) => Err(NightlyError::file(&path, e)),
    }
}

fn read_summary(path: &Path) -> Result<RunSummary> {
    let bytes = fs::read(path).map_err(|e| NightlyError::file(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| NightlyError::file(path, format!("not a nightly summary: {e}")))
}

/// Runs the night (see the module docs).
pub fn run(config: &NightlyConfig) -> Result<NightlyOutcome> {
    let _lock = lock(&config.models)?;
    let done = config.report_dir().join(SUMMARY);
    if done.exists() {
        let summary = read_summary(&done)?;
        tracing::info!(night = %config.night(), "this night is done already; nothing to do");
        let verdict = Verdict::of(summary.decision.promote);
        return Ok(NightlyOutcome { summary, verdict, already_done: true, replayed: false });
    }
    let staging = config.staging();
    // Another night left unfinished (failed, or killed and not run again) is said, not touched:
    // running that night again finishes or redoes it.
    if let Ok(entries) = fs::read_dir(config.out.join(".staging")) {
        for other in entries.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).filter(|n| *n != config.night()) {
            tracing::warn!(night = %other, "night {other} was left unfinished: run `lapse nightly --as-of {other}` again to finish it, or delete its staging directory");
        }
    }
    let plan_path = staging.join("report").join(SUMMARY);
    let mut steps = Steps::default();
    let (mut summary, replayed) = if plan_path.exists() {
        tracing::warn!(plan = %plan_path.display(), "a killed run's plan found: applying it");
        (read_summary(&plan_path)?, true)
    } else {
        if staging.exists() {
            tracing::warn!(staging = %staging.display(), "a killed run's staging area found: starting the night again");
            fs::remove_dir_all(&staging).map_err(|e| NightlyError::file(&staging, e))?;
        }
        let mut summary = match compute::compute(config, &mut steps) {
            Ok(summary) => summary,
            Err(e) => {
                // A night that failed before its plan was written has nothing to finish: its
                // staging area goes (a rerun starts it again anyway), and `.staging` with it
                // when no other night is in it.
                let _ = fs::remove_dir_all(&staging);
                let _ = fs::remove_dir(config.out.join(".staging"));
                return Err(e);
            }
        };
        summary.steps.append(&mut steps.times);
        (summary, false)
    };
    summary.replayed = replayed;
    commit::commit(config, &mut summary, &mut steps)?;
    let verdict = Verdict::of(summary.decision.promote);
    Ok(NightlyOutcome { summary, verdict, already_done: false, replayed })
}
