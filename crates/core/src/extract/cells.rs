//! Converting one table's columns to typed vectors, recording every cell that breaks the
//! contract. A table comes from a file (polars columns: every contract column converted in
//! parallel, each dropped as soon as it is converted, so a big table is never held twice) or
//! from the raw records of a scoring request (text cells, converted on the calling thread with
//! no polars frame: a request of a few dozen rows must not pay for one). Both go through the
//! same per-cell checks.

use std::path::PathBuf;

use polars::prelude::*;
use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::issues::RowIssue;
use super::schema::{ColumnKind, ColumnSpec, TableSpec};
use crate::dates::{Day, parse_day};

/// A converted text column: polars strings read from a file, or a request's cells.
pub enum TextColumn {
    Polars(StringChunked),
    Cells(Vec<Option<String>>),
}

/// Rows `start..end` of a [`TextColumn`].
pub enum TextSlice<'a> {
    Polars(StringChunked),
    Cells(&'a [Option<String>]),
}

/// The values of a [`TextColumn`] or [`TextSlice`] in row order (None where missing).
pub enum TextIter<'a> {
    Polars(Box<dyn Iterator<Item = Option<&'a str>> + 'a>),
    Cells(std::slice::Iter<'a, Option<String>>),
}

impl<'a> Iterator for TextIter<'a> {
    type Item = Option<&'a str>;

    fn next(&mut self) -> Option<Option<&'a str>> {
        match self {
            TextIter::Polars(values) => values.next(),
            TextIter::Cells(values) => values.next().map(Option::as_deref),
        }
    }
}

impl TextColumn {
    pub fn len(&self) -> usize {
        match self {
            TextColumn::Polars(values) => values.len(),
            TextColumn::Cells(values) => values.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn iter(&self) -> TextIter<'_> {
        match self {
            TextColumn::Polars(values) => TextIter::Polars(Box::new(values.iter())),
            TextColumn::Cells(values) => TextIter::Cells(values.iter()),
        }
    }

    /// The value of row `i`.
    pub fn get(&self, i: usize) -> Option<&str> {
        match self {
            TextColumn::Polars(values) => values.get(i),
            TextColumn::Cells(values) => values[i].as_deref(),
        }
    }

    /// Rows `start..start + len`.
    pub fn slice(&self, start: usize, len: usize) -> TextSlice<'_> {
        match self {
            TextColumn::Polars(values) => TextSlice::Polars(values.slice(start as i64, len)),
            TextColumn::Cells(values) => TextSlice::Cells(&values[start..start + len]),
        }
    }

    fn append(&mut self, other: TextColumn) {
        match (self, other) {
            (TextColumn::Polars(a), TextColumn::Polars(b)) => {
                a.append(&b).expect("same dtype");
            }
            (TextColumn::Cells(a), TextColumn::Cells(b)) => a.extend(b),
            _ => unreachable!("blocks of one table come from one source"),
        }
    }
}

impl TextSlice<'_> {
    pub fn len(&self) -> usize {
        match self {
            TextSlice::Polars(values) => values.len(),
            TextSlice::Cells(values) => values.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn iter(&self) -> TextIter<'_> {
        match self {
            TextSlice::Polars(values) => TextIter::Polars(Box::new(values.iter())),
            TextSlice::Cells(values) => TextIter::Cells(values.iter()),
        }
    }
}

/// A converted column.
pub enum Converted {
    Text(TextColumn),
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
        Self::assemble(spec, path, height, first_row, converted)
    }

    /// Converts a request's records: `columns` are (contract column, one cell per row), every
    /// column `rows` long. On the calling thread, no polars frame.
    pub fn from_cells(spec: &'static TableSpec, path: PathBuf, rows: usize, columns: Vec<(ColumnSpec, Vec<Option<String>>)>) -> Self {
        let converted = columns
            .into_iter()
            .map(|(column, cells)| {
                let (values, flags) = match column.kind {
                    ColumnKind::Text => {
                        let flags = text_flags(&column, cells.iter().map(Option::as_deref));
                        (Converted::Text(TextColumn::Cells(cells)), flags)
                    }
                    ColumnKind::Date => date_cells(&column, cells.iter().map(Option::as_deref)),
                    _ => number_cells(&column, cells.iter().map(Option::as_deref)),
                };
                (column, values, flags)
            })
            .collect();
        Self::assemble(spec, path, rows, 0, converted)
    }

    /// The table from its converted columns and their bad cells.
    fn assemble(
        spec: &'static TableSpec,
        path: PathBuf,
        height: usize,
        first_row: usize,
        converted: Vec<(ColumnSpec, Converted, Vec<CellFlag>)>,
    ) -> Self {
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
                (Some(Converted::Text(a)), Converted::Text(b)) => a.append(b),
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
    pub fn text(&mut self, name: &str) -> TextColumn {
        match self.columns.remove(name) {
            Some(Converted::Text(values)) => values,
            None => TextColumn::Cells(vec![None; self.height()]),
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
    let flags = text_flags(spec, values.iter());
    (Converted::Text(TextColumn::Polars(values)), flags)
}

/// The required text cells that are missing.
fn text_flags<'a>(spec: &ColumnSpec, cells: impl Iterator<Item = Option<&'a str>>) -> Vec<CellFlag> {
    let mut flags = Vec::new();
    if spec.required {
        for (row, value) in cells.enumerate() {
            if value.and_then(super::clean).is_none() {
                flags.push(CellFlag { row, value: String::new(), reason: "required value is missing" });
            }
        }
    }
    flags
}

fn date_column(spec: &ColumnSpec, column: Column) -> (Converted, Vec<CellFlag>) {
    let values: Vec<Option<Day>> = match column.dtype() {
        DataType::Date => column.date().expect("Date column").physical().iter().collect(),
        DataType::Datetime(_, _) => {
            let cast = column.cast(&DataType::Date).expect("Datetime casts to Date");
            cast.date().expect("Date column").physical().iter().collect()
        }
        _ => return date_cells(spec, as_strings(column).iter()),
    };
    let flags = missing_dates(spec, &values, Vec::new());
    (Converted::Dates(values), flags)
}

/// Dates written as text, each parsed and checked.
fn date_cells<'a>(spec: &ColumnSpec, cells: impl Iterator<Item = Option<&'a str>>) -> (Converted, Vec<CellFlag>) {
    let mut flags = Vec::new();
    let values: Vec<Option<Day>> = cells
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
        .collect();
    let flags = missing_dates(spec, &values, flags);
    (Converted::Dates(values), flags)
}

/// Adds the required dates that are missing (and were not unparseable) to `flags`, in row order.
fn missing_dates(spec: &ColumnSpec, values: &[Option<Day>], mut flags: Vec<CellFlag>) -> Vec<CellFlag> {
    if spec.required {
        let unparsed: Vec<usize> = flags.iter().map(|f| f.row).collect();
        for (row, value) in values.iter().enumerate() {
            if value.is_none() && unparsed.binary_search(&row).is_err() {
                flags.push(CellFlag { row, value: String::new(), reason: "required value is missing" });
            }
        }
        flags.sort_by_key(|f| f.row);
    }
    flags
}

/// Checks numbers: (raw text when the cell was text, parsed value) per row.
struct NumberChecker<'s> {
    spec: &'s ColumnSpec,
    out: Vec<f64>,
    flags: Vec<CellFlag>,
}

impl NumberChecker<'_> {
    fn check(&mut self, row: usize, raw: Option<&str>, value: Option<f64>) {
        let verdict = match (raw, value) {
            (Some(_), None) => Err("not a number"),
            (_, None) if self.spec.required => Err("required value is missing"),
            (_, None) => Ok(f64::NAN),
            (_, Some(v)) => check_number(self.spec.kind, v),
        };
        match verdict {
            Ok(v) => self.out.push(v),
            Err(reason) => {
                let value = raw.map(str::to_string).unwrap_or_else(|| value.map(|v| v.to_string()).unwrap_or_default());
                self.flags.push(CellFlag { row, value, reason });
                self.out.push(f64::NAN);
            }
        }
    }

    fn done(self) -> (Converted, Vec<CellFlag>) {
        (Converted::Numbers(self.out), self.flags)
    }
}

fn number_column(spec: &ColumnSpec, column: Column) -> (Converted, Vec<CellFlag>) {
    let dtype = column.dtype().clone();
    if dtype.is_primitive_numeric() || dtype.is_bool() {
        let mut checker = NumberChecker { spec, out: Vec::with_capacity(column.len()), flags: Vec::new() };
        let cast = column.cast(&DataType::Float64).expect("numeric casts to Float64");
        for (row, v) in cast.f64().expect("Float64 column").iter().enumerate() {
            checker.check(row, None, v);
        }
        checker.done()
    } else {
        number_cells(spec, as_strings(column).iter())
    }
}

/// Numbers written as text, each parsed and checked.
fn number_cells<'a>(spec: &ColumnSpec, cells: impl Iterator<Item = Option<&'a str>>) -> (Converted, Vec<CellFlag>) {
    let mut checker = NumberChecker { spec, out: Vec::new(), flags: Vec::new() };
    for (row, cell) in cells.enumerate() {
        match cell.and_then(super::clean) {
            None => checker.check(row, None, None),
            Some(s) => checker.check(row, Some(s), s.parse::<f64>().ok()),
        }
    }
    checker.done()
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
