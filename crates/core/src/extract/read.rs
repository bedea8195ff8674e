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

use super::ExtractError;
use super::cells::TableFrame;
use super::schema::TableSpec;
use crate::io_util::IoContext;

/// The character encoding of CSV extracts. Parquet is always UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// UTF-8 (a byte-order mark is skipped).
    #[default]
    Utf8,
    /// GB18030, which includes GBK and GB2312: what many Chinese core systems export.
    Gb18030,
}

impl Encoding {
    /// UTF-8 bytes of `bytes` in this encoding (borrowed when already UTF-8). Malformed
    /// GB18030 sequences become U+FFFD; malformed UTF-8 is left for the CSV reader to refuse.
    pub(crate) fn decode(self, bytes: &[u8]) -> std::borrow::Cow<'_, [u8]> {
        match self {
            Encoding::Utf8 => std::borrow::Cow::Borrowed(bytes),
            Encoding::Gb18030 => match encoding_rs::GB18030.decode_without_bom_handling(bytes).0 {
                std::borrow::Cow::Borrowed(text) => std::borrow::Cow::Borrowed(text.as_bytes()),
                std::borrow::Cow::Owned(text) => std::borrow::Cow::Owned(text.into_bytes()),
            },
        }
    }
}

pub(crate) const UTF8_BOM: &[u8] = b"\xef\xbb\xbf";

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
    let found: Vec<PathBuf> = ["csv", "parquet", "pq"].iter().map(|ext| dir.join(format!("{}.{ext}", spec.name))).filter(|p| p.is_file()).collect();
    match found.len() {
        0 if spec.required => Err(ExtractError::MissingTable { table: spec.name, dir: dir.to_path_buf() }),
        0 => Ok(None),
        1 => Ok(found.into_iter().next()),
        _ => Err(ExtractError::AmbiguousTable { table: spec.name, paths: found }),
    }
}

/// Reads, converts and checks the contract's columns of one table file. Columns the contract
/// does not define are ignored; a missing required column is an error naming every missing one.
pub fn read_table(path: &Path, spec: &'static TableSpec, encoding: Encoding) -> Result<TableFrame, ExtractError> {
    match FileFormat::of(path) {
        Some(FileFormat::Csv) => read_csv(path, spec, CSV_BLOCK_BYTES, encoding),
        Some(FileFormat::Parquet) => Ok(TableFrame::convert(spec, path.to_path_buf(), read_parquet(path, spec)?, 0)),
        None => Err(ExtractError::Unreadable { file: path.to_path_buf(), message: "unknown extension (expected .csv, .parquet or .pq)".into() }),
    }
}

fn check_columns(path: &Path, spec: &TableSpec, present: &[String]) -> Result<Vec<String>, ExtractError> {
    let missing: Vec<String> =
        spec.columns.iter().filter(|c| c.required && !present.iter().any(|p| p == c.name)).map(|c| c.name.to_string()).collect();
    if !missing.is_empty() {
        return Err(ExtractError::MissingColumns { file: path.to_path_buf(), columns: missing });
    }
    Ok(spec.columns.iter().filter(|c| present.iter().any(|p| p == c.name)).map(|c| c.name.to_string()).collect())
}

/// CSV is read in blocks of about this many bytes, cut at record boundaries, so that a big
/// table is never in memory as raw bytes, polars strings and converted columns all at once.
const CSV_BLOCK_BYTES: usize = 32 << 20;

fn read_csv(path: &Path, spec: &'static TableSpec, block_bytes: usize, encoding: Encoding) -> Result<TableFrame, ExtractError> {
    let header = read_csv_header(path, encoding)?;
    let columns = check_columns(path, spec, &header)?;
    let projection: Arc<[PlSmallStr]> = columns.iter().map(|c| PlSmallStr::from(c.as_str())).collect();
    let numeric: SchemaRef = Arc::new(Schema::from_iter(
        spec.columns
            .iter()
            .filter(|c| c.kind.is_numeric() && columns.iter().any(|p| p == c.name))
            .map(|c| Field::new(c.name.into(), DataType::Float64)),
    ));
    let unreadable = |e: PolarsError| {
        // Cut: some libraries' messages quote the input at length.
        let mut message = crate::text::excerpt(&e.to_string(), 400);
        if encoding == Encoding::Utf8 && message.contains("utf-8") {
            message.push_str(" (a GB18030/GBK export? read it with --encoding gb18030)");
        }
        ExtractError::Unreadable { file: path.to_path_buf(), message }
    };
    let file = File::open(path).map_err(|e| IoContext::new("opening", path, e))?;
    let mut blocks = RecordBlocks { file, pending: Vec::new(), eof: false, block_bytes };
    let header_line = blocks.next_record().map_err(|e| IoContext::new("reading", path, e))?.unwrap_or_default();
    let header_line = header_line.strip_prefix(UTF8_BOM).unwrap_or(&header_line);
    let header_line = encoding.decode(header_line).into_owned();
    let mut table: Option<TableFrame> = None;
    // GB18030 never uses the bytes of '"', ',' or a newline inside a multi-byte character, so
    // blocks are cut on the raw bytes and decoded one block at a time.
    while let Some(block) = blocks.next_block().map_err(|e| IoContext::new("reading", path, e))? {
        let block = encoding.decode(&block).into_owned();
        let mut bytes = Vec::with_capacity(header_line.len() + block.len());
        bytes.extend_from_slice(&header_line);
        bytes.extend_from_slice(&block);
        drop(block);
        let bytes: Arc<[u8]> = bytes.into();
        let read = |bytes: Arc<[u8]>, schema_overwrite: Option<SchemaRef>| {
            CsvReadOptions::default()
                .with_has_header(true)
                // Every column is a string unless overwritten: nothing is guessed from a sample.
                .with_infer_schema_length(Some(0))
                .with_schema_overwrite(schema_overwrite)
                .with_columns(Some(projection.clone()))
                .into_reader_with_file_handle(std::io::Cursor::new(bytes))
                .finish()
        };
        let first_row = table.as_ref().map_or(0, TableFrame::height);
        let df = match read(bytes.clone(), Some(numeric.clone())) {
            Ok(df) => df,
            // A numeric cell polars cannot parse: read the block as text and let the cell checks
            // name every bad cell.
            Err(e) => {
                tracing::trace!(error = %e, "typed read failed; reading as text");
                read(bytes.clone(), None).map_err(|e| match unbalanced_quote(&bytes[header_line.len()..], first_row) {
                    // The CSV library's own message repeats the rest of the file (1 MB of stderr
                    // for a 3,000-policy book): said in a line, with the row and an excerpt.
                    Some(message) => ExtractError::Unreadable { file: path.to_path_buf(), message },
                    None => unreadable(e),
                })?
            }
        };
        let frame = TableFrame::convert(spec, path.to_path_buf(), df, first_row);
        match &mut table {
            None => table = Some(frame),
            Some(table) => table.append(frame),
        }
    }
    Ok(table.unwrap_or_else(|| TableFrame::convert(spec, path.to_path_buf(), DataFrame::empty(), 0)))
}

/// When a block of records (after the header) has a quote that opens a field and is never
/// closed, the row where it opens (1-based data row, counting `first_row` rows before the
/// block) and an excerpt of it, in a sentence; None when the quotes balance.
fn unbalanced_quote(block: &[u8], first_row: usize) -> Option<String> {
    let mut in_quotes = false;
    let (mut row, mut opened_at) = (first_row + 1, None);
    let mut line_start = 0;
    for (i, &b) in block.iter().enumerate() {
        match b {
            b'"' => {
                in_quotes = !in_quotes;
                if in_quotes && opened_at.is_none() {
                    opened_at = Some((row, line_start));
                }
            }
            b'\n' if !in_quotes => {
                row += 1;
                line_start = i + 1;
                opened_at = None;
            }
            _ => {}
        }
    }
    let (row, start) = opened_at.filter(|_| in_quotes)?;
    let line = block[start..].split(|&b| b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    Some(format!(
        "row {row}: a quote (\") opens a field and is never closed, so the rest of the file would be one field; the row begins: {}",
        crate::text::excerpt(&line, 120)
    ))
}

/// Reads a CSV file in blocks that end on record boundaries (a newline outside quotes).
pub(crate) struct RecordBlocks {
    file: File,
    pending: Vec<u8>,
    eof: bool,
    block_bytes: usize,
}

impl RecordBlocks {
    /// Reads until `pending` holds at least `want` bytes or the file ends.
    fn fill(&mut self, want: usize) -> std::io::Result<()> {
        use std::io::Read;
        while !self.eof && self.pending.len() < want {
            let start = self.pending.len();
            self.pending.resize(want.max(start + (1 << 16)), 0);
            let n = self.file.read(&mut self.pending[start..])?;
            self.pending.truncate(start + n);
            self.eof = n == 0;
        }
        Ok(())
    }

    /// The end (exclusive) of the last complete record in `pending`, or of the first one.
    fn boundary(&self, first_only: bool) -> Option<usize> {
        let mut in_quotes = false;
        let mut last = None;
        for i in memchr::memchr2_iter(b'"', b'\n', &self.pending) {
            if self.pending[i] == b'"' {
                in_quotes = !in_quotes;
            } else if !in_quotes {
                last = Some(i + 1);
                if first_only {
                    break;
                }
            }
        }
        last
    }

    fn take(&mut self, end: usize) -> Vec<u8> {
        let rest = self.pending.split_off(end);
        std::mem::replace(&mut self.pending, rest)
    }

    /// Blocks of about [`CSV_BLOCK_BYTES`] from the start of `file`.
    pub(crate) fn new(file: File) -> Self {
        RecordBlocks { file, pending: Vec::new(), eof: false, block_bytes: CSV_BLOCK_BYTES }
    }

    /// The first record (the header line).
    pub(crate) fn next_record(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        let mut want = 1 << 16;
        loop {
            self.fill(want)?;
            if let Some(end) = self.boundary(true) {
                return Ok(Some(self.take(end)));
            }
            if self.eof {
                return Ok((!self.pending.is_empty()).then(|| self.take(self.pending.len())));
            }
            want *= 2;
        }
    }

    /// The next block of whole records, about `block_bytes` long.
    pub(crate) fn next_block(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        let mut want = self.block_bytes;
        loop {
            self.fill(want)?;
            if self.eof {
                let rest = self.take(self.pending.len());
                return Ok((!rest.iter().all(|b| b.is_ascii_whitespace())).then_some(rest));
            }
            if let Some(end) = self.boundary(false) {
                return Ok(Some(self.take(end)));
            }
            want *= 2; // one record longer than a block: read more
        }
    }
}

/// The header row's column names (RFC 4180 quoting, UTF-8 byte-order mark stripped).
fn read_csv_header(path: &Path, encoding: Encoding) -> Result<Vec<String>, ExtractError> {
    let file = File::open(path).map_err(|e| IoContext::new("opening", path, e))?;
    let mut raw = Vec::new();
    BufReader::new(file).read_until(b'\n', &mut raw).map_err(|e| IoContext::new("reading", path, e))?;
    let raw = raw.strip_prefix(UTF8_BOM).unwrap_or(&raw);
    let decoded = encoding.decode(raw);
    let line = std::str::from_utf8(&decoded).map_err(|_| ExtractError::Unreadable {
        file: path.to_path_buf(),
        message: "the header row is not UTF-8 (a GB18030/GBK export? read it with --encoding gb18030)".into(),
    })?;
    let line = line.trim_end_matches(['\n', '\r']);
    if line.is_empty() {
        return Err(ExtractError::Unreadable { file: path.to_path_buf(), message: "the file is empty (no header row)".into() });
    }
    Ok(csv_fields(line).into_iter().map(|n| n.trim().to_string()).collect())
}

/// The fields of one CSV record (RFC 4180 quotes: doubled quotes inside quoted fields), without
/// its line end.
pub(crate) fn csv_fields(line: &str) -> Vec<String> {
    let line = line.trim_end_matches(['\n', '\r']);
    let mut out = Vec::new();
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
            (',', false) => out.push(std::mem::take(&mut field)),
            _ => field.push(c),
        }
    }
    out.push(field);
    out
}

fn read_parquet(path: &Path, spec: &TableSpec) -> Result<DataFrame, ExtractError> {
    let unreadable = |e: PolarsError| ExtractError::Unreadable { file: path.to_path_buf(), message: e.to_string() };
    let file = File::open(path).map_err(|e| IoContext::new("opening", path, e))?;
    let mut reader = ParquetReader::new(file);
    let present: Vec<String> = reader.schema().map_err(unreadable)?.iter_names().map(|n| n.to_string()).collect();
    let columns = check_columns(path, spec, &present)?;
    reader.with_columns(Some(columns)).finish().map_err(unreadable)
}

/// The given 1-based data rows of a table file, every column as text, as `column=value` pairs
/// (for the rejects file). Reads the file again: only runs that reject rows pay for it.
pub fn raw_records(path: &Path, rows: &[usize]) -> Result<rustc_hash::FxHashMap<usize, String>, ExtractError> {
    let unreadable = |e: PolarsError| ExtractError::Unreadable { file: path.to_path_buf(), message: e.to_string() };
    let df = match FileFormat::of(path) {
        Some(FileFormat::Csv) => {
            // Only runs that reject rows read this: the whole file, decoded as GB18030 when it
            // is not UTF-8 (the two encodings extracts come in).
            let bytes = std::fs::read(path).map_err(|e| IoContext::new("reading", path, e))?;
            let bytes = bytes.strip_prefix(UTF8_BOM).unwrap_or(&bytes);
            let encoding = if std::str::from_utf8(bytes).is_ok() { Encoding::Utf8 } else { Encoding::Gb18030 };
            CsvReadOptions::default()
                .with_has_header(true)
                .with_infer_schema_length(Some(0))
                .into_reader_with_file_handle(std::io::Cursor::new(encoding.decode(bytes).into_owned()))
                .finish()
                .map_err(unreadable)?
        }
        _ => {
            let file = File::open(path).map_err(|e| IoContext::new("opening", path, e))?;
            ParquetReader::new(file).finish().map_err(unreadable)?
        }
    };
    let mut records = rustc_hash::FxHashMap::default();
    for &row in rows {
        let Some(index) = row.checked_sub(1).filter(|&i| i < df.height()) else { continue };
        let cells: Vec<String> = df
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
            .collect();
        records.insert(row, cells.join("; "));
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::schema::EVENTS;

    /// Blocks cut at record boundaries give the same cells and row numbers as one block, even
    /// with quoted commas, quotes and line breaks inside fields.
    #[test]
    fn csv_blocks_respect_quoted_line_breaks_and_keep_row_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.csv");
        let mut text = String::from("policy_id,event_type,event_date,amount,note\n");
        for i in 0..200 {
            let date = if i % 37 == 5 { "2024-02-30".to_string() } else { format!("2024-01-{:02}", 1 + i % 28) };
            text.push_str(&format!("P{i},\"call, then\nvisit \"\"{i}\"\"\",{date},{i}.5,\"multi\nline\"\n"));
        }
        std::fs::write(&path, &text).unwrap();
        let whole = read_csv(&path, &EVENTS, 1 << 20, Encoding::Utf8).unwrap();
        let mut pieces = read_csv(&path, &EVENTS, 64, Encoding::Utf8).unwrap();
        assert_eq!(pieces.height(), 200);
        assert_eq!(pieces.bad, whole.bad);
        assert_eq!(pieces.issues, whole.issues);
        let rows: Vec<usize> = pieces.issues.iter().map(|i| i.row).collect();
        assert_eq!(rows, [6, 43, 80, 117, 154, 191]);
        let kinds = pieces.text("event_type");
        assert_eq!(kinds.get(199), Some("call, then\nvisit \"199\""));
        assert_eq!(pieces.numbers("amount")[3], 3.5);
    }
}
