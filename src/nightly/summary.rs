//! What a night records: the run summary (`nightly.json`, also the plan the commit phase
//! applies), the champion/challenger evaluation (`evaluation.json`) and the decision log
//! (`decisions.jsonl`, one line per night).

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::decision::{Decision, GuardRail};
use crate::io_util::atomic_write;
use crate::metrics::Evaluation;

/// A model as the run judged it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JudgedModel {
    pub version: String,
    pub family: String,
    /// Calibrated held-out figures on the out-of-time window.
    pub roc_auc: Option<f64>,
    pub log_loss: f64,
    pub ece: f64,
    pub mean_predicted: f64,
    pub top_decile_lift: Option<f64>,
}

impl JudgedModel {
    pub(super) fn of(version: &str, family: &str, e: &Evaluation) -> Self {
        JudgedModel {
            version: version.to_string(),
            family: family.to_string(),
            roc_auc: e.roc_auc,
            log_loss: e.log_loss,
            ece: e.ece,
            mean_predicted: e.mean_predicted,
            top_decile_lift: e.top_decile_lift,
        }
    }
}

/// Seconds spent in one step.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepTime {
    pub step: String,
    pub seconds: f64,
}

/// One night, as `REPORTS/T/nightly.json` records it (and, in staging, the plan the commit
/// phase applies).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunSummary {
    pub as_of: String,
    pub started_at: String,
    pub lapse_version: String,
    pub data: String,
    pub models: String,
    pub extract: ExtractFacts,
    pub snapshot: SnapshotFacts,
    pub training: TrainingFacts,
    pub challenger: JudgedModel,
    /// The champion when the run started.
    pub champion_before: Option<String>,
    /// The champion judged on the same rows (None: no champion, or unusable; see decision).
    pub champion: Option<JudgedModel>,
    /// Notes on the comparison (e.g. the champion had seen part of the window).
    pub notes: Vec<String>,
    pub guard_rails: Vec<GuardRail>,
    pub decision: Decision,
    /// The champion after the run.
    pub champion_after: Option<String>,
    pub drift: DriftFacts,
    /// Report files in `REPORTS/T/`.
    pub reports: Vec<String>,
    pub steps: Vec<StepTime>,
    pub exit_code: u8,
    /// Set when the commit phase finished.
    pub finished_at: Option<String>,
    /// The commit phase was applied by a later run (this run had been killed after its plan).
    #[serde(default)]
    pub replayed: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExtractFacts {
    pub policies: usize,
    pub installments: usize,
    pub events: usize,
    pub rejected_rows: usize,
    pub latest_observed: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SnapshotFacts {
    /// The served snapshot.
    pub path: String,
    pub rows: usize,
    pub sha256: String,
    pub horizon_days: i32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainingFacts {
    pub snapshots: Vec<String>,
    pub rows_labelled: usize,
    pub rows_unlabelled: usize,
    pub rows_train: usize,
    pub rows_validation: usize,
    pub lapse_rate: f64,
    pub training_window: Option<(String, String)>,
    pub validation_window: Option<(String, String)>,
    pub table_sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DriftFacts {
    /// The model whose training reference today's snapshot was compared with.
    pub model: String,
    pub flagged: Vec<String>,
    pub act: Vec<String>,
    pub score_psi: Option<f64>,
}

/// Champion against challenger on the same out-of-time rows (`evaluation.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvaluationReport {
    pub as_of: String,
    /// The out-of-time window's first and last snapshot dates.
    pub window: Option<(String, String)>,
    pub rows: usize,
    pub challenger: ModelEvaluation,
    pub champion: Option<ModelEvaluation>,
    pub guard_rails: Vec<GuardRail>,
    pub decision: Decision,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelEvaluation {
    pub version: String,
    pub family: String,
    pub evaluation: Evaluation,
}

/// One line of the decision log.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DecisionLine {
    pub as_of: String,
    pub decided_at: String,
    pub challenger: String,
    pub champion_before: Option<String>,
    pub champion_after: Option<String>,
    pub promoted: bool,
    pub reasons: Vec<String>,
    pub challenger_log_loss: f64,
    pub champion_log_loss: Option<f64>,
    pub challenger_roc_auc: Option<f64>,
    pub champion_roc_auc: Option<f64>,
    pub guard_rails_failed: Vec<String>,
    pub drift_act: Vec<String>,
}

/// Writes the night's line into the decision log (replacing an earlier line for the same
/// night, so a replayed commit does not add a second one), atomically.
pub(super) fn upsert_decision(path: &Path, summary: &RunSummary) -> Result<()> {
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
        guard_rails_failed: summary.guard_rails.iter().filter(|r| !r.passed).map(|r| r.name.clone()).collect(),
        drift_act: summary.drift.act.clone(),
    };
    let existing = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let mut lines: Vec<(String, String)> = Vec::new();
    for (i, text) in existing.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let night = serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|v| v.get("as_of").and_then(|a| a.as_str()).map(str::to_string))
            .with_context(|| format!("{} line {}: not a decision line (fix or remove it)", path.display(), i + 1))?;
        if night != line.as_of {
            lines.push((night, text.to_string()));
        }
    }
    lines.push((line.as_of.clone(), serde_json::to_string(&line)?));
    lines.sort_by(|a, b| a.0.cmp(&b.0));
    atomic_write(path, |w| {
        for (_, text) in &lines {
            writeln!(w, "{text}")?;
        }
        Ok(())
    })?;
    Ok(())
}
