//! Converting one table's columns to typed vectors, recording every cell that breaks the
//! contract. All contract columns of a table are converted in parallel, and each polars column
//! is dropped as soon as it is converted, so a big table is never held twice.

use std::path::PathBuf;

use polars::prelude::*;
use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::issues::RowIssue;
use super::schema::{ColumnKind, ColumnSpec, TableSpec};
use crate::dates::{Day, parse_day};

/// A converted column.
pub enum Converted {
    Text(StringChunked),
    Dates(Vec<Option<Day>>),
    /// Missing and bad cells are NaN.
    Numbers(Vec<f64>),
}

/// A bad cell found during conversion.
struct CellFlag {
    row: usize,
    value: String,
    reason: &'static str,
}

/// A table after conversion, with the issues found in it so far and which rows are bad.
pub struct TableFrame {
    pub spec: &'static TableSpec,
    pub path: PathBuf,
    columns: FxHashMap<&'static str, Converted>,
    pub issues: Vec<RowIssue>,
    /// `bad[i]`: data row `i + 1` broke a rule and is not used.
    pub bad: Vec<bool>,
}

impl TableFrame {
    /// Converts every contract column of `df` (in parallel) and records each bad cell; `df`'s
    /// first row is data row `first_row + 1` of the file.
    pub fn convert(spec: &'static TableSpec, path: PathBuf, df: DataFrame, first_row: usize) -> Self {
        let height = df.height();
        let mut present: Vec<(ColumnSpec, Column)> = Vec::new();
        for column in df.into_columns() {
            if let Some(spec) = spec.columns.iter().find(|c| c.name == column.name().as_str()) {
                present.push((*spec, column));
            }
        }
        let converted: Vec<(ColumnSpec, Converted, Vec<CellFlag>)> = present
            .into_par_iter()
            .map(|(spec, column)| {
                let (values, flags) = convert_column(&spec, column);
                (spec, values, flags)
            })
            .collect();
        let mut frame = TableFrame { spec, path, columns: FxHashMap::default(), issues: Vec::new(), bad: vec![false; height] };
        // Issues in row order, then in the contract's column order.
        let mut flags: Vec<(usize, usize, &'static str, CellFlag)> = Vec::new();
        for (column, values, cell_flags) in converted {
            let position = spec.columns.iter().position(|c| c.name == column.name).expect("contract column");
            flags.extend(cell_flags.into_iter().map(|f| (f.row, position, column.name, f)));
            frame.columns.insert(column.name, values);
        }
        flags.sort_by_key(|f| (f.0, f.1));
        for (row, _, name, flag) in flags {
            frame.bad[row] = true;
            frame.issues.push(RowIssue {
                table: spec.name,
                file: frame.path.clone(),
                row: first_row + row + 1,
                column: name.to_string(),
                value: flag.value,
                reason: flag.reason.to_string(),
            });
        }
        frame
    }

    /// Appends the next block of the same file (converted with `first_row = self.height()`).
    pub fn append(&mut self, next: TableFrame) {
        self.bad.extend(next.bad);
        self.issues.extend(next.issues);
        for (name, values) in next.columns {
            match (self.columns.get_mut(name), values) {
                (Some(Converted::Text(a)), Converted::Text(b)) => {
                    a.append(&b).expect("same dtype");
                }
                (Some(Converted::Dates(a)), Converted::Dates(b)) => a.extend(b),
                (Some(Converted::Numbers(a)), Converted::Numbers(b)) => a.extend(b),
                (None, values) => {
                    self.columns.insert(name, values);
                }
                _ => unreachable!("a column keeps its kind across blocks"),
            }
        }
    }

    pub fn height(&self) -> usize {
        self.bad.len()
    }

    /// Records an issue on 0-based row `index` and marks the row bad.
    pub fn flag(&mut self, index: usize, column: &str, value: impl Into<String>, reason: impl Into<String>) {
        self.bad[index] = true;
        self.issues.push(RowIssue {
            table: self.spec.name,
            file: self.path.clone(),
            row: index + 1,
            column: column.to_string(),
            value: value.into(),
            reason: reason.into(),
        });
    }

    /// Takes a converted text column (all missing when an optional column is absent).
    pub fn text(&mut self, name: &str) -> StringChunked {
        match self.columns.remove(name) {
            Some(Converted::Text(values)) => values,
            None => StringChunked::full_null(name.into(), self.height()),
            Some(_) => panic!("{name} is not a text column"),
        }
    }

    /// Takes a converted date column.
    pub fn dates(&mut self, name: &str) -> Vec<Option<Day>> {
        match self.columns.remove(name) {
            Some(Converted::Dates(values)) => values,
            None => vec![None; self.height()],
            Some(_) => panic!("{name} is not a date column"),
        }
    }

    /// Takes a converted numeric column (NaN where missing or bad).
    pub fn numbers(&mut self, name: &str) -> Vec<f64> {
        match self.columns.remove(name) {
            Some(Converted::Numbers(values)) => values,
            None => vec![f64::NAN; self.height()],
            Some(_) => panic!("{name} is not a numeric column"),
        }
    }
}

fn convert_column(spec: &ColumnSpec, column: Column) -> (Converted, Vec<CellFlag>) {
    match spec.kind {
        ColumnKind::Text => text_column(spec, column),
        ColumnKind::Date => date_column(spec, column),
        _ => number_column(spec, column),
    }
}

fn as_strings(column: Column) -> StringChunked {
    let cast = column.cast(&DataType::String).expect("any column casts to String");
    cast.str().expect("String column").clone()
}

fn text_column(spec: &ColumnSpec, column: Column) -> (Converted, Vec<CellFlag>) {
    let values = as_strings(column);
    let mut flags = Vec::new();
    if spec.required {
        for (row, value) in values.iter().enumerate() {
            if value.and_then(super::clean).is_none() {
                flags.push(CellFlag { row, value: String::new(), reason: "required value is missing" });
            }
        }
    }
    (Converted::Text(values), flags)
}

fn date_column(spec: &ColumnSpec, column: Column) -> (Converted, Vec<CellFlag>) {
    let mut flags = Vec::new();
    let values: Vec<Option<Day>> = match column.dtype() {
        DataType::Date => column.date().expect("Date column").physical().iter().collect(),
        DataType::Datetime(_, _) => {
            let cast = column.cast(&DataType::Date).expect("Datetime casts to Date");
            cast.date().expect("Date column").physical().iter().collect()
        }
        _ => as_strings(column)
            .iter()
            .enumerate()
            .map(|(row, cell)| match cell.and_then(super::clean) {
                None => None,
                Some(text) => {
                    let day = parse_day(text);
                    if day.is_none() {
                        flags.push(CellFlag { row, value: text.to_string(), reason: "not a valid date (expected YYYY-MM-DD)" });
                    }
                    day
                }
            })
            .collect(),
    };
    if spec.required {
        let unparsed: Vec<usize> = flags.iter().map(|f| f.row).collect();
        for (row, value) in values.iter().enumerate() {
            if value.is_none() && unparsed.binary_search(&row).is_err() {
                flags.push(CellFlag { row, value: String::new(), reason: "required value is missing" });
            }
        }
        flags.sort_by_key(|f| f.row);
    }
    (Converted::Dates(values), flags)
}

fn number_column(spec: &ColumnSpec, column: Column) -> (Converted, Vec<CellFlag>) {
    let mut flags = Vec::new();
    let mut out = Vec::with_capacity(column.len());
    let mut check = |row: usize, raw: Option<&str>, value: Option<f64>| {
        let verdict = match (raw, value) {
            (Some(_), None) => Err("not a number"),
            (_, None) if spec.required => Err("required value is missing"),
            (_, None) => Ok(f64::NAN),
            (_, Some(v)) => check_number(spec.kind, v),
        };
        match verdict {
            Ok(v) => out.push(v),
            Err(reason) => {
                let value = raw.map(str::to_string).unwrap_or_else(|| value.map(|v| v.to_string()).unwrap_or_default());
                flags.push(CellFlag { row, value, reason });
                out.push(f64::NAN);
            }
        }
    };
    let dtype = column.dtype().clone();
    if dtype.is_primitive_numeric() || dtype.is_bool() {
        let cast = column.cast(&DataType::Float64).expect("numeric casts to Float64");
        for (row, v) in cast.f64().expect("Float64 column").iter().enumerate() {
            check(row, None, v);
        }
    } else {
        for (row, cell) in as_strings(column).iter().enumerate() {
            match cell.and_then(super::clean) {
                None => check(row, None, None),
                Some(s) => check(row, Some(s), s.parse::<f64>().ok()),
            }
        }
    }
    (Converted::Numbers(out), flags)
}

fn check_number(kind: ColumnKind, value: f64) -> Result<f64, &'static str> {
    if !value.is_finite() {
        return Err("not a finite number");
    }
    let whole = value.fract() == 0.0;
    match kind {
        ColumnKind::Money if value < 0.0 => Err("negative amount (must be >= 0)"),
        ColumnKind::Count if !whole => Err("not a whole number"),
        ColumnKind::Count if value < 0.0 => Err("negative count (must be >= 0)"),
        ColumnKind::PositiveInt if !whole => Err("not a whole number"),
        ColumnKind::PositiveInt if value < 1.0 => Err("must be a whole number >= 1"),
        ColumnKind::PositiveInt | ColumnKind::Count if value > f64::from(u32::MAX) => Err("too large"),
        _ => Ok(value),
    }
}
