//! A training table: any CSV or Parquet file (the feature builder's output or a plain table
//! such as eudirectlapse), split into a label, feature columns typed as numeric or categorical,
//! and the columns used for validation (snapshot date, due date, fold) and value.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use lapse_core::dates::Day;
use lapse_core::table::TableError;
pub use lapse_core::table::{Categories, FeatureColumn, FeatureKind, FeatureValues, KEY_COLUMNS, feature_values, read_frame};
use polars::prelude::*;

/// Why a table cannot be used for training.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("{}: {message}", path.display())]
    Read { path: PathBuf, message: String },
    #[error(transparent)]
    Table(#[from] TableError),
    #[error("{}: no label column {label:?} (columns: {columns})", path.display())]
    NoLabel { path: PathBuf, label: String, columns: String },
    #[error("{}: label column {label:?}, row {row}: {value:?} is not 0/1 (or true/false, yes/no)", path.display())]
    BadLabel { path: PathBuf, label: String, row: usize, value: String },
    #[error("{}: no feature columns left after excluding keys, label and fold", path.display())]
    NoFeatures { path: PathBuf },
    #[error("{}: {message}", path.display())]
    Unusable { path: PathBuf, message: String },
}

impl DatasetError {
    /// Always the table's fault (unreadable, no label, bad label, nothing to train on).
    pub fn is_input(&self) -> bool {
        true
    }
}

/// A labelled table ready for training: only rows with a known label are kept.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub path: PathBuf,
    pub label_column: String,
    pub labels: Vec<u8>,
    pub features: Vec<FeatureColumn>,
    /// Snapshot date per row, when the table has `as_of` (feature-builder tables).
    pub as_of: Option<Vec<Day>>,
    /// Due date per row, when the table has `due_date`.
    pub due_date: Option<Vec<Day>>,
    /// Fold per row, when the table has a `fold` column.
    pub fold: Option<Vec<i64>>,
    /// A grouping key per row (policy_id) so k-fold never splits one policy's rows.
    pub group: Option<Vec<String>>,
    /// The renewal's installment number, when the table has one (with `group`, the renewal's
    /// key in the score log and the extract).
    pub installment_no: Option<Vec<i64>>,
    /// Value at risk per row, for the retained-premium curve.
    pub value: Vec<f64>,
    /// How the value was computed, for reports.
    pub value_source: String,
    /// Rows in the file whose label is null (outcome not known yet): not used.
    pub unlabelled_rows: usize,
    /// Columns left out of the features, and why.
    pub excluded: Vec<(String, String)>,
    /// Grace days recorded by the feature builder (for the out-of-time gap), if any.
    pub grace_days: Option<i32>,
    /// Days after its snapshot date by which a row's label is known (`lapse.outcome_lag_days`:
    /// a reinstatement table's horizon), for the out-of-time gap; None for renewal tables,
    /// whose gap is their due date plus grace.
    pub outcome_lag_days: Option<i32>,
}

/// Options for reading a training table.
#[derive(Debug, Clone, Default)]
pub struct DatasetOptions {
    /// Label column; default `lapsed`, else `lapse`.
    pub label: Option<String>,
    /// More columns to leave out of the features.
    pub exclude: Vec<String>,
    /// A column to use as the value at risk (default: annualized_premium x
    /// remaining_payment_years when present, else 1).
    pub value_column: Option<String>,
}

fn parse_label(value: &AnyValue<'_>) -> Option<Option<u8>> {
    Some(match value {
        AnyValue::Null => None,
        AnyValue::Boolean(b) => Some(u8::from(*b)),
        AnyValue::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "" => None,
            "1" | "1.0" | "true" | "yes" => Some(1),
            "0" | "0.0" | "false" | "no" => Some(0),
            _ => return None,
        },
        other => match other.extract::<f64>() {
            Some(1.0) => Some(1),
            Some(0.0) => Some(0),
            _ => return None,
        },
    })
}

fn dates_of(column: &Column) -> Option<Vec<Day>> {
    let cast = match column.dtype() {
        DataType::Date => column.clone(),
        DataType::String => column.cast(&DataType::Date).ok()?,
        _ => return None,
    };
    cast.date().ok()?.physical().iter().collect::<Option<Vec<Day>>>()
}

impl Dataset {
    /// Reads `path` and keeps the rows whose label is known.
    pub fn read(path: &Path, options: &DatasetOptions) -> Result<Dataset, DatasetError> {
        let (df, metadata) = read_frame(path)?;
        let meta = |key: &str| metadata.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        let names: Vec<String> = df.get_column_names().iter().map(|n| n.to_string()).collect();
        let label_column = match &options.label {
            Some(label) => label.clone(),
            None => meta("lapse.label_column")
                .or_else(|| ["lapsed", "lapse"].iter().find(|n| names.iter().any(|c| c == *n)).map(|s| s.to_string()))
                .unwrap_or_else(|| "lapsed".into()),
        };
        let label_series = df.column(&label_column).map_err(|_| DatasetError::NoLabel {
            path: path.to_path_buf(),
            label: label_column.clone(),
            columns: names.join(", "),
        })?;
        let mut keep_rows = Vec::with_capacity(df.height());
        let mut labels = Vec::with_capacity(df.height());
        for row in 0..df.height() {
            let value = label_series.get(row).map_err(|e| DatasetError::Read { path: path.to_path_buf(), message: e.to_string() })?;
            match parse_label(&value) {
                Some(Some(y)) => {
                    keep_rows.push(row as IdxSize);
                    labels.push(y);
                }
                Some(None) => {}
                None => {
                    return Err(DatasetError::BadLabel {
                        path: path.to_path_buf(),
                        label: label_column.clone(),
                        row: row + 1,
                        value: value.to_string(),
                    });
                }
            }
        }
        let unlabelled_rows = df.height() - labels.len();
        // Keep the labelled rows (no copy when every row is labelled).
        let df = if unlabelled_rows == 0 {
            df
        } else {
            df.take(&IdxCa::from_vec("rows".into(), keep_rows))
                .map_err(|e| DatasetError::Read { path: path.to_path_buf(), message: e.to_string() })?
        };

        let keys: BTreeSet<String> = match meta("lapse.key_columns") {
            Some(list) => list.split(',').map(str::to_string).collect(),
            None => KEY_COLUMNS.iter().map(|s| s.to_string()).collect(),
        };
        let numeric_column = |name: &str| -> Option<Vec<f64>> {
            let column = df.column(name).ok()?;
            let cast = column.cast(&DataType::Float64).ok()?;
            Some(cast.f64().ok()?.iter().map(|v| v.unwrap_or(0.0)).collect())
        };
        let (value, value_source) = match &options.value_column {
            Some(name) => (
                numeric_column(name).ok_or_else(|| DatasetError::Unusable {
                    path: path.to_path_buf(),
                    message: format!("value column {name:?} is missing or not numeric"),
                })?,
                name.clone(),
            ),
            None => match (numeric_column("annualized_premium"), numeric_column("remaining_payment_years")) {
                (Some(premium), Some(years)) => {
                    (premium.iter().zip(&years).map(|(p, y)| p * y.max(1.0)).collect(), "annualized_premium x remaining_payment_years".into())
                }
                (Some(premium), None) => (premium, "annualized_premium".into()),
                _ => (vec![1.0; labels.len()], "1 per renewal (no value column)".into()),
            },
        };
        let as_of = df.column("as_of").ok().and_then(dates_of);
        let due_date = df.column("due_date").ok().and_then(dates_of);
        let fold = df.column("fold").ok().and_then(|c| {
            let cast = c.cast(&DataType::Int64).ok()?;
            cast.i64().ok()?.iter().collect::<Option<Vec<i64>>>()
        });
        let group = df.column("policy_id").ok().and_then(|c| {
            let cast = c.cast(&DataType::String).ok()?;
            Some(cast.str().ok()?.iter().map(|v| v.unwrap_or_default().to_string()).collect())
        });
        let installment_no = df.column("installment_no").ok().and_then(|c| {
            let cast = c.cast(&DataType::Int64).ok()?;
            cast.i64().ok()?.iter().collect::<Option<Vec<i64>>>()
        });
        let mut excluded = Vec::new();
        let mut features = Vec::new();
        // Columns are converted one at a time and dropped as they go, so the frame and the feature
        // columns are not both held whole (this read is the trainer's memory peak).
        for column in df.into_columns() {
            let name = column.name().to_string();
            let why = if name == label_column {
                Some("label")
            } else if name == "fold" {
                Some("fold assignment")
            } else if keys.contains(&name) || name == "id" || name.ends_with("_id") {
                Some("key")
            } else if options.exclude.contains(&name) {
                Some("excluded by --exclude")
            } else if options.value_column.as_deref() == Some(name.as_str()) {
                Some("value column")
            } else if matches!(column.dtype(), DataType::Date | DataType::Datetime(_, _)) {
                Some("date")
            } else {
                None
            };
            if let Some(why) = why {
                excluded.push((name, why.to_string()));
                continue;
            }
            features.push(FeatureColumn { name, values: feature_values(&column) });
        }
        if features.is_empty() {
            return Err(DatasetError::NoFeatures { path: path.to_path_buf() });
        }
        Ok(Dataset {
            installment_no,
            path: path.to_path_buf(),
            label_column,
            labels,
            features,
            as_of,
            due_date,
            fold,
            group,
            value,
            value_source,
            unlabelled_rows,
            excluded,
            grace_days: meta("lapse.grace_days").and_then(|g| g.parse().ok()),
            outcome_lag_days: meta("lapse.outcome_lag_days").and_then(|g| g.parse().ok()),
        })
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}
