//! The commit phase: applies a night's plan. Every step can run again after a crash, so a
//! killed run is finished by running the night again.

use std::fs;

use lapse_core::dates::now_utc_rfc3339;
use lapse_model::registry::Registry;
use lapse_reports::night::RunSummary;
use lapse_reports::write_json;

use crate::config::NightlyConfig;
use crate::decision_log::upsert_decision;
use crate::error::{NightlyError, Result};
use crate::steps::{DECISION_LOG, SUMMARY, Steps, crash_point};

/// The commit phase: applies the plan; every step can run again after a crash.
/// Fingerprints kept in `REPORTS/fingerprints` (a week of nights: an audit against the night
/// before the last, by hand, stays possible).
const FINGERPRINTS_KEPT: usize = 7;

/// Removes all but the latest [`FINGERPRINTS_KEPT`] fingerprints (best effort: a file that
/// cannot be removed stays and is said).
fn prune_fingerprints(dir: &std::path::Path) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    let mut prints: Vec<std::path::PathBuf> =
        entries.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "fp")).collect();
    prints.sort();
    let excess = prints.len().saturating_sub(FINGERPRINTS_KEPT);
    for old in &prints[..excess] {
        if let Err(e) = fs::remove_file(old) {
            tracing::warn!(file = %old.display(), error = %e, "an old fingerprint could not be removed");
        }
    }
}

pub(crate) fn commit(config: &NightlyConfig, summary: &mut RunSummary, steps: &mut Steps) -> Result<()> {
    let registry = Registry::new(&config.models);
    let staging = config.staging();
    let staged_report = staging.join("report");
    steps.run("promote", || {
        if summary.decision.promote {
            let version = &summary.challenger.version;
            if registry.champion()?.as_deref() != Some(version.as_str()) {
                registry.promote(version)?;
                tracing::info!(%version, "promoted");
            }
        }
        Ok(())
    })?;
    steps.run("publish-snapshot", || {
        let staged = config.staged_snapshot();
        if staged.exists() {
            lapse_core::io_util::rename_durably(&staged, &config.snapshot)
                .map_err(|e| NightlyError::file(&config.snapshot, format!("renaming {} here: {e}", staged.display())))?;
        } else if !config.snapshot.exists() {
            return Err(NightlyError::Plan(format!(
                "the staged snapshot {} is gone and {} does not exist",
                staged.display(),
                config.snapshot.display()
            )));
        }
        Ok(())
    })?;
    steps.run("publish-winback", || {
        // From the staged report, or from the published one when a crash came after that
        // rename; copied to a temporary file beside the target, then renamed over it.
        let name = "winback.parquet";
        let source = [staged_report.join(name), config.report_dir().join(name)].into_iter().find(|p| p.exists());
        if let Some(source) = source {
            let target = config.published_winback();
            lapse_core::io_util::atomic_write_with(&target, |file| std::io::copy(&mut fs::File::open(&source)?, file).map(|_| ()))
                .map_err(|e| NightlyError::file(&target, e))?;
        }
        Ok(())
    })?;
    steps.run("fingerprint", || {
        // Tonight's extract fingerprint, for tomorrow's audit; the last FINGERPRINTS_KEPT kept.
        let staged = staging.join("extract.fp");
        let dir = config.fingerprints();
        if staged.exists() {
            fs::create_dir_all(&dir).map_err(|e| NightlyError::file(&dir, e))?;
            let target = dir.join(format!("{}.fp", config.night()));
            lapse_core::io_util::rename_durably(&staged, &target)
                .map_err(|e| NightlyError::file(&target, format!("renaming {} here: {e}", staged.display())))?;
        }
        prune_fingerprints(&dir);
        Ok(())
    })?;
    steps.run("decision-log", || upsert_decision(&config.out.join(DECISION_LOG), summary))?;
    // Publishing the reports is the last step: its own time is not in the summary it publishes.
    crash_point("publish-reports");
    let target = config.report_dir();
    if staged_report.exists() {
        summary.steps.append(&mut steps.times);
        summary.finished_at = Some(now_utc_rfc3339());
        write_json(&staged_report.join(SUMMARY), summary)?;
        lapse_core::io_util::rename_durably(&staged_report, &target)
            .map_err(|e| NightlyError::file(&target, format!("renaming {} here: {e}", staged_report.display())))?;
    }
    fs::remove_dir_all(&staging).map_err(|e| NightlyError::file(&staging, e))?;
    // The staging root goes too when no other night is in it (fails harmlessly otherwise).
    if let Some(root) = staging.parent() {
        let _ = fs::remove_dir(root);
    }
    tracing::info!(reports = %target.display(), "night done");
    Ok(())
}
