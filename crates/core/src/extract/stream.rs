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

/// Calls `row(n, fields)` for every data row of the table file at `path`, `n` its 1-based data
/// row and `fields` the `columns` in order (an empty string for an empty cell, or for an
/// optional column the file lacks). A required column (`required[i]`) the file lacks is an
/// error naming it; a missing optional one reads as empty.
pub fn for_each_row(
    path: &Path,
    encoding: Encoding,
    columns: &[&str],
    required: &[bool],
    row: &mut dyn FnMut(usize, &[&str]),
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

fn csv_rows(path: &Path, encoding: Encoding, columns: &[&str], required: &[bool], row: &mut dyn FnMut(usize, &[&str])) -> Result<(), ExtractError> {
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
            let picked: Vec<&str> = at.iter().map(|i| i.and_then(|i| split.get(i)).map_or("", |f| f.as_ref())).collect();
            row(n, &picked);
        }
    }
    Ok(())
}

/// The records of a block of whole records (a newline outside quotes ends one).
fn records(block: &str) -> impl Iterator<Item = &str> {
    let bytes = block.as_bytes();
    let mut start = 0;
    let mut in_quotes = false;
    let mut ends = Vec::new();
    for i in memchr::memchr2_iter(b'"', b'\n', bytes) {
        if bytes[i] == b'"' {
            in_quotes = !in_quotes;
        } else if !in_quotes {
            ends.push(i + 1);
        }
    }
    if ends.last().is_none_or(|&e| e < bytes.len()) {
        ends.push(bytes.len());
    }
    ends.into_iter().map(move |end| {
        let record = &block[start..end];
        start = end;
        record
    })
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

fn parquet_rows(path: &Path, columns: &[&str], required: &[bool], row: &mut dyn FnMut(usize, &[&str])) -> Result<(), ExtractError> {
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
        // Every asked column as text (dates as ISO days, numbers as written by Display).
        let text: Vec<Option<StringChunked>> = at
            .iter()
            .map(|i| match i {
                Some(i) => {
                    let column = df.column(&names[*i]).map_err(unreadable)?;
                    let column = column.cast(&DataType::String).map_err(unreadable)?;
                    Ok(Some(column.str().map_err(unreadable)?.clone()))
                }
                None => Ok(None),
            })
            .collect::<Result<_, ExtractError>>()?;
        let mut picked: Vec<&str> = Vec::with_capacity(columns.len());
        for r in 0..df.height() {
            n += 1;
            picked.clear();
            picked.extend(text.iter().map(|c| c.as_ref().and_then(|c| c.get(r)).unwrap_or("")));
            row(n, &picked);
        }
        offset += df.height();
    }
    Ok(())
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
            seen.push((n, f.iter().map(|s| s.to_string()).collect::<Vec<_>>()))
        })
        .unwrap();
        assert_eq!(seen, [(1, vec!["x".to_string(), "q,\"r\"".into(), String::new()]), (2, vec!["y".into(), String::new(), String::new()])]);
        let err = for_each_row(&path, Encoding::Utf8, &["zz"], &[true], &mut |_, _| {}).unwrap_err();
        assert!(err.to_string().contains("zz"), "{err}");
    }
}
