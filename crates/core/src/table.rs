//! Feature tables as the models and reports read them: any CSV or Parquet file (the feature
//! builder's output or a plain table such as eudirectlapse), its Parquet key-value metadata,
//! and the one typing rule for feature columns. The trainer's `Dataset`, drift, the scorebook
//! and the nightly job all read tables through here.

use std::fs::File;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde::{Deserialize, Serialize};

pub use crate::categories::Categories;
pub use crate::extract::read::FileFormat;
pub use crate::features::{KEY_COLUMNS, LABEL_COLUMN};

/// A table that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct TableError {
    pub path: PathBuf,
    pub message: String,
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

/// A named feature column.
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

/// Reads a CSV or Parquet table whole, with the Parquet file's key-value metadata (empty for
/// CSV).
pub fn read_frame(path: &Path) -> Result<(DataFrame, Vec<(String, String)>), TableError> {
    let fail = |e: PolarsError| TableError { path: path.to_path_buf(), message: e.to_string() };
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
            let file = File::open(path).map_err(|e| TableError { path: path.to_path_buf(), message: e.to_string() })?;
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
        None => Err(TableError { path: path.to_path_buf(), message: "unknown extension (expected .csv or .parquet)".into() }),
    }
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

/// Whether a frame column is a feature (not a key, the label, the fold or a date).
pub fn is_feature(column: &Column) -> bool {
    let name = column.name().as_str();
    !(KEY_COLUMNS.contains(&name) || name == LABEL_COLUMN || name == "fold" || matches!(column.dtype(), DataType::Date | DataType::Datetime(_, _)))
}

/// One feature column of a frame, typed by [`feature_values`]. None when absent or not a
/// feature.
pub fn column_of_frame(df: &DataFrame, name: &str) -> Option<FeatureColumn> {
    let column = df.column(name).ok().filter(|c| is_feature(c))?;
    Some(FeatureColumn { name: name.to_string(), values: feature_values(column) })
}

/// The feature columns of a feature table (every column but keys, label, fold and dates), all
/// rows.
pub fn read_features(path: &Path) -> Result<Vec<FeatureColumn>, TableError> {
    let (df, _) = read_frame(path)?;
    Ok(df.columns().iter().filter(|c| is_feature(c)).filter_map(|c| column_of_frame(&df, c.name().as_str())).collect())
}
