//! Running a night: the lock, a night done before, a killed run's plan replayed or its staging
//! area thrown away, then the compute and commit phases (the crate's docs tell the design).

use std::fs;
use std::path::Path;

use crate::config::NightlyConfig;
use crate::error::{NightlyError, Result};
use crate::steps::{SUMMARY, Steps, Verdict};
use crate::{commit, compute};
use lapse_reports::night::RunSummary;

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
    config.check()?;
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
