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
