//! Scoring a feature table read from a file (the snapshot the server loads): the keys and the
//! model's feature columns read from a polars frame, typed as the model's schema says.

use std::ops::Range;

use polars::prelude::*;

use super::rows::{FeatureSource, RenewalKeys, ScoreError};
use lapse_core::categories::Categories;
use lapse_core::dates::Day;

fn frame_err(e: impl std::fmt::Display) -> ScoreError {
    ScoreError::Input(e.to_string())
}

fn column<'a>(df: &'a DataFrame, name: &str) -> Result<&'a Column, ScoreError> {
    df.column(name).map_err(|_| ScoreError::Input(format!("no column {name:?} (build the snapshot with `lapse features`)")))
}

/// A frame column as text values, dictionary-encoded.
fn category_column(df: &DataFrame, name: &str) -> Result<Categories, ScoreError> {
    let cast = column(df, name)?.cast(&DataType::String).map_err(frame_err)?;
    Ok(Categories::from_values(cast.str().map_err(frame_err)?.iter()))
}

fn day_column(df: &DataFrame, name: &str) -> Result<Vec<Day>, ScoreError> {
    let column = column(df, name)?;
    let cast = match column.dtype() {
        DataType::Date => column.clone(),
        _ => column.cast(&DataType::Date).map_err(frame_err)?,
    };
    cast.date()
        .map_err(frame_err)?
        .physical()
        .iter()
        .enumerate()
        .map(|(row, d)| d.ok_or_else(|| ScoreError::Input(format!("column {name:?}, row {}: missing or unparseable date", row + 1))))
        .collect()
}

/// A column of `df` as numbers (NaN where missing); an input error naming the column when it
/// is absent or not numeric.
pub fn number_column(df: &DataFrame, name: &str) -> Result<Vec<f64>, ScoreError> {
    let cast = column(df, name)?.cast(&DataType::Float64).map_err(|e| ScoreError::Input(format!("column {name:?} is not numeric: {e}")))?;
    Ok(cast.f64().map_err(frame_err)?.iter().map(|v| v.unwrap_or(f64::NAN)).collect())
}

impl RenewalKeys {
    /// The keys of a feature-builder frame (one row per renewal).
    pub fn from_frame(df: &DataFrame) -> Result<RenewalKeys, ScoreError> {
        let as_of = day_column(df, "as_of")?;
        let ids = column(df, "policy_id")?.cast(&DataType::String).map_err(frame_err)?;
        let policy_id = ids
            .str()
            .map_err(frame_err)?
            .iter()
            .enumerate()
            .map(|(row, id)| id.map(Box::from).ok_or_else(|| ScoreError::Input(format!("column \"policy_id\", row {}: missing", row + 1))))
            .collect::<Result<_, _>>()?;
        let installment_no = number_column(df, "installment_no")?
            .into_iter()
            .enumerate()
            .map(|(row, n)| {
                if n.is_finite() && n >= 1.0 && n.fract() == 0.0 && n <= f64::from(u32::MAX - 1) {
                    Ok(n as u32)
                } else {
                    Err(ScoreError::Input(format!("column \"installment_no\", row {}: {n} is not a whole number >= 1", row + 1)))
                }
            })
            .collect::<Result<_, _>>()?;
        let optional = |name: &str| -> Result<Categories, ScoreError> {
            match df.column(name) {
                Ok(_) => category_column(df, name),
                Err(_) => Ok(Categories { codes: vec![Categories::MISSING; df.height()], levels: Vec::new() }),
            }
        };
        let agent = optional("agent_id")?;
        // An orphan: no agent, or the feature builder's `orphan_policy` (the agent left before T).
        let left = match df.column("orphan_policy") {
            Ok(_) => number_column(df, "orphan_policy")?,
            Err(_) => vec![0.0; df.height()],
        };
        let orphan = agent.codes.iter().zip(&left).map(|(&code, &l)| code == Categories::MISSING || l == 1.0).collect();
        let contact_changed = match df.column("days_since_contact_change") {
            Ok(_) => contact_changed(&as_of, &number_column(df, "days_since_contact_change")?),
            Err(_) => vec![None; df.height()],
        };
        Ok(RenewalKeys {
            policy_id,
            installment_no,
            due: day_column(df, "due_date")?,
            as_of,
            annualized_premium: number_column(df, "annualized_premium")?,
            remaining_payment_years: number_column(df, "remaining_payment_years")?,
            agent,
            channel: optional("channel")?,
            region: optional("region")?,
            product_code: optional("product_code")?,
            product_type: optional("product_type")?,
            customer: optional("customer_id")?,
            orphan,
            contact_changed,
        })
    }
}

/// The day of the customer's last contact-detail change from the snapshot date and the feature
/// `days_since_contact_change` (NaN: none).
pub(crate) fn contact_changed(as_of: &[Day], days_since: &[f64]) -> Vec<Option<Day>> {
    as_of.iter().zip(days_since).map(|(&t, &d)| (0.0..1e6).contains(&d).then(|| t - d as Day)).collect()
}

/// The model's features read from a frame.
pub struct FrameSource<'a>(pub &'a DataFrame);

impl FeatureSource for FrameSource<'_> {
    fn numbers(&self, name: &str, rows: Range<usize>) -> Result<Vec<f64>, ScoreError> {
        number_column(&self.0.slice(rows.start as i64, rows.len()), name)
    }

    fn categories(&self, name: &str, rows: Range<usize>) -> Result<Categories, ScoreError> {
        category_column(&self.0.slice(rows.start as i64, rows.len()), name)
    }
}

/// A snapshot file scored: the rows, the snapshot date, and the horizon and grace it was built
/// with (from the Parquet metadata; 30 and 60 when absent).
pub struct ScoredSnapshot {
    pub rows: super::ScoredRows,
    pub as_of: Day,
    pub horizon_days: i32,
    pub grace_days: i32,
    /// The frame read, for drift against the model's reference.
    pub frame: DataFrame,
}

/// Why a snapshot file cannot be scored: the file and the reason.
#[derive(Debug, thiserror::Error)]
#[error("snapshot {}: {message}", path.display())]
pub struct SnapshotError {
    pub path: std::path::PathBuf,
    pub message: String,
    /// The model, not the file, is at fault.
    pub model: bool,
}

/// Reads the snapshot at `path` (one snapshot date: `lapse features --as-of T`) and scores
/// every renewal with `model`, with reasons when `explain`. An empty snapshot has today as its
/// date.
pub fn score_snapshot(
    path: &std::path::Path,
    model: &crate::artifact::LapseModel,
    valuation: &dyn super::Valuation,
    explain: bool,
) -> Result<ScoredSnapshot, SnapshotError> {
    let fail = |message: String, model: bool| SnapshotError { path: path.to_path_buf(), message, model };
    let (df, metadata) = lapse_core::table::read_frame(path).map_err(|e| fail(e.message, false))?;
    let meta = |key: &str| metadata.iter().find(|(k, _)| k == key).and_then(|(_, v)| v.parse::<i32>().ok());
    let keys = RenewalKeys::from_frame(&df).map_err(|e| fail(e.to_string(), false))?;
    let first = keys.as_of.first().copied();
    if keys.as_of.iter().any(|&d| Some(d) != first) {
        return Err(fail("holds more than one snapshot date; use one snapshot (lapse features --as-of T)".into(), false));
    }
    let as_of = first.unwrap_or_else(lapse_core::dates::today_utc);
    let rows = super::ScoredRows::score_explained(model, valuation, keys, &FrameSource(&df), explain)
        .map_err(|e| fail(e.to_string(), matches!(e, ScoreError::Model(_))))?;
    Ok(ScoredSnapshot {
        rows,
        as_of,
        horizon_days: meta("lapse.horizon_days").unwrap_or(30),
        grace_days: meta("lapse.grace_days").unwrap_or(60),
        frame: df,
    })
}
