//! Outcomes as files: a call-centre export read for `lapse outcomes import` (CSV or Parquet,
//! every column read as text and checked as `POST /v1/outcomes` checks a batch), and every stored
//! outcome written for `lapse outcomes export` (atomically, a temp file renamed into place).

use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::outcomes::{Outcome, RawOutcome};
use lapse_core::dates::format_day;
use lapse_core::features::{WriteError, write_frames};
use lapse_core::table::read_frame;

/// The columns of an outcomes file, in the order they are written.
pub const COLUMNS: [&str; 11] =
    ["id", "policy_id", "installment_no", "customer_id", "action", "result", "at", "reason", "promised_date", "agent_id", "note"];

/// An outcomes file that cannot be read or written.
#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct OutcomeFileError {
    pub path: PathBuf,
    pub message: String,
}

/// Reads an outcomes file as raw outcomes, one per data row (row i is `outcomes[i]` of the
/// batch: checking names the row). A column it does not know is refused (a misspelt
/// `promise_date` would otherwise be dropped silently); `id`, `policy_id`, `installment_no`,
/// `action`, `result` and `at` are required.
pub fn read_outcomes_file(path: &Path) -> Result<Vec<RawOutcome>, OutcomeFileError> {
    let fail = |message: String| OutcomeFileError { path: path.to_path_buf(), message };
    let (df, _) = read_frame(path).map_err(|e| fail(e.message))?;
    if let Some(unknown) = df.get_column_names().into_iter().find(|c| !COLUMNS.contains(&c.as_str())) {
        return Err(fail(format!("unknown column {unknown:?} (columns: {})", COLUMNS.join(", "))));
    }
    for required in ["id", "policy_id", "installment_no", "action", "result", "at"] {
        if df.column(required).is_err() {
            return Err(fail(format!("missing column {required}")));
        }
    }
    let text = |name: &str| -> Result<Option<StringChunked>, OutcomeFileError> {
        match df.column(name) {
            Ok(c) => {
                let c = c.cast(&DataType::String).map_err(|e| fail(format!("column {name}: {e}")))?;
                Ok(Some(c.str().map_err(|e| fail(e.to_string()))?.clone()))
            }
            Err(_) => Ok(None),
        }
    };
    let columns: Vec<Option<StringChunked>> = COLUMNS.iter().map(|c| text(c)).collect::<Result<_, _>>()?;
    let mut out = Vec::with_capacity(df.height());
    for i in 0..df.height() {
        let cell = |c: usize| columns[c].as_ref().and_then(|col| col.get(i)).map(str::trim).filter(|t| !t.is_empty()).map(str::to_string);
        let installment_no = cell(2).map(|t| t.parse::<i64>().unwrap_or(-1));
        out.push(RawOutcome {
            id: cell(0),
            policy_id: cell(1),
            installment_no,
            customer_id: cell(3),
            action: cell(4),
            result: cell(5),
            at: cell(6),
            reason: cell(7),
            promised_date: cell(8),
            agent_id: cell(9),
            note: cell(10),
        });
    }
    Ok(out)
}

/// Writes `outcomes` to `path` (.csv or .parquet) atomically; returns the rows written.
pub fn write_outcomes_file(path: &Path, outcomes: &[Outcome]) -> Result<usize, OutcomeFileError> {
    let fail = |message: String| OutcomeFileError { path: path.to_path_buf(), message };
    let text = |name: &str, f: &dyn Fn(&Outcome) -> Option<String>| Column::new(name.into(), outcomes.iter().map(f).collect::<Vec<_>>());
    let columns = vec![
        text("id", &|o| Some(o.id.clone())),
        text("policy_id", &|o| Some(o.policy_id.clone())),
        Column::new("installment_no".into(), outcomes.iter().map(|o| o.installment_no).collect::<Vec<_>>()),
        text("customer_id", &|o| Some(o.customer_id.clone())),
        text("action", &|o| Some(o.action.clone())),
        text("result", &|o| Some(o.result.as_str().to_string())),
        text("at", &|o| Some(o.at.clone())),
        text("reason", &|o| o.reason.clone()),
        text("promised_date", &|o| o.promised_date.map(format_day)),
        text("agent_id", &|o| o.agent_id.clone()),
        text("note", &|o| o.note.clone()),
    ];
    let frame = DataFrame::new(outcomes.len(), columns);
    write_frames(path, Vec::new(), std::iter::once(frame)).map_err(|e| match e {
        WriteError::Extension(_) => fail("unknown extension (expected .csv or .parquet)".into()),
        other => fail(other.to_string()),
    })
}

/// Each policy's customer in a scoring snapshot (built by `lapse features`).
pub fn customers_of_snapshot(path: &Path) -> Result<std::collections::HashMap<String, String>, OutcomeFileError> {
    let fail = |message: String| OutcomeFileError { path: path.to_path_buf(), message };
    let (df, _) = read_frame(path).map_err(|e| fail(e.message))?;
    let text = |name: &str| -> Result<StringChunked, OutcomeFileError> {
        let c = df.column(name).map_err(|_| fail(format!("missing column {name}")))?;
        let c = c.cast(&DataType::String).map_err(|e| fail(format!("column {name}: {e}")))?;
        Ok(c.str().map_err(|e| fail(e.to_string()))?.clone())
    };
    let (policy, customer) = (text("policy_id")?, text("customer_id")?);
    Ok(policy.iter().zip(customer.iter()).filter_map(|(p, c)| Some((p?.to_string(), c?.to_string()))).collect())
}
