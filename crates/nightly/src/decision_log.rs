//! The decision log (`REPORTS/decisions.jsonl`): one line per night, rewritten atomically.

use std::fs;
use std::path::Path;

use lapse_core::io_util::atomic_write;
use lapse_reports::night::{DecisionLine, RunSummary};

use crate::error::{NightlyError, Result};

/// Writes the night's line into the decision log (replacing an earlier line for the same
/// night, so a replayed commit does not add a second one), atomically.
pub(crate) fn upsert_decision(path: &Path, summary: &RunSummary) -> Result<()> {
    let line = DecisionLine {
        as_of: summary.as_of.clone(),
        decided_at: summary.started_at.clone(),
        challenger: summary.challenger.version.clone(),
        champion_before: summary.champion_before.clone(),
        champion_after: summary.champion_after.clone(),
        promoted: summary.decision.promote,
        reasons: summary.decision.reasons.clone(),
        challenger_log_loss: summary.challenger.log_loss,
        champion_log_loss: summary.champion.as_ref().map(|c| c.log_loss),
        challenger_roc_auc: summary.challenger.roc_auc,
        champion_roc_auc: summary.champion.as_ref().and_then(|c| c.roc_auc),
        compared_rows: summary.comparison.compared,
        champion_fitted_rows: summary.comparison.dropped_champion_fitted,
        guard_rails_failed: summary.guard_rails.iter().filter(|r| !r.passed).map(|r| r.name.clone()).collect(),
        drift_act: summary.drift.act.clone(),
        training: summary.training.settings.clone(),
    };
    let existing = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(NightlyError::file(path, e)),
    };
    let mut lines: Vec<(String, String)> = Vec::new();
    for (i, text) in existing.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let night = serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|v| v.get("as_of").and_then(|a| a.as_str()).map(str::to_string))
            .ok_or_else(|| NightlyError::file(path, format!("line {}: not a decision line (fix or remove it)", i + 1)))?;
        if night != line.as_of {
            lines.push((night, text.to_string()));
        }
    }
    let text = serde_json::to_string(&line).map_err(|e| NightlyError::file(path, e))?;
    lines.push((line.as_of.clone(), text));
    lines.sort_by(|a, b| a.0.cmp(&b.0));
    atomic_write(path, |w| {
        for (_, text) in &lines {
            writeln!(w, "{text}")?;
        }
        Ok(())
    })?;
    Ok(())
}
