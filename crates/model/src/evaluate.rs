//! A registered model judged on a labelled table (`lapse evaluate`): only on matured rows (the
//! dataset's rule) and only on the renewals the model was not fitted on (its registry list), so
//! the figure is what the model does on renewals it never saw.

use serde::Serialize;

use crate::artifact::LapseModel;
use crate::dataset::{Dataset, ImmatureSnapshot};
use crate::fitted::{FittedRenewals, row_key};
use crate::metrics::Evaluation;

/// The evaluation of one model on one table.
#[derive(Debug, Clone, Serialize)]
pub struct EvaluateReport {
    pub table: String,
    pub model_version: String,
    /// Labelled rows of matured snapshots in the table.
    pub rows: usize,
    /// Of those, rows whose renewal the model was fitted on (left out), when the model keeps a
    /// list; None when it keeps none (then every row is evaluated, and the figure may be
    /// in-sample).
    pub fitted_rows: Option<usize>,
    /// Snapshots of the table left out because their outcomes were not all known.
    pub immature_snapshots: Vec<ImmatureSnapshot>,
    /// The model on the remaining rows.
    pub evaluation: Evaluation,
}

/// Why a table cannot judge a model: both are the caller's choice (exit 2).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvaluateError {
    #[error("model cannot score the table: {0}")]
    Schema(#[from] crate::encode::SchemaMismatch),
    #[error("the model was fitted on every one of the {0} matured labelled rows: nothing held out to judge it on")]
    NothingHeldOut(usize),
}

impl EvaluateError {
    /// Always true: the table (or the model chosen for it) is the caller's.
    pub fn is_input(&self) -> bool {
        true
    }
}

/// Scores every labelled, matured row of `data` the model was not fitted on and evaluates.
pub fn evaluate(model: &LapseModel, version: &str, fitted: Option<&FittedRenewals>, data: &Dataset) -> Result<EvaluateReport, EvaluateError> {
    let seen = |r: usize| fitted.zip(row_key(data, r)).is_some_and(|(keys, key)| keys.contains(key));
    let rows: Vec<usize> = (0..data.len()).filter(|&r| !seen(r)).collect();
    if rows.is_empty() {
        return Err(EvaluateError::NothingHeldOut(data.len()));
    }
    let scores = model.predict(data, &rows)?;
    let labels: Vec<u8> = rows.iter().map(|&r| data.labels[r]).collect();
    let values: Vec<f64> = rows.iter().map(|&r| data.value[r]).collect();
    Ok(EvaluateReport {
        table: data.path.display().to_string(),
        model_version: version.to_string(),
        rows: data.len(),
        fitted_rows: fitted.map(|_| data.len() - rows.len()),
        immature_snapshots: data.immature.clone(),
        evaluation: Evaluation::of(&labels, &scores, &values),
    })
}
