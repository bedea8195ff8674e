//! Rows of one table file streamed a block at a time, a few columns as text: for the passes
//! over an extract that need neither the whole table in memory nor the book (the data-quality
//! audit). CSV is read in blocks of whole records ([`RecordBlocks`]), in the extract's encoding;
//! Parquet a slice of rows at a time, only the asked columns.

use std::fs::File;
use std::path::Path;

use polars::prelude::*;

use super::ExtractError;
use super::read::{Encoding, FileFormat, RecordBlocks, UTF8_BOM, csv_fields};
use crate::io_util::IoContext;

/// Rows of a Parquet table read at a time.
const PARQUET_SLICE_ROWS: usize = 1 << 20;

/// One cell as the file holds it: CSV gives text; Parquet gives typed values (a date as a day,
/// a number as a number), so nothing is printed to text only to be parsed back.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    /// Empty, null, or a column the file lacks.
    Empty,
    Text(&'a str),
    Day(crate::dates::Day),
    Number(f64),
}

impl<'a> Cell<'a> {
    /// The cell as text (a day in ISO form, a number as Rust prints it).
    pub fn text(&self) -> std::borrow::Cow<'a, str> {
        match *self {
            Cell::Empty => "".into(),
            Cell::Text(t) => t.into(),
            Cell::Day(d) => crate::dates::format_day(d).into(),
            Cell::Number(x) => x.to_string().into(),
        }
    }

    /// Blank (empty, or only white space).
    pub fn is_blank(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(t) => t.trim().is_empty(),
            _ => false,
        }
    }
}

/// Calls `row(n, cells)` for every data row of the table file at `path`, `n` its 1-based data
/// row and `cells` the `columns` in order ([`Cell::Empty`] for an empty cell, or for an
/// optional column the file lacks). A required column (`required[i]`) the file lacks is an
/// error naming it; a missing optional one reads as empty.
pub fn for_each_row(
    path: &Path,
    encoding: Encoding,
    columns: &[&str],
    required: &[bool],
    row: &mut dyn FnMut(usize, &[Cell<'_>]),
) -> Result<(), ExtractError> {
    match FileFormat::of(path) {
        Some(FileFormat::Parquet) => parquet_rows(path, columns, required, row),
        _ => csv_rows(path, encoding, columns, required, row),
    }
}

/// Where each asked column sits among `names`, None for an optional column that is absent.
fn positions(path: &Path, names: &[String], columns: &[&str], required: &[bool]) -> Result<Vec<Option<usize>>, ExtractError> {
    let found: Vec<Option<usize>> = columns.iter().map(|c| names.iter().position(|n| n.trim() == *c)).collect();
    let missing: Vec<String> =
        columns.iter().zip(&found).zip(required).filter(|((_, f), r)| f.is_none() && **r).map(|((c, _), _)| c.to_string()).collect();
    if missing.is_empty() { Ok(found) } else { Err(ExtractError::MissingColumns { file: path.to_path_buf(), columns: missing }) }
}

fn csv_rows(
    path: &Path,
    encoding: Encoding,
    columns: &[&str],
    required: &[bool],
    row: &mut dyn FnMut(usize, &[Cell<'_>]),
) -> Result<(), ExtractError> {
    let io = |e: std::io::Error| ExtractError::from(IoContext::new("reading", path, e));
    let mut blocks = RecordBlocks::new(File::open(path).map_err(|e| IoContext::new("opening", path, e))?);
    let header = blocks.next_record().map_err(io)?.unwrap_or_default();
    let header = encoding.decode(header.strip_prefix(UTF8_BOM).unwrap_or(&header)).into_owned();
    let names = csv_fields(&String::from_utf8_lossy(&header));
    let at = positions(path, &names, columns, required)?;
    let mut n = 0usize;
    while let Some(block) = blocks.next_block().map_err(io)? {
        let text = encoding.decode(&block);
        let text = std::str::from_utf8(&text).map_err(|_| ExtractError::Unreadable {
            file: path.to_path_buf(),
            message: format!("not UTF-8 after data row {n} (a GB18030 export? --encoding gb18030)"),
        })?;
        let mut split: Vec<std::borrow::Cow<'_, str>> = Vec::new();
        for record in records(text) {
            if record.trim().is_empty() {
                continue;
            }
            n += 1;
            split_record(record, &mut split);
            let picked: Vec<Cell<'_>> = at
                .iter()
                .map(|i| match i.and_then(|i| split.get(i)) {
                    Some(f) if !f.is_empty() => Cell::Text(f.as_ref()),
                    _ => Cell::Empty,
                })
                .collect();
            row(n, &picked);
        }
    }
    Ok(())
}

/// The records of a block of whole records (a newline outside quotes ends one), as text: the
/// block is UTF-8 and a record ends at a newline byte, so each is UTF-8 too.
fn records(block: &str) -> impl Iterator<Item = &str> {
    super::split::records(block.as_bytes()).map(|r| std::str::from_utf8(r).expect("a UTF-8 block cut at newlines"))
}

/// Splits one CSV record into `out` (RFC 4180): borrowed fields when it has no quote, the
/// general parser's fields when it has.
fn split_record<'a>(record: &'a str, out: &mut Vec<std::borrow::Cow<'a, str>>) {
    out.clear();
    let record = record.trim_end_matches(['\n', '\r']);
    if record.contains('"') {
        out.extend(csv_fields(record).into_iter().map(std::borrow::Cow::Owned));
    } else {
        out.extend(record.split(',').map(std::borrow::Cow::Borrowed));
    }
}

/// A Parquet column of one slice, typed.
enum Typed {
    Absent,
    Text(StringChunked),
    Day(Int32Chunked),
    Number(Float64Chunked),
}

fn parquet_rows(path: &Path, columns: &[&str], required: &[bool], row: &mut dyn FnMut(usize, &[Cell<'_>])) -> Result<(), ExtractError> {
    let unreadable = |e: PolarsError| ExtractError::Unreadable { file: path.to_path_buf(), message: e.to_string() };
    let open = || File::open(path).map_err(|e| ExtractError::from(IoContext::new("opening", path, e)));
    let mut reader = ParquetReader::new(open()?);
    let names: Vec<String> = reader.schema().map_err(unreadable)?.iter_names().map(|n| n.to_string()).collect();
    let at = positions(path, &names, columns, required)?;
    let present: Vec<String> = at.iter().flatten().map(|&i| names[i].clone()).collect();
    let rows = reader.num_rows().map_err(unreadable)?;
    let mut offset = 0;
    let mut n = 0usize;
    while offset < rows {
        let df = ParquetReader::new(open()?)
            .with_columns(Some(present.clone()))
            .with_slice(Some((offset, PARQUET_SLICE_ROWS)))
            .finish()
            .map_err(unreadable)?;
        if df.height() == 0 {
            break;
        }
        // Dates as days, numbers as numbers, anything else as text.
        let typed: Vec<Typed> = at
            .iter()
            .map(|i| {
                let Some(i) = i else { return Ok(Typed::Absent) };
                let column = df.column(&names[*i]).map_err(unreadable)?;
                let dtype = column.dtype();
                Ok(if matches!(dtype, DataType::Date) {
                    Typed::Day(column.cast(&DataType::Int32).map_err(unreadable)?.i32().map_err(unreadable)?.clone())
                } else if dtype.is_primitive_numeric() {
                    Typed::Number(column.cast(&DataType::Float64).map_err(unreadable)?.f64().map_err(unreadable)?.clone())
                } else {
                    Typed::Text(column.cast(&DataType::String).map_err(unreadable)?.str().map_err(unreadable)?.clone())
                })
            })
            .collect::<Result<_, ExtractError>>()?;
        let mut iters: Vec<Box<dyn Iterator<Item = Cell<'_>> + '_>> = typed
            .iter()
            .map(|t| -> Box<dyn Iterator<Item = Cell<'_>> + '_> {
                match t {
                    Typed::Absent => Box::new(std::iter::repeat(Cell::Empty)),
                    Typed::Text(c) => Box::new(c.iter().map(|v| v.map_or(Cell::Empty, Cell::Text))),
                    Typed::Day(c) => Box::new(c.iter().map(|v| v.map_or(Cell::Empty, Cell::Day))),
                    Typed::Number(c) => Box::new(c.iter().map(|v| v.map_or(Cell::Empty, Cell::Number))),
                }
            })
            .collect();
        let mut picked: Vec<Cell<'_>> = Vec::with_capacity(columns.len());
        for _ in 0..df.height() {
            n += 1;
            picked.clear();
            picked.extend(iters.iter_mut().map(|it| it.next().unwrap_or(Cell::Empty)));
            row(n, &picked);
        }
        offset += df.height();
    }
    Ok(())
}

/// Rows of a table file, for reserving room: exact for Parquet (its metadata), estimated for
/// CSV from the file's size and its first block (a little over, rather than under).
pub fn row_count_hint(path: &Path) -> Option<usize> {
    match FileFormat::of(path) {
        Some(FileFormat::Parquet) => ParquetReader::new(File::open(path).ok()?).num_rows().ok(),
        _ => {
            use std::io::Read;
            let size = std::fs::metadata(path).ok()?.len() as usize;
            let mut head = vec![0u8; (1 << 20).min(size)];
            File::open(path).ok()?.read_exact(&mut head).ok()?;
            let lines = memchr::memchr_iter(b'\n', &head).count().max(1);
            Some((size as f64 / (head.len() as f64 / lines as f64) * 1.05) as usize)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_come_with_their_columns_in_the_asked_order_quotes_and_all() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, "\u{feff}b,a,c\n1,x,\"q,\"\"r\"\"\"\n\n2,y,\n").unwrap();
        let mut seen = Vec::new();
        for_each_row(&path, Encoding::Utf8, &["a", "c", "d"], &[true, true, false], &mut |n, f| {
            seen.push((n, f.iter().map(|s| s.text().into_owned()).collect::<Vec<_>>()))
        })
        .unwrap();
        assert_eq!(seen, [(1, vec!["x".to_string(), "q,\"r\"".into(), String::new()]), (2, vec!["y".into(), String::new(), String::new()])]);
        let err = for_each_row(&path, Encoding::Utf8, &["zz"], &[true], &mut |_, _| {}).unwrap_err();
        assert!(err.to_string().contains("zz"), "{err}");
    }
}
