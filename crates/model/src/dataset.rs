//! A training table: any CSV or Parquet file (the feature builder's output or a plain table
//! such as eudirectlapse), split into a label, feature columns typed as numeric or categorical,
//! and the columns used for validation (snapshot date, due date, fold) and value.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use lapse_core::dates::Day;
use lapse_core::table::TableError;
pub use lapse_core::table::{Categories, FeatureColumn, FeatureKind, FeatureValues, KEY_COLUMNS, feature_values, read_frame};
use polars::prelude::*;
use serde::{Deserialize, Serialize};

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
    #[error(
        "{}: snapshots whose outcomes are not all known at the extract date (--strict refuses them; without it they are left out): {snapshots}",
        path.display()
    )]
    Immature { path: PathBuf, snapshots: String },
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
    /// Horizon days recorded by the feature builder (a snapshot at T holds renewals due up to
    /// T + horizon), if any.
    pub horizon_days: Option<i32>,
    /// Days after its snapshot date by which a row's label is known (`lapse.outcome_lag_days`:
    /// a reinstatement table's horizon), for the out-of-time gap; None for renewal tables,
    /// whose gap is their due date plus grace.
    pub outcome_lag_days: Option<i32>,
    /// The table's extract date (`lapse.extract_date`): its labels use what is dated before it.
    pub extract_date: Option<Day>,
    /// Snapshot dates left out because some of their outcomes were not known at the extract
    /// date (ascending); none of their rows is in the dataset.
    pub immature: Vec<ImmatureSnapshot>,
}

/// A snapshot date left out of a training table because not every outcome it holds was known.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImmatureSnapshot {
    #[serde(with = "lapse_core::dates::iso")]
    pub as_of: Day,
    /// Its rows in the file, and how many of them had a label (the early payers, mostly).
    pub rows: usize,
    pub labelled: usize,
    /// Why: the maturity rule it broke.
    pub reason: String,
}

/// The rule that tells a matured snapshot date from one whose outcomes are still coming in.
#[derive(Debug, Clone, Copy)]
struct Maturity {
    extract_date: Option<Day>,
    horizon_days: Option<i32>,
    grace_days: Option<i32>,
    outcome_lag_days: Option<i32>,
}

impl Maturity {
    /// Whether the table's metadata says every outcome of snapshot `as_of` is known: for a
    /// renewal table, its last deadline (as_of + horizon + grace) is before the extract date; for
    /// a table whose label is known a fixed lag after its date (a reinstatement table), as_of +
    /// lag is on or before it. None when the metadata cannot say.
    fn by_metadata(&self, as_of: Day) -> Option<Result<(), String>> {
        let extract = self.extract_date?;
        let known_from = match (self.outcome_lag_days, self.horizon_days, self.grace_days) {
            (Some(lag), _, _) => as_of + lag,
            (None, Some(h), Some(g)) => as_of + h + g + 1,
            _ => return None,
        };
        Some(if known_from <= extract {
            Ok(())
        } else {
            Err(format!(
                "outcomes known only from {} (extract date {})",
                lapse_core::dates::format_day(known_from),
                lapse_core::dates::format_day(extract)
            ))
        })
    }

    /// The snapshot dates (ascending) that are not matured: by the metadata's rule when the table
    /// has one, and whenever some row of the date is unlabelled.
    fn immature_snapshots(&self, as_of: &[Day], labels: &[Option<u8>]) -> Vec<ImmatureSnapshot> {
        let mut per_date: std::collections::BTreeMap<Day, (usize, usize)> = std::collections::BTreeMap::new();
        for (&d, label) in as_of.iter().zip(labels) {
            let entry = per_date.entry(d).or_default();
            entry.0 += 1;
            entry.1 += usize::from(label.is_some());
        }
        per_date
            .into_iter()
            .filter_map(|(d, (rows, labelled))| {
                let reason = match self.by_metadata(d) {
                    Some(Err(why)) => why,
                    _ if labelled < rows => format!("{} of {rows} outcomes not known yet", rows - labelled),
                    _ => return None,
                };
                Some(ImmatureSnapshot { as_of: d, rows, labelled, reason })
            })
            .collect()
    }
}

/// The immature snapshots in one line each (`2026-05-30: 812 of 3,410 labelled; outcomes ...`).
pub fn describe_immature(snapshots: &[ImmatureSnapshot]) -> String {
    snapshots
        .iter()
        .map(|s| format!("{}: {} of {} rows labelled ({})", lapse_core::dates::format_day(s.as_of), s.labelled, s.rows, s.reason))
        .collect::<Vec<_>>()
        .join("; ")
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
    /// Refuse a table with snapshots whose outcomes are not all known (instead of leaving
    /// those snapshots out).
    pub strict_maturity: bool,
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
        let mut row_labels: Vec<Option<u8>> = Vec::with_capacity(df.height());
        for row in 0..df.height() {
            let value = label_series.get(row).map_err(|e| DatasetError::Read { path: path.to_path_buf(), message: e.to_string() })?;
            match parse_label(&value) {
                Some(label) => row_labels.push(label),
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
        // Matured snapshots only: a snapshot date is used when every outcome it holds is known
        // at the table's extract date (its metadata), and, with or without metadata, when no
        // row of it is unlabelled.
        let extract_date = meta("lapse.extract_date").and_then(|d| lapse_core::dates::parse_day(&d));
        let maturity = Maturity {
            extract_date,
            horizon_days: meta("lapse.horizon_days").and_then(|g| g.parse().ok()),
            grace_days: meta("lapse.grace_days").and_then(|g| g.parse().ok()),
            outcome_lag_days: meta("lapse.outcome_lag_days").and_then(|g| g.parse().ok()),
        };
        let all_as_of = df.column("as_of").ok().and_then(dates_of);
        let immature = match &all_as_of {
            Some(as_of) => maturity.immature_snapshots(as_of, &row_labels),
            None => Vec::new(),
        };
        if options.strict_maturity && !immature.is_empty() {
            return Err(DatasetError::Immature { path: path.to_path_buf(), snapshots: describe_immature(&immature) });
        }
        let dropped_dates: BTreeSet<Day> = immature.iter().map(|s| s.as_of).collect();
        let mut keep_rows = Vec::with_capacity(df.height());
        let mut labels = Vec::with_capacity(df.height());
        for (row, label) in row_labels.iter().enumerate() {
            let matured = all_as_of.as_ref().is_none_or(|d| !dropped_dates.contains(&d[row]));
            if let (Some(y), true) = (label, matured) {
                keep_rows.push(row as IdxSize);
                labels.push(*y);
            }
        }
        let unlabelled_rows = row_labels.iter().filter(|l| l.is_none()).count();
        drop(row_labels);
        drop(all_as_of);
        // Keep the labelled rows of matured snapshots (no copy when that is every row).
        let df = if labels.len() == df.height() {
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
            grace_days: maturity.grace_days,
            horizon_days: maturity.horizon_days,
            outcome_lag_days: maturity.outcome_lag_days,
            extract_date,
            immature,
        })
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}
