//! A training table: any CSV or Parquet file (the feature builder's output or a plain table
//! such as eudirectlapse), split into a label, feature columns typed as numeric or categorical,
//! and the columns used for validation (snapshot date, due date, fold) and value.

use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::dates::Day;
use crate::extract::read::FileFormat;

/// Columns the feature builder writes that identify a row and are never features.
pub const DEFAULT_KEY_COLUMNS: [&str; 6] = ["as_of", "policy_id", "installment_no", "due_date", "customer_id", "agent_id"];

/// Why a table cannot be used for training.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("{}: {message}", path.display())]
    Read { path: PathBuf, message: String },
    #[error("{}: no label column {label:?} (columns: {columns})", path.display())]
    NoLabel { path: PathBuf, label: String, columns: String },
    #[error("{}: label column {label:?}, row {row}: {value:?} is not 0/1 (or true/false, yes/no)", path.display())]
    BadLabel { path: PathBuf, label: String, row: usize, value: String },
    #[error("{}: no feature columns left after excluding keys, label and fold", path.display())]
    NoFeatures { path: PathBuf },
    #[error("{}: {message}", path.display())]
    Unusable { path: PathBuf, message: String },
}

/// How a feature column is used by the models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeatureKind {
    Numeric,
    Categorical,
}

/// One feature column's values (all rows of the table).
#[derive(Debug, Clone)]
pub enum FeatureValues {
    /// NaN where missing.
    Numeric(Vec<f64>),
    Categorical(Categories),
}

impl FeatureValues {
    /// Rows in the column.
    pub fn len(&self) -> usize {
        match self {
            FeatureValues::Numeric(v) => v.len(),
            FeatureValues::Categorical(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A categorical column, dictionary-encoded: per row a code into `levels` (in first-seen
/// order), [`Categories::MISSING`] where missing. Four bytes a row instead of a `String` each:
/// training tables have millions of rows and a dozen categorical columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Categories {
    pub codes: Vec<u32>,
    pub levels: Vec<String>,
}

impl Categories {
    /// The code of a missing value.
    pub const MISSING: u32 = u32::MAX;

    /// Encodes values (None = missing).
    pub fn from_values<'a>(values: impl IntoIterator<Item = Option<&'a str>>) -> Self {
        let mut index: rustc_hash::FxHashMap<&'a str, u32> = rustc_hash::FxHashMap::default();
        let mut levels = Vec::new();
        let codes = values
            .into_iter()
            .map(|v| match v {
                None => Self::MISSING,
                Some(text) => *index.entry(text).or_insert_with(|| {
                    levels.push(text.to_string());
                    (levels.len() - 1) as u32
                }),
            })
            .collect();
        Categories { codes, levels }
    }

    pub fn len(&self) -> usize {
        self.codes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// The value of a row (None when missing).
    pub fn get(&self, row: usize) -> Option<&str> {
        self.level(self.codes[row])
    }

    /// The level of a code (None for [`Categories::MISSING`]).
    pub fn level(&self, code: u32) -> Option<&str> {
        (code != Self::MISSING).then(|| self.levels[code as usize].as_str())
    }

    /// Every row's value.
    pub fn iter(&self) -> impl Iterator<Item = Option<&str>> + '_ {
        self.codes.iter().map(|&c| self.level(c))
    }
}

/// A feature column.
#[derive(Debug, Clone)]
pub struct FeatureColumn {
    pub name: String,
    pub values: FeatureValues,
}

impl FeatureColumn {
    pub fn kind(&self) -> FeatureKind {
        match self.values {
            FeatureValues::Numeric(_) => FeatureKind::Numeric,
            FeatureValues::Categorical(_) => FeatureKind::Categorical,
        }
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

pub fn read_frame(path: &Path) -> Result<(DataFrame, Vec<(String, String)>), DatasetError> {
    let fail = |e: PolarsError| DatasetError::Read { path: path.to_path_buf(), message: e.to_string() };
    match FileFormat::of(path) {
        Some(FileFormat::Csv) => {
            let df = CsvReadOptions::default()
                .with_has_header(true)
                .with_infer_schema_length(Some(100_000))
                .try_into_reader_with_file_path(Some(path.to_path_buf()))
                .and_then(|r| r.finish())
                .map_err(fail)?;
            Ok((df, Vec::new()))
        }
        Some(FileFormat::Parquet) => {
            let file = File::open(path).map_err(|e| DatasetError::Read { path: path.to_path_buf(), message: e.to_string() })?;
            let mut reader = ParquetReader::new(file);
            let metadata = reader
                .get_metadata()
                .map_err(fail)?
                .key_value_metadata()
                .clone()
                .unwrap_or_default()
                .into_iter()
                .filter_map(|kv| kv.value.map(|v| (kv.key, v)))
                .collect();
            Ok((reader.finish().map_err(fail)?, metadata))
        }
        None => Err(DatasetError::Read { path: path.to_path_buf(), message: "unknown extension (expected .csv or .parquet)".into() }),
    }
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

/// A frame column's values as a feature: numbers (and booleans) as numbers, text that is all
/// numbers (or blank) as numbers, other text as categories; NaN / None where missing. The one
/// typing rule, shared by training, drift and anything else that reads feature tables.
pub fn feature_values(column: &Column) -> FeatureValues {
    match column.dtype() {
        dtype if dtype.is_primitive_numeric() || dtype.is_bool() => {
            let cast = column.cast(&DataType::Float64).expect("numeric casts to f64");
            FeatureValues::Numeric(cast.f64().expect("f64").iter().map(|v| v.unwrap_or(f64::NAN)).collect())
        }
        _ => {
            let text = column.cast(&DataType::String).expect("any column casts to String");
            let text = text.str().expect("String");
            let numbers: Option<Vec<f64>> = text.iter().map(|v| v.map_or(Some(f64::NAN), |s| s.trim().parse::<f64>().ok())).collect();
            match numbers {
                Some(numbers) => FeatureValues::Numeric(numbers),
                None => FeatureValues::Categorical(Categories::from_values(text.iter())),
            }
        }
    }
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
                    return Err(DatasetError::BadLabel { path: path.to_path_buf(), label: label_column.clone(), row: row + 1, value: value.to_string() });
                }
            }
        }
        let unlabelled_rows = df.height() - labels.len();
        // Keep the labelled rows (no copy when every row is labelled).
        let df = if unlabelled_rows == 0 {
            df
        } else {
            df.take(&IdxCa::from_vec("rows".into(), keep_rows)).map_err(|e| DatasetError::Read { path: path.to_path_buf(), message: e.to_string() })?
        };

        let keys: BTreeSet<String> = match meta("lapse.key_columns") {
            Some(list) => list.split(',').map(str::to_string).collect(),
            None => DEFAULT_KEY_COLUMNS.iter().map(|s| s.to_string()).collect(),
        };
        let numeric_column = |name: &str| -> Option<Vec<f64>> {
            let column = df.column(name).ok()?;
            let cast = column.cast(&DataType::Float64).ok()?;
            Some(cast.f64().ok()?.iter().map(|v| v.unwrap_or(0.0)).collect())
        };
        let (value, value_source) = match &options.value_column {
            Some(name) => (
                numeric_column(name).ok_or_else(|| DatasetError::Unusable { path: path.to_path_buf(), message: format!("value column {name:?} is missing or not numeric") })?,
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
        })
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::Categories;

    #[test]
    fn categories_round_trip_their_values() {
        let values = [Some("b"), None, Some("a"), Some("b"), None];
        let c = Categories::from_values(values);
        assert_eq!(c.levels, ["b", "a"]);
        assert_eq!(c.codes, [0, Categories::MISSING, 1, 0, Categories::MISSING]);
        assert_eq!(c.iter().collect::<Vec<_>>(), values);
        assert_eq!((c.get(2), c.get(1), c.len()), (Some("a"), None, 5));
    }
}
