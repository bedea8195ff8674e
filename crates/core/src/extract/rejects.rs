//! The rejects file: every broken row with its reasons and the whole record as read from its
//! file (which is read again for it: only runs that reject rows pay for that).

use std::collections::BTreeMap;
use std::path::Path;

use super::ExtractError;
use super::issues::IssueLog;
use super::read::raw_records;
use crate::io_util::atomic_write;

impl IssueLog {
    /// Writes every issue, with the whole offending row as read from its file, to a CSV rejects
    /// file (atomically).
    pub fn write_rejects(&self, path: &Path) -> Result<(), ExtractError> {
        let mut by_file: BTreeMap<&Path, Vec<usize>> = BTreeMap::new();
        for issue in self.issues() {
            by_file.entry(issue.file.as_path()).or_default().push(issue.row);
        }
        let mut records = BTreeMap::new();
        for (file, rows) in by_file {
            records.insert(file, raw_records(file, &rows)?);
        }
        atomic_write(path, |w| {
            writeln!(w, "table,file,row,column,value,reason,record")?;
            for issue in self.issues() {
                let fields = [
                    issue.table.to_string(),
                    issue.file.display().to_string(),
                    issue.row.to_string(),
                    issue.column.clone(),
                    issue.value.clone(),
                    issue.reason.clone(),
                    records.get(issue.file.as_path()).and_then(|r| r.get(&issue.row)).cloned().unwrap_or_default(),
                ];
                let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
                writeln!(w, "{}", line.join(","))?;
            }
            Ok(())
        })?;
        Ok(())
    }
}

/// Quotes a CSV field when it needs it (RFC 4180).
pub fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text.to_string() }
}
