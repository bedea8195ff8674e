//! What a night records: the run summary (`nightly.json`, also the plan the commit phase
//! applies), the champion/challenger evaluation (`evaluation.json`) and the decision log's
//! line (`decisions.jsonl`, one line per night). The nightly job fills them; the pages render
//! them.

use serde::{Deserialize, Serialize};

use lapse_model::metrics::Evaluation;
use lapse_model::promotion::{Comparison, Decision, GuardRail};
use lapse_model::train::Family;

/// A model as the run judged it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JudgedModel {
    pub version: String,
    pub family: Family,
    /// Calibrated held-out figures on the out-of-time window.
    pub roc_auc: Option<f64>,
    pub log_loss: f64,
    pub ece: f64,
    pub mean_predicted: f64,
    pub top_decile_lift: Option<f64>,
}

impl JudgedModel {
    pub fn of(version: &str, family: Family, e: &Evaluation) -> Self {
        JudgedModel {
            version: version.to_string(),
            family,
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
    /// Notes on the comparison (e.g. how many held-out renewals were compared).
    pub notes: Vec<String>,
    /// Which held-out renewals the two models were compared on, and how many were left out
    /// because a model had been fitted on them.
    #[serde(default)]
    pub comparison: Comparison,
    pub guard_rails: Vec<GuardRail>,
    pub decision: Decision,
    /// The champion after the run.
    pub champion_after: Option<String>,
    pub drift: DriftFacts,
    /// The audit of tonight's extract against the last accepted night's (None: the first night,
    /// or `--no-audit`).
    #[serde(default)]
    pub audit: Option<AuditFacts>,
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
    /// `--model auto`: the settings trained and why (searched tonight, or the last search's
    /// pick reused).
    #[serde(default)]
    pub settings: Option<String>,
}

/// The data-quality audit's headline figures (the whole report is `audit.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditFacts {
    /// The night whose extract fingerprint today's was compared with.
    pub previous_night: String,
    /// Rows per (check, table), as in `audit.json`.
    pub checks: Vec<(String, String, usize)>,
    /// The checks above their `warn` threshold, in words.
    pub warnings: Vec<String>,
    /// Labels of the champion's training rows that a late entry or change moved.
    pub training_labels_changed: Option<usize>,
}

/// The drift report's headline figures.
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
    /// The challenger's held-out rows.
    pub rows: usize,
    /// Both models on the held-out renewals neither was fitted on (with no champion, the
    /// challenger on all its held-out rows).
    pub challenger: ModelEvaluation,
    pub champion: Option<ModelEvaluation>,
    /// Which held-out rows were compared, and how many were left out because a model had
    /// learnt their outcome.
    #[serde(default)]
    pub comparison: Comparison,
    /// The challenger's guard rails, on every held-out row.
    pub guard_rails: Vec<GuardRail>,
    /// The challenger on every held-out row (what its guard rails measured).
    #[serde(default)]
    pub challenger_held_out: Option<Evaluation>,
    /// The champion's calibration guard rails, on the compared rows.
    #[serde(default)]
    pub champion_guard_rails: Vec<GuardRail>,
    pub decision: Decision,
    pub notes: Vec<String>,
    /// What the challenger learnt: its most influential inputs (with what the figure is) and
    /// the partial dependence of the top numeric ones, from its training report.
    #[serde(default)]
    pub importance: Option<(String, Vec<(String, f64)>)>,
    #[serde(default)]
    pub partial_dependence: Vec<lapse_model::partial_dependence::PartialDependence>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelEvaluation {
    pub version: String,
    pub family: Family,
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
    /// The held-out renewals both models were judged on (neither fitted on them), and those
    /// left out because the champion was fitted on them.
    #[serde(default)]
    pub compared_rows: usize,
    #[serde(default)]
    pub champion_fitted_rows: usize,
    pub guard_rails_failed: Vec<String>,
    pub drift_act: Vec<String>,
    /// The challenger's settings and why (`--model auto`: searched, or a search's pick reused).
    #[serde(default)]
    pub training: Option<String>,
}
