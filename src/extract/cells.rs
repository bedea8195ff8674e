//! Typed access to one table's cells, recording every cell that breaks the contract.

use std::path::PathBuf;

use polars::prelude::*;

use super::issues::RowIssue;
use super::schema::{ColumnKind, TableSpec};
use crate::dates::{parse_day, Day};

/// A table as read, with the issues found in it so far and which rows are bad.
pub struct TableFrame {
    pub spec: &'static TableSpec,
    pub path: PathBuf,
    pub df: DataFrame,
    pub issues: Vec<RowIssue>,
    /// `bad[i]`: data row `i + 1` broke a rule and is not used.
    pub bad: Vec<bool>,
}

impl TableFrame {
    pub fn new(spec: &'static TableSpec, path: PathBuf, df: DataFrame) -> Self {
        let rows = df.height();
        TableFrame { spec, path, df, issues: Vec::new(), bad: vec![false; rows] }
    }

    pub fn height(&self) -> usize {
        self.bad.len()
    }

    /// Records an issue on 0-based row `index` and marks the row bad.
    pub fn flag(&mut self, index: usize, column: &str, value: impl Into<String>, reason: impl Into<String>) {
        self.bad[index] = true;
        let record = self.record(index);
        self.issues.push(RowIssue {
            table: self.spec.name,
            file: self.path.clone(),
            row: index + 1,
            column: column.to_string(),
            value: value.into(),
            reason: reason.into(),
            record,
        });
    }

    /// The row's cells as `column=value` pairs, for the rejects file.
    pub fn record(&self, index: usize) -> String {
        self.df
            .columns()
            .iter()
            .map(|c| {
                let value = match c.get(index) {
                    Ok(AnyValue::Null) | Err(_) => String::new(),
                    Ok(AnyValue::String(s)) => s.to_string(),
                    Ok(other) => other.to_string(),
                };
                format!("{}={value}", c.name())
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn column(&self, name: &str) -> Option<&Column> {
        self.df.column(name).ok()
    }

    /// A text column (all missing when an optional column is absent). Required cells that are
    /// missing or blank are flagged.
    pub fn text(&mut self, name: &str) -> StringChunked {
        let spec = *self.spec.column(name);
        let values = match self.column(name) {
            Some(col) => match col.cast(&DataType::String) {
                Ok(cast) => cast.str().expect("cast to String").clone(),
                Err(_) => StringChunked::full_null(name.into(), self.height()),
            },
            None => StringChunked::full_null(name.into(), self.height()),
        };
        if spec.required {
            let blank: Vec<usize> = values
                .iter()
                .enumerate()
                .filter(|(_, v)| v.is_none_or(|s| s.trim().is_empty()))
                .map(|(i, _)| i)
                .collect();
            for i in blank {
                self.flag(i, name, "", "required value is missing");
            }
        }
        values
    }

    /// A date column parsed as ISO `YYYY-MM-DD`; unparseable and missing-but-required cells are
    /// flagged and come back as `None`.
    pub fn dates(&mut self, name: &str) -> Vec<Option<Day>> {
        let spec = *self.spec.column(name);
        let Some(col) = self.column(name) else {
            return vec![None; self.height()];
        };
        let mut out = Vec::with_capacity(self.height());
        let mut flags: Vec<(usize, String, &'static str)> = Vec::new();
        match col.dtype() {
            DataType::Date => {
                let days = col.date().expect("Date column");
                out.extend(days.physical().iter());
            }
            DataType::Datetime(_, _) => {
                let cast = col.cast(&DataType::Date).expect("Datetime casts to Date");
                out.extend(cast.date().expect("Date column").physical().iter());
            }
            _ => {
                let text = col.cast(&DataType::String).expect("any column casts to String");
                for (i, cell) in text.str().expect("String column").iter().enumerate() {
                    match cell.map(str::trim).filter(|s| !s.is_empty()) {
                        None => out.push(None),
                        Some(s) => match parse_day(s) {
                            Some(day) => out.push(Some(day)),
                            None => {
                                flags.push((i, s.to_string(), "not a valid date (expected YYYY-MM-DD)"));
                                out.push(None);
                            }
                        },
                    }
                }
            }
        }
        if spec.required {
            for (i, v) in out.iter().enumerate() {
                if v.is_none() && !flags.iter().any(|f| f.0 == i) {
                    flags.push((i, String::new(), "required value is missing"));
                }
            }
        }
        flags.sort_by_key(|f| f.0);
        for (i, value, reason) in flags {
            self.flag(i, name, value, reason);
        }
        out
    }

    /// A numeric column, checked against its kind (sign, whole number). Bad cells are flagged
    /// and come back as `None`.
    pub fn numbers(&mut self, name: &str) -> Vec<Option<f64>> {
        let spec = *self.spec.column(name);
        let Some(col) = self.column(name) else {
            return vec![None; self.height()];
        };
        let mut out = Vec::with_capacity(self.height());
        let mut flags: Vec<(usize, String, String)> = Vec::new();
        let mut check = |i: usize, raw: Option<&str>, value: Option<f64>, out: &mut Vec<Option<f64>>| {
            let shown = || raw.map(str::to_string).unwrap_or_else(|| value.map(|v| v.to_string()).unwrap_or_default());
            let verdict = match (raw, value) {
                (Some(_), None) => Err("not a number".to_string()),
                (_, None) if spec.required => Err("required value is missing".to_string()),
                (_, None) => Ok(None),
                (_, Some(v)) => check_number(spec.kind, v).map(Some),
            };
            match verdict {
                Ok(v) => out.push(v),
                Err(reason) => {
                    flags.push((i, shown(), reason));
                    out.push(None);
                }
            }
        };
        match col.dtype() {
            DataType::String => {
                for (i, cell) in col.str().expect("String column").iter().enumerate() {
                    match cell.map(str::trim).filter(|s| !s.is_empty()) {
                        None => check(i, None, None, &mut out),
                        Some(s) => check(i, Some(s), s.parse::<f64>().ok(), &mut out),
                    }
                }
            }
            dtype if dtype.is_primitive_numeric() || dtype.is_bool() => {
                let cast = col.cast(&DataType::Float64).expect("numeric casts to Float64");
                for (i, v) in cast.f64().expect("Float64 column").iter().enumerate() {
                    check(i, None, v, &mut out);
                }
            }
            _ => {
                let text = col.cast(&DataType::String).expect("any column casts to String");
                for (i, cell) in text.str().expect("String column").iter().enumerate() {
                    match cell {
                        None => check(i, None, None, &mut out),
                        Some(s) => check(i, Some(s), s.trim().parse::<f64>().ok(), &mut out),
                    }
                }
            }
        }
        for (i, value, reason) in flags {
            self.flag(i, name, value, reason);
        }
        out
    }
}

fn check_number(kind: ColumnKind, value: f64) -> Result<f64, String> {
    if !value.is_finite() {
        return Err("not a finite number".into());
    }
    let whole = value.fract() == 0.0;
    match kind {
        ColumnKind::Money if value < 0.0 => Err("negative amount (must be >= 0)".into()),
        ColumnKind::Count if !whole => Err("not a whole number".into()),
        ColumnKind::Count if value < 0.0 => Err("negative count (must be >= 0)".into()),
        ColumnKind::PositiveInt if !whole => Err("not a whole number".into()),
        ColumnKind::PositiveInt if value < 1.0 => Err("must be a whole number >= 1".into()),
        ColumnKind::PositiveInt | ColumnKind::Count if value > f64::from(u32::MAX) => Err("too large".into()),
        _ => Ok(value),
    }
}
