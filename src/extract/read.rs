//! Finding a table's file in an extract directory and reading it into a polars `DataFrame`.
//!
//! CSV is read with text columns as strings and numeric columns as `Float64` (polars' parser is
//! multi-threaded and much faster than parsing in Rust); if polars refuses a numeric cell, the
//! file is read again with every column as a string so that [`super::cells`] can name each bad
//! cell. Dates are always parsed by us, to the contract's exact `YYYY-MM-DD` format.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use polars::prelude::*;

use super::schema::TableSpec;
use super::ExtractError;
use crate::io_util::IoContext;

/// The file formats an extract table can come in, chosen by file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Csv,
    Parquet,
}

impl FileFormat {
    /// The format of a path by its extension (`.csv`, `.parquet`, `.pq`).
    pub fn of(path: &Path) -> Option<FileFormat> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(FileFormat::Csv),
            "parquet" | "pq" => Some(FileFormat::Parquet),
            _ => None,
        }
    }
}

/// Finds `DIR/<table>.csv`, `.parquet` or `.pq`. Two candidates for one table is an error
/// (which one is the truth?); none is an error only for a required table.
pub fn locate(dir: &Path, spec: &TableSpec) -> Result<Option<PathBuf>, ExtractError> {
    let found: Vec<PathBuf> = ["csv", "parquet", "pq"]
        .iter()
        .map(|ext| dir.join(format!("{}.{ext}", spec.name)))
        .filter(|p| p.is_file())
        .collect();
    match found.len() {
        0 if spec.required => Err(ExtractError::MissingTable { table: spec.name, dir: dir.to_path_buf() }),
        0 => Ok(None),
        1 => Ok(found.into_iter().next()),
        _ => Err(ExtractError::AmbiguousTable { table: spec.name, paths: found }),
    }
}

/// Reads the contract's columns of one table file. Columns the contract does not define are
/// ignored; a missing required column is an error naming every missing one.
pub fn read_table(path: &Path, spec: &TableSpec) -> Result<DataFrame, ExtractError> {
    match FileFormat::of(path) {
        Some(FileFormat::Csv) => read_csv(path, spec),
        Some(FileFormat::Parquet) => read_parquet(path, spec),
        None => Err(ExtractError::Unreadable {
            file: path.to_path_buf(),
            message: "unknown extension (expected .csv, .parquet or .pq)".into(),
        }),
    }
}

fn check_columns(path: &Path, spec: &TableSpec, present: &[String]) -> Result<Vec<String>, ExtractError> {
    let missing: Vec<String> = spec
        .columns
        .iter()
        .filter(|c| c.required && !present.iter().any(|p| p == c.name))
        .map(|c| c.name.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(ExtractError::MissingColumns { file: path.to_path_buf(), columns: missing });
    }
    Ok(spec
        .columns
        .iter()
        .filter(|c| present.iter().any(|p| p == c.name))
        .map(|c| c.name.to_string())
        .collect())
}

fn read_csv(path: &Path, spec: &TableSpec) -> Result<DataFrame, ExtractError> {
    let header = read_csv_header(path)?;
    let columns = check_columns(path, spec, &header)?;
    let projection: Arc<[PlSmallStr]> = columns.iter().map(|c| PlSmallStr::from(c.as_str())).collect();
    let numeric = Schema::from_iter(
        spec.columns
            .iter()
            .filter(|c| c.kind.is_numeric() && columns.iter().any(|p| p == c.name))
            .map(|c| Field::new(c.name.into(), DataType::Float64)),
    );
    let read = |schema_overwrite: Option<SchemaRef>| {
        CsvReadOptions::default()
            .with_has_header(true)
            // Every column is a string unless overwritten: nothing is guessed from a sample.
            .with_infer_schema_length(Some(0))
            .with_schema_overwrite(schema_overwrite)
            .with_columns(Some(projection.clone()))
            .try_into_reader_with_file_path(Some(path.to_path_buf()))
            .and_then(|reader| reader.finish())
    };
    match read(Some(Arc::new(numeric))) {
        Ok(df) => Ok(df),
        // A numeric cell polars cannot parse: read everything as text and let the cell checks
        // name every bad cell.
        Err(_) => read(None).map_err(|e| ExtractError::Unreadable { file: path.to_path_buf(), message: e.to_string() }),
    }
}

/// The header row's column names (RFC 4180 quoting, UTF-8 byte-order mark stripped).
fn read_csv_header(path: &Path) -> Result<Vec<String>, ExtractError> {
    let file = File::open(path).map_err(|e| IoContext::new("opening", path, e))?;
    let mut line = String::new();
    BufReader::new(file)
        .read_line(&mut line)
        .map_err(|e| IoContext::new("reading", path, e))?;
    let line = line.trim_start_matches('\u{feff}').trim_end_matches(['\n', '\r']);
    if line.is_empty() {
        return Err(ExtractError::Unreadable { file: path.to_path_buf(), message: "the file is empty (no header row)".into() });
    }
    let mut names = Vec::new();
    let mut field = String::new();
    let mut in_quotes = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, in_quotes) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => in_quotes = !in_quotes,
            (',', false) => names.push(std::mem::take(&mut field).trim().to_string()),
            _ => field.push(c),
        }
    }
    names.push(field.trim().to_string());
    Ok(names)
}

fn read_parquet(path: &Path, spec: &TableSpec) -> Result<DataFrame, ExtractError> {
    let unreadable = |e: PolarsError| ExtractError::Unreadable { file: path.to_path_buf(), message: e.to_string() };
    let file = File::open(path).map_err(|e| IoContext::new("opening", path, e))?;
    let mut reader = ParquetReader::new(file);
    let present: Vec<String> = reader
        .schema()
        .map_err(unreadable)?
        .iter_names()
        .map(|n| n.to_string())
        .collect();
    let columns = check_columns(path, spec, &present)?;
    reader.with_columns(Some(columns)).finish().map_err(unreadable)
}
